"""Building the infrastructure from the settings, and preparing a data directory to run in."""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from storage import BlobStore, FileStore, S3Store
from vault import db
from vault.blobs.backend import Backend, Limits, ReadingOptions
from vault.catalog import procedures
from vault.crypto import MasterKeyError, MasterKeys, masterkeys
from vault.documents import intake, recognition
from vault.keys import Keyring, checks
from vault.kit import sandbox
from vault.settings import Settings

log = logging.getLogger(__name__)


def build_store(settings: Settings) -> BlobStore:
    if settings.storage == "s3":
        assert settings.s3_endpoint and settings.s3_access_key and settings.s3_secret_key
        return S3Store(
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(),
            bucket=settings.s3_bucket,
            secure=settings.s3_secure,
            region=settings.s3_region,
        )
    return FileStore(settings.data_dir / "blobs")


def build_backend(settings: Settings, engine: Engine) -> Backend:
    return Backend(
        store=build_store(settings),
        keyring=keyring(settings, engine),
        sandbox=shared_sandbox(),
        limits=limits(settings),
        reading=reading_options(settings),
    )


def shared_sandbox() -> sandbox.Sandbox:
    """The process's parser sandbox, its workers started with the parsers preloaded."""
    return sandbox.shared(preload=intake.SANDBOX_PRELOAD + recognition.SANDBOX_PRELOAD)


def limits(settings: Settings) -> Limits:
    return Limits(
        max_upload_bytes=settings.max_upload_bytes,
        max_pages=settings.max_pages,
        max_image_bytes=settings.max_image_bytes,
        max_image_pixels=settings.max_image_pixels,
    )


def reading_options(settings: Settings) -> ReadingOptions:
    tessdata = str(settings.tessdata_dir) if settings.tessdata_dir else None
    return ReadingOptions(enabled=settings.reading, tessdata=tessdata)


def keep_files_private() -> None:
    """Every file the process makes (database, WAL, key files, temporaries, anchors) is the
    operator's alone, whatever umask the shell or the service manager started it with."""
    os.umask(0o077)


def secure_data_dir(data_dir: Path) -> None:
    """The data directory 0700 and what lies in it no looser than its owner: an install made
    before the umask was set is tightened at start, with a line in the log."""
    keep_files_private()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path in (data_dir, *(entry for entry in data_dir.iterdir() if not entry.is_symlink())):
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(mode & 0o700)
            log.warning("tightened permissions of %s from %04o to %04o", path, mode, mode & 0o700)


@dataclass(frozen=True)
class KeyReport:
    """The key file against what the data needs."""

    where: str
    master: MasterKeys | None
    why_unusable: str | None
    survey: checks.Survey

    def problem(self) -> str | None:
        """One line naming each missing or wrong version and where it was looked for."""
        missing = [v for v in self.survey.failing if v.state is checks.KeyState.MISSING]
        wrong = [v for v in self.survey.failing if v.state is checks.KeyState.WRONG]
        parts = []
        if missing:
            held = (
                f"holds only {_labels(self.master.versions)}" if self.master else self.why_unusable
            )
            parts.append(
                f"{_subject(missing)} missing: {self.where} {held}, "
                f"but the database needs {_them(missing)} ({_wraps(missing)})"
            )
        if wrong:
            does = "does" if len(wrong) == 1 else "do"
            parts.append(
                f"{_subject(wrong)} wrong: the {_labels(wrong)} in {self.where} {does} not open "
                "the check value the database keeps (a key file of another vault, or a new one?), "
                f"and the database needs {_them(wrong)} ({_wraps(wrong)})"
            )
        if parts:
            advice = "Put the right key file back from its backup; no key was created or replaced"
            return "; ".join(parts) + ". " + advice
        if self.master is None and self.why_unusable != _DOES_NOT_EXIST:
            return f"{self.where} {self.why_unusable}"
        return None


_DOES_NOT_EXIST = "does not exist"


def key_report(settings: Settings) -> KeyReport:
    """What `vault keys status` prints and every entry point checks; reads, never writes."""
    path = settings.resolved_master_key_file
    where = f"VAULT_MASTER_KEY_FILE={path.absolute()}"
    master: MasterKeys | None = None
    why_unusable = None
    if not path.exists():
        why_unusable = _DOES_NOT_EXIST
    else:
        try:
            master = masterkeys.load(path, require_private=settings.env == "production")
        except MasterKeyError as error:
            why_unusable = f"cannot be used ({error})"
    try:
        survey = _survey(settings.resolved_database_url, master)
    except SQLAlchemyError:
        if master is not None:
            raise
        # The key file is unusable whatever the database needs: that is the news.
        raise MasterKeyError(
            f"no usable master key: {where} {why_unusable}, and the database cannot be reached "
            "to tell which version it needs"
        ) from None
    return KeyReport(where, master, why_unusable, survey)


def _survey(database_url: str, master: MasterKeys | None) -> checks.Survey:
    if database_url.startswith("sqlite"):
        database = make_url(database_url).database
        if not database or not Path(database).exists():
            return checks.Survey.of_empty_database(master)  # and it is not created here
    engine = db.make_engine(database_url)
    try:
        with db.unit_of_work(engine, writes=False) as session:
            return checks.survey(session, master)
    finally:
        engine.dispose()


def require_master_keys(settings: Settings) -> KeyReport:
    """The check every entry point that wraps or unwraps makes before anything else (serve,
    each worker's app, the CLI's key and audit commands): MasterKeyError, one line naming the
    versions and the file, when a version the data needs is missing or wrong. Nothing is made."""
    return _required(settings, key_report(settings))


def _required(settings: Settings, report: KeyReport) -> KeyReport:
    problem = report.problem()
    if problem:
        raise MasterKeyError(problem)
    if report.master is None:
        how = "create it with `vault keys init`"
        if settings.env != "production":
            how = "`vault serve` creates it on the first start of an empty vault, or " + how
        raise MasterKeyError(f"no master key: {report.where} does not exist; {how}")
    return report


def keyring(settings: Settings, engine: Engine | None = None) -> Keyring:
    require_master_keys(settings)
    return Keyring(
        settings.resolved_master_key_file,
        engine=engine or db.make_engine(settings.resolved_database_url),
        require_private=settings.env == "production",
    )


def _labels(versions: list[checks.VersionState] | list[int]) -> str:
    return ", ".join(f"v{v}" if isinstance(v, int) else f"v{v.version}" for v in versions)


def _subject(versions: list[checks.VersionState]) -> str:
    if len(versions) == 1:
        return f"master key {_labels(versions)} is"
    return f"master keys {_labels(versions)} are"


def _them(versions: list[checks.VersionState]) -> str:
    return "it" if len(versions) == 1 else "them"


def _wraps(versions: list[checks.VersionState]) -> str:
    return ", ".join(f"v{v.version} wraps {v.wraps}" for v in versions)


def prepare(settings: Settings) -> None:
    """What `vault serve` does before it listens: data directory, master key, schema, bucket.

    A master key is generated only for an empty vault, and only in development: one made up
    while the database holds keys wrapped under another would orphan every paper. Production
    never generates one."""
    secure_data_dir(settings.data_dir)
    key_file = settings.resolved_master_key_file
    report = key_report(settings)
    empty = report.why_unusable == _DOES_NOT_EXIST and not report.survey.needed
    if empty and settings.env != "production":
        masterkeys.create(key_file)
        log.warning(
            "generated a new master key file at %s; back it up apart from the data", key_file
        )
        report = key_report(settings)
    master = _required(settings, report).master
    assert master is not None
    db.upgrade(settings.resolved_database_url, master=master)
    engine = db.make_engine(settings.resolved_database_url)
    with db.unit_of_work(engine) as session:
        checks.record(session, master)
        added = procedures.seed(session)
    engine.dispose()
    if added:
        log.info("added %d procedures from the packaged catalog", added)
    store = build_store(settings)
    if isinstance(store, S3Store):
        store.ensure_bucket()
