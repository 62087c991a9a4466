"""expiry reminders are remembered by the expiry date, not by the paper's version

A reminder's dedup key named the version (`expiring:{paper}:{version}:{milestone}`), so a date
corrected on the same version was never reminded of again, and a rescan with the same date was
reminded of twice. The keys now name the date (`expiring:{paper}:{YYYY-MM-DD}:{milestone}`,
`expired:{paper}:{YYYY-MM-DD}`); the reminders already sent are rewritten to the date their
version holds now, so that none is sent again after the upgrade. A key whose version has gone,
or whose new form the citizen already has, is left as it was.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 03:00:00.000000
"""

import uuid
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOTIFICATION = sa.table(
    "notification",
    sa.column("id", sa.Uuid()),
    sa.column("citizen_id", sa.Uuid()),
    sa.column("kind", sa.String()),
    sa.column("dedup_key", sa.String()),
)
_VERSION = sa.table(
    "document_version",
    sa.column("document_id", sa.Uuid()),
    sa.column("version", sa.Integer()),
    sa.column("expires_on", sa.Date()),
)


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_NOTIFICATION.c.id, _NOTIFICATION.c.citizen_id, _NOTIFICATION.c.dedup_key).where(
            _NOTIFICATION.c.kind.in_(["paper_expiring", "paper_expired"])
        )
    ).all()
    dates = _dates(connection, {_version_of(key) for _, _, key in rows} - {None})
    taken = {(citizen, key) for _, citizen, key in rows}
    for notice_id, citizen, key in rows:
        kind, paper, _, *milestone = key.split(":")
        expires_on = dates.get(_version_of(key))  # type: ignore[arg-type]
        if expires_on is None:
            continue  # already by date, or its version has gone
        renamed = ":".join([kind, paper, expires_on.isoformat(), *milestone])
        if (citizen, renamed) in taken:
            continue
        connection.execute(
            sa.update(_NOTIFICATION)
            .where(_NOTIFICATION.c.id == notice_id)
            .values(dedup_key=renamed)
        )
        taken.add((citizen, renamed))


def _version_of(key: str) -> tuple[uuid.UUID, int] | None:
    _, paper, version, *_ = key.split(":")
    return (uuid.UUID(paper), int(version)) if version.isdigit() else None


def _dates(
    connection: sa.Connection, versions: set[tuple[uuid.UUID, int]]
) -> dict[tuple[uuid.UUID, int], date]:
    """The expiry dates of these versions, read 500 at a time rather than one by one."""
    wanted, found = sorted(versions), {}
    for start in range(0, len(wanted), 500):
        rows = connection.execute(
            sa.select(_VERSION.c.document_id, _VERSION.c.version, _VERSION.c.expires_on).where(
                sa.tuple_(_VERSION.c.document_id, _VERSION.c.version).in_(
                    wanted[start : start + 500]
                ),
                _VERSION.c.expires_on.is_not(None),
            )
        ).all()
        found |= {(document_id, version): day for document_id, version, day in rows}
    return found


def downgrade() -> None:
    """The date-keyed reminders stay: an older vault, not finding its version keys, would only
    remind once more of the papers now in the window."""
