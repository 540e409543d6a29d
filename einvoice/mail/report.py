"""The validation verdict of a ledger entry as a supplier reads it: plain-language reasons and the HTML report.

The ledger keeps the verdict as ``ValidationResult.to_dict()``; this rebuilds the result from that
stored form, so the report mailed later is exactly the verdict the ledger recorded.
"""

from __future__ import annotations

from typing import Any

from einvoice.mail.texts import Reason
from einvoice.validation.model import Finding, Level, StepKind, StepResult, ValidationResult
from einvoice.validation.reports.hints import hint_for
from einvoice.validation.reports.html import render_html

MAX_REASONS = 10


def _kind(value: Any) -> StepKind:
    try:
        return StepKind(str(value))
    except ValueError:
        return StepKind.INPUT


def _level(value: Any) -> Level:
    try:
        return Level(str(value))
    except ValueError:
        return Level.ERROR  # fail closed: an unknown level counts as rejecting


def result_from_dict(stored: dict[str, Any]) -> ValidationResult:
    """The ``ValidationResult`` behind a stored ``to_dict()`` (findings back in their steps)."""
    steps = {str(s.get("id")): StepResult(id=str(s.get("id")), kind=_kind(s.get("kind")),
                                          resource=str(s.get("resource") or ""), error=s.get("error"))
             for s in stored.get("steps") or []}
    for raw in stored.get("findings") or []:
        step_id = str(raw.get("step") or "input")
        step = steps.setdefault(step_id, StepResult(id=step_id, kind=StepKind.INPUT))
        step.findings.append(Finding(rule=str(raw.get("rule") or ""), level=_level(raw.get("level")),
                                     step=step_id, message=str(raw.get("message") or ""),
                                     location=str(raw.get("location") or ""), value=str(raw.get("value") or "")))
    return ValidationResult(file=str(stored.get("file") or ""), sha256=str(stored.get("sha256") or ""),
                            accepted=bool(stored.get("accepted")), scenario=stored.get("scenario"),
                            syntax=stored.get("syntax"), steps=list(steps.values()),
                            container=str(stored.get("container") or "xml"), profile=stored.get("profile"),
                            reason=str(stored.get("reason") or ""))


def reasons(result: ValidationResult, lang: str) -> tuple[list[Reason], int]:
    """The rejecting findings in plain language (one per rule, hint preferred), and how many more there are."""
    seen: dict[str, Reason] = {}
    for finding in result.findings:
        if finding.level.rejects and finding.rule not in seen:
            seen[finding.rule] = Reason(finding.rule, hint_for(finding.rule, lang) or finding.message)
    for step in result.steps:
        if step.error and step.id not in seen:
            seen[step.id] = Reason(step.id, step.error)
    listed = list(seen.values())
    return listed[:MAX_REASONS], max(0, len(listed) - MAX_REASONS)


def html_report(result: ValidationResult, lang: str) -> bytes:
    return render_html(result, lang=lang).encode("utf-8")
