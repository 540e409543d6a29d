"""Peppol connector: received envelopes (by SBDH instance id) and the Invoice Responses owed back.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "peppol_exchanges",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("instance_id", sa.String(length=200), nullable=False),
        sa.Column("connector", sa.String(length=100), nullable=False),
        sa.Column("invoice_id", sa.String(length=32), nullable=False),
        sa.Column("document_sha256", sa.String(length=64), nullable=False),
        sa.Column("sender_id", sa.String(length=100), nullable=True),
        sa.Column("receiver_id", sa.String(length=100), nullable=True),
        sa.Column("document_type", sa.String(length=500), nullable=False),
        sa.Column("process", sa.String(length=300), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("checked_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_peppol_exchanges_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_peppol_exchanges")),
        sa.UniqueConstraint("instance_id", name=op.f("uq_peppol_exchanges_instance_id")),
    )
    with op.batch_alter_table("peppol_exchanges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_peppol_exchanges_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_peppol_exchanges_closed"), ["closed"], unique=False)

    op.create_table(
        "peppol_responses",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("exchange_id", sa.String(length=32), nullable=False),
        sa.Column("invoice_id", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.Column("journal_seq", sa.Integer(), nullable=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_to", sa.String(length=1000), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["exchange_id"], ["peppol_exchanges.id"],
                                name=op.f("fk_peppol_responses_exchange_id_peppol_exchanges")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_peppol_responses_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_peppol_responses")),
        sa.UniqueConstraint("invoice_id", "code", name="uq_peppol_responses_invoice_code"),
    )
    with op.batch_alter_table("peppol_responses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_peppol_responses_exchange_id"), ["exchange_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_peppol_responses_delivered_at"), ["delivered_at"], unique=False)


def downgrade() -> None:
    op.drop_table("peppol_responses")
    op.drop_table("peppol_exchanges")
