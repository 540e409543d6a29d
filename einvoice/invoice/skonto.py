"""Cash discount (Skonto) terms in XRechnung syntax, read from payment terms (BT-20, rule BR-DE-18).

A term is one line ``#SKONTO#TAGE=n#PROZENT=n.nn#`` with an optional ``BASISBETRAG=n.nn#`` segment,
followed by a line break. Other lines are free text. Whitespace around a line and CRLF are fine.
Everything that deviates from BR-DE-18 is explained in plain English; a term whose meaning is
still unambiguous (comma decimal, lower case, missing final '#' or line break) is read anyway,
so the workflow can compute the discount while validation rejects the syntax.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from einvoice.invoice.model import SkontoTerm

_STRICT = re.compile(r"#SKONTO#TAGE=([0-9]+)#PROZENT=([0-9]+\.[0-9]{2})(?:#BASISBETRAG=(-?[0-9]+\.[0-9]{2}))?#")
# The same segments, forgiving case, spaces and separators, to say what exactly is wrong.
_LOOSE = re.compile(
    r"(?P<hash>#?)\s*SKONTO\s*#\s*TAGE\s*=(?P<days>[^#]*)"
    r"#\s*PROZENT\s*=(?P<percent>[^#]*)"
    r"(?:#\s*BASISBETRAG\s*=(?P<base>[^#]*))?(?P<end>#?)",
    re.IGNORECASE,
)
_TERM_START = re.compile(r"#?\s*SKONTO\s*#", re.IGNORECASE)
_ATTEMPT = re.compile(r"#\s*SKONTO|SKONTO\s*#|\bTAGE\s*=|\bPROZENT\s*=|\bBASISBETRAG\s*=", re.IGNORECASE)
_KEYWORD = re.compile(r"SKONTO|TAGE|PROZENT|BASISBETRAG", re.IGNORECASE)
_TWO_DECIMALS = re.compile(r"-?[0-9]+\.[0-9]{2}")
_NUMBER = re.compile(r"-?[0-9]+(?:[.,][0-9]+)?")
_FORMAT = "#SKONTO#TAGE=n#PROZENT=n.nn# (optionally followed by BASISBETRAG=n.nn#)"


def parse_skonto(payment_terms_text: str) -> tuple[list[SkontoTerm], list[str]]:
    """The Skonto terms in ``payment_terms_text`` and the BR-DE-18 problems found, in plain English."""
    terms: list[SkontoTerm] = []
    errors: list[str] = []
    if not payment_terms_text:
        return terms, errors
    rows = payment_terms_text.split("\n")
    last_term_row = -1
    for number, raw in enumerate(rows, start=1):
        line = raw.strip()
        if not line or not (line.startswith("#") or _ATTEMPT.search(line)):
            continue
        last_term_row = number
        pieces = _split_terms(line)
        if len(pieces) > 1:
            errors.append(f"Line {number} holds {len(pieces)} Skonto terms; each term needs a line of its own.")
        for piece in pieces:
            term = _read_term(piece, f"Line {number}", errors)
            if term is not None:
                terms.append(term)
    if last_term_row == len(rows):
        errors.append(f"Line {last_term_row}: the last Skonto term must be followed by a line break.")
    return terms, errors


def _split_terms(line: str) -> list[str]:
    """Cut a line at every ``#SKONTO#`` after the first; text before the first stays with it."""
    starts = [m.start() for m in _TERM_START.finditer(line)]
    cuts = [0] + [s for s in starts[1:] if line[s] == "#"]
    return [line[a:b].strip() for a, b in zip(cuts, [*cuts[1:], len(line)], strict=True) if line[a:b].strip()]


def _read_term(text: str, where: str, errors: list[str]) -> SkontoTerm | None:
    strict = _STRICT.fullmatch(text)
    if strict:
        base = Decimal(strict.group(3)) if strict.group(3) is not None else None
        return SkontoTerm(int(strict.group(1)), Decimal(strict.group(2)), base)
    loose = _LOOSE.search(text)
    if loose is None:
        errors.append(f"{where}: '{text}' is not a Skonto term; write {_FORMAT}.")
        return None
    problems: list[str] = []
    if text[: loose.start()].strip():
        problems.append("the term must start the line, without text before it")
    if text[loose.end():].strip():
        problems.append(f"unexpected text after the term: '{text[loose.end():].strip()}'")
    if not loose.group("hash"):
        problems.append("the term must begin with '#'")
    if not loose.group("end"):
        problems.append("the term must end with '#'")
    keywords = _KEYWORD.findall(loose.group(0))
    if any(word != word.upper() for word in keywords):
        problems.append("SKONTO, TAGE, PROZENT and BASISBETRAG must be written in capitals")
    if re.search(r"\s", loose.group(0)):
        problems.append("spaces are not allowed inside the term")
    days = _read_days(loose.group("days").strip(), problems)
    percent = _read_decimal("PROZENT", loose.group("percent").strip(), problems, signed=False)
    base = None
    if loose.group("base") is not None:
        base = _read_decimal("BASISBETRAG", loose.group("base").strip(), problems, signed=True)
    for problem in problems:
        errors.append(f"{where}: {problem}.")
    if days is None or percent is None or (loose.group("base") is not None and base is None):
        errors.append(f"{where}: the term was ignored; write {_FORMAT}.")
        return None
    return SkontoTerm(days, percent, base)


def _read_days(value: str, problems: list[str]) -> int | None:
    if value.isascii() and value.isdigit():
        return int(value)
    problems.append(f"TAGE must be a whole number of days, not '{value}'")
    return None


def _read_decimal(name: str, value: str, problems: list[str], *, signed: bool) -> Decimal | None:
    if not _NUMBER.fullmatch(value):
        problems.append(f"{name} must be a number like 2.00, not '{value}'")
        return None
    if "," in value:
        problems.append(f"{name} must use a decimal point, not a comma: write {value.replace(',', '.')}")
    if value.startswith("-") and not signed:
        problems.append(f"{name} must not have a sign")
    if not _TWO_DECIMALS.fullmatch(value.replace(",", ".")):
        problems.append(f"{name} must have exactly two decimal places, e.g. 2.00 (found '{value}')")
    try:
        return Decimal(value.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - _NUMBER already guarantees a number
        return None
