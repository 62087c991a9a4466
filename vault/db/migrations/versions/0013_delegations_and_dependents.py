"""delegations and dependents

A citizen lets another act for them (`delegation`: offered, accepted, revoked; acting sessions
have it as their origin), and a parent keeps a child's vault (`dependent_vault` marks a vault
opened for a child; `guardianship` is one parent's hold on it, through a guardian delegation,
with the birth certificate shown).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 01:40:30.827779
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "delegation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("delegate_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("personal", "guardian", name="delegationkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("scopes", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "active",
                "declined",
                "revoked",
                "expired",
                name="delegationstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["delegate_id"], ["citizen.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("delegation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delegation_citizen_id"), ["citizen_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_delegation_delegate_id"), ["delegate_id"], unique=False
        )

    op.create_table(
        "dependent_vault",
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("citizen_id"),
    )
    op.create_table(
        "guardianship",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("guardian_id", sa.Uuid(), nullable=False),
        sa.Column("delegation_id", sa.Uuid(), nullable=False),
        sa.Column(
            "relationship",
            sa.Enum("mother", "father", "guardian", name="kinship", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("birth_certificate_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["birth_certificate_id"], ["document.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["child_id"], ["dependent_vault.citizen_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["delegation_id"], ["delegation.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["guardian_id"], ["citizen.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("birth_certificate_id"),
        sa.UniqueConstraint("child_id", "guardian_id"),
        sa.UniqueConstraint("delegation_id"),
    )
    with op.batch_alter_table("guardianship", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_guardianship_child_id"), ["child_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_guardianship_guardian_id"), ["guardian_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("guardianship", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guardianship_guardian_id"))
        batch_op.drop_index(batch_op.f("ix_guardianship_child_id"))

    op.drop_table("guardianship")
    op.drop_table("dependent_vault")
    with op.batch_alter_table("delegation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delegation_delegate_id"))
        batch_op.drop_index(batch_op.f("ix_delegation_citizen_id"))

    op.drop_table("delegation")
