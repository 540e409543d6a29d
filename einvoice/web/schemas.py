"""Response shapes of the HTTP API (they also document the API at ``/docs``).

Amounts are strings (exact decimals, never floats); dates and times are ISO 8601.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from einvoice.ledger.models import Invoice, JournalEntry
from einvoice.ledger.service import payload_of


class ErrorBody(BaseModel):
    detail: Any = Field(description="What went wrong, in words (or a list of field errors).")


class ReceiveResponse(BaseModel):
    id: str
    status: str
    duplicate_of: str | None = Field(None, description="The earlier invoice this one probably duplicates.")


class ValidationSummary(BaseModel):
    accepted: bool | None = Field(description="None until the document has been validated.")
    reason: str = ""
    scenario: str | None = None
    findings: list[dict[str, Any]] = Field(default_factory=list)


class JournalEvent(BaseModel):
    seq: int
    at: datetime
    event: str
    actor: str
    payload: dict[str, Any]


class InvoiceSummary(BaseModel):
    id: str
    received_at: datetime
    channel: str
    status: str
    filename: str
    invoice_number: str | None
    issue_date: date | None
    seller_name: str | None
    buyer_reference: str | None
    currency: str | None
    gross_amount: str | None
    amount_due: str | None
    due_date: date | None
    duplicate_of: str | None


class InvoiceDetail(InvoiceSummary):
    sender: str
    content_type: str | None
    sha256: str
    size: int
    container: str | None
    syntax: str | None
    scenario: str | None
    profile: str | None
    seller_key: str | None
    unit_id: str | None
    validated_at: datetime | None
    updated_at: datetime | None
    last_error: str | None
    data: dict[str, Any] | None = Field(description="All extracted EN 16931 business terms.")
    validation: ValidationSummary
    events: list[JournalEvent]


class InvoicePage(BaseModel):
    items: list[InvoiceSummary]
    next_cursor: str | None


def money(value: Decimal | None) -> str | None:
    """Exact decimal text with at least two places (the database may pad to four)."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def utc(value: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes; everything the ledger writes is UTC, so say so."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def summary_of(invoice: Invoice) -> InvoiceSummary:
    return InvoiceSummary(**_summary_fields(invoice))


def _summary_fields(invoice: Invoice) -> dict[str, Any]:
    return {
        "id": invoice.id,
        "received_at": utc(invoice.received_at),
        "channel": invoice.channel,
        "status": invoice.status,
        "filename": invoice.filename,
        "invoice_number": invoice.invoice_number,
        "issue_date": invoice.issue_date,
        "seller_name": invoice.seller_name,
        "buyer_reference": invoice.buyer_reference,
        "currency": invoice.currency,
        "gross_amount": money(invoice.gross_amount),
        "amount_due": money(invoice.amount_due),
        "due_date": invoice.due_date,
        "duplicate_of": invoice.duplicate_of,
    }


def detail_of(invoice: Invoice, events: list[JournalEntry]) -> InvoiceDetail:
    stored = invoice.validation or {}
    validation = ValidationSummary(
        accepted=invoice.accepted if invoice.accepted is not None else stored.get("accepted"),
        reason=str(stored.get("reason") or ""),
        scenario=stored.get("scenario"),
        findings=list(stored.get("findings") or []),
    )
    return InvoiceDetail(
        **_summary_fields(invoice),
        sender=invoice.sender,
        content_type=invoice.content_type,
        sha256=invoice.sha256,
        size=invoice.size,
        container=invoice.container,
        syntax=invoice.syntax,
        scenario=invoice.scenario,
        profile=invoice.profile,
        seller_key=invoice.seller_key,
        unit_id=invoice.unit_id,
        validated_at=utc(invoice.validated_at),
        updated_at=utc(invoice.updated_at),
        last_error=invoice.last_error,
        data=invoice.data,
        validation=validation,
        events=[JournalEvent(seq=e.seq, at=utc(e.at) or e.at, event=e.event, actor=e.actor, payload=payload_of(e))
                for e in events],
    )
