"""Verdicts per scenario: ZUGFeRD samples, rejected profiles, KoSIT custom levels, versions side by side."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from einvoice.validation.engine import Validator
from einvoice.validation.model import Level
from einvoice.validation.scenarios import ScenarioSet
from tests.conftest import ROOT, STANDARDS

pytestmark = pytest.mark.integration

ZUGFERD = STANDARDS / "zugferd-samples"
SUITE = STANDARDS / "xrechnung-testsuite" / "src" / "test" / "business-cases" / "standard"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"

# file -> (accepted, scenario, words the reason must contain)
EXPECTED = {
    "EN16931_1_Teilrechnung.pdf": (True, "facturx-en16931", ""),
    "EN16931_Einfach.pdf": (True, "facturx-en16931", ""),
    "MustangBeispiel20221026.pdf": (True, "facturx-en16931", ""),
    "attributeBasedXMP_zugferd_2p0_EN16931_Einfach.pdf": (True, "facturx-en16931", ""),
    # Mustang calls it invalid for its PDF/A defects; the e-invoice inside is a valid EN 16931 invoice.
    "invalidPDF.pdf": (True, "facturx-en16931", ""),
    "zugferd_2p1_EXTENDED_PDFA-3A.pdf": (True, "facturx-extended", ""),
    "validAvoir_FR_type380_BASICWL.pdf": (False, "facturx-basicwl", "BASIC WL"),
    "validXRechnung.pdf": (False, "xrechnung-outdated", "no longer valid"),
    "zugferd_invoice.pdf": (False, "zugferd-1", "ZUGFeRD 1.0"),
    # Pre-release Factur-X identifiers (':' instead of '#'): no scenario, the reason names the published id.
    "validV2PDF.pdf": (False, None, "published Factur-X 1.0 identifier"),
    "XMLinvalidV2PDF.pdf": (False, None, "published Factur-X 1.0 identifier"),
}


def test_every_sample_has_an_expectation() -> None:
    assert sorted(p.name for p in ZUGFERD.glob("*.pdf")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_zugferd_sample_verdict(validator: Validator, name: str) -> None:
    accepted, scenario, reason = EXPECTED[name]
    result = validator.validate_file(ZUGFERD / name)
    assert result.container == "pdf"
    assert (result.accepted, result.scenario) == (accepted, scenario), result.reason
    assert reason in result.reason
    if not accepted:
        assert result.reason


def _mutated(path: Path, change) -> bytes:  # type: ignore[no-untyped-def]
    tree = etree.parse(str(path))
    change(tree.getroot())
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


def test_custom_level_br_cl_23_is_a_warning(validator: Validator) -> None:
    """An unknown unit code (BR-CL-23, fatal for CEN) is only a warning in XRechnung (KoSIT)."""
    def bad_unit(root: etree._Element) -> None:
        root.find(f".//{{{CBC}}}InvoicedQuantity").set("unitCode", "NOPE")

    result = validator.validate_bytes(_mutated(SUITE / "01.01a-INVOICE_ubl.xml", bad_unit), "unit.xml")
    found = [f for f in result.findings if f.rule == "BR-CL-23"]
    assert found and all(f.level is Level.WARNING for f in found) and found[0].flag == "fatal"
    assert result.accepted


def test_custom_level_ubl_cr_646_is_an_error(validator: Validator) -> None:
    """A sub invoice line (UBL-CR-646, a CEN warning) is an error in XRechnung standard (KoSIT)."""
    def sub_line(root: etree._Element) -> None:
        line = root.find(f"{{{CAC}}}InvoiceLine")
        sub = etree.SubElement(line, f"{{{CAC}}}SubInvoiceLine")  # last child: valid against the XSD
        etree.SubElement(sub, f"{{{CBC}}}ID").text = "1.1"
        amount = etree.SubElement(sub, f"{{{CBC}}}LineExtensionAmount", currencyID="EUR")
        amount.text = "0.00"
        etree.SubElement(sub, f"{{{CAC}}}Item")

    result = validator.validate_bytes(_mutated(SUITE / "01.01a-INVOICE_ubl.xml", sub_line), "sub.xml")
    assert "UBL-CR-646" in {f.rule for f in result.findings if f.level is Level.ERROR}
    assert not result.accepted


def test_missing_leitweg_id_is_rejected_with_br_de_15(validator: Validator) -> None:
    def drop_reference(root: etree._Element) -> None:
        root.remove(root.find(f"{{{CBC}}}BuyerReference"))

    result = validator.validate_bytes(_mutated(SUITE / "01.01a-INVOICE_ubl.xml", drop_reference), "x.xml")
    assert not result.accepted
    assert "BR-DE-15" in {f.rule for f in result.findings if f.level.rejects}


def test_peppol_bis_examples_use_the_peppol_scenario(validator: Validator) -> None:
    examples = sorted((STANDARDS / "peppol-bis-invoice-3" / "rules" / "examples").glob("*.xml"))
    results = [validator.validate_file(p) for p in examples]
    assert {r.scenario for r in results} <= {"peppol-bis-3.0-ubl-invoice", "peppol-bis-3.0-ubl-creditnote"}
    assert all(r.accepted for r in results), [(r.file, r.reason) for r in results if not r.accepted]


def test_two_xrechnung_versions_side_by_side(rules_dir: Path, tmp_path: Path) -> None:
    """Enabling the XRechnung 2.3 scenarios keeps 3.0 documents on 3.0 rules and 2.3 on 2.3 rules."""
    config = (ROOT / "xrechnung_rules" / "scenarios.toml").read_text(encoding="utf-8")
    (tmp_path / "scenarios.toml").write_text(config.replace("enabled = false", "enabled = true"))
    both = Validator(Validator.from_settings().store, ScenarioSet.load(tmp_path / "scenarios.toml", tmp_path))

    def to_23(root: etree._Element) -> None:
        root.find(f"{{{CBC}}}CustomizationID").text = (
            "urn:cen.eu:en16931:2017#compliant#urn:xoev-de:kosit:standard:xrechnung_2.3")

    v30 = both.validate_file(SUITE / "01.01a-INVOICE_ubl.xml")
    v23 = both.validate_bytes(_mutated(SUITE / "01.01a-INVOICE_ubl.xml", to_23), "v23.xml")
    assert (v30.scenario, v30.accepted) == ("xrechnung-3.0-ubl-invoice", True)
    assert v23.scenario == "xrechnung-2.3-ubl-invoice"
    assert [s.id for s in v23.steps if s.kind.value == "schematron"] == ["cen-ubl", "xrechnung-2.3-ubl"]
    assert all(s.error is None for s in v23.steps)
