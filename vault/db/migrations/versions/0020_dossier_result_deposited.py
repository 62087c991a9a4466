"""a dossier remembers that its result was deposited

`dossier.result_deposited_at`: set when the agency deposits the paper the procedure issues, and
kept when the citizen deletes that paper (`result_document_id` is then set to NULL by its
foreign key). The agency's deposit is refused once it is set: before, a paper deleted by its
citizen could be deposited again, silently and for ever. Dossiers whose result is still in the
vault get the time of their last change.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08 00:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.add_column(sa.Column("result_deposited_at", sa.DateTime(timezone=True)))
    op.execute(
        "UPDATE dossier SET result_deposited_at = updated_at WHERE result_document_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_column("result_deposited_at")
