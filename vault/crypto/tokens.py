"""Bearer secrets: 256 random bits out, only their SHA-256 kept.

A fast hash is enough because the secret is random and long; a slow password
hash would only cost CPU on every request.
"""

import base64
import hashlib
import hmac
import secrets


def new_token() -> str:
    """256 random bits, URL-safe, never starting with "-": a command line would take it for
    an option (an agency's client secret is typed into one). The draw this skips costs a
    sixty-fourth of a bit."""
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def derive_token(key: bytes, message: bytes) -> str:
    """A 256-bit token that the holder of `key` can compute again and nobody else can."""
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
