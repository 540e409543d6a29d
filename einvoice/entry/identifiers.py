"""Check digits of the identifiers an invoice carries: IBAN (ISO 13616) and the German VAT id.

Shared by the web entry form (checks what people type) and the sample generator (makes valid ones).
"""

from __future__ import annotations

import re

_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$")
_VAT_ID = re.compile(r"^[A-Z]{2}[A-Z0-9]{2,13}$")


def _mod97_digits(text: str) -> int:
    """ISO 7064 MOD 97-10 input: digits stay, letters become two digits (A=10 … Z=35)."""
    return int("".join(str(int(ch, 36)) for ch in text.upper()))


def iban_check_digits(country: str, bban: str) -> str:
    """IBAN check digits (ISO 13616, MOD 97-10) for a country code and national account number."""
    if not re.fullmatch(r"[A-Z]{2}", country) or not re.fullmatch(r"[A-Z0-9]{1,30}", bban):
        raise ValueError(f"bad IBAN parts: {country!r} {bban!r}")
    return f"{98 - _mod97_digits(bban + country + '00') % 97:02d}"


def make_iban(country: str, bban: str) -> str:
    return f"{country}{iban_check_digits(country, bban)}{bban}"


def compact_iban(value: str) -> str:
    """The IBAN without the blanks of its print format, in capitals."""
    return value.replace(" ", "").upper()


def is_valid_iban(value: str) -> bool:
    """Structure and MOD 97 check of an IBAN; spaces are allowed (the usual print format)."""
    compact = compact_iban(value) if isinstance(value, str) else ""
    if not _IBAN.match(compact):
        return False
    return _mod97_digits(compact[4:] + compact[:4]) % 97 == 1


def _german_vat_check_digit(base: str) -> int:
    """ISO 7064 MOD 11,10 over the eight digits of a German VAT id."""
    product = 10
    for digit in base:
        total = (int(digit) + product) % 10 or 10
        product = (2 * total) % 11
    return (11 - product) % 10


def german_vat_id(base: str) -> str:
    """A German VAT id (USt-IdNr.) ``DE`` + 8 digits + ISO 7064 MOD 11,10 check digit."""
    if not re.fullmatch(r"[1-9][0-9]{7}", base):
        raise ValueError(f"a German VAT id base has 8 digits, got {base!r}")
    return f"DE{base}{_german_vat_check_digit(base)}"


def is_valid_vat_id(value: str) -> bool:
    """Shape of a VAT id with its country prefix (BR-CO-9); German ids also by check digit."""
    if not isinstance(value, str) or not _VAT_ID.match(value):
        return False
    if value.startswith("DE"):
        digits = value[2:]
        return (re.fullmatch(r"[1-9][0-9]{8}", digits) is not None
                and _german_vat_check_digit(digits[:8]) == int(digits[8]))
    return True
