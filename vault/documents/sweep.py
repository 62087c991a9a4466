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

# Longer than any upload streams into the store.
IN_FLIGHT = timedelta(hours=24)


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
        for key in old - referenced(engine, old):
            if not dry_run:
                store.delete(key)
            report.deleted += 1
    if not dry_run:
        with db.unit_of_work(engine, writes=False) as session:
            assembling = resumable.assembling(session)
        # Unless the operator says nothing runs (grace 0), an assembly nobody names may be a
        # direct upload still streaming in (1 GiB on a weak link takes hours).
        abandoned = cutoff if grace <= timedelta(0) else min(cutoff, db.utc_now() - IN_FLIGHT)
        report.aborted = store.abort_incomplete(abandoned, keep=assembling)
    return report


def _swept(key: str) -> bool:
    """Published audit checkpoints are kept for good (under object lock where the bucket has
    it): not the sweep's to delete, referenced or not."""
    return not key.startswith(checkpoints.OBJECT_PREFIX)


def referenced(engine: Engine, keys: set[str]) -> set[str]:
    """Uploads first, papers second: an object only ever passes from an upload to the paper
    made of it, in one commit, and on PostgreSQL each statement sees what was committed when
    it began. Asked the other way round, a paper made between the two was seen in neither."""
    with db.unit_of_work(engine, writes=False) as session:
        pieces = resumable.referenced(session, keys)
        rows = session.exec(
            select(DocumentVersion.object_key, DocumentVersion.thumbnail_key).where(
                or_(
                    col(DocumentVersion.object_key).in_(keys),
                    col(DocumentVersion.thumbnail_key).in_(keys),
                )
            )
        ).all()
    return {key for row in rows for key in row if key is not None} | pieces


def _batches(blobs: Iterator[BlobInfo], size: int) -> Iterator[list[BlobInfo]]:
    while batch := list(islice(blobs, size)):
        yield batch
