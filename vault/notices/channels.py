"""The channels that carry a notice out of the vault: e-mail over SMTP, and a signed webhook.

A send is one attempt and nothing more; whoever keeps the outbox decides when to try again,
from `ChannelError.permanent`. Errors end up in logs and in rows, so they name the host and the
failure but never the recipient, the body or a credential, and they do not chain the library's
exception (an SMTP reply often quotes the refused address).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email import policy
from email.header import Header
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from urllib.parse import parse_qsl, unquote, urlsplit

import urllib3

# 7bit: a body in Vietnamese goes out as quoted-printable or base64, which every relay carries,
# rather than as 8bit, which a relay without 8BITMIME may mangle.
_POLICY = policy.SMTP.clone(cte_type="7bit")
_FLAGS = {"1": True, "0": False}
# The gateway's answers that refuse the notice itself (malformed, too large, a recipient gone
# for good). The gateway is one endpoint: any other 4xx (401, 403, 404, 405: a rotated secret, a
# moved route) or a redirect says the vault or the gateway is misconfigured, which an operator
# fixes while the notice waits, retried like a 5xx.
_REFUSED = frozenset({400, 410, 413, 422})
# Connections kept open to the gateway: one per thread of a worker (`--concurrency`, 2 by
# default, 4 in the benchmark) with room to spare; a post past them opens its own and closes it.
_CONNECTIONS = 8


# One mailbox: letters, digits and . _ + ' - before the @. Nothing a mail header would read as
# several recipients (a comma, a semicolon, a group's colon) nor an old routing trick (%, !).
EMAIL_PATTERN = re.compile(
    r"^(?=[^@]{1,64}@)[A-Za-z0-9_+'-]+(?:\.[A-Za-z0-9_+'-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+[A-Za-z]{2,63}$"
)


class ChannelError(Exception):
    """`permanent` when trying the same notice again cannot help (the recipient or the message
    was refused); otherwise the channel or its configuration may recover."""

    def __init__(self, detail: str, *, permanent: bool) -> None:
        super().__init__(detail)
        self.permanent = permanent


@dataclass(frozen=True)
class Mailer:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    implicit_tls: bool = False
    starttls: bool = False
    timeout: float = 15.0

    def __post_init__(self) -> None:
        _domain(self.sender)

    @classmethod
    def from_url(cls, url: str, sender: str) -> Mailer:
        """`smtp://[user:pass@]host[:port][?starttls=1|0&timeout=S]`, or `smtps://` for TLS from
        the first byte. STARTTLS is on by default when there are credentials, so that a password
        crosses in clear only when the URL says `starttls=0`."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"a mail URL starts with smtp:// or smtps://, not {parts.scheme!r}")
        try:
            host, port = parts.hostname, parts.port
        except ValueError:
            raise ValueError("the mail URL's port is not a number from 1 to 65535") from None
        if not host:
            raise ValueError("the mail URL names no host")
        if parts.path not in ("", "/") or parts.fragment:
            raise ValueError("a mail URL has no path or fragment: smtp://user:pass@host:port")
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if unknown := sorted(set(query) - {"starttls", "timeout"}):
            raise ValueError(f"unknown mail URL parameters: {', '.join(unknown)}")
        username = unquote(parts.username) if parts.username else None
        implicit_tls = parts.scheme == "smtps"
        starttls = _flag(query.get("starttls"), default=bool(username) and not implicit_tls)
        if starttls and implicit_tls:
            raise ValueError("smtps:// is TLS already; starttls=1 is for smtp://")
        return cls(
            host=host,
            port=port or (465 if implicit_tls else 25),
            sender=sender,
            username=username,
            password=unquote(parts.password) if parts.password is not None else None,
            implicit_tls=implicit_tls,
            starttls=starttls,
            timeout=_seconds(query.get("timeout"), default=15.0),
        )

    def send(
        self, *, to: str, subject: str, body: str, message_id: str, link: str | None = None
    ) -> None:
        """`message_id` is the notice's own id: a resend after a crash carries the same
        Message-ID, so the receiving side can tell it is the same message."""
        if not EMAIL_PATTERN.match(to):
            raise ChannelError("the address is not one mailbox", permanent=True)
        message = self._compose(to, subject, body, message_id, link)
        try:
            smtp = self._connect()
            try:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username is not None:
                    smtp.login(self.username, self.password or "")
                # The envelope names the one address given, whatever a header parser makes of it.
                smtp.send_message(message, to_addrs=[to])
            finally:
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    smtp.quit()
                smtp.close()
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            permanent = bool(codes) and all(500 <= code < 600 for code in codes)
            detail = f"{self.host} refused the recipient ({codes})"
            raise ChannelError(detail, permanent=permanent) from None
        except smtplib.SMTPDataError as error:
            permanent = 500 <= error.smtp_code < 600
            detail = f"{self.host} refused the message ({error.smtp_code})"
            raise ChannelError(detail, permanent=permanent) from None
        except smtplib.SMTPResponseException as error:
            # The greeting, login or sender refused: the configuration's fault, not the notice's.
            detail = f"{self.host} answered {error.smtp_code} ({type(error).__name__})"
            raise ChannelError(detail, permanent=False) from None
        except (smtplib.SMTPException, OSError) as error:
            detail = f"{self.host}:{self.port}: {type(error).__name__}: {_reason(error)}"
            raise ChannelError(detail, permanent=False) from None

    def _compose(
        self, to: str, subject: str, body: str, message_id: str, link: str | None
    ) -> EmailMessage:
        if not message_id or any(c in message_id for c in "<>@ \r\n\t"):
            raise ValueError("a message id is one word without <, > or @")
        if "\r" in subject or "\n" in subject:
            raise ValueError("a subject is one line")
        message = EmailMessage(policy=_POLICY)
        message["From"] = self.sender
        message["To"] = to
        if subject.isascii():
            message["Subject"] = subject
        else:
            # Not through EmailMessage's folder: before Python 3.12.5 it drops the space between
            # two encoded words (CPython gh-92081), which one long Vietnamese subject in five
            # meets. The older encoder keeps every space inside a word.
            message.set_raw("Subject", Header(subject, "utf-8", header_name="Subject").encode())
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = f"<{message_id}@{_domain(self.sender)}>"
        message.set_content(f"{body}\n\n{link}\n" if link else f"{body}\n")
        return message

    def _connect(self) -> smtplib.SMTP:
        if self.implicit_tls:
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str) -> bool:
    return hmac.compare_digest(sign(secret, body).encode(), header.encode())


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: bytes = field(repr=False)
    timeout: float = 10.0

    # One pool of connections for every post, shared by the worker's threads (urllib3's pools
    # are), kept open between posts: a client made per post loaded the CA bundle each time,
    # about 35 ms of CPU, more than the post. urllib3 rather than httpx: a sixth less CPU a
    # post, and no log line per request (httpx logs each at INFO, with the URL, whose query
    # may hold the receiver's token).
    _pool: urllib3.PoolManager = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("a webhook URL is http(s)://host/...")
        if not self.secret:
            raise ValueError("a webhook needs a secret to sign with")
        pool = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout),
            retries=False,
            maxsize=_CONNECTIONS,
        )
        object.__setattr__(self, "_pool", pool)

    def post(self, payload: Mapping[str, object]) -> None:
        """Delivered once the receiver answers 2xx. A redirect is not followed: the signed body
        would go to a host nobody configured."""
        body = json.dumps(
            payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "citizen-vault",
            "X-Vault-Signature": sign(self.secret, body),
        }
        if (event := payload.get("event_id")) is not None:
            headers["X-Vault-Event"] = str(event)
        # The path and query may hold the receiver's own token: errors name the host only.
        host = urlsplit(self.url).hostname
        try:
            response = self._pool.request(
                "POST", self.url, body=body, headers=headers, redirect=False, preload_content=False
            )
            status = response.status
            # The answer's body is read and dropped so that its connection serves the next post.
            response.drain_conn()
            response.release_conn()
        except urllib3.exceptions.HTTPError as error:
            detail = f"webhook at {host}: {type(error).__name__}"
            raise ChannelError(detail, permanent=False) from None
        if 200 <= status < 300:
            return
        raise ChannelError(f"webhook at {host} answered {status}", permanent=status in _REFUSED)


def _flag(value: str | None, *, default: bool) -> bool:
    if value is None:
        return default
    if value not in _FLAGS:
        raise ValueError("the mail URL's starttls is 1 or 0")
    return _FLAGS[value]


def _seconds(value: str | None, *, default: float) -> float:
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 600:
        raise ValueError("the mail URL's timeout is a number of seconds from 0 to 600")
    return seconds


def _domain(sender: str) -> str:
    """The right-hand side of every Message-ID, so that ids are unique to this sender."""
    _, address = parseaddr(sender)
    local, _, domain = address.rpartition("@")
    if not local or not domain:
        raise ValueError("the sender is an e-mail address, e.g. Vault <no-reply@vault.example>")
    return domain


def _reason(error: BaseException) -> str:
    return error.strerror if isinstance(error, OSError) and error.strerror else str(error)
