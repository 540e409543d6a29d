"""The rule-pack manifest: which upstream artefacts make up each pack and how to check them.

The manifest (``xrechnung_rules/manifest.toml``) is the single place that pins upstream sources:
download URLs with archive SHA-256, where the files sit in an archive or a standards folder,
and the content hash of the known-good pack, so an install can tell "verified" from "unverified".
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from einvoice.rules.store import RulePackError

KINDS = ("xsd", "schematron", "xslt", "xsd+xslt", "report")
BUILDS = ("", "xrechnung")
PACKAGES = ("", "facturx")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]*$")


@dataclass(frozen=True)
class PackSpec:
    """One pack as the manifest describes it; paths are POSIX, relative, never absolute."""

    name: str
    kind: str
    description: str
    version: str
    licence: str
    repository: str
    commit: str
    url: str
    sha256: str
    archive_paths: tuple[str, ...]
    local_paths: tuple[str, ...]
    pack_paths: tuple[str, ...]
    main: str
    content_sha256: str
    release: str = ""
    compile: tuple[str, ...] = ()
    official: str = ""
    xslt: str = ""
    xsd: dict[str, str] = field(default_factory=dict)
    build: str = ""
    syntax: str = ""
    generated: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    package: str = ""
    package_paths: tuple[str, ...] = ()
    package_only: bool = False
    package_content_sha256: str = ""

    @property
    def known_hashes(self) -> tuple[str, ...]:
        """Content hashes that count as known-good (upstream source, or the package fallback)."""
        return tuple(h for h in (self.content_sha256, self.package_content_sha256) if h)


@dataclass(frozen=True)
class Manifest:
    """All packs, in manifest order."""

    path: Path
    packs: dict[str, PackSpec]

    def get(self, name: str) -> PackSpec:
        try:
            return self.packs[name]
        except KeyError:
            known = ", ".join(self.packs)
            raise RulePackError(f"unknown rule pack {name!r}; known packs: {known}") from None

    def select(self, names: list[str] | None) -> list[PackSpec]:
        """The packs to install, in manifest order; ``None`` means all."""
        if not names:
            return list(self.packs.values())
        wanted = {self.get(n).name for n in names}
        return [p for p in self.packs.values() if p.name in wanted]


def default_manifest_path() -> Path:
    from einvoice.config import get_settings

    return get_settings().rules_config_dir / "manifest.toml"


def load_manifest(path: Path | None = None) -> Manifest:
    """Load and check the manifest; a broken manifest must stop an install before it starts."""
    path = path or default_manifest_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RulePackError(f"cannot read rule-pack manifest {path}: {exc}") from exc
    tables = data.get("packs")
    if not isinstance(tables, dict) or not tables:
        raise RulePackError(f"{path}: no [packs.<name>] tables")
    packs = {name: _spec(name, table, path) for name, table in tables.items()}
    manifest = Manifest(path=path, packs=packs)
    problems = check_manifest(manifest)
    if problems:
        raise RulePackError(f"{path}: inconsistent manifest:\n  " + "\n  ".join(problems))
    return manifest


def _tuple(table: dict[str, Any], key: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _spec(name: str, table: dict[str, Any], path: Path) -> PackSpec:
    if not isinstance(table, dict):
        raise RulePackError(f"{path}: [packs.{name}] is not a table")
    try:
        return PackSpec(
            name=name,
            kind=str(table["kind"]),
            description=str(table.get("description", "")),
            version=str(table.get("version", "")),
            licence=str(table.get("licence", "")),
            repository=str(table.get("repository", "")),
            commit=str(table.get("commit", "")),
            url=str(table.get("url", "")),
            sha256=str(table.get("sha256", "")).lower(),
            archive_paths=_tuple(table, "archive_paths"),
            local_paths=_tuple(table, "local_paths"),
            pack_paths=_tuple(table, "pack_paths"),
            main=str(table["main"]),
            content_sha256=str(table.get("content_sha256", "")).lower(),
            release=str(table.get("release", "")),
            compile=_tuple(table, "compile"),
            official=str(table.get("official", "")),
            xslt=str(table.get("xslt", "")),
            xsd={str(k): str(v) for k, v in dict(table.get("xsd", {})).items()},
            build=str(table.get("build", "")),
            syntax=str(table.get("syntax", "")),
            generated=_tuple(table, "generated"),
            requires=_tuple(table, "requires"),
            package=str(table.get("package", "")),
            package_paths=_tuple(table, "package_paths"),
            package_only=bool(table.get("package_only", False)),
            package_content_sha256=str(table.get("package_content_sha256", "")).lower(),
        )
    except KeyError as exc:
        raise RulePackError(f"{path}: [packs.{name}] lacks {exc.args[0]!r}") from None


def _safe_relative(p: str) -> bool:
    pure = PurePosixPath(p)
    return bool(p) and not pure.is_absolute() and ".." not in pure.parts and "\\" not in p


def _archive_problems(manifest: Manifest, spec: PackSpec) -> list[str]:
    """archive_paths pair with the first local_paths; the rest must come from required packs."""
    if len(spec.archive_paths) > len(spec.local_paths):
        return [f"[packs.{spec.name}]: more archive_paths than local_paths"]
    provided = {p for dep in spec.requires if dep in manifest.packs for p in manifest.packs[dep].local_paths}
    rest = spec.local_paths[len(spec.archive_paths) :]
    return [
        f"[packs.{spec.name}]: local path {p!r} has no archive path and no required pack provides it"
        for p in rest
        if p not in provided
    ]


def check_manifest(manifest: Manifest) -> list[str]:
    """Every inconsistency in the manifest, as readable lines (empty when fine)."""
    problems: list[str] = []
    for spec in manifest.packs.values():
        where = f"[packs.{spec.name}]"
        if not _NAME.match(spec.name):
            problems.append(f"{where}: bad pack name")
        if spec.kind not in KINDS:
            problems.append(f"{where}: kind {spec.kind!r} not one of {KINDS}")
        if spec.build not in BUILDS:
            problems.append(f"{where}: build {spec.build!r} not one of {BUILDS}")
        if spec.build == "xrechnung" and spec.syntax not in ("UBL", "CII"):
            problems.append(f"{where}: xrechnung build needs syntax UBL or CII")
        if spec.package not in PACKAGES:
            problems.append(f"{where}: package {spec.package!r} not one of {PACKAGES}")
        for key in ("sha256", "content_sha256", "package_content_sha256"):
            value = getattr(spec, key)
            if value and not _HEX64.match(value):
                problems.append(f"{where}: {key} is not a lowercase hex SHA-256")
        if spec.url and not spec.url.startswith(("https://", "file://")):
            problems.append(f"{where}: url must be https:// (or file:// for tests)")
        if spec.package_only:
            if not spec.package or not spec.package_paths:
                problems.append(f"{where}: package_only needs package and package_paths")
        else:
            if len(spec.local_paths) != len(spec.pack_paths) or not spec.local_paths:
                problems.append(f"{where}: local_paths and pack_paths must be non-empty and equally long")
            if spec.url:
                problems.extend(_archive_problems(manifest, spec))
        if spec.package and spec.package_paths and len(spec.package_paths) != len(spec.pack_paths):
            problems.append(f"{where}: package_paths and pack_paths must be equally long")
        all_paths = (
            *spec.archive_paths,
            *spec.local_paths,
            *(p for p in spec.pack_paths if p != "."),
            *spec.package_paths,
            spec.main,
            *spec.compile,
            *(p for p in (spec.official, spec.xslt) if p),
            *spec.xsd.values(),
            *spec.generated,
        )
        problems.extend(f"{where}: unsafe path {p!r}" for p in all_paths if not _safe_relative(p))
        for dep in spec.requires:
            if dep not in manifest.packs:
                problems.append(f"{where}: requires unknown pack {dep!r}")
        if spec.kind == "schematron" and not spec.compile:
            problems.append(f"{where}: schematron pack without compile list")
        if spec.kind in ("xslt", "xsd+xslt") and not (spec.xslt or spec.main.endswith((".xsl", ".xslt"))):
            problems.append(f"{where}: xslt pack without xslt main file")
        if spec.kind in ("xsd", "xsd+xslt") and not spec.xsd:
            problems.append(f"{where}: xsd pack without xsd table")
    return problems
