"""The orphan sweep: blobs no row refers to are deleted once they are older than a grace
period (an upload in flight writes its blob before its row commits). Resumable uploads past
their time are removed first (vault.documents.resumable), with what they hold in the store; the
objects still being assembled for live ones are left alone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice

from sqlalchemy import Engine
from sqlmodel import col, or_, select

from storage import BlobInfo, BlobStore
from vault import db
from vault.audit import checkpoints
from vault.documents import resumable
from vault.documents.models import DocumentVersion


@dataclass
class SweepReport:
    scanned: int = 0
    young: int = 0
    deleted: int = 0
    aborted: int = 0
    expired_uploads: int = 0


def sweep(
    engine: Engine, store: BlobStore, *, grace: timedelta, dry_run: bool = False
) -> SweepReport:
    report = SweepReport()
    if not dry_run:
        # Resumable uploads past their time go first, so that their pieces go in this sweep.
        report.expired_uploads = resumable.sweep_expired(engine, store).expired
    cutoff = db.utc_now() - grace
    for batch in _batches(store.iter_blobs(), 500):
        report.scanned += len(batch)
        batch = [blob for blob in batch if _swept(blob.key)]
        old = {blob.key for blob in batch if blob.modified < cutoff}
        report.young += len(batch) - len(old)
        for key in old - _referenced(engine, old):
            if not dry_run:
                store.delete(key)
            report.deleted += 1
    if not dry_run:
        with db.unit_of_work(engine, writes=False) as session:
            assembling = resumable.assembling(session)
        report.aborted = store.abort_incomplete(cutoff, keep=assembling)
    return report


def _swept(key: str) -> bool:
    """Published audit checkpoints are kept for good (under object lock where the bucket has
    it): not the sweep's to delete, referenced or not."""
    return not key.startswith(checkpoints.OBJECT_PREFIX)


def _referenced(engine: Engine, keys: set[str]) -> set[str]:
    with db.unit_of_work(engine, writes=False) as session:
        rows = session.exec(
            select(DocumentVersion.object_key, DocumentVersion.thumbnail_key).where(
                or_(
                    col(DocumentVersion.object_key).in_(keys),
                    col(DocumentVersion.thumbnail_key).in_(keys),
                )
            )
        ).all()
        pieces = resumable.referenced(session, keys)
    return {key for row in rows for key in row if key is not None} | pieces


def _batches(blobs: Iterator[BlobInfo], size: int) -> Iterator[list[BlobInfo]]:
    while batch := list(islice(blobs, size)):
        yield batch
