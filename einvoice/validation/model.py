"""Results of validating one document: plain dataclasses shared by the engine, reports and CLI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Level(StrEnum):
    """Severity after KoSIT custom levels are applied; error and fatal reject a document."""

    FATAL = "fatal"
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"

    @property
    def rejects(self) -> bool:
        return self in (Level.FATAL, Level.ERROR)


class StepKind(StrEnum):
    """The kinds of validation steps, in the order KoSIT runs them."""

    WELLFORMED = "wellformedness"
    INPUT = "input"  # container/format checks: PDF extraction, XMP profile, size limits
    SCENARIO = "scenario"
    XSD = "xsd"
    SCHEMATRON = "schematron"


@dataclass
class Finding:
    """One message of one step: a failed assert, a schema error, or a processing error."""

    rule: str  # rule id (BR-DE-1, BR-CO-10, ...) or a synthetic id (XSD, PDF-XMP, PROCESSING-ERROR)
    level: Level
    step: str  # step id, e.g. "xsd", "cen-ubl", "xrechnung-ubl"
    message: str
    location: str = ""  # XPath of the offending node, or "line:col" for XSD errors
    value: str = ""  # offending value where known
    test: str = ""  # the XPath test that failed (Schematron)
    flag: str = ""  # the raw SVRL flag/role before custom levels (KoSIT report input needs it)
    line: int | None = None
    column: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["level"] = self.level.value
        return data


@dataclass
class StepResult:
    """Outcome of one step; ``error`` is set when the step itself failed (fail closed)."""

    id: str
    kind: StepKind
    resource: str = ""  # pack/file name the step ran with
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    duration_ms: float = 0.0

    @property
    def valid(self) -> bool:
        return self.error is None and not any(f.level.rejects for f in self.findings)


@dataclass
class ValidationResult:
    """Verdict for one input file."""

    file: str
    sha256: str
    accepted: bool
    scenario: str | None  # matched scenario name, None if none matched
    syntax: str | None  # "UBL-Invoice", "UBL-CreditNote", "CII"
    steps: list[StepResult] = field(default_factory=list)
    container: str = "xml"  # "xml" or "pdf"
    profile: str | None = None  # ZUGFeRD/Factur-X profile where applicable
    reason: str = ""  # plain-language one-line summary of why it was rejected
    timestamp: str = ""  # ISO 8601 start of validation
    xml: bytes | None = field(default=None, repr=False)  # the validated XML (embedded XML for PDFs)

    @property
    def findings(self) -> list[Finding]:
        return [f for step in self.steps for f in step.findings]

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable JSON shape promised by the CLI and API."""
        return {
            "file": self.file,
            "accepted": self.accepted,
            "scenario": self.scenario,
            "syntax": self.syntax,
            "container": self.container,
            "profile": self.profile,
            "sha256": self.sha256,
            "reason": self.reason,
            "findings": [
                {
                    "rule": f.rule,
                    "level": f.level.value,
                    "step": f.step,
                    "message": f.message,
                    "location": f.location,
                    **({"value": f.value} if f.value else {}),
                }
                for f in self.findings
            ],
            "steps": [
                {"id": s.id, "kind": s.kind.value, "resource": s.resource, "valid": s.valid,
                 "error": s.error, "duration_ms": round(s.duration_ms, 3)}
                for s in self.steps
            ],
        }
