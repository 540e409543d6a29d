"""Deadlines as pure functions: due date from BT-9, payment terms or receipt; Skonto date and amount."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from einvoice.invoice.model import SkontoTerm
from einvoice.workflow import deadlines
from einvoice.workflow.clock import FixedClock, today

ISSUED = date(2026, 3, 2)
RECEIVED = date(2026, 3, 4)


def _due(text: str | None, *, bt9: date | None = None, skonto: list[SkontoTerm] | None = None,
         issued: date | None = ISSUED) -> tuple[date, str]:
    return deadlines.due_date(bt9=bt9, terms_text=text, skonto=skonto or [], issue_date=issued, received=RECEIVED)


def test_bt9_wins_over_everything() -> None:
    assert _due("Zahlbar innerhalb von 10 Tagen", bt9=date(2026, 5, 1)) == (date(2026, 5, 1), "BT-9")


@pytest.mark.parametrize(("text", "days"), [
    ("Zahlbar innerhalb von 14 Tagen ohne Abzug.", 14),
    ("zahlbar binnen 21 Kalendertagen", 21),
    ("30 Tage netto", 30),
    ("Payment within 10 days of the invoice date.", 10),
    ("Terms: net 45", 45),
    ("60 days net", 60),
])
def test_days_in_the_payment_terms_count_from_the_issue_date(text: str, days: int) -> None:
    due, source = _due(text)
    assert (due - ISSUED).days == days and source == deadlines.SOURCE_TERMS_DAYS


def test_explicit_date_in_the_terms() -> None:
    assert _due("Zahlbar bis zum 01.04.2026 ohne Abzug.\n") == (date(2026, 4, 1), deadlines.SOURCE_TERMS_DATE)
    assert _due("Pay by 2026-04-15") == (date(2026, 4, 15), deadlines.SOURCE_TERMS_DATE)
    assert _due("Zahlbar bis zum 31.02.2026")[1] != deadlines.SOURCE_TERMS_DATE  # no such day


def test_skonto_lines_are_no_payment_period_but_their_longest_period_is_the_fallback() -> None:
    terms = [SkontoTerm(10, Decimal("3.00")), SkontoTerm(20, Decimal("2.00"))]
    text = "#SKONTO#TAGE=10#PROZENT=3.00#\n#SKONTO#TAGE=20#PROZENT=2.00#\n"
    assert _due(text, skonto=terms) == (date(2026, 3, 22), deadlines.SOURCE_SKONTO)


def test_without_anything_30_days_after_receipt() -> None:
    assert _due("Vielen Dank.") == (date(2026, 4, 3), deadlines.SOURCE_RECEIPT)
    assert _due(None, issued=None) == (date(2026, 4, 3), deadlines.SOURCE_RECEIPT)


def test_skonto_amount_of_the_amount_due_or_of_the_base_amount() -> None:
    of_due = deadlines.skonto_offer([SkontoTerm(14, Decimal("2.00"))], ISSUED, Decimal("1187.90"), ISSUED)
    assert of_due == deadlines.SkontoOffer(date(2026, 3, 16), Decimal("2.00"), Decimal("1187.90"), Decimal("23.76"))
    of_base = deadlines.skonto_offer([SkontoTerm(7, Decimal("3.00"), Decimal("500.00"))], ISSUED,
                                     Decimal("1187.90"), ISSUED)
    assert of_base is not None and (of_base.until, of_base.amount) == (date(2026, 3, 9), Decimal("15.00"))


def test_the_open_offer_moves_on_when_a_skonto_date_passes() -> None:
    terms = [SkontoTerm(20, Decimal("2.00")), SkontoTerm(10, Decimal("3.00"))]
    first = deadlines.skonto_offer(terms, ISSUED, Decimal("100.00"), date(2026, 3, 12))
    second = deadlines.skonto_offer(terms, ISSUED, Decimal("100.00"), date(2026, 3, 13))
    gone = deadlines.skonto_offer(terms, ISSUED, Decimal("100.00"), date(2026, 3, 23))
    assert first is not None and (first.until, first.amount) == (date(2026, 3, 12), Decimal("3.00"))
    assert second is not None and (second.until, second.amount) == (date(2026, 3, 22), Decimal("2.00"))
    assert gone is None


def test_for_invoice_reads_the_ledger_data_and_picks_the_nearest_deadline() -> None:
    data = {"issue_date": "2026-03-02", "due_date": None,
            "payment_terms": {"text": "#SKONTO#TAGE=14#PROZENT=2.00#\nZahlbar innerhalb von 30 Tagen.\n",
                              "skonto": [{"days": 14, "percent": "2.00", "base_amount": None}]},
            "totals": {"amount_due": "473.69"}}
    result = deadlines.for_invoice(data, bt9=None, issue_date=None, amount_due=None, received=RECEIVED,
                                   today=date(2026, 3, 5))
    assert (result.due_date, result.due_source) == (date(2026, 4, 1), deadlines.SOURCE_TERMS_DAYS)
    assert result.skonto is not None and result.skonto.amount == Decimal("9.47")
    assert result.deadline == date(2026, 3, 16)
    later = deadlines.for_invoice(data, bt9=None, issue_date=None, amount_due=None, received=RECEIVED,
                                  today=date(2026, 3, 17))
    assert later.skonto is None and later.deadline == date(2026, 4, 1)


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock(date(2026, 3, 3))
    assert today(clock) == date(2026, 3, 3)
    clock.advance(days=40)
    assert today(clock) == date(2026, 4, 12)
