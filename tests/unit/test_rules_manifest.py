"""The shipped rule-pack manifest loads, is consistent, and pins nothing it could not verify."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from einvoice.rules.manifest import check_manifest, load_manifest
from einvoice.rules.store import RulePackError

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "xrechnung_rules" / "manifest.toml"

EXPECTED_KINDS = {
    "ubl-2.1": "xsd",
    "cii-d16b": "xsd",
    "cen-ubl": "schematron",
    "cen-cii": "schematron",
    "peppol-ubl": "schematron",
    "peppol-cii": "schematron",
    "xrechnung-ubl": "schematron",
    "xrechnung-cii": "schematron",
    "xrechnung-2.3-ubl": "xslt",
    "xrechnung-2.3-cii": "xslt",
    "xrechnung-3.0-mustang-ubl": "xslt",
    "xrechnung-3.0-mustang-cii": "xslt",
    "facturx-en16931": "xsd+xslt",
    "facturx-extended": "xsd+xslt",
    "facturx-basic": "xsd+xslt",
    "facturx-basicwl": "xsd+xslt",
    "facturx-minimum": "xsd+xslt",
    "kosit-report": "report",
    "xrechnung-visualization": "xslt",
}


def test_manifest_has_every_pack_with_its_kind() -> None:
    manifest = load_manifest(MANIFEST)
    assert {name: spec.kind for name, spec in manifest.packs.items()} == EXPECTED_KINDS
    assert check_manifest(manifest) == []


def test_every_pack_has_known_good_content_hash_and_licence() -> None:
    for spec in load_manifest(MANIFEST).packs.values():
        assert re.fullmatch(r"[0-9a-f]{64}", spec.content_sha256), spec.name
        assert spec.licence, spec.name
        assert spec.main, spec.name


def test_download_urls_are_https_and_hashes_never_invented() -> None:
    manifest = load_manifest(MANIFEST)
    for spec in manifest.packs.values():
        if spec.package_only:
            assert spec.package == "facturx" and not spec.url, spec.name
            continue
        assert spec.url.startswith("https://"), spec.name
        # No archive could be downloaded when the manifest was written: a pin would be made up.
        assert spec.sha256 == "", f"{spec.name}: pin only hashes of archives actually downloaded"
        if spec.commit:
            assert spec.commit in spec.url, spec.name


def test_xrechnung_packs_are_built_with_peppol_rules() -> None:
    manifest = load_manifest(MANIFEST)
    for syntax in ("ubl", "cii"):
        spec = manifest.get(f"xrechnung-{syntax}")
        assert spec.build == "xrechnung" and spec.syntax == syntax.upper()
        assert spec.requires == (f"peppol-{syntax}",)
        assert f"peppol-bis-invoice-3/rules/sch/PEPPOL-EN16931-{syntax.upper()}.sch" in spec.local_paths
        assert "xrechnung-schematron/build.xml" in spec.local_paths
        assert spec.generated == ("schematron",)
        assert spec.compile == (spec.main,)


def test_select_and_unknown_pack() -> None:
    manifest = load_manifest(MANIFEST)
    assert [s.name for s in manifest.select(["cen-cii", "ubl-2.1"])] == ["ubl-2.1", "cen-cii"]
    assert len(manifest.select(None)) == len(EXPECTED_KINDS)
    with pytest.raises(RulePackError, match="unknown rule pack 'nope'"):
        manifest.select(["nope"])


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "manifest.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_inconsistent_manifest_is_refused(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
[packs.bad]
kind = "schematron"
url = "http://example.org/x.zip"
sha256 = "ABC"
archive_paths = ["a", "b"]
local_paths = ["../x"]
pack_paths = ["y"]
main = "/etc/passwd"
requires = ["ghost"]
""",
    )
    with pytest.raises(RulePackError) as info:
        load_manifest(path)
    message = str(info.value)
    for expected in (
        "url must be https://",
        "sha256 is not a lowercase hex SHA-256",
        "more archive_paths than local_paths",
        "unsafe path '../x'",
        "unsafe path '/etc/passwd'",
        "requires unknown pack 'ghost'",
        "schematron pack without compile list",
    ):
        assert expected in message


def test_missing_required_key_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, '[packs.x]\nmain = "a.xsl"\n')
    with pytest.raises(RulePackError, match="lacks 'kind'"):
        load_manifest(path)


def test_unreadable_manifest(tmp_path: Path) -> None:
    with pytest.raises(RulePackError, match="cannot read rule-pack manifest"):
        load_manifest(_write(tmp_path, "[packs\n"))
