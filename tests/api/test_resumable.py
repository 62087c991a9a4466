"""Resumable uploads over tus 1.0.0 (/api/v1/uploads), spoken by hand, in process, on both
stacks; the real clients through a cutting proxy and a killed server are in
test_resumable_clients.py."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import select
from typer.testing import CliRunner

from storage import FileStore, StoreUnavailable
from tests.conftest import Stack
from tests.support import asgi, files
from tests.support.api import Account, register, register_agency
from tests.support.assist import acting_headers, register_officer
from tests.support.env import settings_env
from tests.support.tus import (
    CHUNK,
    TUS,
    checksum,
    create,
    head,
    joined_but_refused,
    marked_pdf,
    patch,
    send_all,
    upload_id,
)
from vault import bootstrap, db
from vault.api.bodies import BodyTooLarge
from vault.cli import app as cli
from vault.documents import resumable
from vault.documents.models import DocumentVersion, ResumableUpload
from vault.jobs import tasks
from vault.jobs.work import Work
from vault.settings import Settings


@pytest.fixture
def citizen(client: TestClient) -> Account:
    return register(client)


def blob_keys(app: FastAPI) -> set[str]:
    return {blob.key for blob in app.state.backend.store.iter_blobs()}


def assemblies(app: FastAPI) -> set[str]:
    """The keys of objects still being put together from parts (not blobs yet)."""
    store = app.state.backend.store
    if isinstance(store, FileStore):
        return {path.name.partition(".")[0] for path in (store.root / "assembling").iterdir()}
    listed = store.client._list_multipart_uploads(store.bucket)
    return {upload.object_name for upload in listed.uploads}


def make_paper(client: TestClient, citizen: Account, *ids: str, **fields: str):
    return client.post(
        "/api/v1/documents",
        headers=citizen.headers,
        data={"doc_type": "GKS", **fields, "upload_id": list(ids)},
    )


def test_options_answers_without_a_token(client: TestClient, app: FastAPI) -> None:
    answer = client.options("/api/v1/uploads")
    assert answer.status_code == 204
    assert answer.headers["tus-resumable"] == "1.0.0"
    assert answer.headers["tus-version"] == "1.0.0"
    assert set(answer.headers["tus-extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "termination",
        "expiration",
        "checksum",
    }
    assert answer.headers["tus-max-size"] == str(app.state.backend.limits.max_upload_bytes)
    assert answer.headers["tus-checksum-algorithm"] == "sha1,sha256"


def test_a_paper_from_a_resumable_upload_is_byte_identical(
    app: FastAPI, client: TestClient, citizen: Account
) -> None:
    data = marked_pdf(3 << 20)
    created = create(client, citizen.headers, len(data), filename="giấy khai sinh.pdf")
    assert created.headers["location"].startswith("/api/v1/uploads/")
    assert created.headers["tus-resumable"] == "1.0.0"
    assert "GMT" in created.headers["upload-expires"]
    uid = upload_id(created)
    offset = 0
    for size in (1, 1 << 20, (1 << 20) + 5, len(data)):
        piece = data[offset : offset + size]
        if not piece:
            break
        sent = patch(client, citizen.headers, uid, offset, piece)
        assert sent.status_code == 204, sent.text
        offset += len(piece)
        assert sent.headers["upload-offset"] == str(offset)
    where = head(client, citizen.headers, uid)
    assert where.status_code == 200
    assert where.headers["upload-offset"] == where.headers["upload-length"] == str(len(data))
    assert where.headers["cache-control"] == "no-store"
    assert "filename" in where.headers["upload-metadata"]

    paper = make_paper(client, citizen, uid, title="Khai sinh")
    assert paper.status_code == 201, paper.text
    body = paper.json()
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["filename"] == "giấy khai sinh.pdf"
    content = client.get(f"/api/v1/documents/{body['id']}/content", headers=citizen.headers)
    assert content.content == data
    # Used up: its object is the paper's own, a second use is refused, tus no longer knows it.
    again = make_paper(client, citizen, uid)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert head(client, citizen.headers, uid).status_code == 404
    with db.unit_of_work(app.state.engine, writes=False) as session:
        used = session.exec(select(ResumableUpload)).one()
        assert used.state is resumable.UploadState.CONSUMED and used.tail_key is None
    assert len(blob_keys(app)) == 2  # the paper and its thumbnail


def test_photos_by_upload_id_are_the_pages_of_one_paper_and_a_new_version(
    client: TestClient, citizen: Account
) -> None:
    front, back = files.jpeg_with_gps(), files.jpeg_with_gps(orientation=1)
    ids = [send_all(client, citizen.headers, image) for image in (front, back)]
    paper = make_paper(client, citizen, *ids)
    assert paper.status_code == 201, paper.text
    assert paper.json()["pages"] == 2
    newer = send_all(client, citizen.headers, files.pdf(text=b"NEWER"))
    version = client.post(
        f"/api/v1/documents/{paper.json()['id']}/versions",
        headers=citizen.headers,
        data={"upload_id": newer},
    )
    assert version.status_code == 201, version.text
    assert version.json()["version"] == 2


def test_an_unfinished_upload_is_not_made_into_a_paper(
    client: TestClient, citizen: Account
) -> None:
    data = files.pdf()
    uid = upload_id(create(client, citizen.headers, len(data)))
    assert patch(client, citizen.headers, uid, 0, data[:100]).status_code == 204
    refused = make_paper(client, citizen, uid)
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/upload-not-ready"
    assert "unfinished" in refused.json()["detail"]
    unknown = make_paper(client, citizen, "not-an-id")
    assert unknown.status_code == 422 and unknown.json()["field"] == "upload_id"


def test_the_rules_of_a_direct_upload_apply(client: TestClient, citizen: Account) -> None:
    uid = send_all(client, citizen.headers, files.pdf_with_javascript())
    refused = make_paper(client, citizen, uid)
    assert refused.status_code == 422
    assert refused.json()["type"] == "/problems/active-content"
    # A refused paper leaves the upload as it was: it can be cancelled, or expire.
    assert head(client, citizen.headers, uid).status_code == 200


def test_offset_mismatch_is_409(client: TestClient, citizen: Account) -> None:
    uid = upload_id(create(client, citizen.headers, 100))
    assert patch(client, citizen.headers, uid, 0, b"%PDF-" + b"a" * 10).status_code == 204
    wrong = patch(client, citizen.headers, uid, 5, b"b" * 10)
    assert wrong.status_code == 409
    assert wrong.json()["type"] == "/problems/offset-mismatch"
    assert wrong.headers["tus-resumable"] == "1.0.0"
    assert head(client, citizen.headers, uid).headers["upload-offset"] == "15"


def test_checksum_mismatch_is_460_and_nothing_of_the_chunk_is_kept(
    app: FastAPI, client: TestClient, citizen: Account
) -> None:
    data = marked_pdf(3 << 20)
    uid = upload_id(create(client, citizen.headers, len(data)))
    before = blob_keys(app)
    bad = patch(
        client, citizen.headers, uid, 0, data, **{"Upload-Checksum": checksum(b"something else")}
    )
    assert bad.status_code == 460
    assert bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["type"] == "/problems/checksum-mismatch"
    assert head(client, citizen.headers, uid).headers["upload-offset"] == "0"
    assert blob_keys(app) == before
    for algorithm in ("sha1", "sha256"):
        good = patch(
            client,
            citizen.headers,
            uid,
            0 if algorithm == "sha1" else 1 << 20,
            data[: 1 << 20] if algorithm == "sha1" else data[1 << 20 :],
            **{
                "Upload-Checksum": checksum(
                    data[: 1 << 20] if algorithm == "sha1" else data[1 << 20 :], algorithm
                )
            },
        )
        assert good.status_code == 204, good.text
    assert make_paper(client, citizen, uid).status_code == 201
    unknown = patch(client, citizen.headers, uid, 0, b"x", **{"Upload-Checksum": "md5 AAAA"})
    assert unknown.status_code == 400


def test_another_citizens_upload_is_404(client: TestClient, citizen: Account) -> None:
    uid = upload_id(create(client, citizen.headers, 10))
    other = register(client, full_name="Trần Thị Khác")
    assert head(client, other.headers, uid).status_code == 404
    assert patch(client, other.headers, uid, 0, b"0123456789").status_code == 404
    gone = client.delete(f"/api/v1/uploads/{uid}", headers={**other.headers, **TUS})
    assert gone.status_code == 404
    assert gone.json()["type"] == "/problems/not-found"
    stolen = make_paper(client, other, uid)
    assert stolen.status_code == 422
    assert head(client, citizen.headers, uid).status_code == 200


def test_authentication_and_acting_scopes(client: TestClient, citizen: Account) -> None:
    anonymous = client.post("/api/v1/uploads", headers={**TUS, "Upload-Length": "10"})
    assert anonymous.status_code == 401
    assert anonymous.headers["tus-resumable"] == "1.0.0"
    register_agency(client, "UBND-UPLOADS")
    officer = register_officer(client, "UBND-UPLOADS")
    writing = acting_headers(client, officer, citizen)
    assert create(client, writing, 10).status_code == 201
    reading = acting_headers(client, officer, citizen, scopes=("documents:read",))
    refused = create(client, reading, 10)
    assert refused.status_code == 403
    assert refused.json()["type"] == "/problems/not-while-acting"


def test_protocol_errors_have_the_statuses_tus_names(client: TestClient, citizen: Account) -> None:
    old = client.post(
        "/api/v1/uploads",
        headers={**citizen.headers, "Tus-Resumable": "0.2.2", "Upload-Length": "10"},
    )
    assert old.status_code == 412
    assert old.headers["tus-version"] == "1.0.0"
    assert old.headers["content-type"] == "application/problem+json"
    uid = upload_id(create(client, citizen.headers, 10))
    wrong_type = client.patch(
        f"/api/v1/uploads/{uid}",
        headers={**citizen.headers, **TUS, "Content-Type": "text/plain", "Upload-Offset": "0"},
        content=b"0123456789",
    )
    assert wrong_type.status_code == 415
    too_long = patch(client, citizen.headers, uid, 0, b"01234567890")
    assert too_long.status_code == 413
    assert head(client, citizen.headers, uid).headers["upload-offset"] == "0"
    no_offset = client.patch(
        f"/api/v1/uploads/{uid}", headers={**citizen.headers, **CHUNK}, content=b"0"
    )
    assert no_offset.status_code == 400
    too_big = create(client, citizen.headers, (1 << 30) + 1)
    assert too_big.status_code == 413


def test_a_patch_sent_as_a_post_with_a_method_override_streams_as_a_patch(
    app: FastAPI, client: TestClient, citizen: Account
) -> None:
    """A client that can only POST (tus-js-client's overridePatchMethod) names PATCH in
    X-HTTP-Method-Override: its body streams under the upload's limit, not the 1 MiB of
    ordinary bodies."""
    data = marked_pdf(3 << 20)
    uid = upload_id(create(client, citizen.headers, len(data)))
    sent = client.post(
        f"/api/v1/uploads/{uid}",
        headers={
            **citizen.headers,
            **CHUNK,
            "Upload-Offset": "0",
            "X-HTTP-Method-Override": "PATCH",
        },
        content=data,
    )
    assert sent.status_code == 204, sent.text
    assert sent.headers["tus-resumable"] == "1.0.0"
    assert sent.headers["upload-offset"] == str(len(data))
    paper = make_paper(client, citizen, uid)
    assert paper.status_code == 201, paper.text
    assert paper.json()["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_refusal_while_the_body_streams_is_its_problem_document_and_keeps_nothing(
    app: FastAPI, client: TestClient, citizen: Account
) -> None:
    """A middleware refusing the body as it is read (BodyLimit's 413, here raised by hand: no
    streaming route keeps that limit) is answered as such, with Tus-Resumable, not as a 500 out
    of the task reading the socket; and the bytes before it are not taken for a whole body."""
    uid = upload_id(create(client, citizen.headers, 10 << 20))
    answer = asgi.request(
        app,
        "PATCH",
        f"/api/v1/uploads/{uid}",
        {**citizen.headers, **CHUNK, "Upload-Offset": "0", "Content-Length": str(10 << 20)},
        [*asgi.body(b"%PDF-" + b"x" * 1000, more=True), BodyTooLarge(1 << 20)],
    )
    assert answer.status == 413, answer.body
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["tus-resumable"] == "1.0.0"
    assert answer.json()["type"] == "/problems/body-too-large"
    assert head(client, citizen.headers, uid).headers["upload-offset"] == "0"


def test_a_patch_declared_past_the_upload_length_is_refused_before_any_byte_is_kept(
    app: FastAPI, client: TestClient, citizen: Account
) -> None:
    """A Content-Length past what the upload still needs is 413 at once: read up to the length,
    the body's whole parts would be stored and counted, and the client, told 413 (fatal to a
    tus client), would not know it. A body in several messages, as a server passes it on."""
    data = marked_pdf(12 << 20)
    uid = upload_id(create(client, citizen.headers, len(data)))
    before = blob_keys(app)
    body = data + b"x"
    pieces = [body[at : at + (1 << 20)] for at in range(0, len(body), 1 << 20)]
    refused = asgi.request(
        app,
        "PATCH",
        f"/api/v1/uploads/{uid}",
        {**citizen.headers, **CHUNK, "Upload-Offset": "0", "Content-Length": str(len(body))},
        asgi.body(*pieces),
    )
    assert refused.status == 413, refused.body
    assert refused.headers["tus-resumable"] == "1.0.0"
    assert refused.json()["type"] == "/problems/file-too-large"
    assert head(client, citizen.headers, uid).headers["upload-offset"] == "0"
    assert blob_keys(app) == before
    assert patch(client, citizen.headers, uid, 0, data).status_code == 204
    assert make_paper(client, citizen, uid).status_code == 201


def test_creation_with_upload_and_termination(
    app: FastAPI, client: TestClient, citizen: Account
) -> None:
    data = files.pdf()
    created = client.post(
        "/api/v1/uploads",
        headers={**citizen.headers, **CHUNK, "Upload-Length": str(len(data))},
        content=data,
    )
    assert created.status_code == 201, created.text
    assert created.headers["upload-offset"] == str(len(data))
    uid = upload_id(created)
    assert assemblies(app)  # one part, the last: the object is finished when made a paper
    gone = client.delete(f"/api/v1/uploads/{uid}", headers={**citizen.headers, **TUS})
    assert gone.status_code == 204
    assert head(client, citizen.headers, uid).status_code == 404
    assert not blob_keys(app) and not assemblies(app)


def test_a_creation_whose_first_bytes_fail_leaves_nothing_behind(
    app: FastAPI, client: TestClient, citizen: Account
) -> None:
    """The client learns where an upload is from the creation's answer alone: a creation whose
    bytes fail (a checksum mismatch; a body past its length) leaves no upload behind to hold a
    place in the quota, and nothing in the store."""
    data = marked_pdf(6 << 20)
    for headers, status in (
        ({"Upload-Length": str(len(data)), "Upload-Checksum": checksum(b"other")}, 460),
        ({"Upload-Length": str(len(data) - 1)}, 413),
    ):
        failed = client.post(
            "/api/v1/uploads", headers={**citizen.headers, **CHUNK, **headers}, content=data
        )
        assert failed.status_code == status, failed.text
        assert failed.headers["content-type"] == "application/problem+json"
        assert "location" not in failed.headers
        with db.unit_of_work(app.state.engine, writes=False) as session:
            assert session.exec(select(ResumableUpload)).all() == []
        assert not blob_keys(app) and not assemblies(app)
    uid = send_all(client, citizen.headers, data)
    made = make_paper(client, citizen, uid)
    assert made.status_code == 201, made.text
    fetched = client.get(f"/api/v1/documents/{made.json()['id']}/content", headers=citizen.headers)
    assert hashlib.sha256(fetched.content).digest() == hashlib.sha256(data).digest()


def test_a_creation_cut_short_leaves_nothing_behind_and_a_patch_keeps_what_came(
    app: FastAPI, client: TestClient, citizen: Account
) -> None:
    """A creation whose client went away mid-body, or whose body ended short of its
    Content-Length, is undone like one whose bytes failed: its client never learned where the
    upload is, which would hold a place in the quota for a day. A PATCH cut the same way keeps
    what arrived (HEAD says where to go on)."""
    data = marked_pdf(6 << 20)
    first = data[: resumable.PART_SIZE + 1000]  # a whole part stored, and a tail
    pieces = [first[at : at + (1 << 20)] for at in range(0, len(first), 1 << 20)]
    cut = [*asgi.body(*pieces, more=True), asgi.DISCONNECT]
    headers = {**citizen.headers, **CHUNK, "Content-Length": str(len(data))}
    for messages in (cut, asgi.body(*pieces)):
        created = asgi.request(
            app, "POST", "/api/v1/uploads", {**headers, "Upload-Length": str(len(data))}, messages
        )
        assert created.status == 400, created.body
        assert created.json()["type"] == "/problems/malformed-request"
        assert "location" not in created.headers
        with db.unit_of_work(app.state.engine, writes=False) as session:
            assert session.exec(select(ResumableUpload)).all() == []
        assert not blob_keys(app) and not assemblies(app)

    uid = upload_id(create(client, citizen.headers, len(data)))
    path = f"/api/v1/uploads/{uid}"
    patched = asgi.request(app, "PATCH", path, {**headers, "Upload-Offset": "0"}, cut)
    assert patched.status == 204, patched.body
    assert head(client, citizen.headers, uid).headers["upload-offset"] == str(len(first))
    rest = patch(client, citizen.headers, uid, len(first), data[len(first) :])
    assert rest.status_code == 204, rest.text
    assert make_paper(client, citizen, uid).status_code == 201


def test_an_upload_cancelled_while_it_becomes_a_paper_leaves_the_paper_whole(
    app: FastAPI, client: TestClient, citizen: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cancel reads what the upload holds as it deletes the row, under the row's lock: if
    the upload was made into a paper meanwhile, the object is the paper's and stays."""
    data = marked_pdf(3 << 20)
    uid = send_all(client, citizen.headers, data)
    consumed, go_on = threading.Event(), threading.Event()
    consume = resumable.Consumption.consume

    def held_in_its_transaction(self: resumable.Consumption) -> None:
        consume(self)
        consumed.set()
        go_on.wait(30)

    monkeypatch.setattr(resumable.Consumption, "consume", held_in_its_transaction)
    answers: dict[str, Any] = {}
    making = threading.Thread(target=lambda: answers.update(paper=make_paper(client, citizen, uid)))
    making.start()
    assert consumed.wait(30)
    cancelling = threading.Thread(
        target=lambda: answers.update(
            cancel=client.delete(f"/api/v1/uploads/{uid}", headers={**citizen.headers, **TUS})
        )
    )
    cancelling.start()
    time.sleep(1)  # the cancel has found the upload finished and waits for its row
    go_on.set()
    making.join(30)
    cancelling.join(30)
    assert answers["paper"].status_code == 201, answers["paper"].text
    assert answers["cancel"].status_code in (204, 404)  # 404: it came after (SQLite)
    paper = answers["paper"].json()["id"]
    fetched = client.get(f"/api/v1/documents/{paper}/content", headers=citizen.headers)
    assert fetched.status_code == 200
    assert fetched.content == data


def test_quotas_ten_uploads_then_429_and_two_gib_then_413(
    client: TestClient, citizen: Account
) -> None:
    for _ in range(resumable.MAX_PENDING):
        assert create(client, citizen.headers, 10).status_code == 201
    eleventh = create(client, citizen.headers, 10)
    assert eleventh.status_code == 429
    assert eleventh.json()["type"] == "/problems/too-many-uploads"

    other = register(client, full_name="Lê Văn Nhiều")
    assert create(client, other.headers, 1 << 30).status_code == 201
    assert create(client, other.headers, (1 << 30) - 10).status_code == 201
    over = create(client, other.headers, 11)
    assert over.status_code == 413
    assert over.json()["type"] == "/problems/upload-quota-exceeded"
    assert create(client, other.headers, 10).status_code == 201


def _age(app: FastAPI, hours: float) -> None:
    with db.unit_of_work(app.state.engine) as session:
        session.execute(
            update(ResumableUpload).values(expires_at=db.utc_now() - timedelta(hours=hours))
        )


def test_an_expired_upload_is_removed_by_vault_storage_gc(
    app: FastAPI, client: TestClient, citizen: Account, settings: Settings
) -> None:
    data = marked_pdf(2 << 20)
    uid = upload_id(create(client, citizen.headers, len(data)))
    assert patch(client, citizen.headers, uid, 0, data[: 1 << 20]).status_code == 204
    kept = send_all(client, citizen.headers, files.pdf())  # not expired: stays
    with db.unit_of_work(app.state.engine) as session:
        session.execute(
            update(ResumableUpload)
            .where(ResumableUpload.id == __import__("uuid").UUID(uid))
            .values(expires_at=db.utc_now() - timedelta(seconds=1))
        )
    assert head(client, citizen.headers, uid).status_code == 404
    pieces = len(blob_keys(app))
    expired, live = _upload_row(app, uid).object_key, _upload_row(app, kept).object_key
    assert {expired, live} <= assemblies(app)
    swept = CliRunner().invoke(
        cli, ["storage", "gc", "--grace-minutes", "60"], env=settings_env(settings)
    )
    assert swept.exit_code == 0, swept.output
    assert "removed 1 expired resumable uploads" in swept.output
    assert len(blob_keys(app)) == pieces - 1  # its tail
    assert expired not in assemblies(app)  # its open assembly was aborted
    assert head(client, citizen.headers, kept).status_code == 200
    # What a live upload holds is never taken for an orphan, however old.
    again = CliRunner().invoke(
        cli, ["storage", "gc", "--grace-minutes", "0"], env=settings_env(settings)
    )
    assert again.exit_code == 0, again.output
    assert live in assemblies(app)
    assert make_paper(client, citizen, kept).status_code == 201


def test_the_periodic_gc_job_removes_expired_uploads(
    app: FastAPI, client: TestClient, citizen: Account, settings: Settings
) -> None:
    uid = upload_id(create(client, citizen.headers, 1000))
    assert patch(client, citizen.headers, uid, 0, b"%PDF-" + b"x" * 500).status_code == 204
    _age(app, 1)
    backend = app.state.backend
    work = Work.from_settings(
        settings, engine=app.state.engine, keyring=backend.keyring, store=backend.store
    )
    tasks.storage_gc(work)
    with db.unit_of_work(app.state.engine, writes=False) as session:
        assert not session.exec(select(ResumableUpload)).all()
    assert not blob_keys(app)


@pytest.mark.parametrize("stack", [Stack("sqlite", "file")], indirect=True, ids=str)
def test_a_restart_keeps_the_parts_of_an_upload_whose_folder_is_a_day_old(
    app: FastAPI, client: TestClient, citizen: Account, settings: Settings
) -> None:
    """An upload's folder of parts changes only when a whole part is stored: created a day ago
    and sent a tail since, the upload is live for another day with a folder older than one.
    Every process opens the store (each API worker, each CLI command) and must leave it."""
    data = marked_pdf(6 << 20)
    uid = upload_id(create(client, citizen.headers, len(data)))
    assert patch(client, citizen.headers, uid, 0, data[: 1 << 20]).status_code == 204
    day_ago = time.time() - 25 * 3600
    for folder in (app.state.backend.store.root / "assembling").iterdir():
        os.utime(folder, (day_ago, day_ago))

    bootstrap.build_store(settings)

    rest = patch(client, citizen.headers, uid, 1 << 20, data[1 << 20 :])
    assert rest.status_code == 204, rest.text
    paper = make_paper(client, citizen, uid)
    assert paper.status_code == 201, paper.text


def test_an_upload_whose_parts_the_store_lost_is_gone_and_frees_its_place(
    app: FastAPI, client: TestClient, citizen: Account
) -> None:
    """An assembly aborted behind its upload's back (by hand, by a bucket's lifecycle rule) is
    not damage to a paper: the PATCH that needs it is told the upload is gone (404), a paper
    made of a finished one is refused (409), and either way the upload no longer holds a place
    in the citizen's quota."""
    store = app.state.backend.store
    data = marked_pdf(6 << 20)
    uid = upload_id(create(client, citizen.headers, len(data)))
    assert patch(client, citizen.headers, uid, 0, data[: 1 << 20]).status_code == 204
    row = _upload_row(app, uid)
    assert row.assembly is not None
    store.abort_parts(row.object_key, row.assembly)
    lost = patch(client, citizen.headers, uid, 1 << 20, data[1 << 20 :])
    assert lost.status_code == 404, lost.text
    assert lost.headers["content-type"] == "application/problem+json"
    assert lost.headers["tus-resumable"] == "1.0.0"
    assert "no longer in the store" in lost.json()["detail"]
    assert head(client, citizen.headers, uid).status_code == 404
    assert not blob_keys(app)  # its tail went with it

    finished = send_all(client, citizen.headers, data)
    row = _upload_row(app, finished)
    assert row.assembly is not None
    store.abort_parts(row.object_key, row.assembly)
    refused = make_paper(client, citizen, finished)
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"] == "/problems/upload-not-ready"
    assert "no longer in the store" in refused.json()["detail"]
    assert head(client, citizen.headers, finished).status_code == 404
    for _ in range(resumable.MAX_PENDING):
        assert create(client, citizen.headers, 10).status_code == 201


def test_the_page_session_works_with_its_csrf_token_only(
    app: FastAPI, client: TestClient, citizen: Account
) -> None:
    from tests.support.pages import CSRF_INPUT, signed_in

    browser = signed_in(app, citizen)
    found = CSRF_INPUT.search(browser.get("/papers/new").text)
    assert found
    no_token = create(browser, {}, 10)
    assert no_token.status_code == 403
    assert no_token.json()["type"] == "/problems/forbidden"
    wrong = create(browser, {"X-CSRF-Token": "not-the-token"}, 10)
    assert wrong.status_code == 403
    uid = upload_id(create(browser, {"X-CSRF-Token": found.group(1)}, 10))
    assert head(browser, {}, uid).status_code == 200  # reading needs no token
    assert patch(browser, {}, uid, 0, b"0123456789").status_code == 403
    assert head(client, citizen.headers, uid).status_code == 200  # the same citizen's upload


def _version_key(app: FastAPI, document_id: str, version: int = 1) -> str:
    with db.unit_of_work(app.state.engine, writes=False) as session:
        row = session.get(DocumentVersion, (uuid.UUID(document_id), version))
        assert row is not None
        return row.object_key


def _upload_row(app: FastAPI, uid: str) -> ResumableUpload:
    with db.unit_of_work(app.state.engine, writes=False) as session:
        row = session.get(ResumableUpload, uuid.UUID(uid))
        assert row is not None
        return row


def test_a_tus_pdf_is_the_papers_own_object_with_the_tail_carried_across_unaligned_cuts(
    app: FastAPI, client: TestClient, citizen: Account
) -> None:
    """Cut short of a part, off a chunk boundary, then past several parts: the bytes short of a
    part wait in a tail object and are sealed with the next request's; the finished object is
    the paper's, stored once (no second object, no open assembly), byte-identical."""
    data = marked_pdf(13 << 20)
    uid = upload_id(create(client, citizen.headers, len(data)))
    offset = 0
    for size in ((3 << 20) + 7, (2 << 20) + 1, len(data)):
        sent = patch(client, citizen.headers, uid, offset, data[offset : offset + size])
        assert sent.status_code == 204, sent.text
        offset = min(len(data), offset + size)
        row = _upload_row(app, uid)
        assert row.received == offset
        assert row.sealed == (
            offset if offset == len(data) else offset // resumable.PART_SIZE * resumable.PART_SIZE
        )
        assert (row.tail_key is None) == (row.received == row.sealed)
    paper = make_paper(client, citizen, uid)
    assert paper.status_code == 201, paper.text
    assert paper.json()["sha256"] == hashlib.sha256(data).hexdigest()
    assert _version_key(app, paper.json()["id"]) == row.object_key
    assert paper.json()["id"] == str(row.document_id)
    content = client.get(f"/api/v1/documents/{paper.json()['id']}/content", headers=citizen.headers)
    assert content.content == data
    assert len(blob_keys(app)) == 2 and not assemblies(app)  # the paper and its thumbnail


def test_without_this_process_spool_the_paper_is_checked_from_the_store(
    app: FastAPI, client: TestClient, citizen: Account
) -> None:
    """Another API node took part (here: the spool is gone): the object is still adopted, its
    check and digest read from the store."""
    data = marked_pdf(6 << 20)
    uid = send_all(client, citizen.headers, data, step=resumable.PART_SIZE)
    resumable.SPOOLS.drop(uuid.UUID(uid))
    paper = make_paper(client, citizen, uid)
    assert paper.status_code == 201, paper.text
    assert paper.json()["sha256"] == hashlib.sha256(data).hexdigest()
    assert paper.json()["pages"] == 1
    assert _version_key(app, paper.json()["id"]) == _upload_row(app, uid).object_key
    content = client.get(f"/api/v1/documents/{paper.json()['id']}/content", headers=citizen.headers)
    assert content.content == data


def test_a_refused_paper_leaves_the_upload_whole_and_a_new_version_seals_it_anew(
    app: FastAPI, client: TestClient, citizen: Account
) -> None:
    """Refused after its object was adopted (a PDF with another file), the upload stays and
    makes the paper next time. As a new version of a paper (bound to another id and version)
    it is read back and sealed anew, and its own object goes."""
    data = marked_pdf(6 << 20)
    uid = joined_but_refused(client, citizen.headers, data)
    first = make_paper(client, citizen, uid)
    assert first.status_code == 201, first.text
    newer = marked_pdf(2 << 20)
    again = send_all(client, citizen.headers, newer)
    held = _upload_row(app, again).object_key
    version = client.post(
        f"/api/v1/documents/{first.json()['id']}/versions",
        headers=citizen.headers,
        data={"upload_id": again},
    )
    assert version.status_code == 201, version.text
    assert _version_key(app, first.json()["id"], 2) != held
    content = client.get(f"/api/v1/documents/{first.json()['id']}/content", headers=citizen.headers)
    assert content.content == newer
    assert held not in blob_keys(app) and not assemblies(app)
    assert len(blob_keys(app)) == 4  # two versions, two thumbnails


def test_a_part_sent_again_after_a_failure_must_be_the_same_bytes(
    app: FastAPI, client: TestClient, citizen: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The part's digest is recorded before its ciphertext leaves: a request that then failed
    may have left it in the store, so other bytes at that place would reuse its GCM nonces.
    They are refused; the same bytes go on."""
    data = marked_pdf(6 << 20)
    uid = upload_id(create(client, citizen.headers, len(data)))
    store = app.state.backend.store
    sent = store.put_part

    def lost(key: str, handle: str, number: int, part: bytes) -> str:
        sent(key, handle, number, part)
        raise StoreUnavailable("the answer was lost")

    monkeypatch.setattr(store, "put_part", lost)
    assert patch(client, citizen.headers, uid, 0, data).status_code == 503
    monkeypatch.undo()
    assert head(client, citizen.headers, uid).headers["upload-offset"] == "0"
    other = bytearray(data)
    other[100:110] = b"0123456789"
    refused = patch(client, citizen.headers, uid, 0, bytes(other))
    assert refused.status_code == 409, refused.text
    assert head(client, citizen.headers, uid).headers["upload-offset"] == "0"
    assert patch(client, citizen.headers, uid, 0, data).status_code == 204
    paper = make_paper(client, citizen, uid)
    assert paper.status_code == 201, paper.text
    content = client.get(f"/api/v1/documents/{paper.json()['id']}/content", headers=citizen.headers)
    assert content.content == data


def test_a_part_lost_after_a_stored_one_in_the_same_body_holds_a_resend_to_its_bytes(
    app: FastAPI, client: TestClient, citizen: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a body of several parts (each hashed and sealed as it arrives), a part lost after
    leaving leaves the offset after the part stored before it, and other bytes sent there are
    refused as for the first part of a body."""
    data = marked_pdf(11 << 20)
    uid = upload_id(create(client, citizen.headers, len(data)))
    store = app.state.backend.store
    sent = store.put_part

    def second_lost(key: str, handle: str, number: int, part: bytes) -> str:
        token = sent(key, handle, number, part)
        if number == 2:
            raise StoreUnavailable("the answer was lost")
        return token

    monkeypatch.setattr(store, "put_part", second_lost)
    assert patch(client, citizen.headers, uid, 0, data).status_code == 503
    monkeypatch.undo()
    offset = resumable.PART_SIZE
    assert head(client, citizen.headers, uid).headers["upload-offset"] == str(offset)
    other = bytearray(data)
    other[offset + 100 : offset + 110] = b"0123456789"
    refused = patch(client, citizen.headers, uid, offset, bytes(other[offset:]))
    assert refused.status_code == 409, refused.text
    assert patch(client, citizen.headers, uid, offset, data[offset:]).status_code == 204
    paper = make_paper(client, citizen, uid)
    assert paper.status_code == 201, paper.text
    content = client.get(f"/api/v1/documents/{paper.json()['id']}/content", headers=citizen.headers)
    assert content.content == data
