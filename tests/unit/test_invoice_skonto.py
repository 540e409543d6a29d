"""Skonto terms in XRechnung syntax (BR-DE-18) and the explanations for malformed ones."""

from __future__ import annotations

from decimal import Decimal

import pytest

from einvoice.invoice.model import SkontoTerm
from einvoice.invoice.skonto import parse_skonto


def test_single_term() -> None:
    assert parse_skonto("#SKONTO#TAGE=14#PROZENT=2.00#\n") == ([SkontoTerm(14, Decimal("2.00"))], [])


def test_several_terms_with_free_text_and_crlf() -> None:
    text = ("Zahlbar innerhalb von 30 Tagen ohne Abzug.\r\n"
            "#SKONTO#TAGE=7#PROZENT=3.00#\r\n"
            "#SKONTO#TAGE=14#PROZENT=2.00#\r\n"
            "#SKONTO#TAGE=30#PROZENT=0.00#\r\n")
    terms, errors = parse_skonto(text)
    assert errors == []
    assert terms == [SkontoTerm(7, Decimal("3.00")), SkontoTerm(14, Decimal("2.00")),
                     SkontoTerm(30, Decimal("0.00"))]


def test_free_text_after_the_last_term_is_fine() -> None:
    terms, errors = parse_skonto("#SKONTO#TAGE=10#PROZENT=2.00#\nSonst 30 Tage netto.")
    assert terms == [SkontoTerm(10, Decimal("2.00"))]
    assert errors == []


def test_base_amount() -> None:
    terms, errors = parse_skonto("#SKONTO#TAGE=10#PROZENT=2.50#BASISBETRAG=1000.00#\n"
                                 "#SKONTO#TAGE=20#PROZENT=1.00#BASISBETRAG=-50.00#\n")
    assert errors == []
    assert terms == [SkontoTerm(10, Decimal("2.50"), Decimal("1000.00")),
                     SkontoTerm(20, Decimal("1.00"), Decimal("-50.00"))]


def test_whitespace_around_a_term_is_tolerated() -> None:
    """Indentation from pretty-printed XML: BR-DE-18 normalises each line's surrounding space."""
    text = "\n        #SKONTO#TAGE=7#PROZENT=2.00#\n        #SKONTO#TAGE=14#PROZENT=1.00#\n      "
    terms, errors = parse_skonto(text)
    assert errors == []
    assert [term.days for term in terms] == [7, 14]


def test_plain_text_mentioning_skonto_is_no_term_and_no_error() -> None:
    assert parse_skonto("Bei Zahlung innerhalb 14 Tagen gewähren wir 2,0% Skonto.") == ([], [])
    assert parse_skonto("") == ([], [])


def test_missing_final_hash() -> None:
    terms, errors = parse_skonto("#SKONTO#TAGE=7#PROZENT=2.00\n")
    assert terms == [SkontoTerm(7, Decimal("2.00"))]
    assert errors == ["Line 1: the term must end with '#'."]


def test_comma_decimal() -> None:
    terms, errors = parse_skonto("#SKONTO#TAGE=7#PROZENT=2,00#\n")
    assert terms == [SkontoTerm(7, Decimal("2.00"))]
    assert errors == ["Line 1: PROZENT must use a decimal point, not a comma: write 2.00."]


def test_missing_line_break_after_last_term() -> None:
    terms, errors = parse_skonto("#SKONTO#TAGE=7#PROZENT=2.00#\n#SKONTO#TAGE=14#PROZENT=1.00#")
    assert [term.days for term in terms] == [7, 14]
    assert errors == ["Line 2: the last Skonto term must be followed by a line break."]


def test_missing_line_break_between_terms() -> None:
    terms, errors = parse_skonto("#SKONTO#TAGE=7#PROZENT=2.00##SKONTO#TAGE=14#PROZENT=1.00#\n")
    assert [term.days for term in terms] == [7, 14]
    assert errors == ["Line 1 holds 2 Skonto terms; each term needs a line of its own."]


def test_percent_needs_two_decimals() -> None:
    terms, errors = parse_skonto("#SKONTO#TAGE=7#PROZENT=2.5#\n#SKONTO#TAGE=8#PROZENT=2#\n")
    assert terms == [SkontoTerm(7, Decimal("2.5")), SkontoTerm(8, Decimal("2"))]
    assert errors == [
        "Line 1: PROZENT must have exactly two decimal places, e.g. 2.00 (found '2.5').",
        "Line 2: PROZENT must have exactly two decimal places, e.g. 2.00 (found '2').",
    ]


def test_lower_case_and_inner_spaces() -> None:
    terms, errors = parse_skonto("#skonto#tage=7#prozent=2.00#\n#SKONTO# TAGE=7 #PROZENT=2.00#\n")
    assert terms == [SkontoTerm(7, Decimal("2.00"))] * 2
    assert errors == [
        "Line 1: SKONTO, TAGE, PROZENT and BASISBETRAG must be written in capitals.",
        "Line 2: spaces are not allowed inside the term.",
    ]


def test_text_before_the_term() -> None:
    terms, errors = parse_skonto("Skonto: #SKONTO#TAGE=7#PROZENT=2.00#\n")
    assert terms == [SkontoTerm(7, Decimal("2.00"))]
    assert errors == ["Line 1: the term must start the line, without text before it."]


def test_unusable_values_drop_the_term() -> None:
    terms, errors = parse_skonto("#SKONTO#TAGE=sieben#PROZENT=2.00#\n#SKONTO#TAGE=7#PROZENT=zwei#\n")
    assert terms == []
    assert errors[0] == "Line 1: TAGE must be a whole number of days, not 'sieben'."
    assert errors[1].startswith("Line 1: the term was ignored; write #SKONTO#TAGE=n#PROZENT=n.nn#")
    assert errors[2] == "Line 2: PROZENT must be a number like 2.00, not 'zwei'."


@pytest.mark.parametrize("line", ["#Hinweis#", "#SKONTO#14 Tage 2%#", "TAGE=7#PROZENT=2.00#"])
def test_not_a_term(line: str) -> None:
    terms, errors = parse_skonto(line + "\n")
    assert terms == []
    assert len(errors) == 1 and "is not a Skonto term" in errors[0]


def test_negative_percent_is_refused_in_words() -> None:
    terms, errors = parse_skonto("#SKONTO#TAGE=7#PROZENT=-2.00#\n")
    assert terms == [SkontoTerm(7, Decimal("-2.00"))]
    assert errors == ["Line 1: PROZENT must not have a sign."]
