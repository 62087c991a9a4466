"""resumable uploads

A tus upload on its way to becoming a paper (`resumable_upload`: its length, the bytes received,
its own key wrapped by the citizen's, its sealed file name and type, when it expires) and the
stored pieces its bytes are in (`upload_piece`: one encrypted object each).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 03:37:18.850011
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "resumable_upload",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("pieces", sa.Integer(), nullable=False),
        sa.Column("kek_version", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_metadata", sa.LargeBinary(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "receiving",
                "complete",
                "consumed",
                name="uploadstate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["citizen.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("resumable_upload", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resumable_upload_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_resumable_upload_owner_id"), ["owner_id"], unique=False
        )
    op.create_table(
        "upload_piece",
        sa.Column("upload_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("object_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(["upload_id"], ["resumable_upload.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("upload_id", "number"),
        sa.UniqueConstraint("object_key"),
    )


def downgrade() -> None:
    op.drop_table("upload_piece")
    with op.batch_alter_table("resumable_upload", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resumable_upload_owner_id"))
        batch_op.drop_index(batch_op.f("ix_resumable_upload_expires_at"))
    op.drop_table("resumable_upload")
