"""Reading values out of lxml elements without ever raising: bad or missing text becomes None.

XPath objects are compiled once (module level) with ``smart_strings=False`` so results are plain
``str`` that do not keep the whole tree alive in the ledger.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree

from einvoice.invoice.model import Identifier

CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NAMESPACES = {"cbc": CBC, "cac": CAC, "rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}

# xsd:decimal: no exponent, no NaN/Infinity (which Decimal() would accept).
_DECIMAL = re.compile(r"\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*")
_ISO_DATE = re.compile(r"\s*([0-9]{4})-([0-9]{2})-([0-9]{2})")
_COMPACT_DATE = re.compile(r"\s*([0-9]{4})([0-9]{2})([0-9]{2})\s*")

Query = Callable[[Any], Any]


def xpath(expression: str) -> Query:
    """A compiled XPath over the UBL/CII prefixes, returning plain strings."""
    compiled: Query = etree.XPath(expression, namespaces=NAMESPACES, smart_strings=False)
    return compiled


def tag(prefix: str, name: str) -> str:
    """Clark notation ``{namespace}name`` for comparing ``element.tag``."""
    return f"{{{NAMESPACES[prefix]}}}{name}"


def clean(value: object) -> str | None:
    """Stripped text, None when empty or absent."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def text_of(element: etree._Element | None) -> str | None:
    return None if element is None else clean(element.text)


def full_text(element: etree._Element | None) -> str | None:
    """All text inside ``element`` (also across comments), stripped; for free-text terms."""
    return None if element is None else clean("".join(element.itertext()))


def to_decimal(value: object) -> Decimal | None:
    """xsd:decimal text as Decimal; None for anything else ("1,5", "", "NaN", "1e3")."""
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
        return None
    return Decimal(value.strip())


def to_date(value: object) -> date | None:
    """``YYYY-MM-DD`` (UBL, optionally with a time zone) or ``YYYYMMDD`` (CII format 102)."""
    if not isinstance(value, str):
        return None
    match = _ISO_DATE.match(value) or _COMPACT_DATE.fullmatch(value)
    if match is None:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def identifier(value: object, scheme: object) -> Identifier | None:
    text = clean(value)
    return None if text is None else Identifier(text, clean(scheme))


def first_children(element: etree._Element | None) -> dict[Any, etree._Element]:
    """The first child of each tag; one pass over the children instead of one search per field."""
    if element is None:
        return {}
    found: dict[Any, etree._Element] = {}
    for child in element:
        found.setdefault(child.tag, child)
    return found
