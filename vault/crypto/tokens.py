"""Bearer secrets: 256 random bits out, only their SHA-256 kept.

A fast hash is enough because the secret is random and long; a slow password
hash would only cost CPU on every request.
"""

import hashlib
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
