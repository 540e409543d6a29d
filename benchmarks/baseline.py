"""A validation pipeline that works the way existing Python tools do (``eu-einvoice``).

It mirrors ``eu_einvoice/validate.py`` + ``eu_einvoice/saxon.py``: stylesheets and schemas are
compiled once per process, but every document is serialised to a temporary file and every
step re-parses that file — the XML Schema check with lxml, and each Schematron XSLT with
``transform_to_string(source_file=...)`` (so Saxon builds a new tree per step) — and the SVRL
result string is parsed again with lxml to collect the failed asserts.

The rule packs are the same as ours (UBL 2.1 / CII D16B XSD, CEN EN 16931, XRechnung 3.0), in
two variants: the official, precompiled XSLTs that existing tools ship (CEN's
``EN16931-*-validation.xslt`` and Mustang's XRechnung 3.0 XSLT) and the XSLTs our Schematron
compiler produced. Running both separates the effect of the pipeline from that of the compiler.
Verdicts use the same semantics as our engine (KoSIT custom levels of the matched scenario, error
and fatal reject) so that the two can be compared document by document.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

from einvoice import saxon

SVRL = "http://purl.oclc.org/dsdl/svrl"
UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDITNOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CII = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
_REJECTING = {"fatal", "error"}
_NOT_REJECTING = {"warning", "warn", "information", "info"}


@dataclass(frozen=True)
class BaselineRules:
    """Which XSD and XSLT files the baseline uses, per document kind (``ubl-invoice`` …)."""

    label: str
    xsd: dict[str, Path]
    xslt: dict[str, tuple[tuple[str, Path], ...]]  # kind -> ((step name, stylesheet), ...)

    @classmethod
    def official(cls, rules_dir: Path) -> BaselineRules:
        """CEN's official compiled XSLT + Mustang's XRechnung 3.0 XSLT, as other tools use them."""
        from einvoice.rules.store import RuleStore

        store = RuleStore(rules_dir)
        cen_ubl = store.pack("cen-ubl").path / "official" / "EN16931-UBL-validation.xslt"
        cen_cii = store.pack("cen-cii").path / "official" / "EN16931-CII-validation.xslt"
        xr_ubl = store.validation_xslt("xrechnung-3.0-mustang-ubl")
        xr_cii = store.validation_xslt("xrechnung-3.0-mustang-cii")
        return cls._with(store, "official", cen_ubl, xr_ubl, cen_cii, xr_cii)

    @classmethod
    def ours(cls, rules_dir: Path) -> BaselineRules:
        """The XSLTs our Schematron compiler built from the same Schematron sources."""
        from einvoice.rules.store import RuleStore

        store = RuleStore(rules_dir)
        xslt = store.validation_xslt
        return cls._with(store, "ours", xslt("cen-ubl"), xslt("xrechnung-ubl"), xslt("cen-cii"),
                         xslt("xrechnung-cii"))

    @classmethod
    def from_standards(cls, standards: Path) -> BaselineRules:
        """Official files read straight from the standards folder (no rule-pack install needed)."""
        cii_schemas = standards / "cen-en16931" / "cii" / "schema"
        cii_xsd = next(cii_schemas.rglob("CrossIndustryInvoice_100pD16B.xsd"))
        return cls(
            label="official (standards folder)",
            xsd={
                "ubl-invoice": standards / "ubl-2.1" / "xsd" / "maindoc" / "UBL-Invoice-2.1.xsd",
                "ubl-creditnote": standards / "ubl-2.1" / "xsd" / "maindoc" / "UBL-CreditNote-2.1.xsd",
                "cii": cii_xsd,
            },
            xslt=_steps(
                standards / "cen-en16931" / "ubl" / "xslt" / "EN16931-UBL-validation.xslt",
                standards / "mustang-compiled-rules" / "XR_30" / "XRechnung-UBL-validation.xslt",
                standards / "cen-en16931" / "cii" / "xslt" / "EN16931-CII-validation.xslt",
                standards / "mustang-compiled-rules" / "XR_30" / "XRechnung-CII-validation.xslt",
            ),
        )

    @classmethod
    def _with(cls, store: Any, label: str, cen_ubl: Path, xr_ubl: Path, cen_cii: Path,
              xr_cii: Path) -> BaselineRules:
        return cls(
            label=label,
            xsd={
                "ubl-invoice": store.xsd("ubl-2.1", "Invoice"),
                "ubl-creditnote": store.xsd("ubl-2.1", "CreditNote"),
                "cii": store.xsd("cii-d16b", "CrossIndustryInvoice"),
            },
            xslt=_steps(cen_ubl, xr_ubl, cen_cii, xr_cii),
        )


def _steps(cen_ubl: Path, xr_ubl: Path, cen_cii: Path,
           xr_cii: Path) -> dict[str, tuple[tuple[str, Path], ...]]:
    ubl = (("cen-ubl", cen_ubl), ("xrechnung-ubl", xr_ubl))
    cii = (("cen-cii", cen_cii), ("xrechnung-cii", xr_cii))
    return {"ubl-invoice": ubl, "ubl-creditnote": ubl, "cii": cii}


@dataclass
class BaselineFinding:
    rule: str
    flag: str
    step: str
    rejects: bool


@dataclass
class BaselineResult:
    """Verdict plus per-step wall time in milliseconds (for the profile)."""

    file: str
    accepted: bool
    kind: str | None
    findings: list[BaselineFinding] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    @property
    def error_rules(self) -> set[str]:
        return {f.rule for f in self.findings if f.rejects}


class CustomLevels:
    """KoSIT custom levels per specification identifier, read from our scenario configuration.

    eu-einvoice has no custom levels; the baseline applies ours (a dict lookup per finding) so
    its verdicts are comparable with our engine's and only the pipeline differs.
    """

    def __init__(self, scenarios_toml: Path) -> None:
        raw = tomllib.loads(scenarios_toml.read_text(encoding="utf-8"))
        self._ids: dict[str, str] = raw.get("ids", {})
        self._scenarios: list[dict[str, Any]] = raw.get("scenario", [])

    @lru_cache(maxsize=64)  # noqa: B019 - one instance per process, a handful of keys
    def for_document(self, kind: str, spec_id: str) -> dict[str, str]:
        root = {"ubl-invoice": "invoice:Invoice", "ubl-creditnote": "creditnote:CreditNote",
                "cii": "rsm:CrossIndustryInvoice"}[kind]
        for entry in self._scenarios:
            match = entry["match"].format(**self._ids)
            if root in match and f"'{spec_id}'" in match:
                return {rule: level for rule, level in entry.get("custom_levels", {}).items()}
        return {}


class BaselineValidator:
    """eu-einvoice's pipeline: compile once, then temp file + re-parse per step per document."""

    def __init__(self, rules: BaselineRules, custom_levels: CustomLevels | None = None) -> None:
        self.rules = rules
        self.custom_levels = custom_levels
        self._schemas: dict[Path, etree.XMLSchema] = {}
        self._stylesheets: dict[Path, Any] = {}

    def warm_up(self) -> None:
        for path in self.rules.xsd.values():
            self._schema(path)
        for steps in self.rules.xslt.values():
            for _, path in steps:
                self._stylesheet(path)

    def _schema(self, path: Path) -> etree.XMLSchema:
        schema = self._schemas.get(path)
        if schema is None:
            schema = self._schemas[path] = etree.XMLSchema(etree.parse(str(path)))
        return schema

    def _stylesheet(self, path: Path) -> Any:
        executable = self._stylesheets.get(path)
        if executable is None:
            xslt = saxon.processor().new_xslt30_processor()
            executable = self._stylesheets[path] = xslt.compile_stylesheet(stylesheet_file=str(path))
        return executable

    def validate_file(self, path: Path) -> BaselineResult:
        return self.validate_bytes(path.read_bytes(), str(path))

    def validate_bytes(self, data: bytes, filename: str = "") -> BaselineResult:
        timings: dict[str, float] = {}
        clock = _Clock(timings)
        with clock("parse"):
            try:
                tree = etree.ElementTree(etree.fromstring(data))
            except etree.XMLSyntaxError as exc:
                return BaselineResult(filename, False, None, error=f"not well-formed: {exc}", timings=timings)
        root = tree.getroot()
        kind = _kind_of(root)
        if kind is None:
            return BaselineResult(filename, False, None, error="not UBL or CII", timings=timings)
        levels = self.custom_levels.for_document(kind, _spec_id(root, kind)) if self.custom_levels else {}
        result = BaselineResult(filename, False, kind, timings=timings)
        with clock("write-temp"), tempfile.NamedTemporaryFile("wb", suffix=".xml", delete=False) as tmp:
            tmp.write(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))
            tmp_path = tmp.name
        try:
            with clock("xsd"):
                schema = self._schema(self.rules.xsd[kind])
                xsd_valid = schema.validate(etree.parse(tmp_path))
            if not xsd_valid:
                result.findings += [BaselineFinding("XSD", "fatal", "xsd", True) for _ in schema.error_log]
            for step, path in self.rules.xslt[kind]:
                with clock(step):
                    svrl = self._stylesheet(path).transform_to_string(source_file=tmp_path)
                with clock(f"{step}:svrl"):
                    result.findings += _parse_svrl(svrl, step, levels)
        except Exception as exc:  # fail closed, like our engine
            result.error = f"{type(exc).__name__}: {exc}"
            return result
        finally:
            os.unlink(tmp_path)
        result.accepted = not any(f.rejects for f in result.findings)
        return result


class _Clock:
    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings

    def __call__(self, name: str) -> _Timed:
        return _Timed(self.timings, name)


class _Timed:
    def __init__(self, timings: dict[str, float], name: str) -> None:
        self.timings, self.name = timings, name

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        elapsed = (time.perf_counter() - self.started) * 1000
        self.timings[self.name] = self.timings.get(self.name, 0.0) + elapsed


def _kind_of(root: etree._Element) -> str | None:
    return {UBL_INVOICE: "ubl-invoice", UBL_CREDITNOTE: "ubl-creditnote", CII: "cii"}.get(
        etree.QName(root).namespace or "")


def _spec_id(root: etree._Element, kind: str) -> str:
    if kind == "cii":
        node = root.find(f".//{{{RAM}}}GuidelineSpecifiedDocumentContextParameter/{{{RAM}}}ID")
    else:
        node = root.find(f"{{{CBC}}}CustomizationID")
    return (node.text or "").strip() if node is not None else ""


def _parse_svrl(text: str, step: str, levels: dict[str, str]) -> list[BaselineFinding]:
    """eu-einvoice's ``_parse_svrl``: re-parse the SVRL string, collect asserts and reports."""
    findings = []
    root = etree.fromstring(text.encode("utf-8"))
    for tag in ("failed-assert", "successful-report"):
        for node in root.iter(f"{{{SVRL}}}{tag}"):
            rule = node.get("id") or ""
            if not rule:
                message = node.find(f"{{{SVRL}}}text")
                text = "".join(message.itertext()) if message is not None else ""
                match = re.match(r"\s*\[([A-Z0-9-]+)\]", text)
                rule = match.group(1) if match else "UNSPECIFIC"
            flag = (node.get("flag") or node.get("role") or "error").strip().lower()
            level = levels.get(rule, "error" if flag not in _NOT_REJECTING else flag)
            findings.append(BaselineFinding(rule, flag, step, level in _REJECTING))
    return findings


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Run ``fn`` once; return its result and the wall time in milliseconds."""
    started = time.perf_counter()
    value = fn()
    return value, (time.perf_counter() - started) * 1000
