"""procedures, dossiers, agency levels and issued papers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 15:27:16.103811
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "procedure",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("name_en", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("agency_level", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("result_doc_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("requirements", sa.Text(), nullable=False),
        sa.Column("form_fields", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "dossier",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("procedure_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("sealed_form", sa.LargeBinary(), nullable=False),
        sa.Column("grant_id", sa.Uuid(), nullable=True),
        sa.Column("result_document_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
        ),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["grant_id"], ["share_grant.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["procedure_code"],
            ["procedure.code"],
        ),
        sa.ForeignKeyConstraint(["result_document_id"], ["document.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dossier_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index("ix_dossier_agency_status", ["agency_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_dossier_citizen_id"), ["citizen_id"], unique=False)

    op.create_table(
        "dossier_attachment",
        sa.Column("dossier_id", sa.Uuid(), nullable=False),
        sa.Column("doc_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reused", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("dossier_id", "doc_type"),
    )
    with op.batch_alter_table("dossier_attachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dossier_attachment_document_id"), ["document_id"], unique=False
        )

    op.create_table(
        "dossier_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("dossier_id", sa.Uuid(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("actor_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("sealed_note", sa.LargeBinary(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("dossier_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dossier_event_dossier_id"), ["dossier_id"], unique=False
        )

    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "level",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="commune",
            )
        )
        batch_op.add_column(sa.Column("signing_key_pem", sa.Text(), nullable=True))

    with op.batch_alter_table("document_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issuer_agency_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("signature", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("signer_key_pem", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            "fk_document_version_issuer_agency", "agency", ["issuer_agency_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("document_version", schema=None) as batch_op:
        batch_op.drop_constraint("fk_document_version_issuer_agency", type_="foreignkey")
        batch_op.drop_column("signer_key_pem")
        batch_op.drop_column("signature")
        batch_op.drop_column("issuer_agency_id")

    with op.batch_alter_table("agency", schema=None) as batch_op:
        batch_op.drop_column("signing_key_pem")
        batch_op.drop_column("level")

    with op.batch_alter_table("dossier_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dossier_event_dossier_id"))

    op.drop_table("dossier_event")
    with op.batch_alter_table("dossier_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dossier_attachment_document_id"))

    op.drop_table("dossier_attachment")
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dossier_citizen_id"))
        batch_op.drop_index("ix_dossier_agency_status")
        batch_op.drop_index(batch_op.f("ix_dossier_agency_id"))

    op.drop_table("dossier")
    op.drop_table("procedure")
