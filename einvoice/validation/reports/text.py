"""Plain-text report for the terminal: one verdict line, then one line per finding (grep-friendly)."""

from __future__ import annotations

import re

from einvoice.validation.model import Level, ValidationResult
from einvoice.validation.reports.common import findings_with_step_errors, short_xpath
from einvoice.validation.reports.labels import labels, level_label

_RESET = "\x1b[0m"
_COLOURS = {
    Level.FATAL: "\x1b[1;31m",
    Level.ERROR: "\x1b[1;31m",
    Level.WARNING: "\x1b[33m",
    Level.INFORMATION: "\x1b[36m",
}
_OK, _BAD = "\x1b[1;32m", "\x1b[1;31m"
# C0/C1 control characters (incl. ESC and CSI) from documents must not reach the terminal as such.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _safe(text: str) -> str:
    """Neutralise control characters and fold newlines, so a hostile message cannot drive the terminal."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return " ".join(text.split())


def render_text(result: ValidationResult, *, color: bool = False, lang: str = "en",
                scenario_name: str | None = None) -> str:
    """``✔/✘ file — accepted/rejected — scenario``, the reason if rejected, then one line per finding.

    Finding lines read ``LEVEL RULE [step] message (location)``; ``lang`` chooses the words.
    """
    words = labels(lang)
    verdict = words["accepted_short"] if result.accepted else words["rejected_short"]
    mark = "✔" if result.accepted else "✘"
    if color:
        mark = f"{_OK if result.accepted else _BAD}{mark}{_RESET}"
    scenario = scenario_name or result.scenario or words["no_scenario"]
    lines = [f"{mark} {_safe(result.file)} — {verdict} — {_safe(scenario)}"]
    if not result.accepted and result.reason:
        lines.append(f"  {_safe(result.reason)}")
    for finding in findings_with_step_errors(result):
        level = level_label(finding.level, lang)
        if color:
            level = f"{_COLOURS[finding.level]}{level}{_RESET}"
        line = f"{level} {_safe(finding.rule)} [{_safe(finding.step)}] {_safe(finding.message)}"
        location = short_xpath(finding.location)
        if location:
            line += f" ({_safe(location)})"
        lines.append(line)
    return "\n".join(lines)
