"""The validation pipeline: detect → parse once → scenario → XSD → Schematron steps → verdict.

Fail closed: every step that cannot run marks the document "not accepted" with the error in the
result; nothing here turns an exception into "accepted".
"""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import etree

from einvoice import saxon
from einvoice.config import Settings, get_settings
from einvoice.formats.detect import InvoiceDocument, guideline_hint, load_document
from einvoice.formats.xml import InputError
from einvoice.rules.store import RulePackError, RuleStore
from einvoice.schematron.opacity import expression_reasons, without_attachment_content
from einvoice.schematron.runner import SchematronError, SchematronRunner
from einvoice.validation.model import Finding, Level, StepKind, StepResult, ValidationResult
from einvoice.validation.scenarios import Scenario, ScenarioSet

_FLAG_LEVELS = {
    "fatal": Level.ERROR,
    "error": Level.ERROR,
    "warning": Level.WARNING,
    "warn": Level.WARNING,
    "information": Level.INFORMATION,
    "info": Level.INFORMATION,
}


def level_of_flag(flag: str) -> Level:
    """KoSIT's mapping of SVRL flag/role to a report level (default-report.xsl): unknown means error."""
    return _FLAG_LEVELS.get(flag.strip().lower(), Level.ERROR)


class Validator:
    """Validates documents against the installed rule packs; build once, reuse for every document.

    Compiled stylesheets, schemas and the scenario matcher are cached on the instance, so the per
    document cost is one lxml parse (XSD, detection), one Saxon tree build shared by all
    Schematron steps, and the checks themselves. Where every rule of the scenario is proven blind
    to attachment content (:mod:`einvoice.schematron.opacity`), Saxon gets the document with the
    base64 of embedded attachments replaced by a placeholder: the same findings, a fraction of the
    tree. The XML Schema always sees the original.
    """

    def __init__(self, store: RuleStore, scenarios: ScenarioSet) -> None:
        self.store = store
        self.scenarios = scenarios
        self._schemas: dict[str, etree.XMLSchema] = {}  # by pack reference
        self._runners: dict[str, SchematronRunner] = {}
        self._lock = threading.Lock()
        self._matcher_blind: bool | None = None

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Validator:
        settings = settings or get_settings()
        scenarios = ScenarioSet.load(settings.rules_config_dir / "scenarios.toml", settings.rules_dir / "cache")
        return cls(RuleStore(settings.rules_dir), scenarios)

    def warm_up(self) -> None:
        """Compile every schema and stylesheet the scenarios use, so the first document is not slow."""
        for scenario in self.scenarios.scenarios:
            if scenario.reject:
                continue
            if scenario.xsd:
                self._schema(scenario.xsd)
            for pack in scenario.schematron:
                self._runner(pack)
        _ = self.scenarios.compiled_matcher

    def validate_file(self, path: Path) -> ValidationResult:
        return self.validate_bytes(path.read_bytes(), str(path))

    def validate_bytes(self, data: bytes, filename: str = "") -> ValidationResult:
        result = ValidationResult(
            file=filename,
            sha256=hashlib.sha256(data).hexdigest(),
            accepted=False,
            scenario=None,
            syntax=None,
            timestamp=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        try:
            self._run(data, filename, result)
        except Exception as exc:  # fail closed: an unexpected error never yields "accepted"
            result.steps.append(_error_step("processing", StepKind.INPUT, f"{type(exc).__name__}: {exc}"))
            result.accepted = False
            result.reason = "The document could not be checked completely, so it is not accepted."
        return result

    def _run(self, data: bytes, filename: str, result: ValidationResult) -> None:
        started = time.perf_counter()
        try:
            doc = load_document(data, filename)
        except InputError as exc:
            step = StepResult("wellformedness", StepKind.WELLFORMED,
                              findings=[Finding(exc.rule, Level.ERROR, "wellformedness", exc.message)])
            result.steps.append(step)
            result.reason = exc.message
            return
        result.xml, result.container, result.syntax, result.profile = (
            doc.xml, doc.container, doc.syntax, doc.profile)
        result.steps.append(StepResult("wellformedness", StepKind.WELLFORMED,
                                       duration_ms=_ms(started)))
        if doc.container_findings:
            result.steps.append(StepResult("input", StepKind.INPUT, findings=list(doc.container_findings)))

        lean = without_attachment_content(doc.tree) if self._matcher_blind_to_attachments() else None
        node = saxon.parse_text(lean if lean is not None else doc.text)
        scenario = self.scenarios.match(node)
        if scenario is None:
            result.steps.append(StepResult("scenario", StepKind.SCENARIO, findings=[
                Finding("NO-SCENARIO", Level.ERROR, "scenario", _no_scenario_message(doc))]))
            result.reason = _no_scenario_message(doc)
            return
        result.scenario = scenario.id
        if scenario.reject:
            result.steps.append(StepResult("scenario", StepKind.SCENARIO, findings=[
                Finding("SCENARIO-REJECTED", Level.ERROR, "scenario", scenario.reject)]))
            result.reason = scenario.reject
            return

        xsd_step = self._validate_xsd(scenario, doc)
        result.steps.append(xsd_step)
        if xsd_step.valid and lean is not None and self._reads_attachments(scenario):
            node = saxon.parse_text(doc.text)  # a rule may read attachment content: the full document
        if xsd_step.valid:
            # KoSIT runs the Schematron steps only on schema-valid documents.
            for pack in scenario.schematron:
                result.steps.append(self._validate_schematron(scenario, pack, node))
        result.accepted = all(step.valid for step in result.steps)
        if not result.accepted:
            result.reason = _rejection_summary(result)

    def _validate_xsd(self, scenario: Scenario, doc: InvoiceDocument) -> StepResult:
        started = time.perf_counter()
        assert scenario.xsd is not None
        step = StepResult("xsd", StepKind.XSD, resource=scenario.xsd)
        try:
            schema = self._schema(scenario.xsd)
        except (RulePackError, etree.XMLSchemaParseError, OSError) as exc:
            step.error = f"XML Schema {scenario.xsd} is unusable: {exc}"
            return step
        if not schema.validate(doc.tree):
            for err in schema.error_log:
                step.findings.append(Finding(
                    rule="XSD", level=Level.ERROR, step="xsd", message=err.message,
                    location=f"line {err.line}, column {err.column}", line=err.line, column=err.column,
                    flag="error"))
        step.duration_ms = _ms(started)
        return step

    def _validate_schematron(self, scenario: Scenario, pack: str, node: Any) -> StepResult:
        started = time.perf_counter()
        step = StepResult(pack, StepKind.SCHEMATRON, resource=pack)
        try:
            fired = self._runner(pack).run_node(node)
        except (RulePackError, SchematronError, saxon.StylesheetError) as exc:
            step.error = str(exc)
            return step
        for item in fired:
            level = scenario.level_for(item.id, level_of_flag(item.flag or item.role))
            step.findings.append(Finding(
                rule=item.id or "UNSPECIFIC", level=level, step=pack, message=item.text,
                location=item.location, test=item.test, flag=item.flag or item.role))
        step.duration_ms = _ms(started)
        return step

    def _matcher_blind_to_attachments(self) -> bool:
        """Scenario matching on a document with placeholders gives the same scenario (checked once)."""
        if self._matcher_blind is None:
            reasons = expression_reasons([s.match for s in self.scenarios.scenarios], self.scenarios.namespaces)
            self._matcher_blind = not reasons
        return self._matcher_blind

    def _reads_attachments(self, scenario: Scenario) -> bool:
        try:
            return any(self._runner(pack).reads_attachments for pack in scenario.schematron)
        except (RulePackError, SchematronError):
            return True  # the step will report the problem; the document is not accepted anyway

    def _schema(self, ref: str) -> etree.XMLSchema:
        with self._lock:
            schema = self._schemas.get(ref)
            if schema is None:
                parser = etree.XMLParser(resolve_entities=False, no_network=True)
                schema = etree.XMLSchema(etree.parse(str(self.store.path(ref)), parser))
                self._schemas[ref] = schema
        return schema

    def _runner(self, pack: str) -> SchematronRunner:
        with self._lock:
            runner = self._runners.get(pack)
            if runner is None:
                runner = SchematronRunner(self.store.validation_xslt(pack))
                self._runners[pack] = runner
        return runner


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _error_step(step_id: str, kind: StepKind, message: str) -> StepResult:
    return StepResult(step_id, kind, error=message,
                      findings=[Finding("PROCESSING-ERROR", Level.ERROR, step_id, message)])


def _no_scenario_message(doc: InvoiceDocument) -> str:
    root = etree.QName(doc.tree.getroot())
    spec = f" with specification identifier '{doc.specification_id}'" if doc.specification_id else ""
    return (
        f"The document ({root.localname} in namespace '{root.namespace or ''}'{spec}) matches no "
        "accepted invoice type. Accepted are XRechnung 3.0 (UBL or CII), Peppol BIS Billing 3.0 and "
        "ZUGFeRD/Factur-X EN 16931, EXTENDED or XRECHNUNG." + guideline_hint(doc.specification_id)
    )


def _rejection_summary(result: ValidationResult) -> str:
    broken = [s for s in result.steps if s.error]
    if broken:
        return f"The check '{broken[0].id}' could not be run ({broken[0].error}); the document is not accepted."
    errors = [f for f in result.findings if f.level.rejects]
    if not errors:
        return "The document is not accepted."
    rules = sorted({f.rule for f in errors})
    shown = ", ".join(rules[:8]) + (" …" if len(rules) > 8 else "")
    return f"{len(errors)} error(s) against the rules ({shown}); first: {errors[0].message}"
