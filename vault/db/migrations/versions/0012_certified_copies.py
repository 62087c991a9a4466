"""certified copies: agencies' signing keys and certifications

An agency's Ed25519 private keys, wrapped under a master key version (`agency_key`), and the
statements its officers certified paper versions with (`certification`). Needs only tables
of 0010 and before.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 01:30:44.577610
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agency_key",
        sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column(
            "use",
            sa.Enum("certify", "issue", name="keyuse", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("master_version", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rewrapped_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key_id"),
    )
    with op.batch_alter_table("agency_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agency_key_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_agency_key_master_version"), ["master_version"], unique=False
        )

    op.create_table(
        "certification",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("officer_id", sa.Uuid(), nullable=True),
        sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("sealed_statement", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_note", sa.LargeBinary(), nullable=True),
        sa.Column("certified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["document_id", "version"],
            ["document_version.document_id", "document_version.version"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["key_id"], ["agency_key.key_id"]),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("certification", schema=None) as batch_op:
        batch_op.create_index(
            "ix_certification_document_version", ["document_id", "version"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_certification_key_id"), ["key_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("certification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certification_key_id"))
        batch_op.drop_index("ix_certification_document_version")

    op.drop_table("certification")
    with op.batch_alter_table("agency_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agency_key_master_version"))
        batch_op.drop_index(batch_op.f("ix_agency_key_agency_id"))

    op.drop_table("agency_key")
