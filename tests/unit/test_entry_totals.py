"""EN 16931 totals of the entry form: rounding per line and per VAT group, mixed rates, allowances, Skonto."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from einvoice.entry.document import AllowanceCharge, Line, compute_totals, price_text
from einvoice.entry.examples import example_form_data
from einvoice.entry.form import InvoiceForm
from einvoice.invoice.skonto import parse_skonto

D = Decimal


def _line(quantity: str, price: str, rate: str = "19", category: str = "S") -> Line:
    return Line("1", None, "x", D(quantity), "C62", D(price), D(rate), category)


def test_line_net_is_rounded_half_up_to_the_cent() -> None:
    assert _line("3", "0.335").net == D("1.01")  # 1.005 → 1.01, not banker's 1.00
    assert _line("0.333", "0.0155").net == D("0.01")
    assert _line("2.5", "17.45").net == D("43.63")


def test_vat_is_rounded_once_per_rate_not_per_line() -> None:
    lines = [_line("1", "0.10") for _ in range(7)]  # 7 x 0.019 VAT: per line 0.02 each would give 0.14
    totals = compute_totals(lines)
    assert totals.line_total == D("0.70")
    assert [(v.rate, v.taxable, v.tax) for v in totals.vat] == [(D("19"), D("0.70"), D("0.13"))]
    assert totals.payable == D("0.83")


def test_mixed_rates_and_categories_get_one_breakdown_each_highest_rate_first() -> None:
    totals = compute_totals([_line("1", "100", "7"), _line("2", "50"), _line("1", "30", "0", "Z"),
                             _line("1", "20", "0", "E"), _line("1", "10", "7")])
    assert [(v.category, v.rate, v.taxable, v.tax) for v in totals.vat] == [
        ("S", D("19"), D("100.00"), D("19.00")),
        ("S", D("7"), D("110.00"), D("7.70")),
        ("E", D("0"), D("20.00"), D("0.00")),
        ("Z", D("0"), D("30.00"), D("0.00")),
    ]
    assert totals.tax_total == D("26.70")
    assert totals.tax_exclusive == D("260.00")
    assert totals.tax_inclusive == totals.payable == D("286.70")


def test_allowances_and_charges_change_the_base_of_their_own_rate() -> None:
    adjustments = [AllowanceCharge(False, "Rabatt", "95", D("10.00"), D("19")),
                   AllowanceCharge(True, "Fracht", "FC", D("5.50"), D("7"))]
    totals = compute_totals([_line("1", "100"), _line("1", "50", "7")], adjustments)
    assert totals.line_total == D("150.00")
    assert totals.allowance_total == D("10.00")
    assert totals.charge_total == D("5.50")
    assert totals.tax_exclusive == D("145.50")  # BR-CO-13
    assert [(v.rate, v.taxable, v.tax) for v in totals.vat] == [(D("19"), D("90.00"), D("17.10")),
                                                                (D("7"), D("55.50"), D("3.89"))]
    assert totals.payable == D("166.49")


def test_form_totals_match_the_example_page() -> None:
    totals = InvoiceForm.model_validate(example_form_data()).totals()
    # 6.5 h x 68.00 = 442.00; 2.4 m x 42.35 = 101.64; 29.90 at 7 %; freight 12.50 at 19 %
    assert totals.line_total == D("573.54")
    assert totals.tax_exclusive == D("586.04")
    assert [(v.rate, v.taxable, v.tax) for v in totals.vat] == [(D("19"), D("556.14"), D("105.67")),
                                                                (D("7"), D("29.90"), D("2.09"))]
    assert totals.payable == D("693.80")


def test_skonto_stages_are_written_in_xrechnung_syntax_and_read_back() -> None:
    data: dict[str, Any] = example_form_data()
    data["skonto"] = [{"days": "7", "percent": "3"}, {"days": "14", "percent": "2,5"}]
    form = InvoiceForm.model_validate(data)
    text = form.payment_terms()
    assert text.startswith("#SKONTO#TAGE=7#PROZENT=3.00#\n#SKONTO#TAGE=14#PROZENT=2.50#\n")
    assert text.endswith("Zahlbar innerhalb von 30 Tagen ohne Abzug.")
    terms, problems = parse_skonto(text)
    assert problems == []
    assert [(t.days, t.percent) for t in terms] == [(7, D("3.00")), (14, D("2.50"))]


def test_payment_terms_without_text_name_the_due_date() -> None:
    data = example_form_data()
    del data["payment_text"]
    data["skonto"] = []
    assert InvoiceForm.model_validate(data).payment_terms() == "Zahlbar bis zum 01.04.2026 ohne Abzug."


@pytest.mark.parametrize(("price", "text"), [(D("42.35"), "42.35"), (D("3"), "3.00"), (D("0.0155"), "0.0155")])
def test_unit_prices_keep_their_decimals(price: Decimal, text: str) -> None:
    assert price_text(price) == text
