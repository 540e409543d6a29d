"""HTML report for people: verdict in words, grouping, hints, accessibility basics, escaping."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from einvoice.validation.model import Finding, Level, StepKind, StepResult, ValidationResult
from einvoice.validation.reports import render
from einvoice.validation.reports.html import render_html

HOSTILE = '<script>alert("x")</script>'


def _result(
    accepted: bool = False, steps: list[StepResult] | None = None, **kwargs: object
) -> ValidationResult:
    if steps is None:
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
                        "[BR-CO-10]-Sum of Invoice line net amount",
                        flag="fatal",
                        location="/*:Invoice[namespace-uri()='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'][1]"
                        "/*:LegalMonetaryTotal[namespace-uri()='urn:x'][1]",
                    ),
                    Finding(
                        "BR-CL-23",
                        Level.WARNING,
                        "cen-ubl",
                        "[BR-CL-23]-Unit code",
                        value="Stk",
                        flag="fatal",
                        location="/Invoice[1]/InvoiceLine[1]/InvoicedQuantity[1]/@unitCode",
                    ),
                    Finding(
                        "BR-CL-23",
                        Level.WARNING,
                        "cen-ubl",
                        "[BR-CL-23]-Unit code",
                        value="Stk",
                        flag="fatal",
                        location="/Invoice[1]/InvoiceLine[2]/InvoicedQuantity[1]/@unitCode",
                    ),
                    Finding(
                        "UBL-CR-001",
                        Level.INFORMATION,
                        "cen-ubl",
                        "[UBL-CR-001]-no extensions",
                        flag="warning",
                    ),
                ],
            ),
        ]
    values: dict[str, object] = {
        "file": "rechnung-4711.xml",
        "sha256": "ab" * 32,
        "accepted": accepted,
        "scenario": "xrechnung-3.0-ubl-invoice",
        "syntax": "UBL-Invoice",
        "steps": steps,
        "reason": "1 error(s) against the rules (BR-CO-10)",
        "timestamp": "2025-03-01T09:30:00+00:00",
    }
    values.update(kwargs)
    return ValidationResult(**values)  # type: ignore[arg-type]


class _Structure(HTMLParser):
    """Collects what the accessibility checks need: tags, attributes, script/link/img use."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _parse(page: str) -> _Structure:
    parser = _Structure()
    parser.feed(page)
    return parser


def _section(page: str, heading_id: str) -> str:
    start = page.index(f'id="{heading_id}"')
    end = page.find("</section>", start)
    return page[start:end]


def test_german_verdict_metadata_and_groups() -> None:
    page = render_html(_result(), scenario_name="EN16931 XRechnung (UBL Invoice)")
    assert '<html lang="de">' in page
    assert "Die Rechnung wurde abgelehnt" in page
    assert "1 error(s) against the rules (BR-CO-10)" in page
    assert "rechnung-4711.xml" in page and "ab" * 32 in page
    assert "EN16931 XRechnung (UBL Invoice)" in page and "UBL-Invoice" in page
    assert "1 Fehler, 2 Warnungen, 1 Hinweise" in page
    errors, warnings, infos = (_section(page, f"group-{k}") for k in ("error", "warning", "information"))
    assert "Fehler (1)" in errors and "BR-CO-10" in errors and "BR-CL-23" not in errors
    assert "Warnungen (2)" in warnings and warnings.count("BR-CL-23</code>") == 2
    assert "Hinweise (1)" in infos and "UBL-CR-001" in infos
    # readable location, namespace noise removed, positions kept
    assert "/Invoice[1]/LegalMonetaryTotal[1]" in page and "namespace-uri()" not in page
    assert "<code>Stk</code>" in page


def test_english_labels() -> None:
    page = render_html(_result(accepted=True, reason=""), lang="en")
    assert '<html lang="en">' in page
    assert "The invoice was accepted" in page
    assert "Errors (1)" in page and "Warnings (2)" in page and "Information (1)" in page
    assert "Fehler" not in page and "Rechnung wurde" not in page


def test_hint_shown_once_per_rule() -> None:
    page = render_html(_result(), lang="de")
    assert page.count("Eine Mengeneinheit ist kein Code nach UN/ECE") == 1
    assert "siehe Hinweis zur ersten Meldung dieser Regel" in page
    assert "jede Position zuerst auf zwei Nachkommastellen runden" in page  # BR-CO-10 hint


def test_no_findings() -> None:
    page = render_html(_result(accepted=True, steps=[StepResult("xsd", StepKind.XSD)], reason=""), lang="de")
    assert "Die Rechnung wurde angenommen" in page and "Es gibt keine Beanstandungen." in page


def test_step_error_is_prominent_and_listed() -> None:
    steps = [
        StepResult("xsd", StepKind.XSD),
        StepResult("xrechnung-ubl", StepKind.SCHEMATRON, error="stylesheet could not be compiled"),
    ]
    page = render_html(_result(steps=steps), lang="de")
    assert 'role="alert"' in page
    assert (
        "Die Prüfung konnte nicht vollständig durchgeführt werden — die Rechnung gilt deshalb als nicht "
        "angenommen."
    ) in page
    alert = page[page.index('role="alert"') : page.index("</section>", page.index('role="alert"'))]
    assert "XRechnung-Regeln (UBL)" in alert and "stylesheet could not be compiled" in alert
    assert "PROCESSING-ERROR" in _section(page, "group-error")
    assert "nicht ausgeführt" in page
    english = render_html(_result(steps=steps), lang="en")
    assert "The check could not be completed" in english


def test_hostile_strings_are_escaped() -> None:
    steps = [
        StepResult(
            "cen-ubl",
            StepKind.SCHEMATRON,
            error=HOSTILE,
            findings=[Finding(HOSTILE, Level.ERROR, "cen-ubl", HOSTILE, location=HOSTILE, value=HOSTILE)],
        )
    ]
    result = _result(
        file=HOSTILE, steps=steps, reason=HOSTILE, scenario=HOSTILE, syntax=HOSTILE, profile=HOSTILE
    )
    page = render_html(result, lang="en")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;" in page
    assert page.count("&lt;script&gt;") >= 8


def test_self_contained_and_accessible() -> None:
    page = render(_result(), "html", lang="de")
    structure = _parse(page)
    tags = [tag for tag, _ in structure.tags]
    assert tags.count("h1") == 1 and "h2" in tags and "h3" in tags
    assert "script" not in tags and "link" not in tags and "img" not in tags and "iframe" not in tags
    assert not re.search(r"(src|href)\s*=", page), "no external resources"
    assert "url(" not in page and "@import" not in page
    assert "<title>" in page and '<meta charset="utf-8">' in page
    for tag, attrs in structure.tags:
        if tag == "th":
            assert attrs.get("scope") in ("col", "row")
    # every verdict and step state is said in words, not only by colour or symbol
    assert "nicht bestanden" in page and "bestanden" in page
    assert all(attrs.get("aria-hidden") == "true" for tag, attrs in structure.tags if tag == "span")


def test_contrast_of_the_colours_used() -> None:
    page = render_html(_result())
    style = page[page.index("<style>") : page.index("</style>")]

    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    text_colours = set(re.findall(r"(?<![-\w])color:\s*#([0-9a-fA-F]{6})", style))
    backgrounds = set(re.findall(r"background:\s*#([0-9a-fA-F]{6})", style)) | {"ffffff"}
    assert text_colours
    for fg in text_colours:
        for bg in backgrounds:
            lighter, darker = sorted((luminance(fg), luminance(bg)), reverse=True)
            assert (lighter + 0.05) / (darker + 0.05) >= 4.5, (fg, bg)


def test_pdf_container_and_profile() -> None:
    page = render_html(_result(container="pdf", profile="EN 16931"), lang="de")
    assert "PDF mit eingebetteter XML-Rechnung" in page and "EN 16931" in page
