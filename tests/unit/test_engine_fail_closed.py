"""Fail closed: a check that cannot run never yields "accepted" (real Saxon, tiny made-up rules)."""

from __future__ import annotations

from pathlib import Path

import pytest

from einvoice.rules.store import RulePackError
from einvoice.validation.engine import Validator, level_of_flag
from einvoice.validation.model import Level
from einvoice.validation.scenarios import ScenarioSet

XSD = """<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" elementFormDefault="qualified">
  <xs:element name="a"><xs:complexType>
    <xs:sequence><xs:element name="b" type="xs:string"/></xs:sequence><xs:attribute name="kind"/>
  </xs:complexType></xs:element></xs:schema>"""

FAILING_XSLT = """<xsl:stylesheet version="3.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/"><xsl:sequence select="error((), 'rule pack exploded')"/></xsl:template>
</xsl:stylesheet>"""

PASSING_XSLT = """<xsl:stylesheet version="3.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
  xmlns:svrl="http://purl.oclc.org/dsdl/svrl">
  <xsl:template match="/"><svrl:schematron-output/></xsl:template>
</xsl:stylesheet>"""

SCENARIOS = """
[namespaces]
t = "urn:t"
[[scenario]]
id = "good"
match = "exists(/t:a[@kind = 'good'])"
xsd = "pack:a.xsd"
schematron = ["passing"]
[[scenario]]
id = "exploding"
match = "exists(/t:a[@kind = 'boom'])"
xsd = "pack:a.xsd"
schematron = ["passing", "failing"]
[[scenario]]
id = "missing-xsd"
match = "exists(/t:a[@kind = 'noxsd'])"
xsd = "pack:missing.xsd"
[[scenario]]
id = "missing-pack"
match = "exists(/t:a[@kind = 'nopack'])"
xsd = "pack:a.xsd"
schematron = ["not-installed"]
"""


class FolderStore:
    """Unit-test stand-in for RuleStore: resolves refs inside one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, ref: str) -> Path:
        path = self.folder / ref.split(":", 1)[1]
        if not path.exists():
            raise RulePackError(f"{ref} is not installed")
        return path

    def validation_xslt(self, name: str) -> Path:
        path = self.folder / f"{name}.xsl"
        if not path.exists():
            raise RulePackError(f"rule pack {name!r} is not installed")
        return path


@pytest.fixture()
def validator(tmp_path: Path) -> Validator:
    (tmp_path / "a.xsd").write_text(XSD)
    (tmp_path / "failing.xsl").write_text(FAILING_XSLT)
    (tmp_path / "passing.xsl").write_text(PASSING_XSLT)
    (tmp_path / "scenarios.toml").write_text(SCENARIOS)
    scenarios = ScenarioSet.load(tmp_path / "scenarios.toml", tmp_path / "cache")
    return Validator(FolderStore(tmp_path), scenarios)  # type: ignore[arg-type]


def doc(kind: str) -> bytes:
    return f"<a xmlns='urn:t' kind='{kind}'><b>x</b></a>".encode()


def test_good_document_is_accepted(validator: Validator) -> None:
    result = validator.validate_bytes(doc("good"), "good.xml")
    assert result.accepted and result.scenario == "good"


def test_xslt_dynamic_error_is_not_accepted(validator: Validator) -> None:
    result = validator.validate_bytes(doc("boom"), "boom.xml")
    assert not result.accepted
    failing = next(s for s in result.steps if s.id == "failing")
    assert failing.error and "exploded" in failing.error


@pytest.mark.parametrize("kind", ["noxsd", "nopack"])
def test_missing_resources_are_not_accepted(validator: Validator, kind: str) -> None:
    result = validator.validate_bytes(doc(kind), f"{kind}.xml")
    assert not result.accepted
    assert any(step.error for step in result.steps)
    assert "could not be run" in result.reason


def test_schema_invalid_document_is_rejected(validator: Validator) -> None:
    result = validator.validate_bytes(b"<a xmlns='urn:t' kind='good'><c/></a>", "bad.xml")
    assert not result.accepted
    assert [f.rule for f in result.findings] == ["XSD"]


def test_unexpected_exception_is_not_accepted(validator: Validator, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*_: object) -> None:
        raise MemoryError("simulated")

    monkeypatch.setattr(validator.scenarios, "match", explode)
    result = validator.validate_bytes(doc("good"), "good.xml")
    assert not result.accepted and result.steps[-1].error


def test_kosit_flag_mapping() -> None:
    assert level_of_flag("fatal") is Level.ERROR
    assert level_of_flag("warning") is Level.WARNING
    assert level_of_flag("info") is Level.INFORMATION
    assert level_of_flag("something-else") is Level.ERROR
