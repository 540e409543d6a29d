"""KoSIT's createReportInput as we rebuild it (no stylesheet needed): structure and fail-closed mapping."""

from __future__ import annotations

import base64
import hashlib

from lxml import etree

from einvoice.validation.model import Finding, Level, StepKind, StepResult, ValidationResult
from einvoice.validation.reports.kosit import NS_IN, NS_S, NS_SVRL, build_report_input
from einvoice.validation.scenarios import Scenario

NS = {"in": NS_IN, "s": NS_S, "svrl": NS_SVRL}
XR = Scenario(
    id="xrechnung-3.0-ubl-invoice",
    name="EN16931 XRechnung (UBL Invoice)",
    match="exists(/invoice:Invoice/cbc:CustomizationID[. = 'x'])",
    xsd="ubl-2.1:maindoc/UBL-Invoice-2.1.xsd",
    schematron=("cen-ubl", "xrechnung-ubl"),
    custom_levels={"BR-CL-23": Level.WARNING, "UBL-CR-646": Level.ERROR, "X-FATAL": Level.FATAL},
)
NAMESPACES = {
    "invoice": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
}
DATA = b"<Invoice/>"


def _result(steps: list[StepResult], **kwargs: object) -> ValidationResult:
    values: dict[str, object] = {
        "file": "a.xml",
        "sha256": hashlib.sha256(DATA).hexdigest(),
        "accepted": False,
        "scenario": XR.id,
        "syntax": "UBL-Invoice",
        "steps": steps,
        "timestamp": "2025-01-02T03:04:05+00:00",
        "xml": DATA,
    }
    values.update(kwargs)
    return ValidationResult(**values)  # type: ignore[arg-type]


def _texts(root: etree._Element, path: str) -> list[str]:
    return [str(x) for x in root.xpath(path, namespaces=NS)]


def test_header_scenario_and_order() -> None:
    steps = [
        StepResult("wellformedness", StepKind.WELLFORMED),
        StepResult("xsd", StepKind.XSD, resource=XR.xsd or ""),
        StepResult("cen-ubl", StepKind.SCHEMATRON, resource="cen-ubl"),
        StepResult("xrechnung-ubl", StepKind.SCHEMATRON, resource="xrechnung-ubl"),
    ]
    root = build_report_input(_result(steps), XR, NAMESPACES)
    assert [etree.QName(c).localname for c in root] == [
        "engine",
        "timestamp",
        "documentIdentification",
        "scenario",
        "validationResultsWellformedness",
        "validationResultsXmlSchema",
        "validationResultsSchematron",
        "validationResultsSchematron",
    ]
    assert root.get("frameworkVersion") == "1.0.0"
    assert _texts(root, "in:timestamp/text()") == ["2025-01-02T03:04:05+00:00"]
    assert _texts(root, "in:documentIdentification/in:documentHash/in:hashAlgorithm/text()") == ["SHA-256"]
    assert _texts(root, "in:documentIdentification/in:documentHash/in:hashValue/text()") == [
        base64.b64encode(hashlib.sha256(DATA).digest()).decode()
    ]
    assert _texts(root, "in:documentIdentification/in:documentReference/text()") == ["a.xml"]
    scenario = root.find(f"{{{NS_S}}}scenario")
    assert scenario is not None
    assert [etree.QName(c).localname for c in scenario] == [
        "name",
        "namespace",
        "namespace",
        "namespace",
        "match",
        "validateWithXmlSchema",
        "validateWithSchematron",
        "validateWithSchematron",
        "createReport",
        "acceptMatch",
    ]
    # only the prefixes the match uses, plus rep for acceptMatch
    assert sorted(_texts(scenario, "s:namespace/@prefix")) == ["cbc", "invoice", "rep"]
    levels = {c.text: c.get("level") for c in scenario.iterfind("s:createReport/s:customLevel", NS)}
    assert levels == {"BR-CL-23": "warning", "UBL-CR-646": "error", "X-FATAL": "error"}
    assert _texts(root, "in:validationResultsSchematron/s:resource/s:location/text()") == [
        "cen-ubl",
        "xrechnung-ubl",
    ]
    assert root.xpath("count(//svrl:schematron-output)", namespaces=NS) == 2


def test_raw_flag_is_kept_for_custom_levels() -> None:
    finding = Finding(
        "BR-CL-23",
        Level.WARNING,
        "cen-ubl",
        "[BR-CL-23]-Unit code",
        location="/Invoice[1]",
        test="@unitCode = ('H87')",
        flag="fatal",
    )
    root = build_report_input(
        _result([StepResult("cen-ubl", StepKind.SCHEMATRON, findings=[finding])]), XR, NAMESPACES
    )
    (failed,) = root.xpath("//svrl:failed-assert", namespaces=NS)
    assert failed.get("id") == "BR-CL-23" and failed.get("flag") == "fatal"
    assert failed.get("location") == "/Invoice[1]" and failed.get("test") == "@unitCode = ('H87')"
    assert _texts(failed, "svrl:text/text()") == ["[BR-CL-23]-Unit code"]


def test_xsd_findings_become_syntax_errors_with_position() -> None:
    finding = Finding(
        "XSD", Level.ERROR, "xsd", "Element 'x': This element is not expected.", line=12, column=5
    )
    root = build_report_input(_result([StepResult("xsd", StepKind.XSD, findings=[finding])]), XR, NAMESPACES)
    (error,) = root.xpath("in:validationResultsXmlSchema/in:xmlSyntaxError", namespaces=NS)
    assert _texts(error, "in:message/text()") == ["Element 'x': This element is not expected."]
    assert _texts(error, "in:severityCode/text()") == ["SEVERITY_ERROR"]
    assert _texts(error, "in:rowNumber/text()") == ["12"] and _texts(error, "in:columnNumber/text()") == ["5"]
    assert _texts(root, "in:validationResultsXmlSchema/s:resource/s:location/text()") == [XR.xsd]


def test_step_errors_fail_closed() -> None:
    steps = [
        StepResult("xsd", StepKind.XSD, error="schema missing"),
        StepResult("xrechnung-ubl", StepKind.SCHEMATRON, error="stylesheet broken"),
    ]
    root = build_report_input(_result(steps), XR, NAMESPACES)
    assert _texts(root, "in:validationResultsXmlSchema/in:xmlSyntaxError/in:severityCode/text()") == [
        "SEVERITY_FATAL_ERROR"
    ]
    assert (
        "PROCESSING-ERROR"
        in _texts(root, "in:validationResultsXmlSchema/in:xmlSyntaxError/in:message/text()")[0]
    )
    (failed,) = root.xpath("//svrl:failed-assert", namespaces=NS)
    assert failed.get("id") == "PROCESSING-ERROR" and failed.get("flag") == "fatal"
    assert _texts(root, "in:processingError/in:error/text()") == [
        "xsd: schema missing",
        "xrechnung-ubl: stylesheet broken",
    ]


def test_synthetic_steps_follow_the_real_ones_and_force_reject() -> None:
    steps = [
        StepResult(
            "input",
            StepKind.INPUT,
            findings=[Finding("PDF-XMP-PROFILE", Level.WARNING, "input", "XMP says BASIC")],
        ),
        StepResult("cen-ubl", StepKind.SCHEMATRON, resource="cen-ubl"),
    ]
    root = build_report_input(_result(steps, reason="because"), XR, NAMESPACES, force_reject=True)
    assert _texts(root, "in:validationResultsSchematron/s:resource/s:location/text()") == [
        "cen-ubl",
        "urn:einvoice:step:input",
        "urn:einvoice:step:verdict",
    ]
    ids = _texts(root, "//svrl:failed-assert/@id")
    assert ids == ["PDF-XMP-PROFILE", "NOT-ACCEPTED"]
    assert _texts(root, "//svrl:failed-assert[@id='PDF-XMP-PROFILE']/@flag") == ["warning"]
    assert _texts(root, "//svrl:failed-assert[@id='NOT-ACCEPTED']/svrl:text/text()") == ["because"]


def test_no_scenario_keeps_only_what_rejected_the_input() -> None:
    steps = [
        StepResult(
            "wellformedness",
            StepKind.WELLFORMED,
            findings=[Finding("XML-NOT-WELLFORMED", Level.ERROR, "wellformedness", "bad", line=3, column=1)],
        ),
        StepResult(
            "scenario",
            StepKind.SCENARIO,
            findings=[Finding("NO-SCENARIO", Level.ERROR, "scenario", "unknown type")],
        ),
    ]
    root = build_report_input(_result(steps, scenario=None), None, NAMESPACES)
    assert root.find(f"{{{NS_S}}}scenario") is None
    assert _texts(root, "in:validationResultsWellformedness/in:xmlSyntaxError/in:message/text()") == [
        "[XML-NOT-WELLFORMED] bad"
    ]
    assert not root.xpath("in:validationResultsSchematron | in:validationResultsXmlSchema", namespaces=NS)


def test_reject_only_scenario_and_hostile_text() -> None:
    minimum = Scenario(id="facturx-minimum", name="MINIMUM", match="true()", reject="never accepted")
    steps = [
        StepResult(
            "scenario",
            StepKind.SCENARIO,
            findings=[Finding("SCENARIO-REJECTED", Level.ERROR, "scenario", "bad \x00\x1b profile")],
        )
    ]
    root = build_report_input(_result(steps, file="x\x07<y>.xml"), minimum, NAMESPACES)
    assert _texts(root, "s:scenario/s:validateWithXmlSchema/s:resource/s:location/text()") == [
        "urn:einvoice:none"
    ]
    assert _texts(root, "s:scenario/s:description/s:p/text()") == ["never accepted"]
    assert _texts(root, "//svrl:failed-assert/@id") == ["SCENARIO-REJECTED"]
    assert _texts(root, "//svrl:failed-assert/svrl:text/text()") == ["bad \ufffd\ufffd profile"]
    assert _texts(root, "in:documentIdentification/in:documentReference/text()") == ["x\ufffd<y>.xml"]
    etree.fromstring(etree.tostring(root))  # serialises to well-formed XML
