"""approval workflow: definition snapshots, instances, tasks, substitutes, unit settings, notices

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 15:35:23.642608
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workflow_definitions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_definitions")),
        sa.UniqueConstraint("digest", name=op.f("uq_workflow_definitions_digest")),
    )
    with op.batch_alter_table("workflow_definitions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workflow_definitions_name"), ["name"], unique=False)

    op.create_table(
        "workflow_instances",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("invoice_id", sa.String(length=32), nullable=False),
        sa.Column("definition_id", sa.String(length=32), nullable=True),
        sa.Column("unit_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=True),
        sa.Column("stage_index", sa.Integer(), nullable=False),
        sa.Column("coding", sa.JSON(), nullable=True),
        sa.Column("coding_version", sa.Integer(), nullable=False),
        sa.Column("data_digest", sa.String(length=64), nullable=False),
        sa.Column("clearing_reason", sa.Text(), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("due_source", sa.String(length=32), nullable=False),
        sa.Column("skonto_date", sa.Date(), nullable=True),
        sa.Column("skonto_percent", sa.Numeric(precision=9, scale=4), nullable=True),
        sa.Column("skonto_amount", sa.Numeric(precision=19, scale=4), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["definition_id"],
            ["workflow_definitions.id"],
            name=op.f("fk_workflow_instances_definition_id_workflow_definitions"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_workflow_instances_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_workflow_instances_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_instances")),
        sa.UniqueConstraint("invoice_id", name=op.f("uq_workflow_instances_invoice_id")),
    )
    with op.batch_alter_table("workflow_instances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workflow_instances_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_workflow_instances_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "workflow_notices",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("invoice_id", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_workflow_notices_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_notices")),
    )
    with op.batch_alter_table("workflow_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workflow_notices_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index("ix_workflow_notices_pending", ["sent_at", "next_attempt_at"], unique=False)

    op.create_table(
        "workflow_substitutes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("absent_user_id", sa.String(length=32), nullable=False),
        sa.Column("substitute_user_id", sa.String(length=32), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["absent_user_id"], ["users.id"], name=op.f("fk_workflow_substitutes_absent_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["substitute_user_id"], ["users.id"], name=op.f("fk_workflow_substitutes_substitute_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_substitutes")),
    )
    with op.batch_alter_table("workflow_substitutes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workflow_substitutes_absent_user_id"), ["absent_user_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_workflow_substitutes_substitute_user_id"), ["substitute_user_id"], unique=False
        )

    op.create_table(
        "workflow_units",
        sa.Column("unit_id", sa.String(length=32), nullable=False),
        sa.Column("workflow", sa.String(length=100), nullable=True),
        sa.Column("buyer_reference", sa.String(length=200), nullable=True),
        sa.Column("lead_user_id", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lead_user_id"], ["users.id"], name=op.f("fk_workflow_units_lead_user_id_users")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_workflow_units_unit_id_units")),
        sa.PrimaryKeyConstraint("unit_id", name=op.f("pk_workflow_units")),
        sa.UniqueConstraint("buyer_reference", name=op.f("uq_workflow_units_buyer_reference")),
    )
    op.create_table(
        "workflow_tasks",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("instance_id", sa.String(length=32), nullable=False),
        sa.Column("invoice_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("stage_title", sa.String(length=200), nullable=False),
        sa.Column("approval_no", sa.Integer(), nullable=False),
        sa.Column("roles", sa.String(length=100), nullable=False),
        sa.Column("unit_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assignee_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("skonto_date", sa.Date(), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decided_by", sa.String(length=32), nullable=True),
        sa.Column("on_behalf_of", sa.String(length=32), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("valid", sa.Boolean(), nullable=True),
        sa.Column("discarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_to", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["assignee_id"], ["users.id"], name=op.f("fk_workflow_tasks_assignee_id_users")),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_workflow_tasks_decided_by_users")),
        sa.ForeignKeyConstraint(["escalated_to"], ["users.id"], name=op.f("fk_workflow_tasks_escalated_to_users")),
        sa.ForeignKeyConstraint(
            ["instance_id"], ["workflow_instances.id"], name=op.f("fk_workflow_tasks_instance_id_workflow_instances")
        ),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_workflow_tasks_invoice_id_invoices")),
        sa.ForeignKeyConstraint(["on_behalf_of"], ["users.id"], name=op.f("fk_workflow_tasks_on_behalf_of_users")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_workflow_tasks_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_tasks")),
    )
    with op.batch_alter_table("workflow_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workflow_tasks_instance_id"), ["instance_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_workflow_tasks_invoice_id"), ["invoice_id"], unique=False)
        # the workqueue: active tasks by deadline — all, of a unit, held by someone
        batch_op.create_index("ix_workflow_tasks_status_deadline", ["status", "deadline", "id"], unique=False)
        batch_op.create_index(
            "ix_workflow_tasks_unit_status_deadline", ["unit_id", "status", "deadline", "id"], unique=False
        )
        batch_op.create_index(
            "ix_workflow_tasks_assignee_status_deadline", ["assignee_id", "status", "deadline", "id"], unique=False
        )
        batch_op.create_index("ix_workflow_tasks_escalated_status", ["escalated_to", "status"], unique=False)
        # the deadline job and the Skonto/overdue filters
        batch_op.create_index("ix_workflow_tasks_status_skonto", ["status", "skonto_date"], unique=False)
        batch_op.create_index("ix_workflow_tasks_status_due", ["status", "due_date"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("workflow_tasks", schema=None) as batch_op:
        for name in ("ix_workflow_tasks_status_due", "ix_workflow_tasks_status_skonto",
                     "ix_workflow_tasks_escalated_status", "ix_workflow_tasks_assignee_status_deadline",
                     "ix_workflow_tasks_unit_status_deadline", "ix_workflow_tasks_status_deadline"):
            batch_op.drop_index(name)
        batch_op.drop_index(batch_op.f("ix_workflow_tasks_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_workflow_tasks_instance_id"))

    op.drop_table("workflow_tasks")
    op.drop_table("workflow_units")
    with op.batch_alter_table("workflow_substitutes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workflow_substitutes_substitute_user_id"))
        batch_op.drop_index(batch_op.f("ix_workflow_substitutes_absent_user_id"))

    op.drop_table("workflow_substitutes")
    with op.batch_alter_table("workflow_notices", schema=None) as batch_op:
        batch_op.drop_index("ix_workflow_notices_pending")
        batch_op.drop_index(batch_op.f("ix_workflow_notices_invoice_id"))

    op.drop_table("workflow_notices")
    with op.batch_alter_table("workflow_instances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workflow_instances_unit_id"))
        batch_op.drop_index(batch_op.f("ix_workflow_instances_status"))

    op.drop_table("workflow_instances")
    with op.batch_alter_table("workflow_definitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workflow_definitions_name"))

    op.drop_table("workflow_definitions")
