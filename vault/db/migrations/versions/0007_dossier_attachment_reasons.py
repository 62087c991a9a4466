"""dossier attachment reasons

A dossier keeps, for each paper its procedure asks for, why it is attached or not: a row per
requirement, with no paper where there was none. Every row already there is a paper that was
attached, so it is backfilled `attached`; why papers were missing before this revision was
never kept, so no row is invented for them. The downgrade drops the rows without a paper.

Revision ID: 0007
Revises: 0004
Create Date: 2026-11-27 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dossier_attachment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reason", sa.String(length=16), nullable=False, server_default="attached")
        )
        batch_op.alter_column("document_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.alter_column("version", existing_type=sa.Integer(), nullable=True)
    # The default only fills the rows already there: every new row states its reason.
    with op.batch_alter_table("dossier_attachment", schema=None) as batch_op:
        batch_op.alter_column("reason", existing_type=sa.String(length=16), server_default=None)


def downgrade() -> None:
    op.execute("DELETE FROM dossier_attachment WHERE document_id IS NULL OR version IS NULL")
    with op.batch_alter_table("dossier_attachment", schema=None) as batch_op:
        batch_op.alter_column("version", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("document_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column("reason")
