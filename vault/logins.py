"""Password logins, for citizens and counter officers alike: Argon2id hashes, constant-time
refusals, and throttling kept in the database so that every API node sees the same counts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete
from sqlmodel import Session, col

from vault import audit, db
from vault.errors import InvalidInput, TooManyAttempts
from vault.models import LoginThrottle

_hasher = PasswordHasher()
# Verified when the account does not exist, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone")
MIN_PASSWORD, MAX_PASSWORD = 8, 128


@dataclass(frozen=True)
class ThrottlePolicy:
    """Failures allowed per window for one account, and for one client address."""

    account_failures: int = 5
    address_failures: int = 50
    window: timedelta = timedelta(minutes=15)
    block: timedelta = timedelta(minutes=15)


def hash_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            f"A password has {MIN_PASSWORD} to {MAX_PASSWORD} characters.", field="password"
        )
    return _hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


class Attempt:
    """One login attempt: refused up front while throttled, counted when it fails."""

    def __init__(
        self,
        session: Session,
        *,
        account: str,
        client: str,
        policy: ThrottlePolicy = ThrottlePolicy(),
    ) -> None:
        self._session = session
        self._policy = policy
        self._limits = {
            _key("account", account): policy.account_failures,
            _key("address", client): policy.address_failures,
        }
        now = db.utc_now()
        rows = [session.get(LoginThrottle, key) for key in self._limits]
        blocked = [db.aware(r.blocked_until) for r in rows if r is not None and r.blocked_until]
        if blocked and max(blocked) > now:
            seconds = int((max(blocked) - now).total_seconds()) + 1
            raise TooManyAttempts(
                "Too many failed logins; wait before trying again.", retry_after=seconds
            )

    def succeeded(self) -> None:
        self._session.execute(
            delete(LoginThrottle).where(col(LoginThrottle.key).in_(list(self._limits)))
        )

    def failed(self, event: audit.Event) -> None:
        """The refusal rolls the request back, so the failure is counted, and audited, in a
        transaction of its own once it has."""
        engine = self._session.get_bind()
        db.after_rollback(self._session, lambda: self._count(engine, event))

    def _count(self, engine: object, event: audit.Event) -> None:
        now = db.utc_now()
        with db.unit_of_work(engine) as session:  # type: ignore[arg-type]
            audit.append(session, event)
            for key, allowed in self._limits.items():
                row = session.get(LoginThrottle, key, with_for_update=True)
                if row is None:
                    row = LoginThrottle(key=key, failures=0, window_started_at=now)
                elif now - db.aware(row.window_started_at) > self._policy.window:
                    row.failures, row.window_started_at, row.blocked_until = 0, now, None
                row.failures += 1
                if row.failures >= allowed:
                    row.blocked_until = now + self._policy.block
                session.add(row)


def _key(kind: str, value: str) -> str:
    return f"{kind}:{hashlib.sha256(value.strip().encode()).hexdigest()}"
