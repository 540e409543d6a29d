"""HTML report for people (suppliers, accounts staff): plain words, grouped findings, hints.

One self-contained page: inline CSS, no scripts, no external resources, so it can be mailed,
archived or opened offline. Every value from the document is escaped by Jinja's autoescaping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from einvoice import __version__
from einvoice.validation.model import Finding, Level, ValidationResult
from einvoice.validation.reports.common import findings_with_step_errors, short_xpath
from einvoice.validation.reports.hints import hint_for
from einvoice.validation.reports.labels import labels, normalize_lang, step_label

TEMPLATES = Path(__file__).parent / "templates"

# Severity groups, most severe first; fatal counts as error (both reject the document).
_GROUPS: tuple[tuple[str, tuple[Level, ...]], ...] = (
    ("error", (Level.FATAL, Level.ERROR)),
    ("warning", (Level.WARNING,)),
    ("information", (Level.INFORMATION,)),
)


@dataclass
class Row:
    """One finding as the page shows it."""

    rule: str
    message: str
    step: str
    location: str
    value: str
    hint: str | None
    hint_repeated: bool


@dataclass
class Group:
    key: str
    title: str
    intro: str
    rows: list[Row] = field(default_factory=list)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _groups(findings: list[Finding], lang: str) -> list[Group]:
    words = labels(lang)
    hinted: set[str] = set()
    groups: list[Group] = []
    for key, levels in _GROUPS:
        group = Group(key, words[f"group_{key}"], words[f"group_{key}_intro"])
        for finding in (f for f in findings if f.level in levels):
            hint = hint_for(finding.rule, lang)
            repeated = hint is not None and finding.rule in hinted
            hinted.add(finding.rule)
            group.rows.append(Row(
                rule=finding.rule,
                message=finding.message,
                step=step_label(finding.step, lang),
                location=short_xpath(finding.location),
                value=finding.value,
                hint=None if repeated else hint,
                hint_repeated=repeated,
            ))
        if group.rows:
            groups.append(group)
    return groups


def render_html(result: ValidationResult, *, lang: str = "de", scenario_name: str | None = None) -> str:
    """The complete page; ``scenario_name`` is the matched scenario's human name where the caller knows it."""
    code = normalize_lang(lang)
    words = labels(code)
    findings = findings_with_step_errors(result)
    counts = {key: sum(f.level in levels for f in findings) for key, levels in _GROUPS}
    steps = [
        {
            "label": step_label(step.id, code),
            "id": step.id,
            "state": "error" if step.error else ("ok" if step.valid else "failed"),
            "errors": sum(f.level.rejects for f in step.findings) + (1 if step.error else 0),
            "warnings": sum(f.level is Level.WARNING for f in step.findings),
            "infos": sum(f.level is Level.INFORMATION for f in step.findings),
        }
        for step in result.steps
    ]
    container = words.get(f"container_{result.container}", result.container)
    template = _environment().get_template("report.html.j2")
    return template.render(
        lang=code,
        t=words,
        result=result,
        scenario=scenario_name or result.scenario or words["no_scenario"],
        container=container,
        steps=steps,
        broken=[(step_label(s.id, code), s.error) for s in result.steps if s.error],
        groups=_groups(findings, code),
        summary=words["summary"].format(
            errors=counts["error"], warnings=counts["warning"], infos=counts["information"]),
        footer=words["footer"].format(version=__version__),
    )
