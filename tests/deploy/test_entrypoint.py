"""deploy/entrypoint.sh run for real, without Docker: as root (the container's start), with the
secret a 0600 file of root's, as under plain `docker compose`; the command runs as another
user who can read only the copy."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ENTRYPOINT = Path(__file__).resolve().parents[2] / "deploy" / "entrypoint.sh"
USER = "nobody"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root (as a container starts) and util-linux's setpriv",
)


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A directory the dropped user can pass through (pytest's own are root's, 0700), as
    /run is in a container."""
    path = Path(tempfile.mkdtemp(prefix="vault-entrypoint-", dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path)


def run(tmp_path: Path, command: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """As a container starts it: umask 022, whatever this test process's is (the app's
    `keep_files_private` sets 077 in any process that built one)."""
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *command],
        env={"PATH": "/usr/bin:/bin", "VAULT_RUN_AS": USER, **env},
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=30,
        preexec_fn=lambda: os.umask(0o022),
    )


def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secrets" / "vault_master_key"
    path.parent.mkdir()
    path.write_text("v1 c2VjcmV0\n")
    path.chmod(0o600)
    assert path.stat().st_uid == 0
    return path


def test_the_command_runs_as_the_vault_user_with_a_private_copy_of_the_key(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "run" / "vault" / "master.key"
    data = tmp_path / "data"
    data.mkdir()
    result = run(
        tmp_path,
        [
            "sh",
            "-c",
            'id -u; cat "$VAULT_MASTER_KEY_FILE"; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status',
        ],
        VAULT_MASTER_KEY_SECRET=str(secret(tmp_path)),
        VAULT_MASTER_KEY_FILE=str(key_file),
        VAULT_DATA_DIR=str(data),
    )
    assert result.returncode == 0, result.stderr
    uid = pwd.getpwnam(USER).pw_uid
    lines = result.stdout.splitlines()
    assert lines[0] == str(uid)
    assert lines[1] == "v1 c2VjcmV0"
    assert "CapEff:\t0000000000000000" in lines
    assert "NoNewPrivs:\t1" in lines
    assert (key_file.stat().st_uid, key_file.stat().st_mode & 0o777) == (uid, 0o600)
    assert (key_file.parent.stat().st_uid, key_file.parent.stat().st_mode & 0o777) == (uid, 0o700)
    assert (data.stat().st_uid, data.stat().st_mode & 0o777) == (uid, 0o700)
    assert not list(key_file.parent.glob("*.new"))


def test_a_restart_takes_the_new_key_file(tmp_path: Path) -> None:
    source = secret(tmp_path)
    key_file = tmp_path / "run" / "master.key"
    env = {"VAULT_MASTER_KEY_SECRET": str(source), "VAULT_MASTER_KEY_FILE": str(key_file)}
    assert run(tmp_path, ["true"], **env).returncode == 0
    source.write_text("v1 c2VjcmV0\nv2 bmV3ZXI=\n")
    result = run(tmp_path, ["cat", str(key_file)], **env)
    assert result.stdout == "v1 c2VjcmV0\nv2 bmV3ZXI=\n"


def test_a_missing_secret_stops_the_container_with_a_message(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        ["true"],
        VAULT_MASTER_KEY_SECRET=str(tmp_path / "nothing"),
        VAULT_MASTER_KEY_FILE=str(tmp_path / "run" / "master.key"),
    )
    assert result.returncode == 1
    assert "the master key secret" in result.stderr and "vault keys init" in result.stderr


def test_the_copy_must_go_somewhere_else(tmp_path: Path) -> None:
    path = secret(tmp_path)
    result = run(
        tmp_path, ["true"], VAULT_MASTER_KEY_SECRET=str(path), VAULT_MASTER_KEY_FILE=str(path)
    )
    assert result.returncode == 1
    assert "VAULT_MASTER_KEY_FILE" in result.stderr


def test_without_a_secret_it_only_drops_privileges(tmp_path: Path) -> None:
    result = run(tmp_path, ["id", "-un"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == USER
