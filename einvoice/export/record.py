"""The export record: what bookkeeping learns about one approved invoice, whatever the exporter.

Built from the ledger row (``Invoice.data`` holds the EN 16931 business terms) and the account
coding of the factual check. The booking lines split the invoice by VAT rate and by coding line,
with amounts that add up to the VAT breakdown to the cent, so every exporter books the same sums.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from einvoice.export.settings import ExporterSettings
from einvoice.workflow.coding import CodingLine

if TYPE_CHECKING:
    from einvoice.accounts.models import Unit
    from einvoice.db import UnitOfWork
    from einvoice.ledger.models import Invoice

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
SCHEMA = "einvoice.export/1"


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def rate_text(rate: Decimal | None) -> str:
    """A VAT rate as the tax-key tables name it: ``19``, ``7``, ``5.5``."""
    if rate is None:
        return ""
    text = format(rate.normalize(), "f")
    return text


@dataclass(frozen=True)
class VatGroup:
    """One VAT category/rate of the invoice (BG-23)."""

    category: str | None
    rate: Decimal | None
    net: Decimal
    tax: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax


@dataclass(frozen=True)
class Booking:
    """One booking: an amount of one VAT rate on one expense account (a DATEV row)."""

    account: str
    net: Decimal
    tax: Decimal
    vat_rate: Decimal | None
    vat_category: str | None
    tax_key: str
    cost_center: str | None = None
    budget_line: str | None = None
    text: str | None = None

    @property
    def gross(self) -> Decimal:
        return self.net + self.tax


@dataclass(frozen=True)
class SkontoOffer:
    """A cash discount the invoice offers (BR-DE-18 term), with its amount and deadline."""

    days: int
    percent: Decimal
    base: Decimal
    amount: Decimal
    deadline: date | None


@dataclass(frozen=True)
class ExportRecord:
    """Everything exporters write about one invoice."""

    invoice_id: str
    idempotency_key: str
    unit_id: str | None
    unit_name: str | None
    leitweg_id: str | None
    number: str
    document_type: str
    type_code: str | None
    issue_date: date | None
    due_date: date | None
    received_on: date
    currency: str
    seller_name: str
    seller_vat_id: str | None
    seller_tax_id: str | None
    iban: str | None
    payment_reference: str | None
    buyer_reference: str | None
    net: Decimal | None
    vat: Decimal | None
    gross: Decimal | None
    amount_due: Decimal | None
    vat_groups: list[VatGroup]
    coding: list[CodingLine]
    bookings: list[Booking]
    skonto: list[SkontoOffer]
    original_url: str
    original_sha256: str
    original_filename: str
    original_content_type: str | None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def credit_note(self) -> bool:
        return self.document_type == "credit_note"

    @property
    def document_date(self) -> date:
        """Belegdatum: the issue date (BT-2), else the day it was received."""
        return self.issue_date or self.received_on

    def to_dict(self) -> dict[str, Any]:
        """The JSON record (CSV, JSON and webhook exporters): amounts as exact decimal strings."""
        return {
            "schema": SCHEMA,
            "idempotency_key": self.idempotency_key,
            "invoice_id": self.invoice_id,
            "unit": {"id": self.unit_id, "name": self.unit_name, "leitweg_id": self.leitweg_id},
            "invoice_number": self.number,
            "document_type": self.document_type,
            "type_code": self.type_code,
            "issue_date": _iso(self.issue_date),
            "due_date": _iso(self.due_date),
            "currency": self.currency,
            "seller": {"name": self.seller_name, "vat_id": self.seller_vat_id,
                       "tax_registration_id": self.seller_tax_id, "iban": self.iban},
            "payment_reference": self.payment_reference,
            "buyer_reference": self.buyer_reference,
            "amounts": {"net": _dec(self.net), "vat": _dec(self.vat), "gross": _dec(self.gross),
                        "amount_due": _dec(self.amount_due)},
            "vat_breakdown": [{"category": g.category, "rate": _dec(g.rate), "net": _dec(g.net),
                               "tax": _dec(g.tax), "gross": _dec(g.gross)} for g in self.vat_groups],
            "coding": [{"account": b.account, "cost_center": b.cost_center, "budget_line": b.budget_line,
                        "tax_key": b.tax_key or None, "vat_rate": _dec(b.vat_rate), "vat_category": b.vat_category,
                        "net": _dec(b.net), "tax": _dec(b.tax), "gross": _dec(b.gross), "text": b.text}
                       for b in self.bookings],
            "skonto": [{"days": s.days, "percent": _dec(s.percent), "base": _dec(s.base),
                        "amount": _dec(s.amount), "deadline": _iso(s.deadline)} for s in self.skonto],
            "original": {"url": self.original_url, "sha256": self.original_sha256,
                         "filename": self.original_filename, "content_type": self.original_content_type},
        }


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def _first(*values: Decimal | None) -> Decimal | None:
    return next((v for v in values if v is not None), None)


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


# --------------------------------------------------------------------------- building


def coding_of(uow: UnitOfWork, invoice_id: str) -> list[CodingLine]:
    """The invoice's account coding from the workflow, or none while the workflow has none."""
    try:
        from einvoice.workflow.service import coding_for
    except ImportError:
        return []
    return list(coding_for(uow, invoice_id))


def original_url(invoice_id: str, settings: ExporterSettings) -> str:
    path = f"/api/v1/invoices/{invoice_id}/original"
    return settings.base_url.rstrip("/") + path if settings.base_url else path


def build_record(invoice: Invoice, unit: Unit | None, coding: list[CodingLine], settings: ExporterSettings,
                 idempotency_key: str) -> ExportRecord:
    """The export record of ``invoice`` with ``coding`` (or the settings' default account)."""
    data: dict[str, Any] = invoice.data or {}
    totals: dict[str, Any] = data.get("totals") or {}
    seller: dict[str, Any] = data.get("seller") or {}
    groups = vat_groups(data, totals)
    issue = invoice.issue_date or _date(data.get("issue_date"))
    # the amounts as the document states them (the ledger columns are padded to four decimals)
    amount_due = _first(_decimal(totals.get("amount_due")), invoice.amount_due)
    gross = _first(_decimal(totals.get("gross")), invoice.gross_amount)
    lines = coding or [CodingLine(account=settings.default_account or "")]
    return ExportRecord(
        invoice_id=invoice.id,
        idempotency_key=idempotency_key,
        unit_id=unit.id if unit else invoice.unit_id,
        unit_name=unit.name if unit else None,
        leitweg_id=unit.leitweg_id if unit else None,
        number=invoice.invoice_number or str(data.get("number") or ""),
        document_type=str(data.get("document_type") or "invoice"),
        type_code=data.get("type_code"),
        issue_date=issue,
        due_date=invoice.due_date or _date(data.get("due_date")),
        received_on=invoice.received_at.date(),
        currency=invoice.currency or str(data.get("currency") or "EUR"),
        seller_name=invoice.seller_name or str(seller.get("name") or ""),
        seller_vat_id=seller.get("vat_id"),
        seller_tax_id=seller.get("tax_registration_id"),
        iban=data.get("payee_iban"),
        payment_reference=data.get("payment_reference"),
        buyer_reference=invoice.buyer_reference,
        net=_decimal(totals.get("net")),
        vat=_decimal(totals.get("vat")),
        gross=gross,
        amount_due=amount_due,
        vat_groups=groups,
        coding=list(coding),
        bookings=allocate(groups, lines, settings.tax_keys),
        skonto=skonto_offers(data, issue, amount_due if amount_due is not None else gross),
        original_url=original_url(invoice.id, settings),
        original_sha256=invoice.sha256,
        original_filename=invoice.filename,
        original_content_type=invoice.content_type,
    )


def vat_groups(data: dict[str, Any], totals: dict[str, Any]) -> list[VatGroup]:
    """The VAT breakdown; without one, a single group holding the document totals."""
    groups = []
    for item in data.get("vat_breakdown") or []:
        net = _decimal(item.get("taxable_amount"))
        tax = _decimal(item.get("tax_amount"))
        if net is None and tax is None:
            continue
        groups.append(VatGroup(category=item.get("category"), rate=_decimal(item.get("rate")),
                               net=net or Decimal("0"), tax=tax or Decimal("0")))
    if groups:
        return groups
    net = _decimal(totals.get("net"))
    tax = _decimal(totals.get("vat")) or Decimal("0")
    if net is None:
        gross = _decimal(totals.get("gross")) or Decimal("0")
        net = gross - tax
    return [VatGroup(category=None, rate=None, net=net, tax=tax)]


def allocate(groups: list[VatGroup], lines: list[CodingLine], tax_keys: dict[str, str]) -> list[Booking]:
    """Split every VAT group over the coding lines that apply to it, exactly to the cent.

    Lines naming a VAT rate take the group of that rate; lines without one share every group.
    Within a group the net and tax are split in proportion to the lines' amounts (equally if the
    lines have none); the last line takes the rounding remainder, so sums match the breakdown.
    """
    bookings: list[Booking] = []
    for group in groups:
        applicable = [line for line in lines if line.vat_rate is not None and group.rate is not None
                      and line.vat_rate == group.rate]
        if not applicable:
            applicable = [line for line in lines if line.vat_rate is None] or lines
        weights = [line.amount if line.amount is not None else Decimal("0") for line in applicable]
        if sum(weights) == 0:
            weights = [Decimal("1")] * len(applicable)
        nets = _split(money(group.net), weights)
        taxes = _split(money(group.tax), weights)
        for line, net, tax in zip(applicable, nets, taxes, strict=True):
            key = line.tax_key or _tax_key(group, tax_keys)
            bookings.append(Booking(account=line.account, net=net, tax=tax, vat_rate=group.rate,
                                    vat_category=group.category, tax_key=key, cost_center=line.cost_center,
                                    budget_line=line.budget_line, text=line.text))
    return bookings


def _tax_key(group: VatGroup, tax_keys: dict[str, str]) -> str:
    if group.category and group.category != "S" and group.category in tax_keys:
        return tax_keys[group.category]
    if group.category in (None, "S"):
        return tax_keys.get(rate_text(group.rate), "")
    return ""


def _split(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    whole = sum(weights)
    parts = [money(total * weight / whole) for weight in weights[:-1]]
    return [*parts, total - sum(parts, Decimal("0"))]


def skonto_offers(data: dict[str, Any], issue: date | None, default_base: Decimal | None) -> list[SkontoOffer]:
    """The BR-DE-18 Skonto terms with amount (percent of BASISBETRAG, else of the amount due) and
    deadline (days after the invoice date)."""
    offers = []
    terms = ((data.get("payment_terms") or {}).get("skonto")) or []
    for term in terms:
        percent = _decimal(term.get("percent"))
        base = _decimal(term.get("base_amount"))
        base = base if base is not None else default_base
        try:
            days = int(term.get("days"))
        except (TypeError, ValueError):
            continue
        if percent is None or base is None:
            continue
        offers.append(SkontoOffer(days=days, percent=percent, base=base, amount=money(base * percent / 100),
                                  deadline=issue + timedelta(days=days) if issue else None))
    return offers
