"""Web entry form: drafts (and submitted entries, for reuse) and remembered seller data.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entry_drafts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("invoice_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_entry_drafts_owner_id_users")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_entry_drafts_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entry_drafts")),
    )
    with op.batch_alter_table("entry_drafts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entry_drafts_owner_id"), ["owner_id"], unique=False)
    op.create_table(
        "entry_seller_profiles",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_entry_seller_profiles_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_entry_seller_profiles")),
    )


def downgrade() -> None:
    op.drop_table("entry_seller_profiles")
    with op.batch_alter_table("entry_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entry_drafts_owner_id"))
    op.drop_table("entry_drafts")
