"""Seller search by substring on PostgreSQL: trigram indexes (pg_trgm) on the seller name and key.

``search(seller=...)`` filters ``seller_name ILIKE '%x%' OR seller_key ILIKE '%x%'``; a B-tree
cannot serve a leading wildcard, a GIN trigram index can. PostgreSQL only (SQLite has no
equivalent and its embedded ledgers are small); the models do not declare these indexes, so the
schema comparison on SQLite is unaffected.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

INDEXES = {"ix_invoices_seller_name_trgm": "seller_name", "ix_invoices_seller_key_trgm": "seller_key"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")  # a trusted extension: the database owner may
    for name, column in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON invoices USING gin ({column} gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
