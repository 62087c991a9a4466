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


class OffsetMismatch(Conflict):
    """tus: a chunk sent for another offset than the upload has reached."""


class UploadNotReady(Conflict):
    """A resumable upload made into a paper before all its bytes arrived, a second time, or
    after the store lost its bytes."""


class InvalidInput(VaultError):
    """`field` names the input refused; `reason`, when the same field can be refused for
    different causes a page tells apart (a problem document carries it as `reason`)."""

    def __init__(self, detail: str, *, field: str | None = None, reason: str | None = None) -> None:
        super().__init__(detail)
        self.field = field
        self.reason = reason

    @property
    def members(self) -> dict[str, object]:
        return {"reason": self.reason} if self.reason else {}


class UnsupportedFile(VaultError):
    pass


class FileTooLarge(VaultError):
    pass


class UploadQuotaExceeded(FileTooLarge):
    """Too many bytes in the citizen's unfinished uploads."""


class TooManyUploads(VaultError):
    """Too many unfinished uploads for one citizen."""


class ChecksumMismatch(VaultError):
    """tus: the chunk's Upload-Checksum does not match what arrived; nothing of it was kept."""


class MalformedRequest(VaultError):
    """A protocol header missing or not in its form (tus answers these 400)."""


class UnsupportedProtocol(VaultError):
    """tus: a Tus-Resumable version this server does not speak."""


class WrongContentType(VaultError):
    """A body sent with a media type the route does not take."""


class CorruptFile(VaultError):
    pass


class ImageBomb(VaultError):
    pass


class ActiveContent(VaultError):
    pass


class AuthenticationFailed(VaultError):
    pass


class WrongResetCode(AuthenticationFailed):
    """A password reset refused: the number or the code is wrong, never saying which."""


class TooManyAttempts(VaultError):
    """`reason`, for a limit other than failed logins' (a page tells which)."""

    def __init__(self, detail: str, *, retry_after: int, reason: str | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.reason = reason

    @property
    def members(self) -> dict[str, object]:
        return {"reason": self.reason} if self.reason else {}


class UnsupportedGrantType(VaultError):
    """OAuth2: the token endpoint was asked for a grant type it does not issue."""


class Forbidden(VaultError):
    """The caller is known but this is not theirs to see (another agency's share token)."""


class NotWhileActing(Forbidden):
    """Someone acting for a citizen (an officer, a delegate) tried what only the citizen may."""


class WrongPassword(Forbidden):
    """The citizen's password, typed to consent, was wrong; the request allows a few tries."""

    def __init__(self, detail: str, *, tries_left: int) -> None:
        super().__init__(detail)
        self.tries_left = tries_left

    @property
    def members(self) -> dict[str, object]:
        return {"tries_left": self.tries_left}


class Gone(VaultError):
    """It existed and is over for good: a grant revoked, expired, used up or completed."""

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(detail)
        self.reason = reason
