"""national ID blind index

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-06 20:26:19.000000

National ID numbers leave the clear: each citizen row gets the number's blind index and the
number sealed under the citizen's key (vault.keys.national_ids), and the clear column goes; the
downgrade puts it back. Both need the master keys, which `vault.db.upgrade` hands over in the
config attributes; a database without citizens needs none.

Failed-login counters per account are dropped both ways: they are keyed by a plain hash of the
number on one side (which gives the number away to enumeration) and of its index on the other.
"""

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import context, op

from vault import crypto, db
from vault.crypto import MasterKeyError, MasterKeys
from vault.keys import national_ids

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000
_CLEAR = sqlmodel.sql.sqltypes.AutoString(length=12)

citizen = sa.table(
    "citizen",
    sa.column("id", sa.Uuid()),
    sa.column("national_id", _CLEAR),
    sa.column("national_id_index", sa.LargeBinary()),
    sa.column("sealed_national_id", sa.LargeBinary()),
)
citizen_key = sa.table(
    "citizen_key",
    sa.column("citizen_id", sa.Uuid()),
    sa.column("kek_version", sa.Integer()),
    sa.column("master_version", sa.Integer()),
    sa.column("wrapped_kek", sa.LargeBinary()),
)
index_key = sa.table(
    "index_key",
    sa.column("purpose", sa.String()),
    sa.column("master_version", sa.Integer()),
    sa.column("wrapped_key", sa.LargeBinary()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
login_throttle = sa.table("login_throttle", sa.column("key", sa.String()))


def upgrade() -> None:
    master = _master_keys_if_needed()
    op.create_table(
        "index_key",
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("master_version", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rewrapped_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("purpose"),
    )
    with op.batch_alter_table("index_key", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_index_key_master_version"), ["master_version"], unique=False
        )
    with op.batch_alter_table("citizen", schema=None) as batch_op:
        batch_op.add_column(sa.Column("national_id_index", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("sealed_national_id", sa.LargeBinary(), nullable=True))
        # Emptied before it is dropped: PostgreSQL drops a column without rewriting its rows.
        batch_op.alter_column("national_id", existing_type=_CLEAR, nullable=True)
    if master is not None:
        key = crypto.new_key()
        version = master.current_version
        op.execute(
            index_key.insert().values(
                purpose=national_ids.PURPOSE,
                master_version=version,
                wrapped_key=national_ids.wrap_index_key(master, version, key),
                created_at=datetime.now(UTC),
            )
        )
        for batch in _citizens(master):
            _update(
                {
                    "row_id": row.id,
                    "national_id_index": national_ids.index(key, row.national_id.encode()),
                    "sealed_national_id": national_ids.seal(kek, row.id, row.national_id.encode()),
                    "national_id": None,
                }
                for row, kek in batch
            )
    op.execute(login_throttle.delete().where(login_throttle.c.key.like("account:%")))
    with op.batch_alter_table("citizen", schema=None) as batch_op:
        batch_op.drop_column("national_id")
        batch_op.alter_column("national_id_index", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.alter_column("sealed_national_id", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.create_unique_constraint("citizen_national_id_index_key", ["national_id_index"])
    context.config.attributes[db.SCRUB] = {"citizen", "login_throttle"}


def downgrade() -> None:
    master = _master_keys_if_needed()
    with op.batch_alter_table("citizen", schema=None) as batch_op:
        batch_op.add_column(sa.Column("national_id", _CLEAR, nullable=True))
    if master is not None:
        for batch in _citizens(master):
            _update(
                {
                    "row_id": row.id,
                    "national_id": national_ids.unseal(
                        kek, row.id, row.sealed_national_id
                    ).decode(),
                }
                for row, kek in batch
            )
    op.execute(login_throttle.delete().where(login_throttle.c.key.like("account:%")))
    with op.batch_alter_table("citizen", schema=None) as batch_op:
        batch_op.drop_constraint("citizen_national_id_index_key", type_="unique")
        batch_op.drop_column("sealed_national_id")
        batch_op.drop_column("national_id_index")
        batch_op.alter_column("national_id", existing_type=_CLEAR, nullable=False)
        batch_op.create_unique_constraint("citizen_national_id_key", ["national_id"])
    with op.batch_alter_table("index_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_index_key_master_version"))
    op.drop_table("index_key")


def _master_keys_if_needed() -> MasterKeys | None:
    """Checked before any change, so that a refusal leaves the schema as it was."""
    master: MasterKeys | None = context.config.attributes.get(db.MASTER_KEYS)
    count = sa.select(sa.func.count()).select_from(citizen)
    if master is None and op.get_bind().execute(count).scalar_one():
        raise MasterKeyError(
            "migration 0006 seals and opens the citizens' national ID numbers and needs the "
            "master keys: run it with `vault db upgrade` or `vault serve`, with the master key "
            "file in place"
        )
    return master


def _citizens(master: MasterKeys) -> Iterator[list[tuple[Any, bytes]]]:
    """Every citizen row with its unwrapped citizen key, a batch at a time in id order."""
    after: uuid.UUID | None = None
    while True:
        query = (
            sa.select(
                citizen.c.id,
                citizen.c.national_id,
                citizen.c.sealed_national_id,
                citizen_key.c.kek_version,
                citizen_key.c.master_version,
                citizen_key.c.wrapped_kek,
            )
            .select_from(citizen.outerjoin(citizen_key, citizen_key.c.citizen_id == citizen.c.id))
            .order_by(citizen.c.id)
            .limit(_BATCH)
        )
        if after is not None:
            query = query.where(citizen.c.id > after)
        rows = op.get_bind().execute(query).all()
        if not rows:
            return
        yield [(row, _citizen_key(master, row)) for row in rows]
        after = rows[-1].id


def _citizen_key(master: MasterKeys, row: Any) -> bytes:
    if row.wrapped_kek is None:
        raise RuntimeError(f"citizen {row.id} has no key: their number cannot be converted")
    aad = crypto.citizen_key_aad(
        citizen_id=row.id, kek_version=row.kek_version, master_version=row.master_version
    )
    return master.unwrap(row.master_version, row.wrapped_kek, aad=aad)


def _update(values: Iterator[dict[str, Any]]) -> None:
    update = citizen.update().where(citizen.c.id == sa.bindparam("row_id", type_=sa.Uuid()))
    op.get_bind().execute(update, list(values))
