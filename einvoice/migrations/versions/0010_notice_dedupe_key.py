"""E-mail outbox: a unique key per reply that must go out once (mail acknowledgements, rejections).

Two mail workers handling the same message (or a message handled again after a crash) both try to
queue its acknowledgement; the unique index lets exactly one insert win, on every database.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workflow_notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dedupe_key", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_workflow_notices_dedupe_key"), ["dedupe_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("workflow_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workflow_notices_dedupe_key"))
        batch_op.drop_column("dedupe_key")
