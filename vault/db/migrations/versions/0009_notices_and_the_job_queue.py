"""notices and the job queue

The inbox (`notification`), where notices go (`notice_preference`, `notice_contact`), each
message's fate (`delivery`), the devices citizens log in from, the periodic jobs' slots, and
the queue library's own tables: procrastinate's schema on PostgreSQL (as the pinned release
ships it), huey's four tables on SQLite (its own DDL).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 22:16:24.127625
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from huey.storage import SqliteStorage
from procrastinate.schema import SchemaManager

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_HUEY_TABLES = ("task", "schedule", "kv", "counter")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _run_script(SchemaManager.get_schema())
    else:
        for statement in SqliteStorage.ddl:
            if statement.startswith("create"):
                op.execute(statement)
    op.create_table(
        "periodic_run",
        sa.Column("task", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("slot", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("task", "slot"),
    )
    op.create_table(
        "known_device",
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("device_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("citizen_id", "device_key"),
    )
    op.create_table(
        "notice_contact",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("self", "helper", name="contactrole", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "medium",
            sa.Enum("email", "phone", name="medium", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("sealed_address", sa.LargeBinary(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sealed_code", sa.LargeBinary(), nullable=True),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("code_attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notice_contact", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notice_contact_citizen_id"), ["citizen_id"], unique=False
        )

    op.create_table(
        "notice_preference",
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column("email_on", sa.Boolean(), nullable=False),
        sa.Column("webhook_on", sa.Boolean(), nullable=False),
        sa.Column(
            "expiry_days_before", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False
        ),
        sa.Column("codes_window_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("codes_in_window", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("citizen_id"),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "paper_expiring",
                "paper_expired",
                "dossier_status",
                "result_deposited",
                "shares_digest",
                "new_login",
                name="noticekind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("sealed_body", sa.LargeBinary(), nullable=False),
        sa.Column("link", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("dedup_key", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("citizen_id", "dedup_key"),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_citizen_created", ["citizen_id", "created_at"], unique=False
        )

    op.create_table(
        "delivery",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("citizen_id", sa.Uuid(), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum("notice", "verify", name="purpose", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("notification_id", sa.Uuid(), nullable=True),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column(
            "channel",
            sa.Enum("email", "webhook", name="channel", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "sent",
                "failed",
                "skipped",
                name="deliverystate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["contact_id"], ["notice_contact.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["notification_id"], ["notification.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_citizen_id"), ["citizen_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_state"), ["state"], unique=False)


def _run_script(script: str) -> None:
    """On the driver's connection, in the migration's transaction, with no parameters: the
    script's own % signs are SQL, not placeholders."""
    op.get_bind().connection.driver_connection.execute(script)  # type: ignore[union-attr]


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _run_script(_DROP_PROCRASTINATE)
    else:
        for table in _HUEY_TABLES:
            op.drop_table(table)
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_state"))
        batch_op.drop_index(batch_op.f("ix_delivery_citizen_id"))

    op.drop_table("delivery")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_citizen_created")

    op.drop_table("notification")
    op.drop_table("notice_preference")
    with op.batch_alter_table("notice_contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_contact_citizen_id"))

    op.drop_table("notice_contact")
    op.drop_table("known_device")
    op.drop_table("periodic_run")


# procrastinate ships no script to remove its schema: every object it made has its prefix.
_DROP_PROCRASTINATE = """
DO $$
DECLARE item record;
BEGIN
    FOR item IN SELECT tablename FROM pg_tables
                WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%' LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', item.tablename);
    END LOOP;
    FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
                JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%' LOOP
        EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', item.signature);
    END LOOP;
    FOR item IN SELECT t.typname FROM pg_type t
                JOIN pg_namespace n ON n.oid = t.typnamespace
                WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%'
                AND t.typtype IN ('e', 'c') LOOP
        EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', item.typname);
    END LOOP;
END $$;
"""
