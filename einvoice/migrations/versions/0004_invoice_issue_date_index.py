"""Index on the issue date (BT-2): ledger searches by issue-date range stay fast at millions of rows.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_invoices_issue_date"), "invoices", ["issue_date"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_invoices_issue_date"), table_name="invoices")
