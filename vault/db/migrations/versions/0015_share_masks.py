"""masks on shared papers

A citizen can black out parts of a shared paper (an address, an old ID number, a photo):
`share_grant_document.masks` holds the rectangles as JSON, null for a paper shared whole.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-09 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("share_grant_document", schema=None) as batch_op:
        batch_op.add_column(sa.Column("masks", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("share_grant_document", schema=None) as batch_op:
        batch_op.drop_column("masks")
