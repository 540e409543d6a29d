"""SVRL -> plain findings, for our stylesheets and for officially compiled ones alike."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

SVRL_NS = "http://purl.oclc.org/dsdl/svrl"
_SVRL = f"{{{SVRL_NS}}}"
_ID_PREFIX = re.compile(r"^\s*\[([^\]\s]+)\]")


@dataclass
class FiredAssert:
    """One failed assert or successful report, as SVRL reports it."""

    id: str
    flag: str
    location: str
    text: str
    test: str
    role: str
    kind: str  # "assert" | "report"


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


def parse_svrl(text: str | bytes) -> list[FiredAssert]:
    """Failed asserts and successful reports in document order.

    Official stylesheets sometimes omit ``@id``; the rule id is then the ``[ID]`` prefix of the message.
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    root = etree.fromstring(data, _parser())
    fired: list[FiredAssert] = []
    for el in root.iter(_SVRL + "failed-assert", _SVRL + "successful-report"):
        message_el = el.find(_SVRL + "text")
        message = "".join(message_el.itertext()) if message_el is not None else ""
        rule_id = el.get("id") or ""
        if not rule_id:
            match = _ID_PREFIX.match(message)
            rule_id = match.group(1) if match else ""
        fired.append(
            FiredAssert(
                id=rule_id,
                flag=el.get("flag") or "",
                location=el.get("location") or "",
                text=message,
                test=el.get("test") or "",
                role=el.get("role") or "",
                kind="assert" if el.tag == _SVRL + "failed-assert" else "report",
            )
        )
    return fired
