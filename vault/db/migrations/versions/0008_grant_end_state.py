"""how a grant ended

A dossier's grant ends when the agency completes the dossier; the citizen then saw it as
revoked. `ended_as` keeps how an ended grant ended. Backfill: a grant ended at or after the
moment its dossier was completed ended with it; every other ended grant was revoked.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("share_grant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ended_as", sa.String(length=16), nullable=True))
    op.execute(
        "UPDATE share_grant SET ended_as = 'completed' WHERE EXISTS ("
        " SELECT 1 FROM dossier WHERE dossier.grant_id = share_grant.id"
        " AND dossier.status = 'completed' AND share_grant.revoked_at >= dossier.closed_at)"
    )
    op.execute(
        "UPDATE share_grant SET ended_as = 'revoked'"
        " WHERE revoked_at IS NOT NULL AND ended_as IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("share_grant", schema=None) as batch_op:
        batch_op.drop_column("ended_as")
