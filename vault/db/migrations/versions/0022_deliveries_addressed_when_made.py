"""deliveries are addressed when they are made

A delivery read its address when its job ran: from its contact, whose removal deleted it (a
foreign key with ON DELETE CASCADE), or from the citizen's profile and own confirmed email for
the webhook. Whoever held the password could so cancel or redirect the alert of their own login
before it left. Each delivery now carries where it goes, sealed under the citizen's key and
bound to its id (`delivery.sealed_to`), and its contact is no longer a foreign key.

The pending deliveries are addressed as their jobs would have addressed them now, which needs
the master keys (`vault.db.upgrade` hands them over; a database with nothing pending needs
none); finished ones keep no address. The downgrade drops the deliveries whose contact is gone,
as the cascade would have, and the notices of a changed address, a kind an older vault cannot
read.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08 04:00:00.000000
"""

import json
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from vault import crypto, db
from vault.crypto import MasterKeyError, MasterKeys

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As vault.notices.sealing and vault.accounts.citizens seal them.
_ADDRESS_LABEL = b"dvlt/v1/notice-address"
_DESTINATION_LABEL = b"dvlt/v1/delivery-to"
_PROFILE_LABEL = b"dvlt/v1/profile-key"
# 0009 left the key unnamed: PostgreSQL named it so, and `_NAMING` gives SQLite's the same name.
_CONTACT_KEY = "delivery_contact_id_fkey"
_NAMING = {"fk": "%(table_name)s_%(column_0_name)s_fkey"}

delivery = sa.table(
    "delivery",
    sa.column("id", sa.Uuid()),
    sa.column("citizen_id", sa.Uuid()),
    sa.column("notification_id", sa.Uuid()),
    sa.column("contact_id", sa.Uuid()),
    sa.column("state", sa.String()),
    sa.column("sealed_to", sa.LargeBinary()),
)
contact = sa.table(
    "notice_contact",
    sa.column("id", sa.Uuid()),
    sa.column("citizen_id", sa.Uuid()),
    sa.column("role", sa.String()),
    sa.column("medium", sa.String()),
    sa.column("sealed_address", sa.LargeBinary()),
    sa.column("verified_at", sa.DateTime(timezone=True)),
)
notification = sa.table("notification", sa.column("id", sa.Uuid()), sa.column("kind", sa.String()))
citizen = sa.table(
    "citizen", sa.column("id", sa.Uuid()), sa.column("sealed_profile", sa.LargeBinary())
)
citizen_key = sa.table(
    "citizen_key",
    sa.column("citizen_id", sa.Uuid()),
    sa.column("kek_version", sa.Integer()),
    sa.column("master_version", sa.Integer()),
    sa.column("wrapped_kek", sa.LargeBinary()),
)


def upgrade() -> None:
    master = _master_keys_if_needed()
    with op.batch_alter_table("delivery", naming_convention=_NAMING) as batch_op:
        batch_op.add_column(sa.Column("sealed_to", sa.LargeBinary(), nullable=True))
        batch_op.drop_constraint(_CONTACT_KEY, type_="foreignkey")
    if master is not None:
        _address_pending(master)


def downgrade() -> None:
    connection = op.get_bind()
    changed = sa.select(notification.c.id).where(notification.c.kind == "address_changed")
    # Foreign keys are off while SQLite migrates: no cascade does it.
    connection.execute(delivery.delete().where(delivery.c.notification_id.in_(changed)))
    connection.execute(notification.delete().where(notification.c.id.in_(changed)))
    connection.execute(
        delivery.delete().where(
            delivery.c.contact_id.is_not(None),
            delivery.c.contact_id.not_in(sa.select(contact.c.id)),
        )
    )
    with op.batch_alter_table("delivery", naming_convention=_NAMING) as batch_op:
        batch_op.drop_column("sealed_to")
        batch_op.create_foreign_key(
            _CONTACT_KEY, "notice_contact", ["contact_id"], ["id"], ondelete="CASCADE"
        )


def _master_keys_if_needed() -> MasterKeys | None:
    """Checked before any change, so that a refusal leaves the schema as it was."""
    master: MasterKeys | None = context.config.attributes.get(db.MASTER_KEYS)
    pending = sa.select(sa.func.count()).select_from(delivery).where(delivery.c.state == "pending")
    if master is None and op.get_bind().execute(pending).scalar_one():
        raise MasterKeyError(
            "migration 0022 seals where each pending notice goes and needs the master keys: run "
            "it with `vault db upgrade` or `vault serve`, with the master key file in place"
        )
    return master


def _address_pending(master: MasterKeys) -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(delivery.c.id, delivery.c.citizen_id, delivery.c.contact_id).where(
            delivery.c.state == "pending"
        )
    ).all()
    keys: dict[uuid.UUID, bytes] = {}
    for row in rows:
        if row.citizen_id not in keys:
            keys[row.citizen_id] = _citizen_key(master, row.citizen_id)
        kek = keys[row.citizen_id]
        to = _destination(kek, row.citizen_id, row.contact_id)
        box = crypto.seal(
            crypto.subkey(kek, _DESTINATION_LABEL), json.dumps(to).encode(), aad=row.id.bytes
        )
        connection.execute(delivery.update().where(delivery.c.id == row.id).values(sealed_to=box))


def _destination(kek: bytes, citizen_id: uuid.UUID, contact_id: uuid.UUID | None) -> dict[str, Any]:
    """As the job read it: its contact's address, or (the webhook, with no contact) the phone on
    file and the citizen's own confirmed email."""
    connection = op.get_bind()
    if contact_id is not None:
        medium, sealed = connection.execute(
            sa.select(contact.c.medium, contact.c.sealed_address).where(contact.c.id == contact_id)
        ).one()
        found = _address(kek, contact_id, sealed)
        if medium == "email":
            return {"email": found, "phone": None}
        return {"email": None, "phone": found}
    own = connection.execute(
        sa.select(contact.c.id, contact.c.sealed_address).where(
            contact.c.citizen_id == citizen_id,
            contact.c.role == "self",
            contact.c.verified_at.is_not(None),
        )
    ).first()
    sealed_profile = connection.execute(
        sa.select(citizen.c.sealed_profile).where(citizen.c.id == citizen_id)
    ).scalar_one()
    profile = json.loads(
        crypto.open_box(
            crypto.subkey(kek, _PROFILE_LABEL),
            sealed_profile,
            aad=crypto.profile_aad(citizen_id=citizen_id),
        )
    )
    return {
        "email": _address(kek, own.id, own.sealed_address) if own else None,
        "phone": profile.get("phone"),
    }


def _address(kek: bytes, contact_id: uuid.UUID, sealed: bytes) -> str:
    stored = crypto.open_box(crypto.subkey(kek, _ADDRESS_LABEL), sealed, aad=contact_id.bytes)
    return stored.decode().partition("\n")[0]


def _citizen_key(master: MasterKeys, citizen_id: uuid.UUID) -> bytes:
    row = (
        op.get_bind()
        .execute(sa.select(citizen_key).where(citizen_key.c.citizen_id == citizen_id))
        .one()
    )
    aad = crypto.citizen_key_aad(
        citizen_id=citizen_id, kek_version=row.kek_version, master_version=row.master_version
    )
    return master.unwrap(row.master_version, row.wrapped_kek, aad=aad)
