"""Signed checkpoints of the audit log: what the operator publishes, and cannot take back.

Every event, whatever its chain, becomes the next leaf of one append-only RFC 6962 Merkle
tree, in the order the checkpoint job first sees it committed (as a Certificate Transparency
log sequences its entries): the leaf is SHA-256(0x00 ‖ the event's 32-byte entry hash). Each
hour the job signs the tree's size and root as a C2SP tlog checkpoint in a signed note, keeps
it in the database and writes it to the object store (under object lock where the bucket has
it). An inclusion proof then ties a citizen's latest event, and through its hash chain every
event before it, to a checkpoint anyone can check with the published verifier key: a chain
rewritten afterwards, even with every hash recomputed, no longer reaches the signed root.

The tree keeps, besides each event's leaf index, the hash of every complete subtree, leaves
included (`audit_node`): about two rows per event, and any root or audit path from O(log² n)
of them. It needs nothing else: a row later deleted from, or rewritten in, `audit_event` leaves
the tree as signed, so the proof still comes, and fails where the chain was touched.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, text, update
from sqlmodel import Session, col, select

from storage import BlobStore, put_retained
from vault import db
from vault.audit.log import published
from vault.audit.models import AuditCheckpoint, AuditEvent, AuditNode
from vault.crypto import MasterKeys, merkle, notes
from vault.keys import signing_keys
from vault.kit.errors import Conflict, NotFound

OBJECT_PREFIX = "audit-checkpoint-"
RETENTION = timedelta(days=3653)
BATCH = 5000
ALGORITHM = "Ed25519"


class NotCovered(Conflict):
    """No signed checkpoint covers any event of this chain yet."""


class NoSigningKey(NotFound):
    pass


class TreeDamaged(Exception):
    """A hash the tree stored is gone: someone deleted rows of `audit_node`."""


@dataclass(frozen=True)
class Proof:
    checkpoint: str
    tree_size: int
    leaf_index: int
    leaf_hash: bytes
    inclusion: list[bytes]
    events: list[dict[str, Any]]

    def document(self) -> dict[str, Any]:
        """The proof as `GET /citizens/me/audit-proof` answers it."""
        return {
            "checkpoint": self.checkpoint,
            "tree_size": self.tree_size,
            "leaf_index": self.leaf_index,
            "leaf_hash": self.leaf_hash.hex(),
            "inclusion": [node.hex() for node in self.inclusion],
            "events": self.events,
        }


def origin_for(public_url: str) -> str:
    """The log's name: the vault's host and path, without scheme, then `/audit`."""
    bare = public_url.split("://", 1)[-1].rstrip("/")
    return f"{bare}/audit"


class _Tree:
    """The stored hashes of complete subtrees, read through a cache."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._known: dict[tuple[int, int], bytes] = {}

    def remember(self, level: int, position: int, value: bytes) -> None:
        self._known[(level, position)] = value

    def __call__(self, level: int, position: int) -> bytes:
        found = self._known.get((level, position))
        if found is None:
            found = self._session.exec(
                select(AuditNode.hash).where(
                    AuditNode.level == level, AuditNode.position == position
                )
            ).first()
        if found is None:
            raise TreeDamaged(f"the audit tree lost its node {level}/{position}")
        self._known[(level, position)] = found
        return found


def _lock_tree(session: Session) -> None:
    """One sequencer at a time (SQLite: every writing transaction is already exclusive)."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(b"vault audit tree").digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def tree_size(session: Session) -> int:
    """The leaves the tree holds, from its own level 0 and never below what was signed: an
    event row deleted (by hand, or its leaf's number cleared) leaves its leaf in the tree, and
    a tree found smaller than a checkpoint already signed is damaged, not signed again smaller
    (a monitor would see the log roll back) nor grown over its holes."""
    top = session.exec(select(func.max(AuditNode.position)).where(AuditNode.level == 0)).one()
    size = 0 if top is None else int(top) + 1
    signed = session.exec(select(func.max(AuditCheckpoint.tree_size))).one() or 0
    if size < signed:
        raise TreeDamaged(
            f"the audit tree holds {size} leaves, fewer than the {signed} already signed: "
            "rows of audit_node were deleted"
        )
    return size


def sequence(engine: Engine) -> int:
    """Give every committed event without a leaf the next one, batch by batch (each batch
    committed); the number given."""
    total = 0
    while True:
        with db.unit_of_work(engine) as session:
            _lock_tree(session)
            added = _sequence_batch(session)
        total += added
        if added < BATCH:
            return total


def _sequence_batch(session: Session) -> int:
    size = tree_size(session)
    rows = session.exec(
        select(AuditEvent.id, AuditEvent.entry_hash)
        .where(col(AuditEvent.leaf_index).is_(None))
        .order_by(col(AuditEvent.id))
        .limit(BATCH)
    ).all()
    tree = _Tree(session)
    nodes = []
    for offset, (_, entry) in enumerate(rows):
        index = size + offset
        leaf = merkle.leaf_hash(bytes.fromhex(entry))
        tree.remember(0, index, leaf)
        nodes.append(AuditNode(level=0, position=index, hash=leaf))
        for level, position, value in merkle.completed_by(index, leaf, tree):
            tree.remember(level, position, value)
            nodes.append(AuditNode(level=level, position=position, hash=value))
    if rows:
        session.execute(
            update(AuditEvent),
            [{"id": event_id, "leaf_index": size + i} for i, (event_id, _) in enumerate(rows)],
        )
        session.add_all(nodes)
        session.flush()
    return len(rows)


def latest(session: Session) -> AuditCheckpoint | None:
    return session.exec(
        select(AuditCheckpoint).order_by(col(AuditCheckpoint.id).desc()).limit(1)
    ).first()


def take(
    engine: Engine, store: BlobStore, master: MasterKeys, *, now: datetime | None = None
) -> tuple[AuditCheckpoint, bool]:
    """Sequence what is new, then sign the tree as it now is: (the checkpoint, whether it is
    new). A tree that has not grown since the last checkpoint of the same key is not signed
    again (Ed25519 is deterministic: it would be the same note)."""
    sequence(engine)
    with db.unit_of_work(engine) as session:
        _lock_tree(session)
        key = signing_keys.live(session)
        if key is None:
            raise NoSigningKey(
                "The vault has no audit signing key yet; run `vault keys init-signing`."
            )
        size = tree_size(session)
        last = latest(session)
        if last is not None and last.tree_size == size and last.key_id == key.key_id:
            return last, False
        root = merkle.root(size, _Tree(session))
        body = notes.checkpoint_text(key.name, size, root)
        note = notes.sign(body, key.name, signing_keys.unwrap(master, key))
        # Object before row: a crash between leaves an unreferenced note, never a row whose
        # published copy is missing.
        object_key = OBJECT_PREFIX + secrets.token_hex(16)
        locked = put_retained(store, object_key, note.encode(), (now or db.utc_now()) + RETENTION)
        checkpoint = AuditCheckpoint(
            tree_size=size,
            root_hash=root,
            note=note,
            key_id=key.key_id,
            object_key=object_key,
            object_locked=locked,
        )
        session.add(checkpoint)
        session.flush()
    return checkpoint, True


def verifier_key(session: Session) -> str:
    key = signing_keys.live(session)
    if key is None:
        raise NoSigningKey("The vault has no audit signing key yet.")
    return notes.verifier_key(key.name, key.public_key)


def latest_note(session: Session) -> str:
    checkpoint = latest(session)
    if checkpoint is None:
        raise NotFound("No checkpoint has been signed yet; the first is within the hour.")
    return checkpoint.note


def published_chain(session: Session, chain: str) -> list[dict[str, Any]]:
    """Every event of the chain, oldest first, as a proof publishes them."""
    events = session.exec(
        select(AuditEvent).where(AuditEvent.chain == chain).order_by(col(AuditEvent.seq))
    )
    return [published(event) for event in events]


def proof_for(session: Session, chain: str) -> Proof:
    """The chain up to its latest event the latest checkpoint covers, and that event's
    inclusion proof. Reading it is not itself an event."""
    checkpoint = latest(session)
    head = None
    if checkpoint is not None:
        head = session.exec(
            select(AuditEvent)
            .where(
                AuditEvent.chain == chain,
                col(AuditEvent.leaf_index).is_not(None),
                col(AuditEvent.leaf_index) < checkpoint.tree_size,
            )
            .order_by(col(AuditEvent.seq).desc())
            .limit(1)
        ).first()
    if checkpoint is None or head is None or head.leaf_index is None:
        raise NotCovered(
            "No signed checkpoint covers your audit log yet; the next one is signed within "
            "the hour."
        )
    events = session.exec(
        select(AuditEvent)
        .where(AuditEvent.chain == chain, AuditEvent.seq <= head.seq)
        .order_by(col(AuditEvent.seq))
    ).all()
    return Proof(
        checkpoint=checkpoint.note,
        tree_size=checkpoint.tree_size,
        leaf_index=head.leaf_index,
        leaf_hash=merkle.leaf_hash(bytes.fromhex(head.entry_hash)),
        inclusion=merkle.inclusion_path(head.leaf_index, checkpoint.tree_size, _Tree(session)),
        events=[published(event) for event in events],
    )
