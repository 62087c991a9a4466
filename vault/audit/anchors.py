"""Anchors of the audit log: statements of every chain's last link, authenticated with a key
derived from the master key, and kept outside the database.

A hash chain shows any change to a link, but someone able to rewrite the whole table can
recompute every hash after the change. An anchor taken earlier and kept elsewhere (the
operator ships the anchor file off the host) names links that must still be there, unchanged;
forging one needs the master key, which never lives in the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import col, select

from vault import audit, db
from vault.audit.models import AuditEvent
from vault.crypto import MasterKeyError, MasterKeys

_LABEL = b"dvlt/v1/audit-anchor"


@dataclass(frozen=True)
class Outcome:
    anchors: int
    links: int
    breaks: list[audit.Break]


def take(engine: Engine, master: MasterKeys) -> dict[str, Any]:
    """The last link of every chain now, authenticated: one line for the anchor file."""
    latest = (
        select(AuditEvent.chain, func.max(AuditEvent.seq).label("seq"))
        .group_by(col(AuditEvent.chain))
        .subquery()
    )
    query = select(AuditEvent.chain, AuditEvent.seq, AuditEvent.entry_hash).join(
        latest, (col(AuditEvent.chain) == latest.c.chain) & (col(AuditEvent.seq) == latest.c.seq)
    )
    with db.unit_of_work(engine, writes=False) as session:
        heads = {chain: [seq, entry] for chain, seq, entry in session.exec(query)}
    body = {
        "taken_at": db.utc_now().isoformat(),
        "master_version": master.current_version,
        "heads": dict(sorted(heads.items())),
    }
    return {**body, "mac": _mac(master, body)}


def default_file(data_dir: Path) -> Path:
    """Where `vault audit anchor` and the scheduled job append, unless told otherwise."""
    return data_dir / "audit-anchors.jsonl"


def versions_named(path: Path) -> Counter[int]:
    """How many lines of an anchor file each master key version authenticates: a version
    retired while some still name it leaves them unverifiable, as if forged."""
    named: Counter[int] = Counter()
    if not path.is_file():
        return named
    with path.open(encoding="utf-8") as lines:  # a line holds every chain's head: one at a time
        for line in lines:
            with contextlib.suppress(ValueError, TypeError, KeyError, AttributeError):
                named[int(json.loads(line)["master_version"])] += 1
    return named


def append(path: Path, anchor: dict[str, Any]) -> None:
    """One line at the end of the anchor file."""
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(anchor, ensure_ascii=False) + "\n")


def check(engine: Engine, master: MasterKeys, lines: Iterable[str]) -> Outcome:
    """Every anchor must be authentic, and every link it names still in its chain, unchanged."""
    breaks: list[audit.Break] = []
    anchors = links = 0
    with db.unit_of_work(engine, writes=False) as session:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            anchors += 1
            anchor = _authentic(master, line)
            if anchor is None:
                breaks.append(audit.Break("anchors", number, "this anchor is not authentic"))
                continue
            for chain, (seq, entry) in anchor["heads"].items():
                links += 1
                found = session.exec(
                    select(AuditEvent.entry_hash).where(
                        AuditEvent.chain == chain, AuditEvent.seq == seq
                    )
                ).first()
                if found != entry:
                    taken = anchor["taken_at"]
                    problem = f"differs from the anchor taken at {taken}: the chain was rewritten"
                    breaks.append(audit.Break(chain, seq, problem))
    return Outcome(anchors, links, breaks)


def _authentic(master: MasterKeys, line: str) -> dict[str, Any] | None:
    try:
        anchor = json.loads(line)
        body = {key: anchor[key] for key in ("taken_at", "master_version", "heads")}
        expected = _mac(master, body)
    except (ValueError, KeyError, TypeError, MasterKeyError):
        return None
    found = str(anchor.get("mac", "")).encode()
    return anchor if hmac.compare_digest(expected.encode(), found) else None


def _mac(master: MasterKeys, body: dict[str, Any]) -> str:
    key = master.derive(int(body["master_version"]), _LABEL)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()
