"""The typed view of an invoice's EN 16931 business terms, independent of UBL or CII.

Amounts are ``Decimal`` exactly as written (no rounding), dates are ``date``. Any business term the
document does not carry (or carries unreadably, e.g. "12,50" as an amount) is ``None``: the ledger
must be able to store every received document, valid or not; validation reports the defects.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from typing import Any

DOCUMENT_INVOICE = "invoice"
DOCUMENT_CREDIT_NOTE = "credit_note"


@dataclass(frozen=True, slots=True)
class Identifier:
    """An identifier and its scheme (ISO 6523 ICD, EAS code, … ), e.g. ``("4000001123452", "0088")``."""

    value: str
    scheme: str | None = None


@dataclass(frozen=True, slots=True)
class Party:
    """Seller (BG-4) or buyer (BG-7)."""

    name: str | None = None  # BT-27 / BT-44
    trading_name: str | None = None  # BT-28 / BT-45
    identifiers: list[Identifier] = field(default_factory=list)  # BT-29 / BT-46
    legal_registration_id: Identifier | None = None  # BT-30 / BT-47
    vat_id: str | None = None  # BT-31 / BT-48
    tax_registration_id: str | None = None  # BT-32 (scheme "FC": German Steuernummer)
    electronic_address: Identifier | None = None  # BT-34 / BT-49
    street: str | None = None  # BT-35 / BT-50
    city: str | None = None  # BT-37 / BT-52
    postal_code: str | None = None  # BT-38 / BT-53
    country: str | None = None  # BT-40 / BT-55
    contact_name: str | None = None  # BT-41 / BT-56
    contact_phone: str | None = None  # BT-42 / BT-57
    contact_email: str | None = None  # BT-43 / BT-58


@dataclass(frozen=True, slots=True)
class VatBreakdown:
    """One VAT category of the document (BG-23)."""

    category: str | None  # BT-118
    rate: Decimal | None  # BT-119 (absent for category O)
    taxable_amount: Decimal | None  # BT-116
    tax_amount: Decimal | None  # BT-117
    exemption_reason: str | None = None  # BT-120
    exemption_code: str | None = None  # BT-121


@dataclass(frozen=True, slots=True)
class Line:
    """One invoice line (BG-25)."""

    id: str | None  # BT-126
    quantity: Decimal | None  # BT-129
    unit: str | None  # BT-130
    net_amount: Decimal | None  # BT-131
    item_name: str | None  # BT-153
    price: Decimal | None  # BT-146
    vat_category: str | None  # BT-151
    vat_rate: Decimal | None  # BT-152
    order_line_ref: str | None = None  # BT-132
    accounting_ref: str | None = None  # BT-133


@dataclass(frozen=True, slots=True)
class Attachment:
    """A supporting document (BG-24); the embedded content stays base64 until asked for.

    Attachments can be megabytes; keeping the text and decoding on demand means extraction and
    ``to_dict`` stay cheap and only the archive or the viewer pays for the bytes.
    """

    id: str | None  # BT-122
    description: str | None = None  # BT-123
    filename: str | None = None  # BT-125-2
    mime_code: str | None = None  # BT-125-1
    uri: str | None = None  # BT-124 (external location)
    size: int = 0  # decoded size in bytes, 0 if nothing is embedded
    _payload: str = field(default="", repr=False, compare=False)  # base64 text of BT-125

    @property
    def embedded(self) -> bool:
        return bool(self._payload.strip())

    def content(self) -> bytes:
        """The decoded embedded document; b"" if the attachment only points to ``uri``.

        Raises ``ValueError`` if the embedded text is not base64.
        """
        if not self._payload:
            return b""
        try:
            return base64.b64decode(self._payload)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"attachment {self.id or self.filename!r} is not valid base64: {exc}") from None


def base64_size(text: str) -> int:
    """Decoded length of base64 ``text`` without decoding it (whitespace ignored).

    ``ch in body`` is a memchr-speed scan; most payloads have no inner whitespace, so the slower
    counting only runs for line-wrapped base64.
    """
    body = text.strip()
    whitespace = sum(body.count(ch) for ch in " \t\r\n" if ch in body)
    padding = 2 if body.endswith("==") else 1 if body.endswith("=") else 0
    return max(0, (len(body) - whitespace) * 3 // 4 - padding)


@dataclass(frozen=True, slots=True)
class SkontoTerm:
    """One cash discount offer in XRechnung syntax: ``percent`` % off if paid within ``days``."""

    days: int
    percent: Decimal
    base_amount: Decimal | None = None  # BASISBETRAG; None means "of BT-115"


@dataclass(frozen=True, slots=True)
class PaymentTerms:
    """BT-20 as text plus the Skonto terms read from it (BR-DE-18)."""

    text: str | None = None
    skonto: list[SkontoTerm] = field(default_factory=list)
    skonto_errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Totals:
    """Document totals (BG-22)."""

    line_total: Decimal | None = None  # BT-106
    allowances: Decimal | None = None  # BT-107
    charges: Decimal | None = None  # BT-108
    net: Decimal | None = None  # BT-109
    vat: Decimal | None = None  # BT-110
    vat_in_accounting_currency: Decimal | None = None  # BT-111
    gross: Decimal | None = None  # BT-112
    prepaid: Decimal | None = None  # BT-113
    rounding: Decimal | None = None  # BT-114
    amount_due: Decimal | None = None  # BT-115


@dataclass(frozen=True, slots=True)
class InvoiceData:
    """Everything the intake workflow needs from one invoice or credit note."""

    syntax: str  # "UBL-Invoice" | "UBL-CreditNote" | "CII"
    document_type: str = DOCUMENT_INVOICE  # "invoice" | "credit_note", from BT-3
    type_code: str | None = None  # BT-3
    number: str | None = None  # BT-1
    issue_date: date | None = None  # BT-2
    currency: str | None = None  # BT-5
    vat_currency: str | None = None  # BT-6
    due_date: date | None = None  # BT-9
    tax_point_date: date | None = None  # BT-7
    buyer_reference: str | None = None  # BT-10
    leitweg_id: str | None = None  # BT-10 when it looks like a Leitweg-ID
    leitweg_id_valid: bool | None = None  # its check digits; None if BT-10 is no Leitweg-ID
    project_reference: str | None = None  # BT-11
    contract_reference: str | None = None  # BT-12
    order_reference: str | None = None  # BT-13
    accounting_reference: str | None = None  # BT-19
    preceding_invoices: list[str] = field(default_factory=list)  # BT-25
    business_process: str | None = None  # BT-23
    specification_id: str | None = None  # BT-24
    seller: Party = field(default_factory=Party)  # BG-4
    buyer: Party = field(default_factory=Party)  # BG-7
    payee_name: str | None = None  # BT-59
    payee_iban: str | None = None  # BT-84: of the first credit transfer (30/58), else the first given
    payment_means_code: str | None = None  # BT-81 (first)
    payment_reference: str | None = None  # BT-83
    payment_terms: PaymentTerms = field(default_factory=PaymentTerms)  # BT-20
    totals: Totals = field(default_factory=Totals)  # BG-22
    vat_breakdown: list[VatBreakdown] = field(default_factory=list)  # BG-23
    lines: list[Line] = field(default_factory=list)  # BG-25
    attachments: list[Attachment] = field(default_factory=list)  # BG-24
    notes: list[str] = field(default_factory=list)  # BT-22

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for the ledger: Decimal as str, date as ISO, attachments without content."""
        result = _plain(self)
        assert isinstance(result, dict)
        return result


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _public_fields(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = tuple(f.name for f in fields(cls) if not f.name.startswith("_"))
        _FIELD_NAMES[cls] = names
    return names


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    names = _public_fields(type(value))
    return {name: _plain(getattr(value, name)) for name in names}
