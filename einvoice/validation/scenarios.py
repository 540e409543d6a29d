"""Scenario configuration: which checks apply to which document (KoSIT ``scenarios.xml`` semantics).

The configuration lives in ``xrechnung_rules/scenarios.toml``. All ``match`` expressions are
compiled into one small XSLT so that choosing the scenario costs one pass over an already parsed
document, never a re-parse or a per-call XPath compilation.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from einvoice import saxon
from einvoice.validation.model import Level

MATCHER_NS = "urn:einvoice:scenario-matcher"


class ScenarioConfigError(Exception):
    """The scenario configuration is unusable; the message names the scenario and the problem."""


@dataclass(frozen=True)
class Scenario:
    """One document type: how it is recognised and which steps validate it."""

    id: str
    name: str
    match: str
    xsd: str | None = None  # "pack:relative/path.xsd"
    schematron: tuple[str, ...] = ()  # pack names, run in order
    custom_levels: dict[str, Level] = field(default_factory=dict)
    reject: str | None = None  # recognised, but never acceptable (e.g. ZUGFeRD MINIMUM)
    description: str = ""

    def level_for(self, rule: str, level: Level) -> Level:
        """KoSIT's customLevel: the scenario may lower or raise a rule's severity."""
        return self.custom_levels.get(rule, level)


@dataclass
class ScenarioSet:
    """The ordered scenarios of one configuration file, plus their compiled matcher."""

    name: str
    version: str
    namespaces: dict[str, str]
    scenarios: list[Scenario]
    source: Path
    cache_dir: Path

    @classmethod
    def load(cls, path: Path, cache_dir: Path) -> ScenarioSet:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ScenarioConfigError(f"cannot read scenario configuration {path}: {exc}") from exc
        ids: dict[str, str] = raw.get("ids", {})
        scenarios = [_scenario_from(entry, ids) for entry in raw.get("scenario", []) if entry.get("enabled", True)]
        if not scenarios:
            raise ScenarioConfigError(f"{path} defines no [[scenario]]")
        seen: set[str] = set()
        for scenario in scenarios:
            if scenario.id in seen:
                raise ScenarioConfigError(f"scenario id {scenario.id!r} is defined twice in {path}")
            seen.add(scenario.id)
        config = raw.get("config", {})
        return cls(
            name=config.get("name", path.stem),
            version=str(config.get("version", "")),
            namespaces=dict(raw.get("namespaces", {})),
            scenarios=scenarios,
            source=path,
            cache_dir=cache_dir,
        )

    def by_id(self, scenario_id: str) -> Scenario:
        for scenario in self.scenarios:
            if scenario.id == scenario_id:
                return scenario
        raise KeyError(scenario_id)

    @cached_property
    def compiled_matcher(self) -> Any:
        text = self.matcher_xslt()
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        path = self.cache_dir / f"scenario-matcher-{digest}.xsl"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        return saxon.compile_stylesheet(str(path))

    def matcher_xslt(self) -> str:
        """An XSLT that returns the id of the first scenario whose match expression is true."""
        ns_decls = " ".join(f"xmlns:{p}={quoteattr(u)}" for p, u in self.namespaces.items())
        whens = "\n".join(
            f"      <xsl:when test={quoteattr(s.match)}>{escape(s.id)}</xsl:when>" for s in self.scenarios
        )
        return f"""<?xml version="1.0" encoding="UTF-8"?>
<xsl:stylesheet version="3.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" {ns_decls}
    exclude-result-prefixes="#all">
  <xsl:output method="text"/>
  <xsl:template match="/">
    <xsl:choose>
{whens}
      <xsl:otherwise/>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
"""

    def match(self, node: Any) -> Scenario | None:
        """The first scenario matching the parsed Saxon document node, or None."""
        result = self.compiled_matcher.transform_to_string(xdm_node=node)
        scenario_id = (result or "").strip()
        return self.by_id(scenario_id) if scenario_id else None


def _scenario_from(entry: dict[str, Any], ids: dict[str, str]) -> Scenario:
    try:
        scenario_id = entry["id"]
        match = entry["match"].format(**ids)
    except KeyError as exc:
        raise ScenarioConfigError(f"scenario {entry.get('id', '?')!r}: missing or unknown {exc}") from exc
    levels: dict[str, Level] = {}
    for rule, level in entry.get("custom_levels", {}).items():
        try:
            levels[rule] = Level(level)
        except ValueError as exc:
            raise ScenarioConfigError(f"scenario {scenario_id!r}: unknown level {level!r} for {rule}") from exc
    if not entry.get("reject") and not entry.get("xsd"):
        raise ScenarioConfigError(f"scenario {scenario_id!r} needs an xsd (or a reject reason)")
    return Scenario(
        id=scenario_id,
        name=entry.get("name", scenario_id),
        match=match,
        xsd=entry.get("xsd"),
        schematron=tuple(entry.get("schematron", ())),
        custom_levels=levels,
        reject=entry.get("reject"),
        description=entry.get("description", ""),
    )
