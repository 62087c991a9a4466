"""What a task needs, built once per worker process from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine

from storage import BlobStore
from vault import bootstrap, db
from vault.audit import anchors
from vault.blobs.backend import Backend, Limits, ReadingOptions
from vault.db.per_thread import ThreadConnections
from vault.keys import Keyring
from vault.notices.channels import Mailer, Webhook
from vault.settings import Settings


@dataclass(frozen=True)
class Work:
    engine: Engine
    keyring: Keyring
    store: BlobStore
    mailer: Mailer | None
    webhook: Webhook | None
    public_url: str
    anchor_file: Path
    gc_grace: timedelta
    retry_seconds: float
    limits: Limits = Limits(max_upload_bytes=1 << 30)
    reading: ReadingOptions = ReadingOptions()
    # Each job thread's own connection, kept from one job to the next (see db.per_thread):
    # closed by whoever runs the jobs, once its threads are done.
    connections: ThreadConnections = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "connections", ThreadConnections(self.engine))

    def backend(self) -> Backend:
        """What a task that reads papers needs: the store, the keys, the parser sandbox."""
        return Backend(
            self.store, self.keyring, bootstrap.shared_sandbox(), self.limits, self.reading
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        engine: Engine | None = None,
        keyring: Keyring | None = None,
        store: BlobStore | None = None,
    ) -> Work:
        """Fails closed, like `vault serve`: no key, no work."""
        mailer = None
        if settings.smtp_url is not None:
            mailer = Mailer.from_url(settings.smtp_url.get_secret_value(), settings.mail_from)
        webhook = None
        if settings.notify_webhook_url is not None:
            assert settings.notify_webhook_secret is not None
            secret = settings.notify_webhook_secret.get_secret_value().encode()
            webhook = Webhook(settings.notify_webhook_url, secret)
        engine = engine or db.make_engine(settings.resolved_database_url)
        return cls(
            engine=engine,
            keyring=keyring or bootstrap.keyring(settings, engine),
            store=store or bootstrap.build_store(settings),
            mailer=mailer,
            webhook=webhook,
            public_url=settings.public_url.rstrip("/"),
            anchor_file=anchors.default_file(settings.data_dir),
            gc_grace=timedelta(minutes=60),
            retry_seconds=settings.job_retry_seconds,
            limits=bootstrap.limits(settings),
            reading=bootstrap.reading_options(settings),
        )
