"""The key hierarchy: master key (file) → citizen key (wrapped in `citizen_key`) → data keys
(wrapped in `document_version`). Rotation rewraps rows; it never touches a stored object."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from vault import crypto, db
from vault.crypto import MasterKeyError, MasterKeys, masterkeys
from vault.db import after_commit, utc_now
from vault.keys import agency_keys, checks, national_ids, signing_keys
from vault.keys.models import AgencyKey, AuditSigningKey, CitizenKey, IndexKey, KeyUse

_RELOAD_INTERVAL = 5.0
_CITIZEN_REFERENCE_LABEL = b"dvlt/v1/citizen-reference"


@dataclass(frozen=True)
class ObjectBinding:
    """What an object's ciphertext and its wrapped data key are bound to."""

    kind: crypto.ObjectKind
    document_id: uuid.UUID
    owner_id: uuid.UUID
    version: int

    @property
    def context(self) -> bytes:
        return crypto.object_context(
            self.kind, document_id=self.document_id, owner_id=self.owner_id, version=self.version
        )

    def wrap_aad(self, kek_version: int) -> bytes:
        return crypto.data_key_aad(
            self.kind,
            kek_version=kek_version,
            document_id=self.document_id,
            owner_id=self.owner_id,
            version=self.version,
        )


@dataclass(frozen=True)
class _Loaded:
    """The key file as read, and the check values from the database its versions open: a
    version is added to `checks` once its value, read later, opens too."""

    master: MasterKeys
    checks: dict[int, bytes]


@dataclass(frozen=True)
class Rewrapped:
    """One batch of a rewrap: rows still under an older version, and how many this run moved
    (fewer when another run got there first)."""

    found: int
    updated: int


class Keyring:
    """Master keys from the key file, reloaded when the file changes (a rotation by the CLI),
    plus a short-lived in-memory cache of unwrapped citizen keys (never of data keys) and the
    unwrapped index key of national ID numbers, which no rotation changes.

    Each load reads the check values the database keeps (`engine`), whenever they were
    recorded: a file swapped for another under a running server, or one whose version another
    copy of the file recorded first, is refused. Nothing is wrapped under a version until its
    check value has been read from the database and opened, so no key is ever wrapped under a
    stranger's key, nor under one only this copy of the file holds."""

    def __init__(
        self,
        path: Path,
        *,
        engine: Engine,
        require_private: bool = False,
        ttl: float = 60.0,
    ) -> None:
        self._path = path
        self._engine = engine
        self._require_private = require_private
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cache: OrderedDict[uuid.UUID, tuple[float, tuple[int, bytes]]] = OrderedDict()
        self._national_id_key: bytes | None = None
        self._stored: dict[int, bytes] = {}
        self._loaded = self._load()
        self._stamp = self._file_stamp()
        self._checked = time.monotonic()

    @property
    def master(self) -> MasterKeys:
        """Every version the file holds, to unwrap with. What wraps goes through `_wrapping`,
        which first checks the current version against the database."""
        if time.monotonic() - self._checked > _RELOAD_INTERVAL:
            return self._refreshed().master
        return self._loaded.master

    def _refreshed(self) -> _Loaded:
        if self._file_stamp() != self._stamp:
            self.reload()
        self._checked = time.monotonic()
        return self._loaded

    def reload(self) -> None:
        self._loaded = self._load()
        self._stamp = self._file_stamp()

    def read_checks(self, session: Session) -> None:
        """The database's check values, read afresh for `check`. The database's readiness probe
        reads them, so that a database down or hung is named once, as the database."""
        self._stored = checks.stored(session)

    def check(self) -> None:
        """Raise MasterKeyError unless the key file, read afresh, opens the check values the
        database kept when last read (at a load, or by `read_checks`), whenever they were
        recorded; changes nothing else (for the readiness probe)."""
        master = masterkeys.load(self._path, require_private=self._require_private)
        wrong = checks.wrong_versions(master, self._stored)
        if wrong:
            raise self._wrong(wrong)

    def _load(self) -> _Loaded:
        master = masterkeys.load(self._path, require_private=self._require_private)
        with db.unit_of_work(self._engine, writes=False) as session:
            stored = checks.stored(session)
        self._stored = stored
        wrong = checks.wrong_versions(master, stored)
        if wrong:
            raise self._wrong(wrong)
        return _Loaded(master, {v: c for v, c in stored.items() if v in master.versions})

    def _wrapping(self, session: Session) -> MasterKeys:
        """The key file as it is now, not as it was up to a reload interval ago (a key wrapped
        under a version `vault keys retire` has just removed would be lost for good), once the
        check value of its current version, read in `session`, opens under it. A version the
        database has no check value for may be one that only this copy of the file holds (a
        rotation on another node records its own), so nothing is wrapped under it."""
        loaded = self._refreshed()
        version = loaded.master.current_version
        if version not in loaded.checks:
            check = checks.stored(session).get(version)
            if check is None:
                raise MasterKeyError(
                    f"master key v{version} in {self._path} has no check value in the database, "
                    "so nothing is wrapped under it: `vault keys rotate` records the version it "
                    "adds; one added otherwise is recorded by `vault keys rewrap` or the start of "
                    "`vault serve`, once the key file checks out"
                )
            if not checks.opens(loaded.master, version, check):
                raise self._wrong([version])
            loaded.checks[version] = check
        return loaded.master

    def _wrong(self, versions: list[int]) -> MasterKeyError:
        return MasterKeyError(
            f"master key {', '.join(f'v{v}' for v in versions)} in {self._path} does not open "
            "the check value the database keeps: the key file was replaced by another one, or "
            "another copy of it recorded its own version first (a rotation on another node); "
            "put back the key file the database was wrapped under"
        )

    def _file_stamp(self) -> tuple[int, int]:
        """A key file gone from under a running vault stops its work, as at the start: the
        keys in memory are not used on as if nothing had happened."""
        try:
            stat = self._path.stat()
        except OSError as error:
            raise MasterKeyError(
                f"the master key file {self._path} cannot be read ({error.strerror}); "
                "put it back from the operator's safe copy"
            ) from None
        return stat.st_mtime_ns, stat.st_size

    def create_citizen_key(self, session: Session, citizen_id: uuid.UUID) -> bytes:
        kek = crypto.new_key()
        master = self._wrapping(session)
        version = master.current_version
        aad = crypto.citizen_key_aad(citizen_id=citizen_id, kek_version=1, master_version=version)
        session.add(
            CitizenKey(
                citizen_id=citizen_id,
                kek_version=1,
                master_version=version,
                wrapped_kek=master.wrap(version, kek, aad=aad),
            )
        )
        self._remember(citizen_id, (1, kek))
        return kek

    def citizen_key(self, session: Session, citizen_id: uuid.UUID) -> tuple[int, bytes]:
        """(kek_version, kek) of a citizen; IntegrityError once the key was destroyed.

        A cached key is used without reading its row: erasure deletes the rows holding every
        wrapped data key in the same transaction, so a key still cached elsewhere for a few
        seconds opens nothing."""
        cached = self._recall(citizen_id)
        if cached is not None:
            return cached
        row = session.get(CitizenKey, citizen_id)
        if row is None:
            raise crypto.IntegrityError("the citizen key no longer exists")
        kek = self._unwrap(row)
        self._remember(citizen_id, (row.kek_version, kek))
        return row.kek_version, kek

    def _unwrap(self, row: CitizenKey) -> bytes:
        try:
            return checks.unwrap_citizen_key(self.master, row)
        except MasterKeyError:
            self.reload()  # a version added since this process started
            return checks.unwrap_citizen_key(self._loaded.master, row)

    def national_id_index(self, session: Session, number: bytes) -> bytes:
        """The blind index of a national ID number: what a citizen is looked up by."""
        return national_ids.index(self._index_key(session), number)

    def _index_key(self, session: Session) -> bytes:
        """Created by the first registration or login, or by the migration that sealed the
        numbers. Kept in memory only once a commit has made it durable: a key whose creation
        rolled back must not live on here while another process creates a different one."""
        if self._national_id_key is not None:
            return self._national_id_key
        row = session.get(IndexKey, national_ids.PURPOSE) or self._new_index_key(session)
        try:
            key = national_ids.unwrap_index_key(self.master, row.master_version, row.wrapped_key)
        except MasterKeyError:
            self.reload()
            key = national_ids.unwrap_index_key(
                self._loaded.master, row.master_version, row.wrapped_key
            )
        after_commit(session, lambda: setattr(self, "_national_id_key", key))
        return key

    def _new_index_key(self, session: Session) -> IndexKey:
        """Two first registrations at once may each insert a key: the one that lands first is
        the one both use (the other insert waits for it, then does nothing)."""
        master = self._wrapping(session)
        version = master.current_version
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(
            insert(IndexKey)
            .values(
                purpose=national_ids.PURPOSE,
                master_version=version,
                wrapped_key=national_ids.wrap_index_key(master, version, crypto.new_key()),
                created_at=utc_now(),
            )
            .on_conflict_do_nothing()
        )
        return session.exec(select(IndexKey).where(IndexKey.purpose == national_ids.PURPOSE)).one()

    def citizen_reference(self, session: Session, citizen_id: uuid.UUID) -> str:
        """A keyed hash of the citizen id (HMAC-SHA-256, hex) that names the citizen in what the
        vault signs for others. Its key is derived from the index key, which no rotation
        changes, so a citizen's reference never changes; without the key it tells nothing of
        the id, and nobody but the vault can compute it."""
        key = crypto.subkey(self._index_key(session), _CITIZEN_REFERENCE_LABEL)
        return hmac.new(key, citizen_id.bytes, hashlib.sha256).hexdigest()

    def create_agency_key(self, session: Session, agency_id: uuid.UUID, use: KeyUse) -> AgencyKey:
        """A new key for the agency, wrapped under the current master version; the one it
        replaces is retired (it stays, so what it signed still verifies)."""
        row = agency_keys.new_row(self._wrapping(session), agency_id=agency_id, use=use)
        agency_keys.retire_live(session, agency_id=agency_id, use=use)
        session.add(row)
        session.flush()
        return row

    def create_signing_key(self, session: Session, name: str) -> AuditSigningKey:
        """The audit log's new signing key, wrapped under the current master version."""
        return signing_keys.create(session, self._wrapping(session), name)

    def agency_private_key(self, row: AgencyKey) -> bytes:
        try:
            return agency_keys.unwrap(self.master, row)
        except MasterKeyError:
            self.reload()
            return agency_keys.unwrap(self._loaded.master, row)

    def forget(self, citizen_id: uuid.UUID) -> None:
        with self._lock:
            self._cache.pop(citizen_id, None)

    def _remember(self, citizen_id: uuid.UUID, kek: tuple[int, bytes]) -> None:
        with self._lock:
            self._cache[citizen_id] = (time.monotonic() + self._ttl, kek)
            self._cache.move_to_end(citizen_id)
            while len(self._cache) > 10_000:
                self._cache.popitem(last=False)

    def _recall(self, citizen_id: uuid.UUID) -> tuple[int, bytes] | None:
        with self._lock:
            entry = self._cache.get(citizen_id)
            if entry is None or entry[0] < time.monotonic():
                self._cache.pop(citizen_id, None)
                return None
            return entry[1]

    def rewrap_batch(self, session: Session, *, batch: int = 500) -> Rewrapped:
        """Rewrap the index key, the agencies' keys and one batch of citizen keys under the
        current master version, and flush. The caller commits each batch and calls again until
        nothing is found: a rotation over a million citizens then holds no long transaction,
        and one that was interrupted resumes where it stopped. Each row is updated only if nobody
        rewrapped it in between (compare-and-set), so two runs at once lose nothing."""
        master = self._wrapping(session)
        target = master.current_version
        self._rewrap_index_keys(session, master, target)
        agency_keys.rewrap(session, master, target)
        signing_keys.rewrap(session, master, target)
        rows = session.exec(
            select(CitizenKey).where(CitizenKey.master_version < target).limit(batch)
        ).all()
        updated = 0
        for row in rows:
            kek = self._unwrap(row)
            aad = crypto.citizen_key_aad(
                citizen_id=row.citizen_id, kek_version=row.kek_version, master_version=target
            )
            result = session.execute(
                update(CitizenKey)
                .where(
                    col(CitizenKey.citizen_id) == row.citizen_id,
                    col(CitizenKey.master_version) == row.master_version,
                )
                .values(
                    wrapped_kek=master.wrap(target, kek, aad=aad),
                    master_version=target,
                    rewrapped_at=utc_now(),
                )
            )
            updated += result.rowcount  # type: ignore[attr-defined]
        session.flush()
        return Rewrapped(found=len(rows), updated=updated)

    def _rewrap_index_keys(self, session: Session, master: MasterKeys, target: int) -> None:
        rows = session.exec(select(IndexKey).where(IndexKey.master_version < target)).all()
        for row in rows:
            key = national_ids.unwrap_index_key(master, row.master_version, row.wrapped_key)
            session.execute(
                update(IndexKey)
                .where(
                    col(IndexKey.purpose) == row.purpose,
                    col(IndexKey.master_version) == row.master_version,
                )
                .values(
                    wrapped_key=national_ids.wrap_index_key(master, target, key),
                    master_version=target,
                    rewrapped_at=utc_now(),
                )
            )

    @staticmethod
    def usage(session: Session) -> dict[int, int]:
        """How many citizen keys each master version still wraps."""
        return checks.usage_by_version(session)

    @staticmethod
    def index_key_usage(session: Session) -> dict[int, int]:
        """How many index keys each master version still wraps."""
        return checks.index_usage_by_version(session)

    @staticmethod
    def agency_key_usage(session: Session) -> dict[int, int]:
        """How many agency keys each master version still wraps."""
        return agency_keys.usage_by_version(session)


def wrap_data_key(kek: bytes, kek_version: int, dek: bytes, binding: ObjectBinding) -> bytes:
    return crypto.seal(kek, dek, aad=binding.wrap_aad(kek_version))


def unwrap_data_key(kek: bytes, kek_version: int, box: bytes, binding: ObjectBinding) -> bytes:
    return crypto.open_box(kek, box, aad=binding.wrap_aad(kek_version))
