"""recovery: reset codes

One-time codes that set a new password without the old one (`reset_code`): an officer's code
given at the counter, and the citizen's printed recovery codes. Only a keyed hash is kept.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 01:30:36.229344
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reset_code",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("officer", "self", name="resetkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("officer_id", sa.Uuid(), nullable=True),
        sa.Column(
            "identity_check",
            sa.Enum(
                "chip_card",
                "card_photo",
                "vneid",
                name="identitycheck",
                native_enum=False,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reset_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reset_code_citizen_id"), ["citizen_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reset_code_officer_id"), ["officer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reset_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reset_code_officer_id"))
        batch_op.drop_index(batch_op.f("ix_reset_code_citizen_id"))

    op.drop_table("reset_code")
