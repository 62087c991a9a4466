"""Settings as the environment an operator's shell would hold, for running the CLI."""

from vault.settings import Settings


def settings_env(settings: Settings) -> dict[str, str]:
    env = {
        "VAULT_DATA_DIR": str(settings.data_dir),
        "VAULT_DATABASE_URL": settings.resolved_database_url,
        "VAULT_MASTER_KEY_FILE": str(settings.resolved_master_key_file),
        "VAULT_STORAGE": settings.storage,
        "VAULT_S3_BUCKET": settings.s3_bucket,
        "VAULT_MAIL_FROM": settings.mail_from,
        "VAULT_JOB_RETRY_SECONDS": str(settings.job_retry_seconds),
        "VAULT_WORKER_HEARTBEAT_SECONDS": str(settings.worker_heartbeat_seconds),
        "VAULT_SERVE_RUNS_JOBS": str(settings.serve_runs_jobs).lower(),
    }
    if "public_url" in settings.model_fields_set:
        env["VAULT_PUBLIC_URL"] = settings.public_url
    if settings.smtp_url is not None:
        env["VAULT_SMTP_URL"] = settings.smtp_url.get_secret_value()
    if settings.notify_webhook_url is not None:
        assert settings.notify_webhook_secret is not None
        env["VAULT_NOTIFY_WEBHOOK_URL"] = settings.notify_webhook_url
        env["VAULT_NOTIFY_WEBHOOK_SECRET"] = settings.notify_webhook_secret.get_secret_value()
    if settings.storage == "s3":
        assert settings.s3_endpoint and settings.s3_access_key and settings.s3_secret_key
        env |= {
            "VAULT_S3_ENDPOINT": settings.s3_endpoint,
            "VAULT_S3_ACCESS_KEY": settings.s3_access_key,
            "VAULT_S3_SECRET_KEY": settings.s3_secret_key.get_secret_value(),
        }
    return env
