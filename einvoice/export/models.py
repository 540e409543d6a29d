"""Export tables: exporter configuration per unit, the outbox of pending deliveries, and file batches.

The outbox is what makes "each approved invoice reaches bookkeeping exactly once" hold across
crashes: its rows are written in the same transaction that approves the invoice, each carries an
idempotency key that is unique in the table, and a row is marked ``done`` in the same transaction
that moves the invoice to ``exported`` and journals it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import einvoice.accounts.models  # (units, referenced below)
import einvoice.ledger.models  # noqa: F401  (invoices, referenced below)
from einvoice.db import Base
from einvoice.ledger.models import new_id, utcnow


class EntryStatus(StrEnum):
    """Life of one outbox row."""

    PENDING = "pending"  # waiting for its exporter (or for the next webhook attempt)
    BATCHED = "batched"  # assigned to a file batch that is not committed yet
    SENDING = "sending"  # a webhook attempt is in flight (claimed with a lease)
    DONE = "done"  # delivered; the invoice's "exported" entry is in the journal
    FAILED = "failed"  # the webhook gave up after its attempts; visible, retryable by an admin


class BatchStatus(StrEnum):
    OPEN = "open"  # rows assigned and content rendered; file written or about to be
    DONE = "done"  # file written and the rows marked done in one commit


class ExportConfig(Base):
    """One exporter configured for one unit (a unit may have several, e.g. DATEV and a webhook)."""

    __tablename__ = "export_configs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    exporter: Mapped[str] = mapped_column(String(16))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)  # ExporterSettings.to_dict()
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("unit_id", "exporter", name="uq_export_configs_unit_exporter"),)


class ExportBatch(Base):
    """One export file: its rows, its rendered bytes and where it was written.

    The content is rendered once, when the rows are assigned, and kept here: writing the file again
    after a crash produces the same bytes under the same name, and the batch stays reproducible.
    """

    __tablename__ = "export_batches"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    batch_key: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the rows' idempotency keys
    config_id: Mapped[str] = mapped_column(ForeignKey("export_configs.id"), index=True)
    exporter: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=BatchStatus.OPEN, index=True)
    out_dir: Mapped[str] = mapped_column(String(1000))
    file_name: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    entries: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OutboxEntry(Base):
    """One delivery still owed (or made): invoice x exporter configuration."""

    __tablename__ = "export_outbox"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    config_id: Mapped[str] = mapped_column(ForeignKey("export_configs.id"), index=True)
    exporter: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=EntryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)  # webhook: the exact JSON sent, stable across retries
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("export_batches.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("invoice_id", "config_id", name="uq_export_outbox_invoice_config"),
        Index("ix_export_outbox_due", "exporter", "status", "next_attempt_at"),
    )
