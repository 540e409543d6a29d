"""Supplier self-registration: invitation codes (stored as digests) and registrations awaiting approval."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from einvoice.db import Base
from einvoice.ledger.models import new_id, utcnow


class RegistrationStatus:
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class InvitationCode(Base):
    """A code an administrator hands to a supplier; registering with it needs no further approval."""

    __tablename__ = "invitation_codes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    digest: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the code; the code is shown once
    label: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    max_uses: Mapped[int] = mapped_column(Integer, default=1)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Registration(Base):
    """A supplier's registration; its user account stays inactive until the registration is approved."""

    __tablename__ = "supplier_registrations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), unique=True)
    company: Mapped[str] = mapped_column(String(500))
    vat_id: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default=RegistrationStatus.PENDING, index=True)
    invitation_id: Mapped[str | None] = mapped_column(ForeignKey("invitation_codes.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
