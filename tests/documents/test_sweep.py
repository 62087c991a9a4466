"""The orphan sweep never takes what a paper or an upload still needs, even when a paper is
made while it looks, and leaves alone an upload that may still be streaming in."""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from storage import FileStore
from tests.conftest import Stack
from tests.support.api import register
from tests.support.tus import joined_but_refused, marked_pdf
from vault import db
from vault.documents import resumable, sweep
from vault.documents.models import ResumableUpload


@pytest.mark.parametrize(
    "stack", [Stack("postgresql", "file"), Stack("sqlite", "file")], indirect=True, ids=str
)
def test_a_paper_made_while_the_sweep_looks_keeps_its_object(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A finished upload's object, joined two hours ago by an attempt that was refused, is
    made into a paper while the sweep asks who refers to it."""
    citizen = register(client)
    data = marked_pdf(6 << 20)
    uid = joined_but_refused(client, citizen.headers, data)
    with db.unit_of_work(app.state.engine, writes=False) as session:
        row = session.get(ResumableUpload, uuid.UUID(uid))
        assert row is not None
        key = row.object_key
    store = app.state.backend.store
    assert isinstance(store, FileStore)
    path = store.root / "objects" / key[:2] / key
    hours_ago = time.time() - 2 * 3600
    os.utime(path, (hours_ago, hours_ago))

    looked_up = resumable.referenced
    made: dict[str, Any] = {}

    def paper_made_meanwhile(*args: Any) -> set[str]:
        made.setdefault(
            "paper",
            client.post(
                "/api/v1/documents",
                headers=citizen.headers,
                data={"doc_type": "GKS", "upload_id": uid},
            ),
        )
        return looked_up(*args)

    monkeypatch.setattr(resumable, "referenced", paper_made_meanwhile)
    report = sweep.sweep(app.state.engine, store, grace=timedelta(minutes=60))
    assert made["paper"].status_code == 201, made["paper"].text
    assert report.deleted == 0 and path.is_file()
    paper = made["paper"].json()["id"]
    fetched = client.get(f"/api/v1/documents/{paper}/content", headers=citizen.headers)
    assert fetched.status_code == 200 and fetched.content == data


@pytest.mark.parametrize("stack", [Stack("sqlite", "s3")], indirect=True, ids=str)
def test_an_assembly_nobody_names_is_aborted_only_once_no_upload_could_still_be_writing_it(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A direct upload streams into an assembly of the store for as long as its body takes:
    past the grace, it is still not taken for a leftover within a day. Grace 0 (the operator
    says no server runs) takes every one. An S3 upload's start cannot be moved back in time
    here, so what the sweep asks the store is recorded, and the store answers for real."""
    store = app.state.backend.store
    asked: list[datetime] = []
    abort = store.abort_incomplete

    def recorded(before: datetime, keep: Any = ()) -> int:
        asked.append(before)
        return int(abort(before, keep))

    monkeypatch.setattr(store, "abort_incomplete", recorded)
    key = uuid.uuid4().hex
    upload_id = store.client._create_multipart_upload(store.bucket, key, {})
    store.client._upload_part(store.bucket, key, b"x" * (5 << 20), None, upload_id, 1)

    def open_uploads() -> int:
        return len(store.client._list_multipart_uploads(store.bucket).uploads)

    kept = sweep.sweep(app.state.engine, store, grace=timedelta(minutes=60))
    assert asked[-1] <= db.utc_now() - sweep.IN_FLIGHT
    assert kept.aborted == 0 and open_uploads() == 1
    taken = sweep.sweep(app.state.engine, store, grace=timedelta(0))
    assert asked[-1] >= db.utc_now() - timedelta(minutes=1)
    assert taken.aborted == 1 and open_uploads() == 0
