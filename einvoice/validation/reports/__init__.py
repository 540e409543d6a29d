"""Reports of a ``ValidationResult``: JSON (machines), text (terminal), HTML (people), KoSIT XML."""

from __future__ import annotations

import json
from pathlib import Path

from einvoice.validation.model import ValidationResult
from einvoice.validation.reports.hints import hint_for
from einvoice.validation.reports.html import render_html
from einvoice.validation.reports.kosit import KositReportError, render_kosit
from einvoice.validation.reports.text import render_text
from einvoice.validation.scenarios import Scenario, ScenarioSet

FORMATS: tuple[str, ...] = ("json", "text", "html", "kosit")
KOSIT_REPORT_XSL = "kosit-report:xrechnung-report.xsl"

__all__ = ["FORMATS", "KositReportError", "hint_for", "render", "render_html", "render_kosit", "render_text"]


def render(result: ValidationResult, fmt: str, *, scenario: Scenario | None = None,
           scenarios: ScenarioSet | None = None, lang: str = "de", report_xsl: Path | None = None) -> str:
    """``result`` in one of ``FORMATS``; ``kosit`` uses the installed KoSIT report stylesheet by default."""
    if scenario is None and scenarios is not None and result.scenario:
        try:
            scenario = scenarios.by_id(result.scenario)
        except KeyError:
            scenario = None
    name = scenario.name if scenario is not None else None
    if fmt == "json":
        return json.dumps(result.to_dict(), ensure_ascii=False, indent=2)
    if fmt == "text":
        return render_text(result, lang=lang, scenario_name=name)
    if fmt == "html":
        return render_html(result, lang=lang, scenario_name=name)
    if fmt == "kosit":
        if report_xsl is None:
            from einvoice.rules.store import RuleStore

            report_xsl = RuleStore.from_settings().path(KOSIT_REPORT_XSL)
        return render_kosit(result, scenario, scenarios, report_xsl=report_xsl)
    raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
