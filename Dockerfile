# The vault's image: the exact files we tested, from the hashed lock files (scripts/lock), for
# both the API (`vault serve`) and the job worker (`vault worker`).
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Tesseract's Vietnamese model, for reading papers (tesserocr's wheel brings the library):
# Debian bookworm's package, as the tests install it. Without it every paper without a QR
# code is stored unread.
RUN apt-get update && apt-get install -y --no-install-recommends tesseract-ocr-vie \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first (a layer that changes only with the lock): every file checked against the
# SHA-256 in the lock, nothing resolved at build time.
COPY requirements-build.lock requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements-build.lock -r requirements.lock

# The vault itself, built with the locked setuptools and no index: nothing else can come in.
COPY pyproject.toml README.md ./
COPY vault ./vault
COPY storage ./storage
RUN pip install --no-deps --no-build-isolation --no-index . && pip check \
    && useradd --system --user-group --uid 10001 --home-dir /var/lib/vault vault \
    && install -d -o vault -g vault -m 0700 /var/lib/vault

COPY deploy/entrypoint.sh /usr/local/bin/vault-entrypoint
COPY deploy/worker_health.py /usr/local/bin/vault-worker-health
RUN chmod 0755 /usr/local/bin/vault-entrypoint /usr/local/bin/vault-worker-health

ENV VAULT_DATA_DIR=/var/lib/vault
EXPOSE 8000
# The entrypoint starts as root only to hand the master key secret to the vault user (see
# deploy/entrypoint.sh), then runs the command as uid 10001 with no way back.
ENTRYPOINT ["vault-entrypoint"]
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["vault", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
