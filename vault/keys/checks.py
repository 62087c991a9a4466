"""Which master key versions the data needs, and whether a key file holds each of them.

A check value per version (table `master_key_check`: a constant sealed under that version) is
recorded once the version is in use. A key file that is missing, or present but not the one the
data was wrapped under, is thus told apart before anything new is wrapped under it. A version in
use before check values existed is tried on one citizen key it wraps instead."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import delete, inspect
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from vault import crypto
from vault.crypto import MasterKeys
from vault.keys import agency_keys
from vault.keys.models import AgencyKey, CitizenKey, IndexKey, MasterKeyCheck

_CHECK_AAD = b"dvlt/v1/master-key-check"
_CHECK_VALUE = b"citizen vault master key check"


class KeyState(StrEnum):
    PRESENT = "present"
    MISSING = "missing"
    WRONG = "wrong"


@dataclass(frozen=True)
class VersionState:
    version: int
    state: KeyState
    citizen_keys: int
    needed: bool
    index_keys: int = 0
    agency_keys: int = 0

    @property
    def wraps(self) -> str:
        wrapped = f"{self.citizen_keys} citizen keys"
        if self.index_keys:
            wrapped += f" and {self.index_keys} index keys"
        if self.agency_keys:
            wrapped += f" and {self.agency_keys} agency keys"
        return wrapped


@dataclass(frozen=True)
class Survey:
    versions: list[VersionState]
    checks: dict[int, bytes]

    @classmethod
    def of_empty_database(cls, master: MasterKeys | None) -> Survey:
        held = master.versions if master else []
        return cls([VersionState(v, KeyState.PRESENT, 0, False) for v in held], {})

    @property
    def needed(self) -> list[VersionState]:
        return [v for v in self.versions if v.needed]

    @property
    def failing(self) -> list[VersionState]:
        return [v for v in self.versions if v.state is not KeyState.PRESENT]


def survey(session: Session, master: MasterKeys | None) -> Survey:
    """Every version the key file holds or the data needs (master is None: no usable file).

    The data needs each version that wraps a citizen key, an index key or an agency key, and
    the newest one it has used even while that wraps none (a fresh vault: the next citizen and
    the audit anchors depend on it). An older version that wraps nothing any more may leave the
    file. A database whose schema is not there yet needs nothing."""
    tables = inspect(session.connection())
    checks = stored(session)
    usage = usage_by_version(session) if tables.has_table(CitizenKey.__tablename__) else {}
    index_usage: dict[int, int] = {}
    if tables.has_table(IndexKey.__tablename__):
        index_usage = index_usage_by_version(session)
    agency_usage: dict[int, int] = {}
    if tables.has_table(AgencyKey.__tablename__):
        agency_usage = agency_keys.usage_by_version(session)
    wrapping = set(usage) | set(index_usage) | set(agency_usage)
    newest = max(set(checks) | wrapping, default=None)
    needed = wrapping | ({newest} if newest is not None else set())
    held = set(master.versions) if master else set()
    return Survey(
        [
            VersionState(
                version,
                _state(session, master, version, checks.get(version), usage.get(version, 0)),
                usage.get(version, 0),
                needed=version in needed,
                index_keys=index_usage.get(version, 0),
                agency_keys=agency_usage.get(version, 0),
            )
            for version in sorted(held | needed)
        ],
        checks,
    )


def _state(
    session: Session, master: MasterKeys | None, version: int, check: bytes | None, wrapped: int
) -> KeyState:
    if master is None or version not in master.versions:
        return KeyState.MISSING
    if check is not None:
        return KeyState.PRESENT if opens(master, version, check) else KeyState.WRONG
    if wrapped:
        row = session.exec(select(CitizenKey).where(CitizenKey.master_version == version)).first()
        assert row is not None
        try:
            unwrap_citizen_key(master, row)
        except crypto.IntegrityError:
            return KeyState.WRONG
    return KeyState.PRESENT


def opens(master: MasterKeys, version: int, check: bytes) -> bool:
    try:
        return master.unwrap(version, check, aad=_check_aad(version)) == _CHECK_VALUE
    except crypto.IntegrityError:
        return False


def wrong_versions(master: MasterKeys, checks: dict[int, bytes]) -> list[int]:
    """Versions the file holds that do not open their check value; a retired one is not wrong."""
    return [
        v
        for v, check in sorted(checks.items())
        if v in master.versions and not opens(master, v, check)
    ]


def stored(session: Session) -> dict[int, bytes]:
    """The check value of each version, as the database keeps them (none before its schema)."""
    if not inspect(session.connection()).has_table(MasterKeyCheck.__tablename__):
        return {}
    return dict(session.exec(select(MasterKeyCheck.version, MasterKeyCheck.check)).all())


def record(session: Session, master: MasterKeys) -> list[int]:
    """Seal a check value for each version of the file that has none yet. Only after a survey
    found nothing missing or wrong: a check sealed under a wrong key would vouch for it. A
    version whose stored check value the file does not open is refused here too, so that no
    caller records beside a wrong key."""
    known = stored(session)
    wrong = wrong_versions(master, known)
    if wrong:
        raise crypto.MasterKeyError(
            f"master key {', '.join(f'v{v}' for v in wrong)} of the key file does not open the "
            "check value the database keeps; nothing was recorded"
        )
    new = [version for version in master.versions if version not in known]
    for version in new:
        session.add(MasterKeyCheck(version=version, check=_sealed_check(master, version)))
    session.flush()
    return new


def claim(session: Session, master: MasterKeys, version: int) -> bool:
    """Record the check value of a version just made, before any key file holds it; False when
    the database already has one for that version. Two copies of the key file (two nodes, a
    loop over hosts) each minting the same next version are refereed by the primary key: the
    first to record it wins, and the other must not write its key anywhere."""
    session.add(MasterKeyCheck(version=version, check=_sealed_check(master, version)))
    try:
        session.flush()
    except IntegrityError:
        return False
    return True


def forget(session: Session, version: int) -> None:
    """A retired version is no longer needed: nothing is wrapped under it any more."""
    session.execute(delete(MasterKeyCheck).where(col(MasterKeyCheck.version) == version))


def usage_by_version(session: Session) -> dict[int, int]:
    rows = session.exec(
        select(CitizenKey.master_version, func.count()).group_by(col(CitizenKey.master_version))
    ).all()
    return dict(rows)


def index_usage_by_version(session: Session) -> dict[int, int]:
    """How many index keys each master version still wraps."""
    rows = session.exec(
        select(IndexKey.master_version, func.count()).group_by(col(IndexKey.master_version))
    ).all()
    return dict(rows)


def unwrap_citizen_key(master: MasterKeys, row: CitizenKey) -> bytes:
    aad = crypto.citizen_key_aad(
        citizen_id=row.citizen_id, kek_version=row.kek_version, master_version=row.master_version
    )
    return master.unwrap(row.master_version, row.wrapped_kek, aad=aad)


def _sealed_check(master: MasterKeys, version: int) -> bytes:
    return master.wrap(version, _CHECK_VALUE, aad=_check_aad(version))


def _check_aad(version: int) -> bytes:
    return _CHECK_AAD + struct.pack(">I", version)
