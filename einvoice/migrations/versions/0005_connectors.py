"""Intake connectors: arrival metadata on invoices, connector items (idempotency) and status.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("intake_meta", sa.JSON(), nullable=True))

    op.create_table(
        "connector_items",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("connector", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("invoice_ids", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_items")),
        sa.UniqueConstraint("connector", "external_id", name="uq_connector_items_key"),
    )
    with op.batch_alter_table("connector_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_connector_items_state"), ["state"], unique=False)

    op.create_table(
        "connector_status",
        sa.Column("connector", sa.String(length=100), nullable=False),
        sa.Column("last_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("processed_total", sa.Integer(), nullable=False),
        sa.Column("failed_total", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("connector", name=op.f("pk_connector_status")),
    )


def downgrade() -> None:
    op.drop_table("connector_status")
    with op.batch_alter_table("connector_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connector_items_state"))
    op.drop_table("connector_items")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("intake_meta")
