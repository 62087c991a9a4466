"""Large papers through a real `vault serve` process: memory stays bounded whatever the size,
and a paper damaged in the store makes the download abort instead of completing."""

import hashlib
from pathlib import Path

import httpx2
import pytest

from tests.conftest import Stack
from tests.support import files
from tests.support.api import PASSWORD, new_national_id
from tests.support.env import settings_env
from tests.support.server import RunningServer, vault_server
from tests.support.transfer import MemoryWatch, multipart
from vault.settings import Settings

SIZE = 256 << 20
BOUND = 64 << 20


def _login(client: httpx2.Client) -> dict[str, str]:
    number = new_national_id()
    client.post(
        "/api/v1/citizens",
        json={"national_id": number, "full_name": "Võ Văn Lớn", "password": PASSWORD},
    )
    token = client.post(
        "/api/v1/auth/token", data={"username": number, "password": PASSWORD}
    ).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def _upload(client: httpx2.Client, headers: dict[str, str], size: int) -> tuple[dict, str]:
    length, pieces = files.big_pdf_stream(size)
    digest = hashlib.sha256()

    def hashed():
        for piece in pieces:  # type: ignore[attr-defined]
            digest.update(piece)
            yield piece

    form_headers, total, body = multipart({"doc_type": "GCNQSDD"}, "so-do.pdf", length, hashed())
    response = client.post(
        "/api/v1/documents",
        headers={**headers, **form_headers, "Content-Length": str(total)},
        content=body,
    )
    assert response.status_code == 201, response.text
    return response.json(), digest.hexdigest()


@pytest.fixture
def server(settings: Settings, tmp_path: Path):
    with vault_server(settings_env(settings), tmp_path) as running:
        yield running


@pytest.mark.slow
@pytest.mark.parametrize(
    "stack", [Stack("postgresql", "s3"), Stack("sqlite", "file")], indirect=True, ids=str
)
def test_memory_stays_bounded_for_large_papers(server: RunningServer) -> None:
    with httpx2.Client(base_url=server.url, timeout=120) as client:
        headers = _login(client)
        _upload(client, headers, 4 << 20)  # warm up every code path first
        with MemoryWatch(server.pid) as upload_memory:
            document, sha256 = _upload(client, headers, SIZE)
        assert document["sha256"] == sha256 and document["size"] >= SIZE - 1024

        digest, received = hashlib.sha256(), 0
        with (
            MemoryWatch(server.pid) as download_memory,
            client.stream(
                "GET", f"/api/v1/documents/{document['id']}/content", headers=headers
            ) as response,
        ):
            assert response.status_code == 200
            for piece in response.iter_bytes(1 << 20):
                digest.update(piece)
                received += len(piece)
        assert received == document["size"] and digest.hexdigest() == sha256
    print(f"upload +{upload_memory.growth >> 20} MiB, download +{download_memory.growth >> 20} MiB")
    assert upload_memory.growth < BOUND, (
        f"upload grew the server by {upload_memory.growth >> 20} MiB"
    )
    assert download_memory.growth < BOUND, (
        f"download grew the server by {download_memory.growth >> 20} MiB"
    )


@pytest.mark.parametrize("stack", [Stack("sqlite", "file")], indirect=True, ids=str)
def test_damage_deep_in_a_paper_aborts_the_download(
    server: RunningServer, settings: Settings
) -> None:
    from storage import FileStore

    with httpx2.Client(base_url=server.url, timeout=60) as client:
        headers = _login(client)
        document, _ = _upload(client, headers, 6 << 20)
        store = FileStore(settings.data_dir / "blobs")
        blobs = sorted(store.iter_blobs(), key=lambda blob: blob.size)
        path = store.root / "objects" / blobs[-1].key[:2] / blobs[-1].key
        data = bytearray(path.read_bytes())
        data[5 << 20] ^= 0x01
        path.write_bytes(bytes(data))
        with (
            pytest.raises(httpx2.RemoteProtocolError),
            client.stream(
                "GET", f"/api/v1/documents/{document['id']}/content", headers=headers
            ) as response,
        ):
            assert response.status_code == 200
            for _ in response.iter_bytes():
                pass
