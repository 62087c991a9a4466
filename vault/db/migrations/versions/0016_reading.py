"""reading: what the vault read from a paper (QR code, OCR) until the citizen confirms it

One row per paper version read (`document_reading`): its status, where the suggestion came
from, the suggested type and a confidence in clear; the suggested fields, warnings and the OCR
text sealed under a key derived from the version's data key. Rows go with their version.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 04:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "document_reading",
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "done",
                "unavailable",
                "failed",
                name="readingstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "source",
            sa.Enum("qr", "ocr", name="readingsource", native_enum=False, length=8),
            nullable=True,
        ),
        sa.Column("suggested_doc_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("sealed_fields", sa.LargeBinary(), nullable=True),
        sa.Column("sealed_text", sa.LargeBinary(), nullable=True),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id", "version"],
            ["document_version.document_id", "document_version.version"],
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", "version"),
    )


def downgrade() -> None:
    op.drop_table("document_reading")
