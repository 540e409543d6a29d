"""The generated samples pass our full XRechnung validation; the invalid one fails as announced."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from einvoice import samples

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

VALID: list[tuple[str, Callable[[], bytes], str]] = [
    ("ubl-invoice", samples.make_ubl_invoice, "xrechnung-3.0-ubl-invoice"),
    ("ubl-invoice-no-skonto", lambda: samples.make_ubl_invoice(skonto=False, freight=False),
     "xrechnung-3.0-ubl-invoice"),
    ("ubl-creditnote", samples.make_ubl_creditnote, "xrechnung-3.0-ubl-creditnote"),
    ("cii-invoice", samples.make_cii_invoice, "xrechnung-3.0-cii"),
    ("ubl-invoice-1000-lines", lambda: samples.make_ubl_invoice(1000), "xrechnung-3.0-ubl-invoice"),
    ("cii-invoice-1000-lines", lambda: samples.make_cii_invoice(1000), "xrechnung-3.0-cii"),
]


def _problems(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [f"{f.level.value} {f.rule}: {f.message}" for f in result.findings] + [
        f"step {s.id}: {s.error}" for s in result.steps if s.error]


@pytest.mark.parametrize(("name", "make", "scenario"), VALID, ids=[v[0] for v in VALID])
def test_generated_sample_is_accepted_without_findings(validator, name: str, make: Callable[[], bytes],
                                                       scenario: str) -> None:  # type: ignore[no-untyped-def]
    result = validator.validate_bytes(make(), f"{name}.xml")
    assert result.accepted, _problems(result)
    assert result.scenario == scenario
    # no errors, and no warnings either: the samples avoid every avoidable finding
    assert _problems(result) == []
    kinds = [step.kind.value for step in result.steps]
    assert kinds.count("xsd") == 1 and kinds.count("schematron") == 2


def test_invalid_sample_is_rejected_with_the_rules_built_in(validator) -> None:  # type: ignore[no-untyped-def]
    result = validator.validate_bytes(samples.make_invalid_ubl_invoice(), "xrechnung-ubl-invalid.xml")
    assert not result.accepted
    assert result.scenario == "xrechnung-3.0-ubl-invoice"
    errors = {f.rule for f in result.findings if f.level.rejects}
    assert errors == set(samples.INVALID_SAMPLE_RULES)
    assert not any(step.error for step in result.steps)


def test_zugferd_pdf_sample_is_accepted(validator) -> None:  # type: ignore[no-untyped-def]
    result = validator.validate_bytes(samples.make_facturx_pdf(), "zugferd-xrechnung.pdf")
    assert result.accepted, _problems(result)
    assert result.container == "pdf"
    assert result.scenario == "xrechnung-3.0-cii"
    assert not any(f.level.rejects for f in result.findings)


@pytest.mark.parametrize(("filename", "accepted"), [
    ("xrechnung-ubl-invoice.xml", True),
    ("xrechnung-ubl-creditnote.xml", True),
    ("xrechnung-cii-invoice.xml", True),
    ("zugferd-xrechnung.pdf", True),
    ("xrechnung-ubl-invalid.xml", False),
    ("xrechnung-ubl-resent-invoice.xml", True),
])
def test_committed_sample_files_have_the_documented_verdict(validator, filename: str,
                                                           accepted: bool) -> None:  # type: ignore[no-untyped-def]
    result = validator.validate_file(ROOT / "samples" / filename)
    assert result.accepted is accepted, _problems(result)
