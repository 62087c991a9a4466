"""Misconfiguration fails at start, with a message that names the setting."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from vault.settings import Settings, public_url_for


def make(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_embedded_defaults(tmp_path: Path) -> None:
    settings = make(data_dir=tmp_path)
    assert settings.storage == "file"
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve() / 'vault.db'}"
    assert settings.resolved_master_key_file == tmp_path / "master.key"
    assert settings.max_upload_bytes == 1 << 30


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"storage": "s3"}, "VAULT_S3_ENDPOINT"),
        (
            {"storage": "s3", "s3_endpoint": "minio:9000", "s3_access_key": "a"},
            "VAULT_S3_SECRET_KEY",
        ),
        ({"s3_endpoint": "http://minio:9000"}, "without a scheme"),
        (
            {"env": "production", "database_url": "postgresql+psycopg://db/vault"},
            "VAULT_MASTER_KEY_FILE",
        ),
        ({"env": "production", "master_key_file": "/run/secrets/key"}, "PostgreSQL"),
        ({"max_upload_bytes": 0}, "greater than or equal to 1"),
        ({"storage": "ftp"}, "'file' or 's3'"),
        ({"token_ttl_seconds": 5}, "greater than or equal to 60"),
        ({"anonymous_per_minute": 0}, "greater than or equal to 1"),
    ],
)
def test_invalid_or_contradictory_settings_are_refused(
    values: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        make(**values)
    assert message in str(refused.value)


def test_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VAULT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VAULT_MAX_UPLOAD_BYTES", "1048576")
    monkeypatch.setenv("VAULT_S3_SECURE", "true")
    settings = make()
    assert (settings.data_dir, settings.max_upload_bytes, settings.s3_secure) == (
        tmp_path,
        1 << 20,
        True,
    )


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://localhost:8123"),
        ("0.0.0.0", "http://localhost:8123"),
        ("localhost", "http://localhost:8123"),
        ("::", "http://localhost:8123"),
        ("vault.internal", "http://vault.internal:8123"),
        ("10.0.0.5", "http://10.0.0.5:8123"),
        ("fd00::5", "http://[fd00::5]:8123"),
    ],
)
def test_serve_derives_the_public_url_from_where_it_listens(host: str, url: str) -> None:
    assert public_url_for(host, 8123) == url


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"smtp_url": "ftp://u:pw-1234@mail.example"}, "VAULT_SMTP_URL"),
        ({"smtp_url": "smtp://u:pw-1234@mail.example:99999"}, "port"),
        ({"smtp_url": "smtp://mail.example", "mail_from": "nobody"}, "VAULT_MAIL_FROM"),
        ({"notify_webhook_url": "https://gw.example/hook"}, "VAULT_NOTIFY_WEBHOOK_SECRET"),
        ({"notify_webhook_url": "https://gw.example/hook", "notify_webhook_secret": "short"}, "16"),
        ({"notify_webhook_url": "gw.example", "notify_webhook_secret": "x" * 16}, "http"),
    ],
)
def test_notice_channels_are_checked_at_start(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        make(**values)
    said = "; ".join(error["msg"] for error in refused.value.errors())
    assert message in said and "pw-1234" not in said


def test_blank_channel_settings_are_unset() -> None:
    """docker-compose passes an unset variable as an empty string."""
    settings = make(smtp_url="", notify_webhook_url="", notify_webhook_secret="")
    assert (settings.smtp_url, settings.notify_webhook_url, settings.notify_webhook_secret) == (
        None,
        None,
        None,
    )
