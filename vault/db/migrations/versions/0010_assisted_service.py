"""assisted service: acting sessions and assist requests

A token for a citizen's API held by an officer or a delegate (`acting_session`), and an
officer's request to act for a citizen, waiting for the citizen's consent (`assist_request`).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 01:24:32.833425
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "acting_session",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("officer", "delegate", name="actorkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("officer_id", sa.Uuid(), nullable=True),
        sa.Column("delegate_id", sa.Uuid(), nullable=True),
        sa.Column("origin_id", sa.Uuid(), nullable=False),
        sa.Column("scopes", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "end_reason",
            sa.Enum(
                "citizen",
                "actor",
                "expired",
                "reset",
                "revoked",
                name="endreason",
                native_enum=False,
                length=16,
            ),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["delegate_id"], ["citizen.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("acting_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_acting_session_citizen_id"), ["citizen_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_acting_session_delegate_id"), ["delegate_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_acting_session_officer_id"), ["officer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_acting_session_origin_id"), ["origin_id"], unique=False
        )

    op.create_table(
        "assist_request",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("officer_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("scopes", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
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
            nullable=False,
        ),
        sa.Column("sealed_note", sa.LargeBinary(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "approved",
                "declined",
                "expired",
                "locked",
                "used",
                "withdrawn",
                name="requeststatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("password_failures", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "consent",
            sa.Enum(
                "citizen_session",
                "counter_password",
                name="consentmethod",
                native_enum=False,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column("acting_session_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["acting_session_id"], ["acting_session.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("acting_session_id"),
    )
    with op.batch_alter_table("assist_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assist_request_citizen_id"), ["citizen_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_assist_request_officer_id"), ["officer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("assist_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assist_request_officer_id"))
        batch_op.drop_index(batch_op.f("ix_assist_request_citizen_id"))

    op.drop_table("assist_request")
    with op.batch_alter_table("acting_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_acting_session_origin_id"))
        batch_op.drop_index(batch_op.f("ix_acting_session_officer_id"))
        batch_op.drop_index(batch_op.f("ix_acting_session_delegate_id"))
        batch_op.drop_index(batch_op.f("ix_acting_session_citizen_id"))

    op.drop_table("acting_session")
