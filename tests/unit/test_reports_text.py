"""Text report for the CLI: header line, one line per finding, safe against hostile strings."""

from __future__ import annotations

import json

import pytest

from einvoice.validation.model import Finding, Level, StepKind, StepResult, ValidationResult
from einvoice.validation.reports import FORMATS, render
from einvoice.validation.reports.common import short_xpath
from einvoice.validation.reports.text import render_text


def _result(accepted: bool = False, **kwargs: object) -> ValidationResult:
    steps = [
        StepResult("wellformedness", StepKind.WELLFORMED),
        StepResult("xsd", StepKind.XSD),
        StepResult(
            "cen-ubl",
            StepKind.SCHEMATRON,
            findings=[
                Finding(
                    "BR-CO-10",
                    Level.ERROR,
                    "cen-ubl",
                    "[BR-CO-10]-Sum of lines",
                    flag="fatal",
                    location="/Q{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice[1]",
                ),
                Finding("BR-CL-23", Level.WARNING, "cen-ubl", "[BR-CL-23]-Unit code", flag="fatal"),
            ],
        ),
    ]
    values: dict[str, object] = {
        "file": "invoice.xml",
        "sha256": "0" * 64,
        "accepted": accepted,
        "scenario": "xrechnung-3.0-ubl-invoice",
        "syntax": "UBL-Invoice",
        "steps": steps,
        "reason": "1 error(s) against the rules (BR-CO-10)",
    }
    values.update(kwargs)
    return ValidationResult(**values)  # type: ignore[arg-type]


def test_header_and_finding_lines_in_english() -> None:
    lines = render_text(_result(), lang="en").splitlines()
    assert lines[0] == "✘ invoice.xml — rejected — xrechnung-3.0-ubl-invoice"
    assert lines[1].strip() == "1 error(s) against the rules (BR-CO-10)"
    assert lines[2] == "ERROR BR-CO-10 [cen-ubl] [BR-CO-10]-Sum of lines (/Invoice[1])"
    assert lines[3] == "WARNING BR-CL-23 [cen-ubl] [BR-CL-23]-Unit code"
    assert len(lines) == 4


def test_accepted_in_german_with_scenario_name() -> None:
    text = render_text(
        _result(accepted=True, steps=[]), lang="de", scenario_name="EN16931 XRechnung (UBL Invoice)"
    )
    assert text == "✔ invoice.xml — angenommen — EN16931 XRechnung (UBL Invoice)"


def test_no_scenario_is_named() -> None:
    assert "no matching validation scenario" in render_text(_result(scenario=None), lang="en")


def test_step_error_without_finding_is_listed() -> None:
    result = _result(steps=[StepResult("xrechnung-ubl", StepKind.SCHEMATRON, error="stylesheet missing")])
    lines = render_text(result, lang="en").splitlines()
    assert "ERROR PROCESSING-ERROR [xrechnung-ubl] stylesheet missing" in lines


def test_control_characters_cannot_reach_the_terminal() -> None:
    hostile = Finding("X\x1b[31m", Level.ERROR, "cen-ubl", "line1\nline2 \x1b]0;pwned\x07 \x9b2J")
    result = _result(
        file="evil\x1b[2J\r.xml", steps=[StepResult("cen-ubl", StepKind.SCHEMATRON, findings=[hostile])]
    )
    text = render_text(result, lang="en")
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text and "\r" not in text
    assert len(text.splitlines()) == 3  # header, reason, one finding: the newline was folded
    assert "\\x1b" in text


def test_colour_only_when_asked() -> None:
    assert "\x1b[" not in render_text(_result())
    coloured = render_text(_result(), color=True)
    assert "\x1b[1;31m✘\x1b[0m" in coloured and "\x1b[33m" in coloured


def test_render_dispatch_json_and_unknown_format() -> None:
    result = _result()
    data = json.loads(render(result, "json"))
    assert data["accepted"] is False and data["findings"][0]["rule"] == "BR-CO-10"
    assert render(result, "text", lang="en").startswith("✘ invoice.xml — rejected")
    assert set(FORMATS) == {"json", "text", "html", "kosit"}
    with pytest.raises(ValueError, match="unknown report format"):
        render(result, "pdf")


@pytest.mark.parametrize(
    ("raw", "short"),
    [
        (
            "/*:Invoice[namespace-uri()='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'][1]"
            "/*:InvoiceLine[namespace-uri()='urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2'][3]",
            "/Invoice[1]/InvoiceLine[3]",
        ),
        (
            "/Q{urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100}CrossIndustryInvoice[1]"
            "/Q{urn:x}SupplyChainTradeTransaction[1]/@Q{}unitCode",
            "/CrossIndustryInvoice[1]/SupplyChainTradeTransaction[1]/@unitCode",
        ),
        (
            "/*[local-name()='Invoice' and namespace-uri()='urn:x'][1]/cac:AccountingSupplierParty[1]",
            "/Invoice[1]/AccountingSupplierParty[1]",
        ),
        ("/ubl:Invoice[1]/cbc:Note[2]", "/Invoice[1]/Note[2]"),
        ("line 3, column 7", "line 3, column 7"),
        ("", ""),
    ],
)
def test_short_xpath(raw: str, short: str) -> None:
    assert short_xpath(raw) == short
