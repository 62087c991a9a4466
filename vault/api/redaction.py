"""Share tokens travel in URL paths (so a QR code works at the counter); they never reach a log.
Nor does a search: what a citizen looks for among their papers is a number or a name."""

import logging
import re

_TOKEN_IN_PATH = re.compile(r"/(shared|agency/share)/[^/?\s]+")
# Also percent-encoded (a share link carried in a query), and any `code=` parameter.
_TOKEN_ENCODED = re.compile(r"(?i)%2F(shared|agency%2Fshare)%2F[^&\s]+")
_CODE_PARAMETER = re.compile(r"([?&](?:code|q)=)[^&\s]+")


def redact(path: str) -> str:
    path = _TOKEN_IN_PATH.sub(r"/\1/[redacted]", path)
    path = _TOKEN_ENCODED.sub(r"%2F\1%2F[redacted]", path)
    return _CODE_PARAMETER.sub(r"\1[redacted]", path)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        record.msg = redact(str(record.msg))
        return True


def install() -> None:
    for name in ("uvicorn.access", "uvicorn.error", "vault.api"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
