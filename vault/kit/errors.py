"""Situations the vault refuses, in domain words. The HTTP status of each lives in vault/api."""

from __future__ import annotations


class VaultError(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    @property
    def members(self) -> dict[str, object]:
        """Extension members of the problem document (RFC 9457 §3.2) this situation carries."""
        return {}


class NotFound(VaultError):
    """Also raised when the thing exists but is not the caller's: existence is private too."""


class Conflict(VaultError):
    pass


class InvalidInput(VaultError):
    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field


class UnsupportedFile(VaultError):
    pass


class FileTooLarge(VaultError):
    pass


class CorruptFile(VaultError):
    pass


class ImageBomb(VaultError):
    pass


class ActiveContent(VaultError):
    pass


class AuthenticationFailed(VaultError):
    pass


class TooManyAttempts(VaultError):
    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class UnsupportedGrantType(VaultError):
    """OAuth2: the token endpoint was asked for a grant type it does not issue."""


class Forbidden(VaultError):
    """The caller is known but this is not theirs to see (another agency's share token)."""


class Gone(VaultError):
    """It existed and is over for good: a grant revoked, expired, used up or completed."""

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(detail)
        self.reason = reason
