"""What `vault serve` and the CLI leave on disk, and the address they hand out."""

import io
import logging
import os
import shutil
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from tests.conftest import Stack
from tests.support import files
from tests.support.api import PASSWORD, new_national_id, register, upload
from tests.support.env import settings_env
from tests.support.server import served
from vault import bootstrap
from vault.app import create_app
from vault.cli import app as cli
from vault.settings import Settings

runner = CliRunner()


@pytest.fixture
def shell_umask() -> Iterator[None]:
    """The umask an operator's shell usually has; the vault must not rely on it."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_start_keeps_the_data_dir_and_every_file_private(
    shell_umask: None, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    bootstrap.prepare(settings)
    app = create_app(settings)
    with TestClient(app) as client:
        upload(client, register(client), ("a.pdf", files.pdf()))
        data = settings.data_dir
        assert _mode(data) == 0o700
        for name in ("vault.db", "vault.db-wal", "vault.db-shm", "master.key"):
            assert _mode(data / name) == 0o600, name
        stored = list((data / "blobs").rglob("*"))
        assert any(path.is_file() for path in stored)
        assert {_mode(path) for path in stored} == {0o700, 0o600}
        assert all(_mode(path) == 0o600 for path in stored if path.is_file())
    app.state.engine.dispose()


def test_the_cli_keeps_what_it_creates_private(shell_umask: None, tmp_path: Path) -> None:
    env = {"VAULT_DATA_DIR": str(tmp_path / "data"), "VAULT_DATABASE_URL": ""}
    assert runner.invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
    assert _mode(tmp_path / "data") == 0o700
    assert _mode(tmp_path / "data" / "vault.db") == 0o600


def test_an_install_made_with_loose_permissions_is_tightened_at_start(
    shell_umask: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    bootstrap.prepare(settings)
    data = settings.data_dir
    data.chmod(0o755)
    for path in data.iterdir():
        path.chmod(0o755 if path.is_dir() else 0o644)

    with caplog.at_level(logging.WARNING, logger="vault.bootstrap"):
        bootstrap.prepare(settings)
    assert _mode(data) == 0o700
    assert _mode(data / "blobs") == 0o700
    assert _mode(data / "vault.db") == _mode(data / "master.key") == 0o600
    assert f"tightened permissions of {data / 'vault.db'} from 0644 to 0600" in caplog.text
    assert f"tightened permissions of {data} from 0755 to 0700" in caplog.text


def _share(base: str, agency: str) -> tuple[str, str]:
    """A citizen shares a paper; the link in the response and the one in its QR code."""
    number = new_national_id()
    with httpx2.Client(base_url=base, timeout=30) as api:
        api.post(
            "/api/v1/citizens",
            json={"national_id": number, "full_name": "Phan Văn Đức", "password": PASSWORD},
        )
        token = api.post("/api/v1/auth/token", data={"username": number, "password": PASSWORD})
        auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
        paper = api.post(
            "/api/v1/documents",
            headers=auth,
            data={"doc_type": "GKS"},
            files={"file": ("a.pdf", files.pdf())},
        ).json()
        grant = api.post(
            "/api/v1/grants",
            headers=auth,
            json={"agency": agency, "document_ids": [paper["id"]], "purpose": "Đăng ký kết hôn"},
        ).json()
        qr = api.get(f"/api/v1/grants/{grant['id']}/qr", headers=auth)
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.content)))
    return grant["share_url"], decoded.text


@pytest.mark.servers
@pytest.mark.parametrize("stack", [Stack("sqlite", "file")], indirect=True, ids=str)
def test_share_links_follow_the_port_serve_listens_on_unless_the_public_url_is_set(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VAULT_PUBLIC_URL", raising=False)
    env = settings_env(settings)
    agency = ["agency", "create", "--code", "UBND-P", "--name", "UBND phường", "--json"]
    assert runner.invoke(cli, agency, env=env).exit_code == 0
    vault = shutil.which("vault") or str(Path(sys.executable).with_name("vault"))

    def command(port: int) -> list[str]:
        return [vault, "serve", "--port", str(port)]

    with served(command, lambda port: env, tmp_path) as server:
        port = server.url.rsplit(":", 1)[1]
        link, in_qr = _share(server.url, "UBND-P")
    assert link.startswith(f"http://localhost:{port}/agency/share/")
    assert in_qr == link

    explicit = {**env, "VAULT_PUBLIC_URL": "https://vault.example.gov.vn"}
    with served(command, lambda port: explicit, tmp_path, name="explicit") as server:
        link, in_qr = _share(server.url, "UBND-P")
    assert link.startswith("https://vault.example.gov.vn/agency/share/") and in_qr == link
