"""Settings from the environment (prefix VAULT_): the only reader of the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vault.notices.channels import Mailer

GIB = 1 << 30


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VAULT_", env_file=".env", extra="ignore")

    env: Literal["development", "production"] = "development"
    data_dir: Path = Path("./vault-data")
    database_url: str | None = None
    storage: Literal["file", "s3"] = "file"
    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: SecretStr | None = None
    s3_bucket: str = "citizen-vault"
    s3_secure: bool = False
    s3_region: str | None = None
    master_key_file: Path | None = None
    # Under compose, the secret the image's entrypoint copies to `master_key_file` (a tmpfs):
    # the commands that change the key file refuse to change that copy, which dies with the
    # container (deploy/entrypoint.sh).
    master_key_secret: Path | None = None
    max_upload_bytes: int = Field(default=GIB, ge=1)
    # Every other request body (JSON, urlencoded forms) is read whole into memory.
    max_body_bytes: int = Field(default=1 << 20, ge=4 << 10)
    max_pages: int = Field(default=20, ge=1, le=200)
    max_image_bytes: int = Field(default=64 << 20, ge=1 << 20)
    max_image_pixels: int = Field(default=64_000_000, ge=1_000_000)
    token_ttl_seconds: int = Field(default=1800, ge=60, le=7 * 24 * 3600)
    agency_token_ttl_seconds: int = Field(default=600, ge=60, le=24 * 3600)
    web_session_ttl_seconds: int = Field(default=8 * 3600, ge=300, le=7 * 24 * 3600)
    anonymous_per_minute: int = Field(default=60, ge=1)
    # Unless set, `vault serve` derives it from its --host and --port (public_url_for).
    public_url: str = "http://localhost:8000"
    # How long SIGTERM waits for requests in flight before cancelling them.
    shutdown_grace_seconds: int = Field(default=15, ge=1, le=600)
    # Notices: email (smtp[s]://user:pass@host:port?starttls=1) and the operator's gateway.
    smtp_url: SecretStr | None = None
    mail_from: str = "Kho giấy tờ <no-reply@localhost>"
    notify_webhook_url: str | None = None
    notify_webhook_secret: SecretStr | None = None
    # The job queue: the first retry's delay (doubling after), and how often a worker says it
    # is alive; a job of a worker silent for three beats is run again.
    job_retry_seconds: float = Field(default=30.0, gt=0, le=3600)
    worker_heartbeat_seconds: float = Field(default=10.0, gt=0, le=600)
    # On SQLite `vault serve` runs the queue itself; false leaves it to a `vault worker`.
    # On PostgreSQL jobs always run in `vault worker` processes.
    serve_runs_jobs: bool = True
    # Reading papers: QR codes during the upload, OCR (Tesseract, Vietnamese) in a job. Both run
    # on this host, in the parser sandbox; off (VAULT_READING=off) stores papers unread.
    reading: bool = True
    # Where vie.traineddata is; unset, Debian's tesseract-ocr-vie directory and the usual others.
    tessdata_dir: Path | None = None

    @field_validator("smtp_url", "notify_webhook_url", "notify_webhook_secret", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """A compose file passes an unset variable as an empty string."""
        return None if value == "" else value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        problems = []
        if self.storage == "s3":
            missing = [
                f"VAULT_{name.upper()}"
                for name in ("s3_endpoint", "s3_access_key", "s3_secret_key")
                if not getattr(self, name)
            ]
            if missing:
                problems.append(f"VAULT_STORAGE=s3 needs {', '.join(missing)}")
        if self.s3_endpoint and "://" in self.s3_endpoint:
            problems.append(
                "VAULT_S3_ENDPOINT is host:port without a scheme; use VAULT_S3_SECURE for https"
            )
        if self.env == "production":
            if self.master_key_file is None:
                problems.append("production needs VAULT_MASTER_KEY_FILE (no key is generated)")
            if self.database_url is None or self.database_url.startswith("sqlite"):
                problems.append("production needs a PostgreSQL VAULT_DATABASE_URL")
        if self.notify_webhook_url is not None:
            secret = self.notify_webhook_secret
            if secret is None or len(secret.get_secret_value()) < 16:
                problems.append(
                    "VAULT_NOTIFY_WEBHOOK_URL needs VAULT_NOTIFY_WEBHOOK_SECRET of 16 characters "
                    "or more: the gateway checks every message's signature with it"
                )
            if not self.notify_webhook_url.startswith(("http://", "https://")):
                problems.append("VAULT_NOTIFY_WEBHOOK_URL is an http:// or https:// URL")
        if self.smtp_url is not None:
            try:
                Mailer.from_url(self.smtp_url.get_secret_value(), self.mail_from)
            except ValueError as error:  # its text never holds the password
                problems.append(f"VAULT_SMTP_URL or VAULT_MAIL_FROM: {error}")
        if self.max_image_bytes > self.max_upload_bytes:
            self.max_image_bytes = self.max_upload_bytes
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'vault.db'}"

    @property
    def resolved_master_key_file(self) -> Path:
        return self.master_key_file or self.data_dir / "master.key"


def public_url_for(host: str, port: int) -> str:
    """Where a browser on this machine reaches `vault serve --host HOST --port PORT`: a share link
    built on the default would point at a port nothing listens on."""
    if host in {"127.0.0.1", "0.0.0.0", "localhost", "::", "::1"}:
        return f"http://localhost:{port}"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
