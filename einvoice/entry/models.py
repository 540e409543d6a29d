"""Tables of the entry form: drafts (also the record of submitted entries) and remembered seller data.

The form data is stored as the nested JSON the page produced, unvalidated: a draft may be half
typed. Submitted entries keep their data with the ledger id, so they can be copied for the next
(recurring) invoice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from einvoice.db import Base
from einvoice.ledger.models import new_id, utcnow


class DraftStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class EntryDraft(Base):
    __tablename__ = "entry_drafts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default=DraftStatus.DRAFT.value)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SellerProfile(Base):
    """The seller block of the last invoice an account submitted, to fill in the next one."""

    __tablename__ = "entry_seller_profiles"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
