"""What must stay hidden and what must fail loudly: plaintext at rest, tampering, rotation,
shredding."""

import contextlib
import os
import tempfile
import time
import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from typer.testing import CliRunner

from storage import put_bytes, read_range
from tests.support import files
from tests.support.api import register, upload
from tests.support.at_rest import open_spools, raw_database
from tests.support.env import settings_env
from tests.support.pages import signed_in
from vault import crypto
from vault.app import create_app
from vault.audit.models import AuditEvent
from vault.cli import app as cli
from vault.crypto import masterkeys
from vault.crypto.stream import HEADER_SIZE, TAG_SIZE
from vault.db import sqlite_wal
from vault.documents.models import DocumentVersion
from vault.keys import Keyring, ObjectBinding, unwrap_data_key
from vault.settings import Settings

SECRET_NAME = "Phạm Bí Mật"


def raw_store(app: FastAPI) -> list[bytes]:
    store = app.state.backend.store
    return [read_range(store, blob.key, 0, blob.size) for blob in store.iter_blobs()]


def object_key(app: FastAPI, document_id: str, version: int = 1) -> str:
    with Session(app.state.engine) as session:
        row = session.get(DocumentVersion, (uuid.UUID(document_id), version))
        assert row is not None
        return row.object_key


def test_nothing_readable_reaches_the_store_or_the_database(
    app: FastAPI, client: TestClient, settings: Settings
) -> None:
    citizen = register(client, full_name=SECRET_NAME)
    marker = files.MARKER.decode()
    upload(client, citizen, (f"{marker}.pdf", files.pdf()), title=marker, number=marker)
    upload(client, citizen, (f"{marker}.jpg", files.jpeg_with_gps()), title=marker)
    database = raw_database(app, settings)
    blobs = raw_store(app)
    assert len(blobs) == 4
    for needle in (
        files.MARKER,
        files.MARKER.hex().encode(),
        SECRET_NAME.encode(),
        citizen.national_id.encode(),
    ):
        assert needle not in database
        for blob in blobs:
            assert needle not in blob
    for blob in blobs:
        assert blob.startswith(b"DVLT\x01\x01\x14\x00")
    assert citizen.national_id.encode() not in b"".join(
        blob.key.encode() for blob in app.state.backend.store.iter_blobs()
    )


def test_stored_thumbnail_has_no_metadata(client: TestClient) -> None:
    citizen = register(client)
    body = upload(client, citizen, ("a.jpg", files.jpeg_with_gps())).json()
    thumbnail = client.get(
        f"/api/v1/documents/{body['id']}/thumbnail", headers=citizen.headers
    ).content
    assert files.MARKER not in thumbnail and b"Exif" not in thumbnail


def test_a_pdf_is_checked_from_a_spool_of_ciphertext_never_read_back_from_the_store(
    app: FastAPI, client: TestClient, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool_dir))
    backend = app.state.backend
    spools: list[bytes] = []
    reads: list[str] = []
    run_on, reader = backend.sandbox.run_on, backend.store.reader

    def watched_run_on(function, source, *args, **kwargs):
        spools.extend(open_spools(spool_dir).values())  # while the parser reads it
        return run_on(function, source, *args, **kwargs)

    def watched_reader(key, *args, **kwargs):
        reads.append(key)
        return reader(key, *args, **kwargs)

    monkeypatch.setattr(backend.sandbox, "run_on", watched_run_on)
    monkeypatch.setattr(backend.store, "reader", watched_reader)
    citizen = register(client)
    kept = upload(client, citizen, ("a.pdf", files.pdf(pages=3, padding=3 << 20)))
    refused = upload(client, citizen, ("b.pdf", files.pdf_with_javascript()))

    assert kept.status_code == 201 and refused.status_code == 422
    assert reads == []
    assert len(spools) == 2
    assert spools[0].startswith(b"DVLT") and files.MARKER not in spools[0]
    assert spools[0] in raw_store(app)  # the same ciphertext, encrypted once
    assert len(raw_store(app)) == 2  # the paper and its thumbnail; nothing of the refused one
    assert open_spools(spool_dir) == {} and os.listdir(spool_dir) == []


@pytest.fixture
def strict_client(app: FastAPI):
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def big_pdf(size: int = 3 << 20) -> bytes:
    _, pieces = files.big_pdf_stream(size)
    return b"".join(pieces)  # type: ignore[arg-type]


def _rewrite(app: FastAPI, key: str, change) -> None:
    store = app.state.backend.store
    blob = next(b for b in store.iter_blobs() if b.key == key)
    put_bytes(store, key, change(read_range(store, key, 0, blob.size)))


STRIDE = (1 << 20) + TAG_SIZE
TAMPERING = {
    "flip-header": lambda b: b[:30] + bytes([b[30] ^ 1]) + b[31:],
    "flip-first-chunk": lambda b: b[:200] + bytes([b[200] ^ 1]) + b[201:],
    "truncate-final-chunk": lambda b: b[: HEADER_SIZE + 2 * STRIDE],
    "truncate-mid-chunk": lambda b: b[:-7],
    "append": lambda b: b + b"\x00",
    "swap-chunks": lambda b: (
        b[:HEADER_SIZE]
        + b[HEADER_SIZE + STRIDE : HEADER_SIZE + 2 * STRIDE]
        + b[HEADER_SIZE : HEADER_SIZE + STRIDE]
        + b[HEADER_SIZE + 2 * STRIDE :]
    ),
}


@pytest.mark.parametrize("how", TAMPERING)
def test_tampered_objects_are_never_served(
    app: FastAPI, strict_client: TestClient, how: str
) -> None:
    citizen = register(strict_client)
    original = big_pdf()
    body = upload(strict_client, citizen, ("big.pdf", original)).json()
    _rewrite(app, object_key(app, body["id"]), TAMPERING[how])
    url = f"/api/v1/documents/{body['id']}/content"
    with strict_client.stream("GET", url, headers=citizen.headers) as response:
        if response.status_code == 500:
            response.read()
            assert response.json()["type"] == "/problems/integrity-failure"
            return
        # Damage past the first chunk shows once streaming has begun: the response is cut
        # short of its Content-Length (a real client sees the connection abort).
        assert response.status_code == 200
        received = b""
        with contextlib.suppress(Exception):
            for piece in response.iter_bytes():
                received += piece
        assert len(received) < int(response.headers["content-length"])
        assert original.startswith(received)


def test_object_copied_over_another_documents_key_does_not_open(
    app: FastAPI, strict_client: TestClient
) -> None:
    citizen = register(strict_client)
    first = upload(strict_client, citizen, ("a.pdf", files.pdf(text=b"AAAA"))).json()
    second = upload(strict_client, citizen, ("b.pdf", files.pdf(text=b"AAAA"))).json()
    store = app.state.backend.store
    key_a, key_b = object_key(app, first["id"]), object_key(app, second["id"])
    blob_a = read_range(store, key_a, 0, next(b.size for b in store.iter_blobs() if b.key == key_a))
    put_bytes(store, key_b, blob_a)
    refused = strict_client.get(
        f"/api/v1/documents/{second['id']}/content", headers=citizen.headers
    )
    assert refused.status_code == 500
    assert (
        strict_client.get(
            f"/api/v1/documents/{first['id']}/content", headers=citizen.headers
        ).status_code
        == 200
    )


def test_a_paper_whose_object_has_gone_is_reported_as_an_integrity_failure(
    app: FastAPI, strict_client: TestClient
) -> None:
    citizen = register(strict_client)
    paper = upload(strict_client, citizen, ("a.pdf", files.pdf())).json()
    app.state.backend.store.delete(object_key(app, paper["id"]))
    url = f"/api/v1/documents/{paper['id']}/content"
    lost = strict_client.get(url, headers=citizen.headers)
    assert lost.status_code == 500
    assert lost.json()["type"] == "/problems/integrity-failure"


@pytest.mark.parametrize("where", ["/api/v1/documents/{id}/content", "/papers/{id}/file"])
def test_a_paper_deleted_as_it_is_opened_is_not_found_not_an_integrity_failure(
    app: FastAPI,
    strict_client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    """The citizen deletes the paper in another tab after the download read its row and
    before it opened the object: nothing is damaged, so no alarm for the operators."""
    citizen = register(strict_client)
    paper = upload(strict_client, citizen, ("a.pdf", files.pdf())).json()
    store = app.state.backend.store
    opening = store.reader

    def deleted_first(key: str, *args: object, **kwargs: object) -> object:
        monkeypatch.setattr(store, "reader", opening)
        gone = strict_client.delete(f"/api/v1/documents/{paper['id']}", headers=citizen.headers)
        assert gone.status_code == 204
        return opening(key, *args, **kwargs)

    monkeypatch.setattr(store, "reader", deleted_first)
    reader = signed_in(app, citizen) if where.startswith("/papers") else strict_client
    answer = reader.get(where.format(id=paper["id"]), headers=citizen.headers)
    assert answer.status_code == 404
    assert store.reader is opening


def _integrity_events(app: FastAPI, document_id: str) -> list[tuple[str | None, str | None]]:
    """The failures audited for the paper, once the thread that writes them has."""
    deadline = time.monotonic() + 10
    while True:
        with Session(app.state.engine) as session:
            rows = session.exec(
                select(AuditEvent).where(
                    AuditEvent.action == "document.integrity_failure",
                    AuditEvent.document_id == uuid.UUID(document_id),
                )
            ).all()
        if rows or time.monotonic() > deadline:
            return [(row.outcome, row.reason) for row in rows]
        time.sleep(0.05)


@pytest.mark.parametrize("damage", ["flip", "delete"])
def test_a_paper_that_fails_its_check_is_written_into_its_owners_audit_chain(
    app: FastAPI, strict_client: TestClient, damage: str
) -> None:
    citizen = register(strict_client)
    paper = upload(strict_client, citizen, ("a.pdf", files.pdf())).json()
    key = object_key(app, paper["id"])
    if damage == "flip":
        _rewrite(app, key, TAMPERING["flip-first-chunk"])
    else:
        app.state.backend.store.delete(key)
    url = f"/api/v1/documents/{paper['id']}/content"
    assert strict_client.get(url, headers=citizen.headers).status_code == 500
    reason = "failed-check" if damage == "flip" else "missing-from-store"
    assert _integrity_events(app, paper["id"]) == [("denied", reason)]


def test_wrapped_key_copied_onto_another_document_does_not_open(
    app: FastAPI, strict_client: TestClient
) -> None:
    citizen = register(strict_client)
    first = upload(strict_client, citizen, ("a.pdf", files.pdf())).json()
    second = upload(strict_client, citizen, ("b.pdf", files.pdf())).json()
    with Session(app.state.engine) as session:
        a = session.get(DocumentVersion, (uuid.UUID(first["id"]), 1))
        b = session.get(DocumentVersion, (uuid.UUID(second["id"]), 1))
        b.wrapped_dek = a.wrapped_dek
        session.add(b)
        session.commit()
    refused = strict_client.get(
        f"/api/v1/documents/{second['id']}/content", headers=citizen.headers
    )
    assert refused.status_code == 500


def test_rotation_keeps_old_papers_readable_without_touching_objects(
    app: FastAPI, client: TestClient, settings: Settings
) -> None:
    citizen = register(client)
    data = files.pdf()
    body = upload(client, citizen, ("a.pdf", data)).json()
    before = {blob.key: blob.modified for blob in app.state.backend.store.iter_blobs()}

    key_file = settings.resolved_master_key_file
    rotated = CliRunner().invoke(cli, ["keys", "rotate"], env=settings_env(settings))
    assert "added master key version 2" in rotated.output
    operator = Keyring(key_file, engine=app.state.engine)
    with Session(app.state.engine) as session:
        assert operator.rewrap_batch(session).updated == 1
        session.commit()
        assert operator.rewrap_batch(session).found == 0
        assert Keyring.usage(session) == {2: 1}
    masterkeys.remove_version(key_file, 1)

    # A fresh app knows only version 2 and has nothing cached, like a restarted server.
    restarted = create_app(settings)
    with TestClient(restarted) as fresh:
        assert (
            fresh.get(f"/api/v1/documents/{body['id']}/content", headers=citizen.headers).content
            == data
        )
        later = upload(fresh, citizen, ("b.pdf", files.pdf())).json()
        assert (
            fresh.get(
                f"/api/v1/documents/{later['id']}/content", headers=citizen.headers
            ).status_code
            == 200
        )
    restarted.state.engine.dispose()
    assert {
        k: v
        for k, v in ((b.key, b.modified) for b in app.state.backend.store.iter_blobs())
        if k in before
    } == before


def test_deleted_paper_cannot_be_recovered_even_from_a_copy(
    app: FastAPI, client: TestClient, settings: Settings
) -> None:
    citizen = register(client)
    body = upload(client, citizen, ("a.pdf", files.pdf())).json()
    kept = upload(client, citizen, ("b.pdf", files.pdf())).json()
    document_id, owner_id = uuid.UUID(body["id"]), uuid.UUID(citizen.id)
    key = object_key(app, body["id"])
    store = app.state.backend.store
    stolen = read_range(store, key, 0, next(b.size for b in store.iter_blobs() if b.key == key))
    with Session(app.state.engine) as session:
        wrapped = session.get(DocumentVersion, (document_id, 1)).wrapped_dek

    assert (
        client.delete(f"/api/v1/documents/{body['id']}", headers=citizen.headers).status_code == 204
    )
    assert key not in {blob.key for blob in store.iter_blobs()}
    assert sqlite_wal.wait(app.state.engine)
    assert wrapped not in raw_database(app, settings)
    # Every data key that can still be unwrapped fails to open the stolen copy.
    context = crypto.object_context(
        crypto.ObjectKind.CONTENT, document_id=document_id, owner_id=owner_id, version=1
    )
    keyring = app.state.backend.keyring
    with Session(app.state.engine) as session:
        kek_version, kek = keyring.citizen_key(session, owner_id)
        rows = session.exec(select(DocumentVersion)).all()
        assert [str(row.document_id) for row in rows] == [kept["id"]]
        for row in rows:
            binding = ObjectBinding(
                crypto.ObjectKind.CONTENT, row.document_id, owner_id, row.version
            )
            dek = unwrap_data_key(kek, kek_version, row.wrapped_dek, binding)
            with pytest.raises(crypto.IntegrityError):
                crypto.Decryptor(
                    dek, stolen[:HEADER_SIZE], context=context, plaintext_size=len(stolen)
                )
