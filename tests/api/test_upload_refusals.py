"""Every bad upload is refused with a problem document and leaves nothing behind."""

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from tests.support import files
from tests.support.api import Account, register, upload
from vault.documents.models import Document, DocumentVersion


@pytest.fixture
def citizen(client: TestClient) -> Account:
    return register(client)


def assert_nothing_left(app: FastAPI) -> None:
    with Session(app.state.engine) as session:
        assert session.exec(select(func.count()).select_from(Document)).one() == 0
        assert session.exec(select(func.count()).select_from(DocumentVersion)).one() == 0
    assert list(app.state.backend.store.iter_blobs()) == []


REFUSALS: list[tuple[str, Callable[[], list[tuple[str, bytes]]], dict[str, str], int, str]] = [
    ("empty file", lambda: [("empty.pdf", b"")], {}, 422, "empty"),
    (
        "unknown type",
        lambda: [("a.pdf", files.pdf())],
        {"doc_type": "NOPE"},
        422,
        "Unknown document type",
    ),
    ("unknown field", lambda: [("a.pdf", files.pdf())], {"colour": "red"}, 422, "Unknown field"),
    ("bad date", lambda: [("a.pdf", files.pdf())], {"issued_on": "25/11/2026"}, 422, "YYYY-MM-DD"),
    (
        "expiry before issue",
        lambda: [("a.pdf", files.pdf())],
        {"issued_on": "2026-01-02", "expires_on": "2025-01-01"},
        422,
        "before",
    ),
    (
        "html named png",
        lambda: [("cute.png", b"<html><script>alert(1)</script></html>")],
        {},
        415,
        "not a photo",
    ),
    (
        "exe named pdf",
        lambda: [("paper.pdf", b"MZ\x90\x00" + b"\x00" * 200)],
        {},
        415,
        "not a photo",
    ),
    ("corrupt jpeg", lambda: [("a.jpg", files.jpeg_with_gps()[:300])], {}, 422, "damaged"),
    ("corrupt pdf", lambda: [("a.pdf", b"%PDF-1.7\n" + b"garbage" * 100)], {}, 422, "damaged"),
    ("image bomb", lambda: [("bomb.png", files.png_bomb())], {}, 422, "pixels"),
    (
        "pdf with javascript",
        lambda: [("a.pdf", files.pdf_with_javascript())],
        {},
        422,
        "JavaScript",
    ),
    (
        "pdf with embedded file",
        lambda: [("a.pdf", files.pdf_with_embedded_file())],
        {},
        422,
        "embedded files",
    ),
    (
        "pdf with launch action",
        lambda: [("a.pdf", files.pdf_with_launch_annotation())],
        {},
        422,
        "launch",
    ),
    (
        "pdf with launch action named indirectly",
        lambda: [("a.pdf", files.pdf_with_launch_annotation(indirect_name=True))],
        {},
        422,
        "launch",
    ),
    ("password pdf", lambda: [("a.pdf", files.encrypted_pdf())], {}, 422, "password"),
    (
        "pdf among photos",
        lambda: [("a.png", files.png()), ("b.pdf", files.pdf())],
        {},
        422,
        "on its own",
    ),
    ("no file", lambda: [], {}, 422, "part"),
]


@pytest.mark.parametrize(
    ("case", "make", "fields", "status", "detail"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_refused_upload_leaves_nothing(
    app: FastAPI,
    client: TestClient,
    citizen: Account,
    case: str,
    make,
    fields: dict[str, str],
    status: int,
    detail: str,
) -> None:
    fields = {"doc_type": "GKS", **fields}
    if make():
        response = upload(client, citizen, *make(), **fields)
    else:
        body = b'--XyZ\r\nContent-Disposition: form-data; name="doc_type"\r\n\r\nGKS\r\n--XyZ--\r\n'
        multipart = {**citizen.headers, "Content-Type": "multipart/form-data; boundary=XyZ"}
        response = client.post("/api/v1/documents", headers=multipart, content=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["type"].startswith("/problems/")
    assert detail in problem["detail"]
    assert_nothing_left(app)


@pytest.fixture
def small_limit_settings(settings):
    settings.max_upload_bytes = 200_000
    settings.max_image_bytes = 100_000
    return settings


def test_over_the_limit_is_413_while_reading(
    small_limit_settings, client: TestClient, app: FastAPI
) -> None:
    citizen = register(client)
    big = files.pdf() + b"%" + b"x" * 300_000
    response = upload(client, citizen, ("big.pdf", big))
    assert response.status_code == 413, response.text
    assert "limited" in response.json()["detail"]
    photo = files.png(size=(800, 800)) + b"\x00" * 150_000
    assert upload(client, citizen, ("big.png", photo)).status_code == 413
    assert_nothing_left(app)


def test_body_that_is_not_multipart_is_415(client: TestClient, citizen: Account) -> None:
    response = client.post("/api/v1/documents", headers=citizen.headers, content=files.pdf())
    assert response.status_code == 415


@pytest.mark.parametrize(
    ("boundary", "fields"),
    [("b" * 257, [("doc_type", "GKS")]), ("XyZ", [("doc_type", "GKS"), ("doc_type", "CCCD")])],
    ids=["boundary-too-long", "field-twice"],
)
def test_odd_multipart_bodies_are_422(
    app: FastAPI, client: TestClient, citizen: Account, boundary: str, fields: list
) -> None:
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields
    )
    body += f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n'.encode()
    body += files.pdf() + f"\r\n--{boundary}--\r\n".encode()
    response = client.post(
        "/api/v1/documents",
        headers={
            **citizen.headers,
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
        content=body,
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert_nothing_left(app)


def test_truncated_multipart_body_is_refused(
    app: FastAPI, client: TestClient, citizen: Account
) -> None:
    body = b'--XyZ\r\nContent-Disposition: form-data; name="doc_type"\r\n\r\nGKS\r\n--XyZ\r\n'
    body += b'Content-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n' + files.pdf()
    response = client.post(
        "/api/v1/documents",
        headers={**citizen.headers, "Content-Type": "multipart/form-data; boundary=XyZ"},
        content=body,
    )
    assert response.status_code == 422
    assert "closing boundary" in response.json()["detail"]
    assert_nothing_left(app)


def test_too_many_pages(client: TestClient, citizen: Account, app: FastAPI) -> None:
    pages = [(f"p{i}.png", files.png(size=(20, 20))) for i in range(21)]
    response = upload(client, citizen, *pages)
    assert response.status_code == 422
    assert_nothing_left(app)
