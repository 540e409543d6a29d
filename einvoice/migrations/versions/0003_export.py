"""export to bookkeeping: exporter configuration per unit, outbox with idempotency keys, file batches

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 15:38:16.451320
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "export_configs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("unit_id", sa.String(length=32), nullable=False),
        sa.Column("exporter", sa.String(length=16), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_export_configs_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_configs")),
        sa.UniqueConstraint("unit_id", "exporter", name="uq_export_configs_unit_exporter"),
    )
    with op.batch_alter_table("export_configs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_export_configs_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "export_batches",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("batch_key", sa.String(length=64), nullable=False),
        sa.Column("config_id", sa.String(length=32), nullable=False),
        sa.Column("exporter", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("out_dir", sa.String(length=1000), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["config_id"], ["export_configs.id"], name=op.f("fk_export_batches_config_id_export_configs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_batches")),
        sa.UniqueConstraint("batch_key", name=op.f("uq_export_batches_batch_key")),
    )
    with op.batch_alter_table("export_batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_export_batches_config_id"), ["config_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_export_batches_status"), ["status"], unique=False)

    op.create_table(
        "export_outbox",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("invoice_id", sa.String(length=32), nullable=False),
        sa.Column("config_id", sa.String(length=32), nullable=False),
        sa.Column("exporter", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("batch_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["export_batches.id"], name=op.f("fk_export_outbox_batch_id_export_batches")
        ),
        sa.ForeignKeyConstraint(
            ["config_id"], ["export_configs.id"], name=op.f("fk_export_outbox_config_id_export_configs")
        ),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_export_outbox_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_export_outbox_idempotency_key")),
        sa.UniqueConstraint("invoice_id", "config_id", name="uq_export_outbox_invoice_config"),
    )
    with op.batch_alter_table("export_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_export_outbox_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_export_outbox_config_id"), ["config_id"], unique=False)
        batch_op.create_index("ix_export_outbox_due", ["exporter", "status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_export_outbox_invoice_id"), ["invoice_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("export_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_outbox_invoice_id"))
        batch_op.drop_index("ix_export_outbox_due")
        batch_op.drop_index(batch_op.f("ix_export_outbox_config_id"))
        batch_op.drop_index(batch_op.f("ix_export_outbox_batch_id"))

    op.drop_table("export_outbox")
    with op.batch_alter_table("export_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_batches_status"))
        batch_op.drop_index(batch_op.f("ix_export_batches_config_id"))

    op.drop_table("export_batches")
    with op.batch_alter_table("export_configs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_configs_unit_id"))

    op.drop_table("export_configs")
