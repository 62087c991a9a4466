"""Settings as the environment an operator's shell would hold, for running the CLI."""

from vault.settings import Settings


def settings_env(settings: Settings) -> dict[str, str]:
    env = {
        "VAULT_DATA_DIR": str(settings.data_dir),
        "VAULT_DATABASE_URL": settings.resolved_database_url,
        "VAULT_MASTER_KEY_FILE": str(settings.resolved_master_key_file),
        "VAULT_STORAGE": settings.storage,
        "VAULT_S3_BUCKET": settings.s3_bucket,
    }
    if settings.storage == "s3":
        assert settings.s3_endpoint and settings.s3_access_key and settings.s3_secret_key
        env |= {
            "VAULT_S3_ENDPOINT": settings.s3_endpoint,
            "VAULT_S3_ACCESS_KEY": settings.s3_access_key,
            "VAULT_S3_SECRET_KEY": settings.s3_secret_key.get_secret_value(),
        }
    return env
