"""The KoSIT validator's report XML (``rep:report``, report.xsd), made by KoSIT's own stylesheet.

We rebuild KoSIT's internal intermediate document ``in:createReportInput`` from a
``ValidationResult`` and run the installed ``xrechnung-report.xsl`` on it, exactly as the KoSIT
validator does. The stylesheet applies the custom levels, decides each step's validity and writes
the accept/reject assessment, so our report matches KoSIT's rather than imitating it.

Mapping of our steps onto KoSIT's intermediate format:

* ``wellformedness`` → ``in:validationResultsWellformedness/in:xmlSyntaxError``
* ``xsd`` → ``in:validationResultsXmlSchema`` (``s:resource`` + ``in:xmlSyntaxError``)
* each Schematron step → ``in:validationResultsSchematron`` with an ``svrl:schematron-output``
  rebuilt from the findings (raw SVRL flag, id, location, test, text)
* steps KoSIT does not have (``input``: PDF/XMP container checks, ``scenario``: profiles we
  recognise but never accept, ``processing``) → an extra ``in:validationResultsSchematron`` after
  the real ones, resource ``urn:einvoice:step:<id>``, so rule codes and levels survive
* a step that could not run → a ``fatal`` message with code PROCESSING-ERROR in that step (or a
  ``SEVERITY_FATAL_ERROR`` syntax error for the XML steps) plus ``in:processingError/in:error``,
  so the assessment is reject (fail closed)

If, after all that, the stylesheet would still recommend "accept" for a result we did not accept,
one more ``fatal`` message (code NOT-ACCEPTED) with our reason is added: the XML report never
contradicts the verdict in the other formats in the dangerous direction.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from lxml import etree

from einvoice import __version__, saxon
from einvoice.validation.model import Finding, Level, StepKind, StepResult, ValidationResult
from einvoice.validation.scenarios import Scenario, ScenarioSet

NS_IN = "http://www.xoev.de/de/validator/framework/1/createreportinput"
NS_S = "http://www.xoev.de/de/validator/framework/1/scenarios"
NS_SVRL = "http://purl.oclc.org/dsdl/svrl"
NS_REP = "http://www.xoev.de/de/validator/varl/1"
FRAMEWORK_VERSION = "1.0.0"
ACCEPT_MATCH = "/rep:report/rep:assessment[1]/rep:accept[1]"
ENGINE_NAME = f"einvoice {__version__} (KoSIT validator report format)"

PROCESSING_ERROR = "PROCESSING-ERROR"
NOT_ACCEPTED = "NOT-ACCEPTED"
NO_SCENARIO = "NO-SCENARIO"

_NSMAP = {"in": NS_IN, "s": NS_S, "svrl": NS_SVRL}
_XML_STEPS = {StepKind.WELLFORMED, StepKind.XSD}
# Raw SVRL flag to write when a finding carries none (hand-built results): the level itself.
_LEVEL_FLAG = {Level.FATAL: "fatal", Level.ERROR: "error", Level.WARNING: "warning",
               Level.INFORMATION: "information"}
# KoSIT's customLevel knows error, warning, information; fatal rejects like error.
_CUSTOM_LEVEL = {Level.FATAL: "error", Level.ERROR: "error", Level.WARNING: "warning",
                 Level.INFORMATION: "information"}
_SYNTAX_SEVERITY = {Level.FATAL: "SEVERITY_FATAL_ERROR", Level.ERROR: "SEVERITY_ERROR",
                    Level.WARNING: "SEVERITY_WARNING", Level.INFORMATION: "SEVERITY_WARNING"}
# Human names of rule packs, as KoSIT's scenarios.xml names its resources.
_PACK_NAMES = {
    "cen-ubl": "Schematron rules for EN16931 (UBL)",
    "cen-cii": "Schematron rules for EN16931 (CII)",
    "xrechnung-ubl": "Schematron rules for Invoice - CIUS XRechnung (UBL)",
    "xrechnung-cii": "Schematron rules for Invoice - CIUS XRechnung (CII)",
    "xrechnung-2.3-ubl": "Schematron rules for XRechnung 2.3 (UBL)",
    "xrechnung-2.3-cii": "Schematron rules for XRechnung 2.3 (CII)",
    "peppol-ubl": "Schematron rules for Peppol BIS Billing 3.0 (UBL)",
    "facturx-extended": "Schematron rules for ZUGFeRD/Factur-X EXTENDED",
    "facturx-basic": "Schematron rules for ZUGFeRD/Factur-X BASIC",
}
_SYNTHETIC_NAMES = {
    "input": "einvoice input checks (file format, PDF/XMP container)",
    "scenario": "einvoice scenario policy (recognised document types that are never accepted)",
    "processing": "einvoice processing",
    "verdict": "einvoice verdict",
}
# Characters XML 1.0 cannot carry (lxml refuses them); hostile file names may contain them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class KositReportError(Exception):
    """The KoSIT report could not be produced (stylesheet missing or failing)."""


def render_kosit(result: ValidationResult, scenario: Scenario | None, scenarios: ScenarioSet | None, *,
                 report_xsl: Path) -> str:
    """The ``rep:report`` XML for ``result``, made by ``report_xsl`` (KoSIT's xrechnung-report.xsl)."""
    if scenario is None and scenarios is not None and result.scenario:
        try:
            scenario = scenarios.by_id(result.scenario)
        except KeyError:
            scenario = None
    namespaces = scenarios.namespaces if scenarios is not None else {}
    report_ref = f"kosit-report:{report_xsl.name}"
    report_input = build_report_input(result, scenario, namespaces, report_ref=report_ref)
    report = _transform(report_input, result, report_xsl)
    if not result.accepted and assessment_of(report) == "accept":
        report_input = build_report_input(result, scenario, namespaces, report_ref=report_ref,
                                          force_reject=True)
        report = _transform(report_input, result, report_xsl)
    return report


def assessment_of(report: str) -> str | None:
    """``"accept"`` or ``"reject"`` as recommended by a ``rep:report``; None if it has neither."""
    root = etree.fromstring(report.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
    for name in ("accept", "reject"):
        if root.find(f"{{{NS_REP}}}assessment/{{{NS_REP}}}{name}") is not None:
            return name
    return None


# --------------------------------------------------------------------------- createReportInput


def build_report_input(result: ValidationResult, scenario: Scenario | None, namespaces: dict[str, str], *,
                       report_ref: str = "kosit-report:xrechnung-report.xsl",
                       force_reject: bool = False) -> etree._Element:
    """KoSIT's ``in:createReportInput`` for ``result`` (structure of KoSIT's createReportInput.xsd)."""
    root = etree.Element(f"{{{NS_IN}}}createReportInput", nsmap=_NSMAP)
    root.set("frameworkVersion", FRAMEWORK_VERSION)
    engine = _sub(root, NS_IN, "engine")
    _sub(engine, NS_IN, "name", ENGINE_NAME)
    _sub(root, NS_IN, "timestamp", _timestamp(result.timestamp))
    ident = _sub(root, NS_IN, "documentIdentification")
    digest = _sub(ident, NS_IN, "documentHash")
    _sub(digest, NS_IN, "hashAlgorithm", "SHA-256")
    _sub(digest, NS_IN, "hashValue", _hash_base64(result))
    _sub(ident, NS_IN, "documentReference", result.file or "unnamed document")

    if scenario is None:
        _no_scenario_steps(root, result)
    else:
        root.append(_scenario_element(scenario, namespaces, report_ref))
        _scenario_steps(root, result, scenario, force_reject)

    errors = [f"{step.id}: {step.error}" for step in result.steps if step.error]
    if errors:
        processing = _sub(root, NS_IN, "processingError")
        for error in errors:
            _sub(processing, NS_IN, "error", error)
    return root


def _no_scenario_steps(root: etree._Element, result: ValidationResult) -> None:
    """KoSIT's no-scenario report shows only the well-formedness step: put what rejected the input there."""
    wellformed = _sub(root, NS_IN, "validationResultsWellformedness")
    for step in result.steps:
        if step.kind in (StepKind.WELLFORMED, StepKind.INPUT) or step.error:
            for finding in step.findings:
                # KoSIT turns every syntax message into an error; only rejecting findings belong here.
                if finding.level.rejects and finding.rule != NO_SCENARIO:
                    _syntax_error(wellformed, finding, prefix_rule=finding.rule != "XSD")
            _step_error_as_syntax_error(wellformed, step)


def _scenario_steps(root: etree._Element, result: ValidationResult, scenario: Scenario,
                    force_reject: bool) -> None:
    xml_steps = {kind: [s for s in result.steps if s.kind is kind] for kind in _XML_STEPS}
    wellformed = _sub(root, NS_IN, "validationResultsWellformedness")
    for step in xml_steps[StepKind.WELLFORMED]:
        for finding in step.findings:
            _syntax_error(wellformed, finding, prefix_rule=True)
        _step_error_as_syntax_error(wellformed, step)

    for step in xml_steps[StepKind.XSD]:
        xsd = _sub(root, NS_IN, "validationResultsXmlSchema")
        xsd.append(_resource(_xsd_resource_name(step.resource or scenario.xsd or ""),
                             step.resource or scenario.xsd or "xsd"))
        for finding in step.findings:
            _syntax_error(xsd, finding, prefix_rule=finding.rule != "XSD")
        _step_error_as_syntax_error(xsd, step)

    for step in result.steps:
        if step.kind is StepKind.SCHEMATRON:
            pack = step.resource or step.id
            _schematron_step(root, _resource(_PACK_NAMES.get(pack, f"Schematron rules ({pack})"), pack), step)
    for step in result.steps:
        if step.kind not in _XML_STEPS and step.kind is not StepKind.SCHEMATRON:
            name = _SYNTHETIC_NAMES.get(step.id, f"einvoice step {step.id}")
            _schematron_step(root, _resource(name, f"urn:einvoice:step:{step.id}"), step)
    if force_reject:
        verdict = StepResult("verdict", StepKind.SCENARIO, findings=[Finding(
            NOT_ACCEPTED, Level.FATAL, "verdict",
            result.reason or "The document was not accepted.", location="/", flag="fatal")])
        _schematron_step(root, _resource(_SYNTHETIC_NAMES["verdict"], "urn:einvoice:step:verdict"), verdict)


def _schematron_step(root: etree._Element, resource: etree._Element, step: StepResult) -> None:
    results = _sub(root, NS_IN, "validationResultsSchematron")
    results.append(resource)
    output = _sub(_sub(results, NS_IN, "results"), NS_SVRL, "schematron-output")
    findings = list(step.findings)
    if step.error and not any(f.rule == PROCESSING_ERROR for f in findings):
        findings.append(Finding(PROCESSING_ERROR, Level.FATAL, step.id, step.error, flag="fatal"))
    for finding in findings:
        failed = _sub(output, NS_SVRL, "failed-assert")
        failed.set("id", _xml_text(finding.rule) or "UNSPECIFIC")
        flag = finding.flag or _LEVEL_FLAG[finding.level]
        if finding.rule == PROCESSING_ERROR:
            flag = "fatal"  # a check that did not run must reject whatever the engine wrote
        failed.set("flag", _xml_text(flag))
        failed.set("location", _xml_text(finding.location) or "/")
        failed.set("test", _xml_text(finding.test) or "true()")
        _sub(failed, NS_SVRL, "text", finding.message)


def _syntax_error(parent: etree._Element, finding: Finding, *, prefix_rule: bool) -> None:
    error = _sub(parent, NS_IN, "xmlSyntaxError")
    text = f"[{finding.rule}] {finding.message}" if prefix_rule and finding.rule else finding.message
    _sub(error, NS_IN, "message", " ".join(text.split()))
    level = Level.FATAL if finding.rule == PROCESSING_ERROR else finding.level
    _sub(error, NS_IN, "severityCode", _SYNTAX_SEVERITY[level])
    if finding.line is not None:
        _sub(error, NS_IN, "rowNumber", str(finding.line))
    if finding.column is not None:
        _sub(error, NS_IN, "columnNumber", str(finding.column))


def _step_error_as_syntax_error(parent: etree._Element, step: StepResult) -> None:
    if step.error and not any(f.rule == PROCESSING_ERROR for f in step.findings):
        _syntax_error(parent, Finding(PROCESSING_ERROR, Level.FATAL, step.id, step.error), prefix_rule=True)


def _scenario_element(scenario: Scenario, namespaces: dict[str, str], report_ref: str) -> etree._Element:
    """The matched scenario as KoSIT's ``s:scenario`` (scenarios.xsd, framework 1)."""
    element = etree.Element(f"{{{NS_S}}}scenario", nsmap={"s": NS_S})
    _sub(element, NS_S, "name", scenario.name)
    texts = [t for t in (scenario.description, scenario.reject) if t]
    if texts:
        description = _sub(element, NS_S, "description")
        for text in texts:
            _sub(description, NS_S, "p", " ".join(text.split()))
    for prefix, uri in namespaces.items():
        if re.search(rf"(?<![\w.-]){re.escape(prefix)}:", scenario.match):
            _sub(element, NS_S, "namespace", uri).set("prefix", prefix)
    _sub(element, NS_S, "namespace", NS_REP).set("prefix", "rep")
    _sub(element, NS_S, "match", scenario.match)
    schema = _sub(element, NS_S, "validateWithXmlSchema")
    if scenario.xsd:
        schema.append(_resource(_xsd_resource_name(scenario.xsd), scenario.xsd))
    else:  # scenarios.xsd requires the element; a reject-only scenario validates with nothing
        schema.append(_resource("none (this document type is never accepted)", "urn:einvoice:none"))
    for pack in scenario.schematron:
        _sub(element, NS_S, "validateWithSchematron").append(
            _resource(_PACK_NAMES.get(pack, f"Schematron rules ({pack})"), pack))
    create = _sub(element, NS_S, "createReport")
    create.append(_resource("Validation report (KoSIT xrechnung-report.xsl)", report_ref))
    for rule, level in scenario.custom_levels.items():
        _sub(create, NS_S, "customLevel", rule).set("level", _CUSTOM_LEVEL[level])
    _sub(element, NS_S, "acceptMatch", ACCEPT_MATCH)
    return element


def _resource(name: str, location: str) -> etree._Element:
    resource = etree.Element(f"{{{NS_S}}}resource", nsmap={"s": NS_S})
    _sub(resource, NS_S, "name", name)
    _sub(resource, NS_S, "location", location.replace(" ", "%20"))
    return resource


def _xsd_resource_name(ref: str) -> str:
    path = ref.split(":", 1)[-1]
    return f"XML Schema {PurePosixPath(path).name}" if path else "XML Schema"


def _sub(parent: etree._Element, ns: str, name: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, f"{{{ns}}}{name}")
    if text is not None:
        child.text = _xml_text(text)
    return child


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _timestamp(value: str) -> str:
    """An ``xs:dateTime`` (KoSIT's report formats it); the validation start, or now if unknown."""
    try:
        parsed = datetime.fromisoformat(value) if value else None
    except ValueError:
        parsed = None
    if parsed is None:
        parsed = datetime.now(UTC)
    return parsed.isoformat()


def _hash_base64(result: ValidationResult) -> str:
    """KoSIT writes the SHA-256 of the input as ``xs:base64Binary``; we carry it as hex."""
    try:
        raw = bytes.fromhex(result.sha256)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raw = hashlib.sha256(result.xml or b"").digest()
    return base64.b64encode(raw).decode("ascii")


# --------------------------------------------------------------------------- transformation


def _transform(report_input: etree._Element, result: ValidationResult, report_xsl: Path) -> str:
    if not report_xsl.is_file():
        raise KositReportError(
            f"KoSIT report stylesheet not found: {report_xsl} (run 'einvoice rules install')")
    try:
        executable = saxon.compile_stylesheet(str(report_xsl)).clone()
        processor = saxon.processor()
        executable.set_parameter("input-document", _input_document(result))
        text = etree.tostring(report_input, encoding="unicode")
        report = executable.transform_to_string(xdm_node=processor.parse_xml(xml_text=text))
    except saxon.StylesheetError as exc:
        raise KositReportError(str(exc)) from exc
    except Exception as exc:  # PySaxonApiError and friends: no partial report
        raise KositReportError(f"KoSIT report transformation failed: {exc}") from exc
    if not report:
        raise KositReportError("KoSIT report transformation produced no output")
    return str(report)


def _input_document(result: ValidationResult) -> Any:
    """The validated invoice as a Saxon document for ``$input-document``.

    Parsed by hardened lxml first (no DTD, no entities, no network), so a hostile document never
    reaches Saxon's parser; if it cannot be read, KoSIT's ``error-message`` document stands in.
    """
    if result.xml:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
        try:
            tree = etree.fromstring(result.xml, parser).getroottree()
        except etree.XMLSyntaxError:
            tree = None
        if tree is not None and not getattr(tree.docinfo, "doctype", ""):
            return saxon.parse_text(etree.tostring(tree, encoding="unicode"))
    message = "; ".join(f.message for f in result.findings if f.level.rejects) or "no XML document"
    error = etree.Element("error-message")
    error.text = _xml_text(message)
    return saxon.parse_text(etree.tostring(error, encoding="unicode"))
