"""Share tokens travel in URL paths (so a QR code works at the counter); they never reach a log."""

import logging
import re

_TOKEN_IN_PATH = re.compile(r"/(shared|agency/share)/[^/?\s]+")


def redact(path: str) -> str:
    return _TOKEN_IN_PATH.sub(r"/\1/[redacted]", path)


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
