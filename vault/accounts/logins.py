"""Password logins, for citizens and counter officers alike: Argon2id hashes, constant-time
refusals, and throttling kept in the database so that every API node sees the same counts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from vault import audit, db
from vault.accounts.models import LoginThrottle
from vault.kit import metrics
from vault.kit.errors import InvalidInput, TooManyAttempts

_hasher = PasswordHasher()
# Verified when the account does not exist, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone")
MIN_PASSWORD, MAX_PASSWORD = 8, 128
# The hash of an account nobody can log in to yet: a child's vault until the child claims it
# at the counter (a password reset sets a real one). No Argon2 hash looks like this.
NO_PASSWORD = "!"


@dataclass(frozen=True)
class ThrottlePolicy:
    """Failures allowed per window for one account, and for one client address."""

    account_failures: int = 5
    address_failures: int = 50
    window: timedelta = timedelta(minutes=15)
    block: timedelta = timedelta(minutes=15)


def check_password(password: str) -> None:
    """The rule a new password meets, at registration and at a reset alike."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            f"A password has {MIN_PASSWORD} to {MAX_PASSWORD} characters.", field="password"
        )


def hash_password(password: str) -> str:
    check_password(password)
    return _hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """False for an account with no usable password (`NO_PASSWORD`), after as long a wait as
    a wrong password costs, so a login cannot tell such an account from another."""
    usable = password_hash if password_hash != NO_PASSWORD else None
    try:
        return _hasher.verify(usable or _DUMMY_HASH, password) and usable is not None
    except (VerificationError, InvalidHashError):
        return False


class Attempt:
    """One login attempt, counted as a failure before the password is checked and forgiven
    when it succeeds: parallel guesses cannot outrun the throttle, and no write lock is held
    while Argon2 runs. A throttled caller is refused before anything is looked at.

    The count must hold whatever becomes of the login, a refusal rolling its request back
    included: it is made in a unit of work of the caller's own, committed before the password
    is checked. Forgiving and auditing belong to the login's unit of work."""

    def __init__(
        self,
        session: Session,
        *,
        account: str,
        client: str | None,
        policy: ThrottlePolicy = ThrottlePolicy(),
    ) -> None:
        # `client` None: counted against the account only (a throttle of its own, by a key
        # prefix of its own, that a client address's login budget has no part in).
        self._account = _key("account", account)
        self._address = _key("address", client) if client is not None else None
        limits = {self._account: policy.account_failures}
        if self._address is not None:
            limits[self._address] = policy.address_failures
        try:
            blocked = _count(
                session, limits, policy, "Too many failed logins; wait before trying again."
            )
        except TooManyAttempts:
            metrics.LOGINS.labels("throttled").inc()
            raise
        if blocked:
            metrics.LOCKOUTS.inc()

    def succeeded(self, session: Session) -> None:
        """The account's count starts again; the client address's only takes back this
        attempt: a login to one's own account must not wash away guesses at others', and a
        counter's many citizens behind one address must not use up its budget."""
        metrics.LOGINS.labels("success").inc()
        session.execute(delete(LoginThrottle).where(col(LoginThrottle.key) == self._account))
        if self._address is not None:
            session.execute(
                update(LoginThrottle)
                .where(col(LoginThrottle.key) == self._address, col(LoginThrottle.failures) > 0)
                .values(failures=col(LoginThrottle.failures) - 1)
            )

    def failed(self, session: Session, event: audit.Event) -> None:
        """Already counted; audited in a transaction of its own once the refusal has rolled
        the request back."""
        metrics.LOGINS.labels("failure").inc()
        audit.append_after_refusal(session, event)


def spend(session: Session, *, budget: str, of: str, policy: ThrottlePolicy, refusal: str) -> None:
    """One use of a budget that is not a login's (sign-ups from an address, a citizen's look-ups
    of other people's numbers): `policy.account_failures` uses a window, then `refusal`. As
    with a login, the caller counts in a unit of work whose commit a refusal cannot undo.
    `budget` is a short word (the key is 80 characters, 65 of them the hash of `of`)."""
    _count(session, {_key(budget, of): policy.account_failures}, policy, refusal)


def _count(session: Session, limits: dict[str, int], policy: ThrottlePolicy, refusal: str) -> bool:
    """Refuse if any of these budgets is spent, else spend one of each; whether that blocked one."""
    now = db.utc_now()
    rows = _locked_rows(session, sorted(limits), now)
    for row in rows:
        # A new window starts once the last is over and its block too: a block begun
        # late in a window lasts its whole time.
        blocked_until = db.aware(row.blocked_until) if row.blocked_until else None
        if now - db.aware(row.window_started_at) > policy.window and (
            blocked_until is None or blocked_until <= now
        ):
            row.failures, row.window_started_at, row.blocked_until = 0, now, None
    blocked = [db.aware(r.blocked_until) for r in rows if r.blocked_until]
    if blocked and max(blocked) > now:
        seconds = int((max(blocked) - now).total_seconds()) + 1
        raise TooManyAttempts(refusal, retry_after=seconds)
    spent = False
    for row in rows:
        row.failures += 1
        if row.failures >= limits[row.key]:
            row.blocked_until = now + policy.block
            spent = True
        session.add(row)
    session.flush()
    return spent


def forgive(session: Session, *, account: str) -> None:
    """Forget an account's failures (not its address's): after a password reset, or a reset
    code given by an officer who has seen the person."""
    session.execute(delete(LoginThrottle).where(col(LoginThrottle.key) == _key("account", account)))


def _locked_rows(session: Session, keys: list[str], now: datetime) -> list[LoginThrottle]:
    """The throttle rows, created if missing, locked in key order (no deadlock between two
    attempts on the same account and address)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(LoginThrottle)
        .values([{"key": key, "failures": 0, "window_started_at": now} for key in keys])
        .on_conflict_do_nothing()
    )
    return list(
        session.exec(
            select(LoginThrottle)
            .where(col(LoginThrottle.key).in_(keys))
            .order_by(col(LoginThrottle.key))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def _key(kind: str, value: str) -> str:
    return f"{kind}:{hashlib.sha256(value.strip().encode()).hexdigest()}"
