"""Leitweg-ID: the routing address of German public buyers (BT-10), per KoSIT's format specification.

Format: ``<Grobadressierung>[-<Feinadressierung>]-<Prüfziffer>``: 2–12 digits, optionally up to 30
letters or digits, then two check digits. The check digits are ISO/IEC 7064 MOD 97-10 over the ID
without hyphens and check digits, letters counted A=10 … Z=35 regardless of case (as in IBAN).
"""

from __future__ import annotations

import re

_LEITWEG_ID = re.compile(r"[0-9]{2,12}(?:-[A-Za-z0-9]{1,30})?-[0-9]{2}")
_BASE = re.compile(r"[0-9]{2,12}(?:-[A-Za-z0-9]{1,30})?")
# Loose shape: digits first, then one or two hyphenated parts. Catches mistyped Leitweg-IDs (wrong
# length, one check digit) so they are reported as invalid instead of passing as free text.
_LOOKS_LIKE = re.compile(r"[0-9]{2,12}(?:-[A-Za-z0-9]{1,30}){1,2}")


def _mod97_number(text: str) -> int:
    """``text`` as the ISO 7064 number: digits stay, letters become 10 … 35."""
    return int("".join(str(int(ch, 36)) for ch in text))


def leitweg_check_digits(base: str) -> str:
    """The two check digits for ``base`` (``Grobadressierung[-Feinadressierung]``)."""
    if not _BASE.fullmatch(base):
        raise ValueError(f"not a Leitweg-ID without check digits (2-12 digits, optional "
                         f"-<up to 30 letters/digits>): {base!r}")
    return f"{98 - _mod97_number(base.replace('-', '') + '00') % 97:02d}"


def make_leitweg_id(base: str) -> str:
    """``base`` with its check digits, e.g. ``04011000-12345`` → ``04011000-12345-03``."""
    return f"{base}-{leitweg_check_digits(base)}"


def is_valid_leitweg_id(value: str) -> bool:
    """Format and check digits of a Leitweg-ID (surrounding whitespace ignored)."""
    if not isinstance(value, str):
        return False
    value = value.strip()
    if not _LEITWEG_ID.fullmatch(value):
        return False
    return _mod97_number(value.replace("-", "")) % 97 == 1


def looks_like_leitweg_id(value: str) -> bool:
    """True if ``value`` is shaped like a Leitweg-ID (perhaps a wrong one), not free text."""
    return isinstance(value, str) and _LOOKS_LIKE.fullmatch(value.strip()) is not None
