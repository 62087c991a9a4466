"""Building the infrastructure from the settings, and preparing a data directory to run in."""

from __future__ import annotations

import logging

from storage import BlobStore, FileStore, S3Store
from vault import db
from vault.blobs.backend import Backend, Limits
from vault.catalog import procedures
from vault.crypto import MasterKeyError, masterkeys
from vault.keys import Keyring
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


def build_backend(settings: Settings) -> Backend:
    return Backend(
        store=build_store(settings),
        keyring=Keyring(
            settings.resolved_master_key_file, require_private=settings.env == "production"
        ),
        sandbox=sandbox.shared(),
        limits=Limits(
            max_upload_bytes=settings.max_upload_bytes,
            max_pages=settings.max_pages,
            max_image_bytes=settings.max_image_bytes,
            max_image_pixels=settings.max_image_pixels,
        ),
    )


def prepare(settings: Settings) -> None:
    """What `vault serve` does before it listens: data directory, master key, schema, bucket.

    Only development mode generates a master key; production refuses to start without one,
    since a key made up on the spot would silently orphan every paper on the next host.
    """
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_file = settings.resolved_master_key_file
    if not key_file.exists():
        if settings.env == "production":
            raise MasterKeyError(f"master key file {key_file} does not exist")
        masterkeys.create(key_file)
        log.warning(
            "generated a new master key file at %s; back it up apart from the data", key_file
        )
    master = masterkeys.load(key_file, require_private=settings.env == "production")
    db.upgrade(settings.resolved_database_url, master=master)
    engine = db.make_engine(settings.resolved_database_url)
    with db.unit_of_work(engine) as session:
        added = procedures.seed(session)
    engine.dispose()
    if added:
        log.info("added %d procedures from the packaged catalog", added)
    store = build_store(settings)
    if isinstance(store, S3Store):
        store.ensure_bucket()
