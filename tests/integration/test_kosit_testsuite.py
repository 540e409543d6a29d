"""Acceptance: every document of the KoSIT XRechnung test suite is accepted, with its scenario."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import STANDARDS

pytestmark = pytest.mark.integration

SUITE = sorted((STANDARDS / "xrechnung-testsuite" / "src" / "test").rglob("*.xml"))


def test_suite_is_complete() -> None:
    assert len(SUITE) == 86


@pytest.mark.parametrize("path", SUITE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_testsuite_document_is_accepted(validator, path: Path) -> None:  # type: ignore[no-untyped-def]
    result = validator.validate_file(path)
    errors = [f"{f.rule}: {f.message}" for f in result.findings if f.level.rejects]
    broken = [f"{s.id}: {s.error}" for s in result.steps if s.error]
    assert result.accepted, f"{result.scenario}: {errors + broken}"
    assert result.scenario and result.scenario.startswith("xrechnung-3.0")
    kinds = [s.kind.value for s in result.steps]
    assert kinds.count("schematron") == 2 and "xsd" in kinds


def test_cii_in_extension_folder_uses_extension_scenario(validator) -> None:  # type: ignore[no-untyped-def]
    extension = [p for p in SUITE if "extension" in p.parts and p.name.endswith("uncefact.xml")]
    assert extension
    assert {validator.validate_file(p).scenario for p in extension} == {"xrechnung-3.0-extension-cii"}
