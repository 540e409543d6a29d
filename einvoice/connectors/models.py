"""What each connector has handled (one row per message / envelope / file) and its last poll.

The item key (connector, external id) makes re-delivery idempotent across crashes: a connector
looks its item up before handing documents to intake and records the outcome after the commit.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from einvoice.db import Base
from einvoice.ledger.models import new_id, utcnow


class ItemState(StrEnum):
    DONE = "done"  # its invoice(s) are in the ledger
    ANSWERED = "answered"  # no invoice in it; the sender was told why
    IGNORED = "ignored"  # nothing to do (e.g. an automatic reply)
    FAILED = "failed"  # handling failed; visible in the operations view, retryable
    RETRY = "retry"  # an operator asked for another attempt


class ConnectorItem(Base):
    __tablename__ = "connector_items"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    connector: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(500))  # Message-ID, SBDH instance id, spool file key
    state: Mapped[str] = mapped_column(String(16), index=True)
    sender: Mapped[str] = mapped_column(String(320), default="")
    invoice_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(Text, default="")
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("connector", "external_id", name="uq_connector_items_key"),)


class ConnectorStatus(Base):
    """One row per connector: when it last polled, how much it handled, what went wrong last."""

    __tablename__ = "connector_status"

    connector: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_poll_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    processed_total: Mapped[int] = mapped_column(Integer, default=0)
    failed_total: Mapped[int] = mapped_column(Integer, default=0)
