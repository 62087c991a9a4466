"""docker-compose.yml, the Dockerfile, the proxy's config and the lock files, read as files:
Docker does not run on the machines the tests run on, so the production shape's promises are
checked here statically (and `caddy validate` when Caddy is installed)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ONE_SHOT = {"prepare"}


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def services() -> dict[str, dict[str, Any]]:
    found = compose()["services"]
    assert isinstance(found, dict)
    return found


def test_the_services_of_the_production_shape() -> None:
    assert set(services()) == {
        "proxy",
        "vault",
        "worker",
        "prepare",
        "postgres",
        "minio",
        "seaweedfs",
    }
    assert services()["minio"]["profiles"] == ["minio"]
    assert services()["seaweedfs"]["profiles"] == ["seaweedfs"]


def test_every_image_is_pinned_to_a_version() -> None:
    for name, service in services().items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag, f"{name}: {image} has no tag"
        assert tag != "latest" and re.search(r"\d", tag), f"{name}: {image} is not a version"
    base = re.search(r"^FROM (\S+)", (ROOT / "Dockerfile").read_text(), re.M)
    assert base and re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", base.group(1))


def test_every_long_running_service_has_a_health_check() -> None:
    for name, service in services().items():
        if name in ONE_SHOT:
            assert service["restart"] == "no"
            continue
        check = service.get("healthcheck")
        assert check and not check.get("disable"), f"{name} has no health check"
        assert check["test"][0] in {"CMD", "CMD-SHELL"}
    assert "vault-worker-health" in services()["worker"]["healthcheck"]["test"]
    assert "/readyz" in " ".join(services()["vault"]["healthcheck"]["test"])


def test_the_one_shot_prepare_runs_before_the_replicas() -> None:
    for name in ("vault", "worker"):
        assert services()[name]["depends_on"]["prepare"] == {
            "condition": "service_completed_successfully"
        }
    assert services()["prepare"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_two_api_replicas_reached_only_through_the_proxy() -> None:
    vault = services()["vault"]
    assert vault["deploy"]["replicas"] == 2
    assert "--workers" in vault["command"]
    assert vault["environment"]["FORWARDED_ALLOW_IPS"] == "*"
    published = {name for name, service in services().items() if service.get("ports")}
    assert published == {"proxy"}
    proxy = services()["proxy"]
    assert any(p.endswith(":80") for p in proxy["ports"])
    assert any(p.endswith(":443") for p in proxy["ports"])
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert proxy["depends_on"]["vault"]["condition"] == "service_healthy"


def test_the_master_key_reaches_the_vault_user_under_plain_compose() -> None:
    assert compose()["secrets"]["vault_master_key"] == {"file": "./secrets/master.key"}
    for name in ("vault", "worker", "prepare"):
        service = services()[name]
        assert service["secrets"] == ["vault_master_key"], name
        env = service["environment"]
        assert env["VAULT_MASTER_KEY_SECRET"] == "/run/secrets/vault_master_key"
        key_dir = str(Path(env["VAULT_MASTER_KEY_FILE"]).parent)
        assert any(t.split(":")[0] == key_dir for t in service["tmpfs"]), name
        assert "user" not in service, "the entrypoint must start as root to copy the secret"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["vault-entrypoint"]' in dockerfile
    assert "COPY deploy/entrypoint.sh /usr/local/bin/vault-entrypoint" in dockerfile


def test_no_secret_is_written_in_the_compose_file() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for variable in ("POSTGRES_PASSWORD", "S3_ACCESS_KEY", "S3_SECRET_KEY"):
        assert f"${{{variable}:?" in text
    assert not re.search(r"(PASSWORD|SECRET_KEY|ACCESS_KEY): [^$\s]", text)


def test_the_image_installs_the_hashed_lock_and_nothing_else() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(
        r"pip install --require-hashes --no-deps -r requirements-build.lock -r requirements.lock",
        dockerfile,
    )
    assert "pip install --no-deps --no-build-isolation --no-index ." in dockerfile
    assert "pip install ." not in dockerfile.replace("--no-index .", "")


@pytest.mark.parametrize(
    "lock", ["requirements.lock", "requirements-dev.lock", "requirements-build.lock"]
)
def test_every_pin_of_the_lock_files_carries_its_hashes(lock: str) -> None:
    text = (ROOT / lock).read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 3)[3])
    assert entries
    for entry in entries:
        assert re.match(r"^[A-Za-z0-9._-]+(\[[^\]]+\])?==\S+", entry), entry[:80]
        assert "--hash=sha256:" in entry, f"{lock}: {entry.splitlines()[0]} has no hash"
    assert "Made by scripts/lock" in text


def test_the_runtime_lock_is_within_the_dev_lock() -> None:
    def pins(lock: str) -> dict[str, str]:
        found = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", (ROOT / lock).read_text(), re.M)
        return dict(found)

    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime


def test_the_proxy_takes_1_gib_uploads_and_keeps_metrics_inside() -> None:
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    size = re.search(r"max_size (\d+)MiB", caddyfile)
    assert size and int(size.group(1)) * (1 << 20) > 1 << 30
    for timeout in ("read_body 30m", "write 30m", "read_timeout 30m", "write_timeout 30m"):
        assert timeout in caddyfile
    assert "@metrics path /metrics /metrics/*" in caddyfile
    assert "respond @metrics 404" in caddyfile
    assert "flush_interval -1" in caddyfile
    assert "dynamic a {$VAULT_UPSTREAM_HOST:vault} {$VAULT_UPSTREAM_PORT:8000}" in caddyfile


def test_caddy_accepts_the_proxy_config(tmp_path: Path) -> None:
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.fail("caddy is missing; install Debian's `caddy` package (scripts/test does)")
    result = subprocess.run(
        [caddy, "validate", "--config", str(ROOT / "deploy" / "Caddyfile")]
        + ["--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "VAULT_UPSTREAM_HOST": "localhost"},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Valid configuration" in result.stdout + result.stderr
