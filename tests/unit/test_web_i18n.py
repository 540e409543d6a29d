"""Translation catalogues: German and English complete and equal in keys, every key the templates use
exists, merging refuses duplicates, and placeholders are filled."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from einvoice.web.ui import i18n
from einvoice.web.ui.templating import TEMPLATE_DIR

KEY_CALL = re.compile(r"""\bt\(\s*["']([a-z_]+(?:\.[a-z0-9_]+)+)["']""")
PACKAGE = Path(i18n.__file__).resolve().parent.parent.parent


def test_languages_have_the_same_keys_and_no_empty_texts() -> None:
    catalogues = i18n.load()
    assert set(catalogues["de"]) == set(catalogues["en"])
    assert all(text.strip() for lang in catalogues.values() for text in lang.values())


def test_every_literal_key_in_templates_and_page_code_exists() -> None:
    catalogues = i18n.load()
    sources = [*TEMPLATE_DIR.rglob("*.html"), *PACKAGE.glob("portal/*.py"), *PACKAGE.glob("staff/*.py"),
               *PACKAGE.glob("web/ui/*.py")]
    used = {key for path in sources for key in KEY_CALL.findall(path.read_text(encoding="utf-8"))}
    flashes = {key for path in sources for key in re.findall(r"""["']((?:staff|portal|register|login|password|errors)"""
                                                                  r"""\.[a-z_]+)["']""", path.read_text("utf-8"))}
    literal = {key for key in used | flashes if not key.endswith(("_", ".html"))}  # not prefixes of dynamic keys
    missing = sorted(key for key in literal if key not in catalogues["de"])
    assert not missing, missing


def test_a_key_defined_twice_is_refused(tmp_path: Path) -> None:
    for name in ("a.toml", "b.toml"):
        (tmp_path / "de").mkdir(exist_ok=True)
        (tmp_path / "de" / name).write_text('[shop]\ntitle = "Laden"\n', encoding="utf-8")
    with pytest.raises(i18n.CatalogueError, match=r"shop\.title"):
        i18n.load([tmp_path])


def test_another_package_adds_its_own_file(tmp_path: Path) -> None:
    for lang, text in (("de", "Weberfassung {n}"), ("en", "Web entry {n}")):
        (tmp_path / lang).mkdir()
        (tmp_path / lang / "zz_test_domain.toml").write_text(f'[zz_test_domain]\ntitle = "{text}"\n', encoding="utf-8")
    merged = i18n.load([i18n.LOCALE_DIR, tmp_path])
    assert merged["en"]["zz_test_domain.title"] == "Web entry {n}" and "common.logout" in merged["en"]


def test_translate_fills_placeholders_and_falls_back() -> None:
    assert i18n.translate("en", "common.logged_in_as", name="anna") == "Logged in as anna"
    assert i18n.translate("de", "common.logged_in_as", name="anna") == "Angemeldet als anna"
    assert i18n.translate("xx", "common.logout") == "Abmelden"  # unknown language: German
    assert i18n.translate("en", "no.such.key") == "no.such.key"  # visible, never a crash
    assert i18n.normalize("en-GB") == "en" and i18n.normalize(None) == "de"
