"""Payment deadlines of an invoice: due date, Skonto date and amount (pure functions, no clock inside).

* Due date: BT-9 if given; otherwise from the payment terms (BT-20): an explicit date ("zahlbar bis
  zum 01.04.2026"), a number of days ("innerhalb von 30 Tagen", "within 14 days", "net 30") counted
  from the issue date, or the longest Skonto period; otherwise 30 days after receipt.
* Skonto (BR-DE-18 terms ``#SKONTO#TAGE=n#PROZENT=p#[BASISBETRAG=b#]``): the offer still open on
  ``today`` with the shortest period, due ``issue_date + TAGE``, worth ``PROZENT`` % of
  ``BASISBETRAG`` or, without it, of the amount due (BT-115), rounded to the cent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from einvoice.invoice.model import SkontoTerm

DEFAULT_PAYMENT_DAYS = 30
CENT = Decimal("0.01")

SOURCE_BT9 = "BT-9"
SOURCE_TERMS_DATE = "payment terms (date)"
SOURCE_TERMS_DAYS = "payment terms (days)"
SOURCE_SKONTO = "Skonto terms"
SOURCE_RECEIPT = "receipt + 30 days"

_DAYS_PATTERNS = tuple(re.compile(p, re.IGNORECASE) for p in (
    r"(?:innerhalb|binnen)\s+(?:von\s+)?(\d{1,3})\s+(?:Kalender|Werk)?tag(?:e|en)?",
    r"zahlbar\s+(?:in|nach)\s+(\d{1,3})\s+Tag(?:e|en)?",
    r"(\d{1,3})\s+Tage?\s+(?:netto|rein\s+netto|ohne\s+Abzug)",
    r"netto\s+(\d{1,3})\s+Tage",
    r"within\s+(\d{1,3})\s+days",
    r"(\d{1,3})\s+days\s+net",
    r"\bnet\s+(\d{1,3})\b",
    r"payable\s+in\s+(\d{1,3})\s+days",
))
_DATE_PATTERNS = (
    re.compile(r"(?:bis|spätestens|until|by)\s+(?:zum\s+|am\s+)?(\d{1,2})\.(\d{1,2})\.(\d{4})", re.IGNORECASE),
    re.compile(r"(?:bis|until|by)\s+(?:zum\s+)?(\d{4})-(\d{2})-(\d{2})", re.IGNORECASE),
)


@dataclass(frozen=True)
class SkontoOffer:
    """Pay by ``until`` and deduct ``amount`` (``percent`` % of ``base``)."""

    until: date
    percent: Decimal
    base: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Deadlines:
    due_date: date
    due_source: str
    skonto: SkontoOffer | None

    @property
    def deadline(self) -> date:
        """The nearest date that matters: the Skonto date while it is open, else the due date."""
        return self.skonto.until if self.skonto and self.skonto.until < self.due_date else self.due_date


def _free_text(text: str | None) -> str:
    """Payment terms without the Skonto lines (their day counts are no payment period)."""
    if not text:
        return ""
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith("#"))


def payment_days(text: str | None) -> int | None:
    """Days to pay as stated in free-text payment terms, or None if they name none."""
    free = _free_text(text)
    for pattern in _DAYS_PATTERNS:
        match = pattern.search(free)
        if match:
            days = int(match.group(1))
            if 0 < days <= 365:
                return days
    return None


def payment_until(text: str | None) -> date | None:
    """An explicit payment date in the terms ("zahlbar bis zum 01.04.2026"), or None."""
    free = _free_text(text)
    for index, pattern in enumerate(_DATE_PATTERNS):
        match = pattern.search(free)
        if not match:
            continue
        a, b, c = (int(g) for g in match.groups())
        try:
            return date(c, b, a) if index == 0 else date(a, b, c)
        except ValueError:
            continue
    return None


def skonto_offer(terms: Sequence[SkontoTerm], issue_date: date | None, amount_due: Decimal | None,
                 today: date) -> SkontoOffer | None:
    """The Skonto offer still open on ``today`` with the shortest period (usually the best one)."""
    if issue_date is None:
        return None
    for term in sorted(terms, key=lambda t: (t.days, -t.percent)):
        until = issue_date + timedelta(days=term.days)
        if until < today:
            continue
        base = term.base_amount if term.base_amount is not None else amount_due
        if base is None:
            continue
        amount = (base * term.percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        return SkontoOffer(until=until, percent=term.percent, base=base, amount=amount)
    return None


def due_date(*, bt9: date | None, terms_text: str | None, skonto: Sequence[SkontoTerm],
             issue_date: date | None, received: date) -> tuple[date, str]:
    """The due date and where it came from."""
    if bt9 is not None:
        return bt9, SOURCE_BT9
    explicit = payment_until(terms_text)
    if explicit is not None:
        return explicit, SOURCE_TERMS_DATE
    start = issue_date or received
    days = payment_days(terms_text)
    if days is not None:
        return start + timedelta(days=days), SOURCE_TERMS_DAYS
    if skonto:
        return start + timedelta(days=max(t.days for t in skonto)), SOURCE_SKONTO
    return received + timedelta(days=DEFAULT_PAYMENT_DAYS), SOURCE_RECEIPT


def compute(*, bt9: date | None, terms_text: str | None, skonto: Sequence[SkontoTerm],
            issue_date: date | None, amount_due: Decimal | None, received: date, today: date) -> Deadlines:
    due, source = due_date(bt9=bt9, terms_text=terms_text, skonto=skonto, issue_date=issue_date,
                           received=received)
    return Deadlines(due, source, skonto_offer(skonto, issue_date, amount_due, today))


# ------------------------------------------------------------------ reading the ledger's data


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def skonto_terms(data: Mapping[str, Any] | None) -> list[SkontoTerm]:
    """The Skonto terms of ``InvoiceData.to_dict()`` output."""
    terms = ((data or {}).get("payment_terms") or {}).get("skonto") or []
    result = []
    for term in terms:
        days, percent = term.get("days"), _decimal(term.get("percent"))
        if isinstance(days, int) and days >= 0 and percent is not None:
            result.append(SkontoTerm(days, percent, _decimal(term.get("base_amount"))))
    return result


def for_invoice(data: Mapping[str, Any] | None, *, bt9: date | None, issue_date: date | None,
                amount_due: Decimal | None, received: date, today: date) -> Deadlines:
    """Deadlines from a ledger row's columns and its extracted data (``Invoice.data``)."""
    data = data or {}
    terms_text = (data.get("payment_terms") or {}).get("text")
    if amount_due is None:
        amount_due = _decimal((data.get("totals") or {}).get("amount_due"))
    return compute(bt9=bt9 or _date(data.get("due_date")), terms_text=terms_text, skonto=skonto_terms(data),
                   issue_date=issue_date or _date(data.get("issue_date")), amount_due=amount_due,
                   received=received, today=today)
