"""Helpers shared by the text and HTML reports: readable locations and the complete list of findings."""

from __future__ import annotations

import re

from einvoice.validation.model import Finding, Level, ValidationResult

PROCESSING_ERROR = "PROCESSING-ERROR"

# `*:Invoice[namespace-uri()='urn:...']` (ISO Schematron skeleton) and `Q{urn:...}Invoice` (SchXslt).
_NS_PREDICATE = re.compile(r"""\[\s*namespace-uri\(\)\s*=\s*(?:'[^']*'|"[^"]*")\s*\]""")
_LOCAL_NAME_STEP = re.compile(
    r"""\*\[\s*local-name\(\)\s*=\s*(?:'([^']*)'|"([^"]*)")"""
    r"""(?:\s+and\s+namespace-uri\(\)\s*=\s*(?:'[^']*'|"[^"]*"))?\s*\]"""
)
_EQNAME = re.compile(r"Q\{[^}]*\}")
_WILDCARD_PREFIX = re.compile(r"\*:")
_PREFIX = re.compile(r"(?<=[/@])[A-Za-z_][\w.-]*:(?=[A-Za-z_])")


def short_xpath(location: str) -> str:
    """``/Q{urn:..}Invoice[1]/Q{..}AccountingSupplierParty[1]`` → ``/Invoice[1]/AccountingSupplierParty[1]``.

    Positions (``[n]``) are kept: they tell which invoice line or party is meant.
    Anything that is not an XPath (e.g. ``line 3, column 7``) passes through unchanged.
    """
    if not location or "/" not in location:
        return location
    text = _LOCAL_NAME_STEP.sub(lambda m: m.group(1) or m.group(2) or "*", location)
    text = _NS_PREDICATE.sub("", text)
    text = _EQNAME.sub("", text)
    text = _WILDCARD_PREFIX.sub("", text)
    return _PREFIX.sub("", text)


def findings_with_step_errors(result: ValidationResult) -> list[Finding]:
    """All findings, plus one PROCESSING-ERROR per step that failed to run without saying so itself.

    A step that could not run must never disappear from a report: that would read as "no problems".
    """
    found: list[Finding] = []
    for step in result.steps:
        found.extend(step.findings)
        if step.error and not any(f.rule == PROCESSING_ERROR for f in step.findings):
            found.append(Finding(PROCESSING_ERROR, Level.ERROR, step.id, step.error))
    return found

