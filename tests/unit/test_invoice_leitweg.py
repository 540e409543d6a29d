"""Leitweg-ID check digits (ISO/IEC 7064 MOD 97-10, KoSIT Leitweg-ID format specification).

Worked by hand, as for an IBAN (reduce 9 digits, then carry the remainder with 7 more digits):

``04011000-12345``: number 0401100012345 followed by "00" = 040110001234500
    040110001 mod 97 = 16;  16234500 mod 97 = 95;  check = 98 - 95 = 03  → ``04011000-12345-03``
    verify 040110001234503: 040110001 mod 97 = 16; 16234503 mod 97 = 1 ✓

``991-33333TEST`` (letters A=10 … Z=35: T=29 E=14 S=28 T=29):
    99133333 29142829 00 → 991333332 mod 97 = 25; 259142829 mod 97 = 54; 5400 mod 97 = 65
    check = 98 - 65 = 33  → ``991-33333TEST-33`` (used in the KoSIT test suite, case 03.06a)

``04011000-12345-34`` (KoSIT suite 05.01a): 16234534 mod 97 = 32 ≠ 1 → invalid.
"""

from __future__ import annotations

import pytest

from einvoice.invoice.leitweg import (
    is_valid_leitweg_id,
    leitweg_check_digits,
    looks_like_leitweg_id,
    make_leitweg_id,
)


@pytest.mark.parametrize(("base", "check"), [
    ("04011000-12345", "03"),
    ("991-33333TEST", "33"),
    ("991-33333test", "33"),  # letters count the same in lower case
    ("04011000-12346", "97"),
    ("90000000-03083", "72"),
    ("992-90009", "96"),
    ("1234567890-54321", "40"),
    ("12", "62"),  # shortest form, Grobadressierung only: 1200 mod 97 = 36, 98 - 36 = 62
])
def test_check_digits(base: str, check: str) -> None:
    assert leitweg_check_digits(base) == check
    assert make_leitweg_id(base) == f"{base}-{check}"
    assert is_valid_leitweg_id(f"{base}-{check}")


@pytest.mark.parametrize("value", [
    "04011000-12345-03",
    "991-33333TEST-33",
    " 04011000-12345-03 ",  # surrounding whitespace is ignored
    "12-62",
    "123456789012-" + "A" * 30 + "-" + leitweg_check_digits("123456789012-" + "A" * 30),
])
def test_valid(value: str) -> None:
    assert is_valid_leitweg_id(value)
    assert looks_like_leitweg_id(value)


@pytest.mark.parametrize("value", [
    "04011000-12345-34",  # wrong check digits (KoSIT suite 05.01a)
    "99000000-01944-98",  # wrong check digits (KoSIT suite 01.06a; correct would be 56)
    "04011000-12345-30",
    "04011000-12354-03",  # transposed digits are caught by MOD 97
    "04011000-12345-3",  # one check digit
    "1-12345-03",  # Grobadressierung too short
    "1234567890123-12345-03",  # Grobadressierung too long
    "04011000-" + "A" * 31 + "-00",  # Feinadressierung too long
    "04011000--03",
    "04011000-123_45-03",
    "Leitweg-ID",
    "",
])
def test_invalid(value: str) -> None:
    assert not is_valid_leitweg_id(value)


def test_looks_like_separates_free_text_from_mistyped_ids() -> None:
    assert looks_like_leitweg_id("04011000-12345-3")  # mistyped: reported as invalid, not ignored
    assert looks_like_leitweg_id("04011000-03")
    assert not looks_like_leitweg_id("Leitweg-ID")
    assert not looks_like_leitweg_id("PO 4711")
    assert not looks_like_leitweg_id("4711")
    assert not looks_like_leitweg_id("")


@pytest.mark.parametrize("base", ["1", "04011000-", "04011000-12 345", "ABC-123", "0401-1000-12"])
def test_check_digits_refuse_malformed_base(base: str) -> None:
    with pytest.raises(ValueError):
        leitweg_check_digits(base)


def test_every_single_digit_error_is_detected() -> None:
    """MOD 97-10 detects all single substitutions: change each digit of a valid ID."""
    valid = "04011000-12345-03"
    for index, char in enumerate(valid):
        if not char.isdigit():
            continue
        for digit in "0123456789":
            if digit != char:
                assert not is_valid_leitweg_id(valid[:index] + digit + valid[index + 1:])
