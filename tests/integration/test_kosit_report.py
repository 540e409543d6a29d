"""KoSIT report XML (``--format kosit``) by KoSIT's own xrechnung-report.xsl, checked against report.xsd."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from einvoice.validation.model import Finding, Level, StepKind, StepResult, ValidationResult
from einvoice.validation.reports import render
from einvoice.validation.reports.kosit import NS_REP, NS_S, render_kosit
from einvoice.validation.scenarios import ScenarioSet

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
STANDARDS = Path(os.environ.get("EINVOICE_STANDARDS_DIR") or ROOT.parent / "shared" / "standards")
KOSIT_SRC = STANDARDS / "validator-configuration-xrechnung" / "src"
REPORT_XSL = KOSIT_SRC / "xrechnung-report.xsl"
TESTSUITE = STANDARDS / "xrechnung-testsuite" / "src" / "test"
UBL_DOC = TESTSUITE / "business-cases" / "standard" / "01.01a-INVOICE_ubl.xml"
CII_DOC = TESTSUITE / "business-cases" / "standard" / "01.01a-INVOICE_uncefact.xml"
NS = {"rep": NS_REP, "s": NS_S}

if not REPORT_XSL.is_file():
    pytest.skip(f"KoSIT configuration not found under {KOSIT_SRC}", allow_module_level=True)

# report.xsd imports the scenarios namespace without a schemaLocation: give it one.
PERMISSIVE_SCENARIOS = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{NS_S}"
    elementFormDefault="qualified">
  <xs:complexType name="Open">
    <xs:sequence><xs:any processContents="lax" minOccurs="0" maxOccurs="unbounded"/></xs:sequence>
    <xs:anyAttribute processContents="lax"/>
  </xs:complexType>
  <xs:element name="scenario" type="s:Open" xmlns:s="{NS_S}"/>
  <xs:element name="resource" type="s:Open" xmlns:s="{NS_S}"/>
  <xs:complexType name="CustomErrorLevel">
    <xs:simpleContent><xs:extension base="xs:string">
      <xs:attribute name="level" type="xs:string" use="required"/>
    </xs:extension></xs:simpleContent>
  </xs:complexType>
</xs:schema>"""

# Our own statement of the scenario structure KoSIT's framework 1 uses (order and cardinalities).
STRICT_SCENARIOS = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:s="{NS_S}"
    targetNamespace="{NS_S}" elementFormDefault="qualified">
  <xs:element name="scenario">
    <xs:complexType><xs:sequence>
      <xs:element name="name" type="xs:token"/>
      <xs:element name="description" minOccurs="0">
        <xs:complexType><xs:sequence>
          <xs:element name="p" type="xs:normalizedString" maxOccurs="unbounded"/>
        </xs:sequence></xs:complexType>
      </xs:element>
      <xs:element name="namespace" minOccurs="0" maxOccurs="unbounded">
        <xs:complexType><xs:simpleContent><xs:extension base="xs:anyURI">
          <xs:attribute name="prefix" use="required"/>
        </xs:extension></xs:simpleContent></xs:complexType>
      </xs:element>
      <xs:element name="match" type="xs:string"/>
      <xs:element name="validateWithXmlSchema" type="s:Resources"/>
      <xs:element name="validateWithSchematron" type="s:Resources" minOccurs="0" maxOccurs="unbounded"/>
      <xs:element name="createReport">
        <xs:complexType><xs:sequence>
          <xs:element ref="s:resource"/>
          <xs:element name="customLevel" type="s:CustomErrorLevel" minOccurs="0" maxOccurs="unbounded"/>
        </xs:sequence></xs:complexType>
      </xs:element>
      <xs:element name="acceptMatch" type="xs:string" minOccurs="0"/>
    </xs:sequence></xs:complexType>
  </xs:element>
  <xs:complexType name="Resources"><xs:sequence>
    <xs:element ref="s:resource" maxOccurs="unbounded"/>
  </xs:sequence></xs:complexType>
  <xs:element name="resource">
    <xs:complexType><xs:sequence>
      <xs:element name="name" type="xs:token"/>
      <xs:element name="location" type="xs:anyURI"/>
    </xs:sequence></xs:complexType>
  </xs:element>
  <xs:simpleType name="Tokens"><xs:list itemType="xs:token"/></xs:simpleType>
  <xs:complexType name="CustomErrorLevel"><xs:simpleContent><xs:extension base="s:Tokens">
    <xs:attribute name="level" use="required"><xs:simpleType><xs:restriction base="xs:token">
      <xs:enumeration value="error"/><xs:enumeration value="warning"/><xs:enumeration value="information"/>
    </xs:restriction></xs:simpleType></xs:attribute>
  </xs:extension></xs:simpleContent></xs:complexType>
</xs:schema>"""


def _schema(tmp_path: Path, scenarios_xsd: str, name: str) -> etree.XMLSchema:
    scenarios = tmp_path / f"{name}-scenarios.xsd"
    scenarios.write_text(scenarios_xsd, encoding="utf-8")
    wrapper = tmp_path / f"{name}-wrapper.xsd"
    wrapper.write_text(
        f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:import namespace="{NS_S}" schemaLocation="{scenarios.as_uri()}"/>
  <xs:import namespace="{NS_REP}" schemaLocation="{(KOSIT_SRC / "report.xsd").as_uri()}"/>
</xs:schema>""",
        encoding="utf-8",
    )
    return etree.XMLSchema(etree.parse(str(wrapper)))


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> list[etree.XMLSchema]:
    tmp = tmp_path_factory.mktemp("report-xsd")
    return [_schema(tmp, PERMISSIVE_SCENARIOS, "permissive"), _schema(tmp, STRICT_SCENARIOS, "strict")]


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> ScenarioSet:
    return ScenarioSet.load(
        ROOT / "xrechnung_rules" / "scenarios.toml", tmp_path_factory.mktemp("scenario-cache")
    )


def _result(
    doc: Path | None,
    scenario: str | None,
    steps: list[StepResult],
    accepted: bool,
    data: bytes | None = None,
    **kwargs: object,
) -> ValidationResult:
    content = data if data is not None else (doc.read_bytes() if doc else b"")
    values: dict[str, object] = {
        "file": doc.name if doc else "upload.bin",
        "sha256": hashlib.sha256(content).hexdigest(),
        "accepted": accepted,
        "scenario": scenario,
        "syntax": "UBL-Invoice",
        "steps": steps,
        "timestamp": "2025-05-06T07:08:09+02:00",
        "xml": content or None,
        "reason": "" if accepted else "rejected",
    }
    values.update(kwargs)
    return ValidationResult(**values)  # type: ignore[arg-type]


def _ubl_steps(*findings: Finding, pack: str = "cen-ubl") -> list[StepResult]:
    steps = [
        StepResult("wellformedness", StepKind.WELLFORMED),
        StepResult("xsd", StepKind.XSD, resource="ubl-2.1:maindoc/UBL-Invoice-2.1.xsd"),
        StepResult("cen-ubl", StepKind.SCHEMATRON, resource="cen-ubl"),
        StepResult("xrechnung-ubl", StepKind.SCHEMATRON, resource="xrechnung-ubl"),
    ]
    for step in steps:
        step.findings.extend(f for f in findings if f.step == step.id)
    return steps


def _report(
    result: ValidationResult, scenarios: ScenarioSet, schemas: list[etree.XMLSchema]
) -> etree._Element:
    text = render(result, "kosit", scenarios=scenarios, report_xsl=REPORT_XSL)
    root = etree.fromstring(text.encode("utf-8"))
    for schema in schemas:
        assert schema.validate(root), schema.error_log
    _check_report_rules(root)
    return root


def _check_report_rules(root: etree._Element) -> None:
    """The consistency rules of KoSIT's report.sch, checked directly."""
    assert root.get("varlVersion") == "1.0.0"
    steps = root.findall("rep:scenarioMatched/rep:validationStepResult", NS)
    if root.find("rep:noScenarioMatched", NS) is not None:
        assert root.get("valid") == "false"
    else:
        expected = "false" if any(s.get("valid") == "false" for s in steps) else "true"
        assert root.get("valid") == expected
    for step in root.iter(f"{{{NS_REP}}}validationStepResult"):
        bad = step.xpath("rep:message[@level = 'error' or @level = 'warning']", namespaces=NS)
        assert step.get("valid") == ("false" if bad else "true")
    ids = [s.get("id") for s in steps]
    if (
        "val-xsd" in ids
        and root.find("rep:scenarioMatched/rep:validationStepResult[@id='val-xsd']", NS).get("valid")
        == "false"
    ):
        assert "val-sch.1" not in ids


def _assessment(root: etree._Element) -> str:
    (choice,) = root.find("rep:assessment", NS)
    return etree.QName(choice).localname


def _messages(root: etree._Element) -> list[etree._Element]:
    return list(root.iter(f"{{{NS_REP}}}message"))


def test_accepted_ubl_invoice(scenarios: ScenarioSet, schemas: list[etree.XMLSchema]) -> None:
    root = _report(_result(UBL_DOC, "xrechnung-3.0-ubl-invoice", _ubl_steps(), True), scenarios, schemas)
    assert _assessment(root) == "accept" and root.get("valid") == "true"
    assert (
        root.findtext("rep:scenarioMatched/s:scenario/s:name", namespaces=NS)
        == "EN16931 XRechnung (UBL Invoice)"
    )
    assert [s.get("id") for s in root.iterfind("rep:scenarioMatched/rep:validationStepResult", NS)] == [
        "val-xsd",
        "val-sch.1",
        "val-sch.2",
        "val-xml",
    ]
    assert root.findtext("rep:scenarioMatched/rep:documentData/id", namespaces=NS) == "123456XX"
    assert root.findtext("rep:documentIdentification/rep:documentReference", namespaces=NS) == UBL_DOC.name
    # the embedded HTML explanation shows the invoice, which proves $input-document was passed
    explanation = etree.tostring(
        root.find("rep:assessment/rep:accept/rep:explanation", NS), encoding="unicode"
    )
    assert "Inhalt des Rechnungsdokuments" in explanation and "123456XX" in explanation


def test_accepted_cii_invoice(scenarios: ScenarioSet, schemas: list[etree.XMLSchema]) -> None:
    steps = [
        StepResult("wellformedness", StepKind.WELLFORMED),
        StepResult("xsd", StepKind.XSD, resource="cii-d16b:CrossIndustryInvoice_100pD16B.xsd"),
        StepResult("cen-cii", StepKind.SCHEMATRON, resource="cen-cii"),
        StepResult("xrechnung-cii", StepKind.SCHEMATRON, resource="xrechnung-cii"),
    ]
    root = _report(_result(CII_DOC, "xrechnung-3.0-cii", steps, True, syntax="CII"), scenarios, schemas)
    assert _assessment(root) == "accept"
    assert root.findtext("rep:scenarioMatched/s:scenario/s:name", namespaces=NS) == "EN16931 XRechnung (CII)"
    assert root.findtext("rep:scenarioMatched/rep:documentData/seller", namespaces=NS)


BR_CL_23 = Finding(
    "BR-CL-23",
    Level.WARNING,
    "cen-ubl",
    "[BR-CL-23]-Unit code MUST be coded according to the UN/ECE Recommendation 20 with Rec 21 extension",
    location="/*:Invoice[namespace-uri()='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'][1]",
    test="((not(contains(normalize-space(@unitCode), ' ')) and contains(' H87 ', ...)))",
    flag="fatal",
)


def test_custom_level_of_br_cl_23_accepts_in_xrechnung(
    scenarios: ScenarioSet, schemas: list[etree.XMLSchema]
) -> None:
    root = _report(
        _result(UBL_DOC, "xrechnung-3.0-ubl-invoice", _ubl_steps(BR_CL_23), True), scenarios, schemas
    )
    assert _assessment(root) == "accept"
    (message,) = _messages(root)
    # KoSIT reports the raw level and lets the customLevel decide the assessment
    assert message.get("code") == "BR-CL-23" and message.get("level") == "error"
    assert message.get("xpathLocation", "").startswith("/*:Invoice")
    assert root.get("valid") == "false"
    assert root.xpath("//s:customLevel[. = 'BR-CL-23']/@level", namespaces=NS) == ["warning"]


def test_same_finding_rejects_without_the_custom_level(
    scenarios: ScenarioSet, schemas: list[etree.XMLSchema]
) -> None:
    finding = Finding(**{**BR_CL_23.__dict__, "level": Level.ERROR})
    root = _report(
        _result(UBL_DOC, "en16931-ubl-invoice", _ubl_steps(finding)[:3], False), scenarios, schemas
    )
    assert _assessment(root) == "reject"


def test_rejected_by_a_business_rule(scenarios: ScenarioSet, schemas: list[etree.XMLSchema]) -> None:
    finding = Finding(
        "BR-DE-15",
        Level.ERROR,
        "xrechnung-ubl",
        '[BR-DE-15] Das Element "Buyer reference" (BT-10) muss übermittelt werden.',
        location="/*:Invoice[namespace-uri()='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'][1]",
        test="cbc:BuyerReference[boolean(normalize-space(.))]",
        flag="fatal",
    )
    root = _report(
        _result(UBL_DOC, "xrechnung-3.0-ubl-invoice", _ubl_steps(finding), False), scenarios, schemas
    )
    assert _assessment(root) == "reject"
    (message,) = _messages(root)
    assert message.get("id") == "val-sch.2.1" and message.get("code") == "BR-DE-15"
    assert "übermittelt" in (message.text or "")


def test_warning_only_is_accepted(scenarios: ScenarioSet, schemas: list[etree.XMLSchema]) -> None:
    finding = Finding(
        "BR-DE-21",
        Level.WARNING,
        "xrechnung-ubl",
        "[BR-DE-21] spec id",
        location="/Invoice[1]",
        flag="warning",
    )
    root = _report(
        _result(UBL_DOC, "xrechnung-3.0-ubl-invoice", _ubl_steps(finding), True), scenarios, schemas
    )
    assert _assessment(root) == "accept" and root.get("valid") == "false"


def test_broken_document_schema_errors(scenarios: ScenarioSet, schemas: list[etree.XMLSchema]) -> None:
    broken = (
        UBL_DOC.read_bytes()
        .replace(b"<cbc:IssueDate>", b"<cbc:IssueDat>", 1)
        .replace(b"</cbc:IssueDate>", b"</cbc:IssueDat>", 1)
    )
    finding = Finding(
        "XSD",
        Level.ERROR,
        "xsd",
        "Element '{urn:oasis:names:specification:ubl:schema:xsd:"
        "CommonBasicComponents-2}IssueDat': This element is not expected.",
        location="line 7, column 0",
        line=7,
        column=0,
        flag="error",
    )
    steps = [
        StepResult("wellformedness", StepKind.WELLFORMED),
        StepResult("xsd", StepKind.XSD, resource="ubl-2.1:maindoc/UBL-Invoice-2.1.xsd", findings=[finding]),
    ]
    root = _report(
        _result(UBL_DOC, "xrechnung-3.0-ubl-invoice", steps, False, data=broken), scenarios, schemas
    )
    assert _assessment(root) == "reject"
    (message,) = _messages(root)
    assert message.get("code") == "generic-error" and message.get("lineNumber") == "7"
    assert (
        root.find("rep:scenarioMatched/rep:validationStepResult[@id='val-xsd']", NS).get("valid") == "false"
    )


def test_not_wellformed_has_no_scenario(scenarios: ScenarioSet, schemas: list[etree.XMLSchema]) -> None:
    data = b"<Invoice><unclosed></Invoice>"
    steps = [
        StepResult(
            "wellformedness",
            StepKind.WELLFORMED,
            findings=[
                Finding(
                    "XML-NOT-WELLFORMED",
                    Level.ERROR,
                    "wellformedness",
                    "Opening and ending tag mismatch",
                    line=1,
                    column=28,
                )
            ],
        )
    ]
    result = _result(None, None, steps, False, data=data, xml=None, syntax=None)
    root = _report(result, scenarios, schemas)
    assert _assessment(root) == "reject" and root.get("valid") == "false"
    assert root.find("rep:noScenarioMatched", NS) is not None
    (message,) = _messages(root)
    assert message.get("lineNumber") == "1" and "XML-NOT-WELLFORMED" in (message.text or "")


def test_unknown_document_type(scenarios: ScenarioSet, schemas: list[etree.XMLSchema]) -> None:
    steps = [
        StepResult("wellformedness", StepKind.WELLFORMED),
        StepResult(
            "scenario",
            StepKind.SCENARIO,
            findings=[Finding("NO-SCENARIO", Level.ERROR, "scenario", "matches no accepted invoice type")],
        ),
    ]
    result = _result(None, None, steps, False, data=b"<order xmlns='urn:example'/>", syntax=None)
    root = _report(result, scenarios, schemas)
    assert _assessment(root) == "reject" and root.find("rep:noScenarioMatched", NS) is not None
    assert _messages(root) == []


def test_step_error_rejects(scenarios: ScenarioSet, schemas: list[etree.XMLSchema]) -> None:
    steps = _ubl_steps()
    steps[3].error = "XRechnung stylesheet could not be compiled"
    root = _report(_result(UBL_DOC, "xrechnung-3.0-ubl-invoice", steps, False), scenarios, schemas)
    assert _assessment(root) == "reject"
    (message,) = _messages(root)
    assert message.get("code") == "PROCESSING-ERROR" and message.get("level") == "error"


def test_xsd_step_error_rejects(scenarios: ScenarioSet, schemas: list[etree.XMLSchema]) -> None:
    steps = [
        StepResult("wellformedness", StepKind.WELLFORMED),
        StepResult(
            "xsd", StepKind.XSD, resource="ubl-2.1:maindoc/UBL-Invoice-2.1.xsd", error="schema missing"
        ),
    ]
    root = _report(_result(UBL_DOC, "xrechnung-3.0-ubl-invoice", steps, False), scenarios, schemas)
    assert _assessment(root) == "reject"
    assert "PROCESSING-ERROR" in (_messages(root)[0].text or "")


def test_verdict_is_never_contradicted(scenarios: ScenarioSet, schemas: list[etree.XMLSchema]) -> None:
    """A result we rejected for a reason KoSIT's rules cannot see still comes out as reject."""
    result = _result(UBL_DOC, "xrechnung-3.0-ubl-invoice", _ubl_steps(), False, reason="size limit exceeded")
    root = _report(result, scenarios, schemas)
    assert _assessment(root) == "reject"
    assert [m.get("code") for m in _messages(root)] == ["NOT-ACCEPTED"]
    assert _messages(root)[0].text == "size limit exceeded"


def test_pdf_container_warning_keeps_its_code(scenarios: ScenarioSet, schemas: list[etree.XMLSchema]) -> None:
    steps = _ubl_steps()
    steps.insert(
        1,
        StepResult(
            "input",
            StepKind.INPUT,
            findings=[
                Finding(
                    "PDF-XMP-PROFILE",
                    Level.WARNING,
                    "input",
                    "XMP names profile BASIC, the XML says EN 16931",
                )
            ],
        ),
    )
    root = _report(
        _result(UBL_DOC, "xrechnung-3.0-ubl-invoice", steps, True, container="pdf"), scenarios, schemas
    )
    assert _assessment(root) == "accept"
    (message,) = _messages(root)
    assert message.get("code") == "PDF-XMP-PROFILE" and message.get("level") == "warning"


def test_reject_only_scenario(scenarios: ScenarioSet, schemas: list[etree.XMLSchema]) -> None:
    minimum = scenarios.by_id("facturx-minimum")
    steps = [
        StepResult("wellformedness", StepKind.WELLFORMED),
        StepResult(
            "scenario",
            StepKind.SCENARIO,
            findings=[Finding("SCENARIO-REJECTED", Level.ERROR, "scenario", minimum.reject or "")],
        ),
    ]
    data = CII_DOC.read_bytes()
    root = _report(_result(CII_DOC, minimum.id, steps, False, data=data), scenarios, schemas)
    assert _assessment(root) == "reject"
    assert root.findtext("rep:scenarioMatched/s:scenario/s:name", namespaces=NS) == minimum.name
    assert [m.get("code") for m in _messages(root)] == ["SCENARIO-REJECTED"]


def test_hostile_input_is_safe(scenarios: ScenarioSet, schemas: list[etree.XMLSchema]) -> None:
    doctype = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    steps = [
        StepResult(
            "wellformedness",
            StepKind.WELLFORMED,
            findings=[
                Finding(
                    "XML-DOCTYPE", Level.ERROR, "wellformedness", "<script>DOCTYPE</script> \x1b not allowed"
                )
            ],
        )
    ]
    result = _result(None, None, steps, False, data=doctype, file="a\x00<b>&.xml", syntax=None)
    text = render_kosit(result, None, scenarios, report_xsl=REPORT_XSL)
    assert "root:" not in text  # the entity was never resolved
    root = etree.fromstring(text.encode("utf-8"))
    for schema in schemas:
        assert schema.validate(root), schema.error_log
    assert (
        root.findtext("rep:documentIdentification/rep:documentReference", namespaces=NS) == "a\ufffd<b>&.xml"
    )
    assert _assessment(root) == "reject"


def test_missing_stylesheet_is_an_error(scenarios: ScenarioSet, tmp_path: Path) -> None:
    from einvoice.validation.reports import KositReportError

    result = _result(UBL_DOC, "xrechnung-3.0-ubl-invoice", _ubl_steps(), True)
    with pytest.raises(KositReportError, match="not found"):
        render_kosit(result, None, scenarios, report_xsl=tmp_path / "missing.xsl")


def _engine_report(
    validator: Any, data: bytes, name: str, schemas: list[etree.XMLSchema]
) -> tuple[Any, etree._Element]:
    from einvoice.rules.store import RuleStore

    result = validator.validate_bytes(data, name)
    text = render(
        result,
        "kosit",
        scenarios=validator.scenarios,
        report_xsl=RuleStore.from_settings().path("kosit-report:xrechnung-report.xsl"),
    )
    root = etree.fromstring(text.encode("utf-8"))
    for schema in schemas:
        assert schema.validate(root), schema.error_log
    _check_report_rules(root)
    assert _assessment(root) == ("accept" if result.accepted else "reject")
    return result, root


@pytest.mark.parametrize(
    "doc", [UBL_DOC, CII_DOC, TESTSUITE / "technical-cases" / "cius" / "01.05_minimal_test_ubl.xml"]
)
def test_engine_accepted_documents(validator: Any, schemas: list[etree.XMLSchema], doc: Path) -> None:
    result, root = _engine_report(validator, doc.read_bytes(), doc.name, schemas)
    assert result.accepted, result.reason
    assert _assessment(root) == "accept"
    assert len(root.findall("rep:scenarioMatched/rep:validationStepResult", NS)) == 4


def test_engine_custom_level_and_rejection(validator: Any, schemas: list[etree.XMLSchema]) -> None:
    data = UBL_DOC.read_bytes()
    assert b'unitCode="' in data
    bad_unit = re.sub(rb'unitCode="[^"]*"', b'unitCode="Stk"', data)
    result, root = _engine_report(validator, bad_unit, "bad-unit.xml", schemas)
    codes = [m.get("code") for m in _messages(root)]
    assert "BR-CL-23" in codes and result.accepted and _assessment(root) == "accept"

    no_buyer_ref = re.sub(rb"<cbc:BuyerReference>[^<]*</cbc:BuyerReference>", b"", data)
    result, root = _engine_report(validator, no_buyer_ref, "no-buyer-reference.xml", schemas)
    assert not result.accepted and _assessment(root) == "reject"
    assert "BR-DE-15" in [m.get("code") for m in _messages(root)]


def test_engine_broken_and_unknown_documents(validator: Any, schemas: list[etree.XMLSchema]) -> None:
    _, root = _engine_report(validator, UBL_DOC.read_bytes()[:-40], "truncated.xml", schemas)
    assert _assessment(root) == "reject" and root.find("rep:noScenarioMatched", NS) is not None
    _, root = _engine_report(validator, b"<order xmlns='urn:example'/>", "order.xml", schemas)
    assert _assessment(root) == "reject" and root.find("rep:noScenarioMatched", NS) is not None
    schema_invalid = (
        UBL_DOC.read_bytes()
        .replace(b"<cbc:IssueDate>", b"<cbc:IssueDat>", 1)
        .replace(b"</cbc:IssueDate>", b"</cbc:IssueDat>", 1)
    )
    _, root = _engine_report(validator, schema_invalid, "schema-invalid.xml", schemas)
    assert _assessment(root) == "reject"
    assert (
        root.find("rep:scenarioMatched/rep:validationStepResult[@id='val-xsd']", NS).get("valid") == "false"
    )
