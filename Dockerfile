FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY vault ./vault
COPY storage ./storage
RUN pip install . && useradd --system --uid 10001 --home /var/lib/vault vault \
    && mkdir -p /var/lib/vault && chown vault /var/lib/vault
USER vault
ENV VAULT_DATA_DIR=/var/lib/vault
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["vault", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
