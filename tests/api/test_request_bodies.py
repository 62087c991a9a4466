"""Bodies other than uploads: JSON that does not parse is the project's problem, not FastAPI's
`about:blank`, and such bodies are limited in size (a declared length at once, a chunked body
where it passes the limit), while uploads keep their own, larger, limit."""

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import Stack
from tests.support import files
from tests.support.api import PASSWORD, new_national_id, register
from tests.support.env import settings_env
from tests.support.server import RunningServer, vault_server
from tests.support.transfer import multipart
from vault import bootstrap
from vault.app import create_app
from vault.settings import Settings

LIMIT = 64 << 10

pytestmark = pytest.mark.parametrize("stack", [Stack("sqlite", "file")], indirect=True, ids=str)


@pytest.fixture
def small(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_body_bytes": LIMIT, "max_upload_bytes": 8 << 20})


@pytest.fixture
def limited(small: Settings) -> Iterator[TestClient]:
    bootstrap.prepare(small)
    app: FastAPI = create_app(small)
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"national_id": "0', b"\xff\xfe\x00garbage", b"[" * 100_000],
    ids=["syntax", "truncated", "not-utf8", "nested-too-deep"],
)
def test_a_body_that_is_not_json_is_a_problem_of_the_vault(client: TestClient, body: bytes) -> None:
    response = client.post(
        "/api/v1/citizens", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/problems/invalid-json"
    assert problem["status"] == 400 and problem["title"] == "Bad request"


def test_valid_json_of_the_wrong_shape_is_still_invalid_input(client: TestClient) -> None:
    response = client.post("/api/v1/citizens", json=["a", "list"])
    assert response.status_code == 422
    assert response.json()["type"] == "/problems/invalid-input"


def _citizen(size: int) -> dict[str, str]:
    return {"national_id": new_national_id(), "full_name": "x" * size, "password": PASSWORD}


def test_a_json_body_over_the_limit_is_413_and_one_under_it_is_read(limited: TestClient) -> None:
    over = limited.post("/api/v1/citizens", json=_citizen(LIMIT))
    assert over.status_code == 413, over.text
    assert over.headers["content-type"] == "application/problem+json"
    assert over.json()["type"] == "/problems/body-too-large"
    assert f"{LIMIT:,} bytes" in over.json()["detail"]
    # Under the limit the body is read and judged on its content (the name is too long).
    under = limited.post("/api/v1/citizens", json=_citizen(LIMIT // 2))
    assert under.status_code == 422 and under.json()["type"] == "/problems/invalid-input"


def test_a_chunked_json_body_is_cut_off_at_the_limit(limited: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"national_id": "048090000001", "password": "long enough", "full_name": "'
        for _ in range(2 * LIMIT // 1024):
            yield b"x" * 1024
        yield b'"}'

    response = limited.post(
        "/api/v1/citizens", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/body-too-large"


def test_a_page_form_over_the_limit_is_a_413_page(limited: TestClient) -> None:
    response = limited.post("/login", data={"username": "x" * LIMIT, "password": "y"})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/api/v1/citizens", "/api/v1/auth/token", "/signup"])
def test_a_body_that_only_claims_to_be_an_upload_keeps_the_limit(
    limited: TestClient, path: str
) -> None:
    """Only the upload parser lifts the limit: a route that reads its body whole keeps it
    whatever Content-Type the client sends."""
    body = b"--x\r\n" + b"a" * (2 * LIMIT) + b"\r\n--x--\r\n"
    headers = {"Content-Type": "multipart/form-data; boundary=x"}
    response = limited.post(path, content=body, headers=headers)
    assert response.status_code == 413, response.text


def test_uploads_keep_their_own_larger_limit(limited: TestClient) -> None:
    citizen = register(limited)
    length, pieces = files.big_pdf_stream(2 << 20)
    form_headers, total, body = multipart({"doc_type": "GKS"}, "so-do.pdf", length, pieces)  # type: ignore[arg-type]
    response = limited.post(
        "/api/v1/documents",
        headers={**citizen.headers, **form_headers, "Content-Length": str(total)},
        content=b"".join(body),
    )
    assert response.status_code == 201, response.text
    assert response.json()["size"] > 16 * LIMIT


@pytest.fixture
def server(small: Settings, tmp_path: Path) -> Iterator[RunningServer]:
    env = settings_env(small) | {
        "VAULT_MAX_BODY_BYTES": str(LIMIT),
        "VAULT_MAX_UPLOAD_BYTES": str(small.max_upload_bytes),
    }
    with vault_server(env, tmp_path) as running:
        yield running


def _answer(sock: socket.socket, within: float) -> bytes:
    sock.settimeout(within)
    received = b""
    while b"\r\n\r\n" not in received:
        data = sock.recv(65536)
        if not data:
            break
        received += data
    return received


@pytest.mark.servers
def test_a_real_server_refuses_before_the_body_is_sent(server: RunningServer) -> None:
    """A declared length over the limit is answered while the client has sent almost nothing,
    and a chunked body as soon as it passes the limit: neither waits for the rest."""
    host, port = server.url.removeprefix("http://").split(":")
    head = f"POST /api/v1/citizens HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(f"{head}Content-Length: {100 << 20}\r\n\r\n{{".encode())
        started = time.monotonic()
        answer = _answer(sock, within=10)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b"application/problem+json" in answer
        assert time.monotonic() - started < 5

    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(f"{head}Transfer-Encoding: chunked\r\n\r\n".encode())
        sent = 0
        while sent <= LIMIT:
            piece = b"x" * 8192
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            sent += len(piece)
        # No terminating chunk: the server must answer without it.
        answer = _answer(sock, within=10)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
