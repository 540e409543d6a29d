"""Ledger tables: one row per received document, and the hash-chained journal of every event."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import DDL, JSON, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from einvoice.db import Base

GENESIS_HASH = "0" * 64  # the "previous hash" of the first journal entry
HEAD_ID = 1  # the journal head is a single row


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """An aware UTC time; SQLite hands timezone-aware columns back naive (they were stored in UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Channel(StrEnum):
    API = "api"
    PORTAL = "portal"
    MAIL = "mail"
    PEPPOL = "peppol"


class Status(StrEnum):
    """Ledger states; the workflow states of the approval process continue after ``accepted``."""

    RECEIVED = "received"
    VALIDATING = "validating"
    REJECTED = "rejected"
    ACCEPTED = "accepted"
    DUPLICATE_SUSPECTED = "duplicate_suspected"
    FAILED = "failed"  # processing kept failing after all retries; visible, never silent
    IN_APPROVAL = "in_approval"
    APPROVED = "approved"
    EXPORTED = "exported"
    PAID = "paid"


class Invoice(Base):
    """A ledger entry (Rechnungseingangsbuch): what arrived, from whom, how, and what became of it."""

    __tablename__ = "invoices"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    channel: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str] = mapped_column(String(200), index=True)  # account id or connector name
    filename: Mapped[str] = mapped_column(String(500), default="")
    content_type: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)  # identical bytes → one entry
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32), default=Status.RECEIVED, index=True)

    # detection and validation
    container: Mapped[str | None] = mapped_column(String(8))
    syntax: Mapped[str | None] = mapped_column(String(32))
    scenario: Mapped[str | None] = mapped_column(String(100))
    profile: Mapped[str | None] = mapped_column(String(32))
    accepted: Mapped[bool | None]
    validation: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # ValidationResult.to_dict()
    validated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # extracted business terms used for search, duplicates and the workflow
    invoice_number: Mapped[str | None] = mapped_column(String(200), index=True)
    issue_date: Mapped[date | None] = mapped_column(Date, index=True)  # ledger search by issue-date range
    seller_name: Mapped[str | None] = mapped_column(String(500))
    seller_key: Mapped[str | None] = mapped_column(String(200), index=True)  # VAT id or normalised name
    buyer_reference: Mapped[str | None] = mapped_column(String(200), index=True)
    currency: Mapped[str | None] = mapped_column(String(3))
    gross_amount: Mapped[Decimal | None] = mapped_column(Numeric(19, 4))
    amount_due: Mapped[Decimal | None] = mapped_column(Numeric(19, 4))
    due_date: Mapped[date | None] = mapped_column(Date)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # InvoiceData.to_dict()

    duplicate_of: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"))
    # how it arrived, per channel (mail: message id, from; peppol: participant ids, instance id)
    intake_meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # receiving unit, from the Leitweg-ID / buyer reference; staff see the invoices of their unit
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"), index=True)

    # processing bookkeeping: the sweeper re-enqueues work that was committed but never finished
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_invoices_duplicate_key", "seller_key", "invoice_number"),
        Index("ix_invoices_status_enqueued", "status", "enqueued_at"),
    )


class JournalEntry(Base):
    """One event, chained to its predecessor by hash (GoBD: no change without trace)."""

    __tablename__ = "journal"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    event: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class JournalHead(Base):
    """A single row naming the last entry; locking it serialises appends on every database."""

    __tablename__ = "journal_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64))


# A new database starts with the genesis head, so the first append has a row to lock (the Alembic
# migration that creates the table inserts the same row).
event.listen(
    JournalHead.__table__,
    "after_create",
    DDL(f"INSERT INTO journal_head (id, seq, hash) VALUES ({HEAD_ID}, 0, '{GENESIS_HASH}')"),
)


# The invoice's unit_id refers to the accounts' units table: register it with every use of the ledger.
import einvoice.accounts.models  # noqa: E402,F401
