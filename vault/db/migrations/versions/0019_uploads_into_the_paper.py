"""resumable uploads written into the paper's own object

A resumable upload's bytes no longer go into pieces of their own (`upload_piece` is dropped):
each request seals its chunks as the DVLT stream of the paper the upload can become, into parts
of one object assembled in the store (`resumable_upload`: the paper's id, object key and wrapped
data key, the stream's header, the assembly's handle and parts, the tail object, the digests of
the part on its way). Uploads begun before this revision are removed: they are unfinished by
nature and live a day at most, their pieces are left to `vault storage gc`, and their owners
send them again.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 12:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM upload_piece")
    op.execute("DELETE FROM resumable_upload")
    op.drop_table("upload_piece")
    with op.batch_alter_table("resumable_upload", schema=None) as batch_op:
        batch_op.drop_column("pieces")
        batch_op.add_column(sa.Column("document_id", sa.Uuid(), nullable=False))
        batch_op.add_column(
            sa.Column("object_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False)
        )
        batch_op.add_column(
            sa.Column("assembly", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True)
        )
        batch_op.add_column(sa.Column("wrapped_dek", sa.LargeBinary(), nullable=False))
        batch_op.add_column(sa.Column("header", sa.LargeBinary(), nullable=False))
        batch_op.add_column(sa.Column("sealed", sa.BigInteger(), nullable=False))
        batch_op.add_column(sa.Column("part_tokens", sa.Text(), nullable=False))
        batch_op.add_column(
            sa.Column("tail_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("declared_from", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("declared", sa.LargeBinary(), nullable=True))
        batch_op.create_unique_constraint("uq_resumable_upload_object_key", ["object_key"])
        batch_op.create_unique_constraint("uq_resumable_upload_tail_key", ["tail_key"])


def downgrade() -> None:
    op.execute("DELETE FROM resumable_upload")
    with op.batch_alter_table("resumable_upload", schema=None) as batch_op:
        batch_op.drop_constraint("uq_resumable_upload_tail_key", type_="unique")
        batch_op.drop_constraint("uq_resumable_upload_object_key", type_="unique")
        for column in (
            "declared",
            "declared_from",
            "tail_key",
            "part_tokens",
            "sealed",
            "header",
            "wrapped_dek",
            "assembly",
            "object_key",
            "document_id",
        ):
            batch_op.drop_column(column)
        batch_op.add_column(sa.Column("pieces", sa.Integer(), nullable=False, server_default="0"))
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
