"""RuleStore and the content hash: lookups stay inside packs, tampering is noticed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from einvoice.rules.store import PACKS_JSON, InstalledPack, RulePackError, RuleStore, content_hash


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


FILES = {"a.xsd": b"<a/>", "sub/b.xsl": b"<b/>", "compiled/c.xsl": b"<c/>"}


def test_content_hash_depends_on_paths_and_bytes_only(tmp_path: Path) -> None:
    one = _tree(tmp_path / "one", FILES)
    two = _tree(tmp_path / "two", dict(reversed(list(FILES.items()))))
    assert content_hash(one) == content_hash(two)
    assert len(content_hash(one)) == 64

    (two / "sub" / "b.xsl").write_bytes(b"<b />")
    assert content_hash(one) != content_hash(two)

    three = _tree(tmp_path / "three", {"a.xsd": b"<a/>", "sub/B.xsl": b"<b/>", "compiled/c.xsl": b"<c/>"})
    assert content_hash(one) != content_hash(three)


def test_content_hash_exclude_and_only(tmp_path: Path) -> None:
    root = _tree(tmp_path / "p", FILES)
    without = content_hash(root, exclude=["compiled"])
    (root / "compiled" / "c.xsl").write_bytes(b"changed")
    assert content_hash(root, exclude=["compiled"]) == without
    only_before = content_hash(root, only=["compiled"])
    (root / "compiled" / "c.xsl").write_bytes(b"changed again")
    assert content_hash(root, only=["compiled"]) != only_before
    # A sibling whose name merely starts like the excluded directory is still hashed.
    (root / "compiled-notes.txt").write_bytes(b"x")
    assert content_hash(root, exclude=["compiled"]) != without


def test_content_hash_refuses_symlinks(tmp_path: Path) -> None:
    root = _tree(tmp_path / "p", FILES)
    os.symlink("/etc/passwd", root / "link")
    with pytest.raises(RulePackError, match="symbolic link"):
        content_hash(root)


def _install_fake(rules_dir: Path) -> RuleStore:
    pack_dir = _tree(
        rules_dir / "demo",
        {
            "maindoc/Doc.xsd": b"<xs/>",
            "rules.sch": b"<schema/>",
            "compiled/rules.xsl": b"<xsl/>",
        },
    )
    record = InstalledPack(
        name="demo",
        kind="schematron",
        version="1.0",
        source="test",
        sha256=content_hash(pack_dir, exclude=["compiled"]),
        verified="verified",
        installed_at="2024-01-01T00:00:00+00:00",
        path=pack_dir,
        main="rules.sch",
        files={"main": "rules.sch", "xslt": "compiled/rules.xsl", "xsd:Doc": "maindoc/Doc.xsd"},
        build_sha256=content_hash(pack_dir, only=["compiled"]),
    )
    (rules_dir / PACKS_JSON).write_text(json.dumps({"format": 1, "packs": {"demo": record.to_json()}}))
    return RuleStore(rules_dir)


def test_store_lookups(tmp_path: Path) -> None:
    store = _install_fake(tmp_path)
    (pack,) = store.packs()
    assert pack.name == "demo" and pack.path == tmp_path / "demo"
    assert store.pack("demo").version == "1.0"
    assert store.validation_xslt("demo") == (tmp_path / "demo" / "compiled" / "rules.xsl").resolve()
    assert store.xsd("demo", "doc").name == "Doc.xsd"
    assert store.path("demo:maindoc/Doc.xsd").read_bytes() == b"<xs/>"
    assert store.verify() == []


def test_missing_pack_tells_how_to_install(tmp_path: Path) -> None:
    store = RuleStore(tmp_path)
    assert store.packs() == []
    with pytest.raises(RulePackError) as info:
        store.pack("cen-ubl")
    assert str(info.value) == (
        "rule pack 'cen-ubl' is not installed; run: einvoice rules install [--from PATH]"
    )


@pytest.mark.parametrize(
    "ref",
    ["demo:../demo2/x", "demo:/etc/passwd", "demo:", "demo", ":x", "demo:missing.xsl", "demo:..\\x"],
)
def test_path_refs_must_stay_inside_the_pack_and_exist(tmp_path: Path, ref: str) -> None:
    store = _install_fake(tmp_path)
    _tree(tmp_path / "demo2", {"x": b"secret"})
    with pytest.raises(RulePackError):
        store.path(ref)


def test_path_refuses_symlink_escape(tmp_path: Path) -> None:
    store = _install_fake(tmp_path)
    (tmp_path / "outside.txt").write_text("x")
    os.symlink(tmp_path / "outside.txt", tmp_path / "demo" / "escape.txt")
    with pytest.raises(RulePackError, match="escapes the pack"):
        store.path("demo:escape.txt")


def test_unknown_xsd_doc(tmp_path: Path) -> None:
    store = _install_fake(tmp_path)
    with pytest.raises(RulePackError, match="no XSD for 'Order'"):
        store.xsd("demo", "Order")


def test_verify_reports_tampering(tmp_path: Path) -> None:
    store = _install_fake(tmp_path)
    (tmp_path / "demo" / "rules.sch").write_bytes(b"<schema>evil</schema>")
    (tmp_path / "demo" / "compiled" / "rules.xsl").write_bytes(b"<xsl>evil</xsl>")
    problems = store.verify()
    assert any("content sha256" in p for p in problems)
    assert any("generated files changed" in p for p in problems)


def test_verify_reports_missing_files(tmp_path: Path) -> None:
    store = _install_fake(tmp_path)
    (tmp_path / "demo" / "maindoc" / "Doc.xsd").unlink()
    problems = store.verify()
    assert any("rule-pack file missing: demo:maindoc/Doc.xsd" in p for p in problems)


def test_corrupt_packs_json(tmp_path: Path) -> None:
    (tmp_path / PACKS_JSON).write_text("{not json")
    with pytest.raises(RulePackError, match="cannot read"):
        RuleStore(tmp_path).packs()
