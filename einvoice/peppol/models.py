"""Peppol tables: which envelope brought which invoice, and the Invoice Responses owed to its sender."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from einvoice.db import Base
from einvoice.ledger.models import new_id, utcnow


class PeppolExchange(Base):
    """One received envelope (by SBDH instance identifier): the invoice it became and who to answer."""

    __tablename__ = "peppol_exchanges"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    instance_id: Mapped[str] = mapped_column(String(200), unique=True)
    connector: Mapped[str] = mapped_column(String(100))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    document_sha256: Mapped[str] = mapped_column(String(64))
    sender_id: Mapped[str | None] = mapped_column(String(100))
    receiver_id: Mapped[str | None] = mapped_column(String(100))
    document_type: Mapped[str] = mapped_column(String(500), default="")
    process: Mapped[str] = mapped_column(String(300), default="")
    # no more responses are owed (rejected or paid, or no sender to answer)
    closed: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    # the last journal entry of the invoice already turned into responses: only newer ones are read
    checked_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PeppolResponse(Base):
    """One Invoice Response; the unique (invoice, code) makes each status answered exactly once."""

    __tablename__ = "peppol_responses"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    exchange_id: Mapped[str] = mapped_column(ForeignKey("peppol_exchanges.id"), index=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"))
    code: Mapped[str] = mapped_column(String(2))
    journal_seq: Mapped[int | None] = mapped_column(Integer)  # the event that caused it
    document: Mapped[str] = mapped_column(Text)  # the SBDH-wrapped ApplicationResponse
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    delivered_to: Mapped[str | None] = mapped_column(String(1000))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("invoice_id", "code", name="uq_peppol_responses_invoice_code"),)
