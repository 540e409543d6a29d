"""Canonical JSON and the digest of an invoice row: the byte-exact input of every ledger hash.

A hash chain is only verifiable if the same content always serialises to the same bytes, on
every database and after every round trip: keys sorted, no whitespace, UTF-8, timestamps in UTC
with microseconds (SQLite returns naive datetimes, PostgreSQL aware ones), amounts at the
ledger's scale of four decimals (PostgreSQL returns ``119.0000`` for ``Decimal("119")``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from einvoice.ledger.models import Invoice

AMOUNT_SCALE = Decimal("0.0001")  # Numeric(19, 4) of the ledger columns


def utc_iso(value: datetime) -> str:
    """ISO 8601 in UTC with microseconds; a naive value is UTC (how SQLite hands it back)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def amount(value: Decimal | None) -> Decimal | None:
    """An amount at the ledger's scale, so digests agree before and after a database round trip."""
    return None if value is None else value.quantize(AMOUNT_SCALE)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):  # before date: datetime is a date
        return utc_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not serialisable in the ledger: {value!r}")


def canonical_json(value: Any) -> str:
    """The one serialisation every ledger hash is computed over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False, default=_default)


def json_safe(value: Any) -> Any:
    """``value`` as the database will give it back (plain JSON types), so hashes survive storage."""
    return json.loads(canonical_json(value))


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _str(value: Any) -> str | None:
    return None if value is None else str(value.value if isinstance(value, Enum) else value)


def record_fields(invoice: Invoice) -> dict[str, Any]:
    """The ledger-relevant content of an invoice row.

    Processing bookkeeping (attempts, last_error, enqueued_at, updated_at) is left out on purpose:
    the worker and the sweeper change it without a journal entry. Everything a person or an
    auditor relies on is in, including digests of the validation result and extracted data.
    """
    def dt(value: datetime | None) -> str | None:
        return None if value is None else utc_iso(value)

    def d(value: date | None) -> str | None:
        return None if value is None else value.isoformat()

    def dec(value: Decimal | None) -> str | None:
        quantized = amount(value)
        return None if quantized is None else format(quantized, "f")

    def digest(value: Any) -> str | None:
        return None if value is None else sha256_hex(canonical_json(value))

    fields: dict[str, Any] = {
        "id": invoice.id,
        "received_at": dt(invoice.received_at),
        "channel": _str(invoice.channel),
        "sender": invoice.sender,
        "filename": invoice.filename,
        "content_type": invoice.content_type,
        "sha256": invoice.sha256,
        "size": invoice.size,
        "status": _str(invoice.status),
        "container": invoice.container,
        "syntax": invoice.syntax,
        "scenario": invoice.scenario,
        "profile": invoice.profile,
        "accepted": invoice.accepted,
        "validated_at": dt(invoice.validated_at),
        "validation": digest(invoice.validation),
        "invoice_number": invoice.invoice_number,
        "issue_date": d(invoice.issue_date),
        "seller_name": invoice.seller_name,
        "seller_key": invoice.seller_key,
        "buyer_reference": invoice.buyer_reference,
        "currency": invoice.currency,
        "gross_amount": dec(invoice.gross_amount),
        "amount_due": dec(invoice.amount_due),
        "due_date": d(invoice.due_date),
        "data": digest(invoice.data),
        "duplicate_of": invoice.duplicate_of,
        "unit_id": invoice.unit_id,
    }
    if invoice.intake_meta is not None:  # only when present: digests of older rows stay the same
        fields["intake_meta"] = digest(invoice.intake_meta)
    return fields


def record_digest(invoice: Invoice) -> str:
    """SHA-256 over :func:`record_fields`; journalled with every event, checked by ``verify``."""
    return sha256_hex(canonical_json(record_fields(invoice)))
