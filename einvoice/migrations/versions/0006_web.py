"""Web pages: supplier invitation codes and self-registrations awaiting approval.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invitation_codes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation_codes")),
        sa.UniqueConstraint("digest", name=op.f("uq_invitation_codes_digest")),
    )
    op.create_table(
        "supplier_registrations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("company", sa.String(length=500), nullable=False),
        sa.Column("vat_id", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("invitation_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["invitation_id"], ["invitation_codes.id"],
                                name=op.f("fk_supplier_registrations_invitation_id_invitation_codes")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_supplier_registrations_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_registrations")),
        sa.UniqueConstraint("user_id", name=op.f("uq_supplier_registrations_user_id")),
    )
    with op.batch_alter_table("supplier_registrations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supplier_registrations_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("supplier_registrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supplier_registrations_status"))
    op.drop_table("supplier_registrations")
    op.drop_table("invitation_codes")
