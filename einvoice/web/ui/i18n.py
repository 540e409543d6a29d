"""Translation catalogues for the web pages: TOML files, one per domain and language, merged at load.

Layout: ``<locale dir>/<lang>/<domain>.toml`` with one top-level table per domain, e.g.
``[portal.upload] title = "Rechnungen hochladen"`` becomes the key ``portal.upload.title``. Every
``*.toml`` in ``einvoice/web/locale/<lang>/`` is read, and packages may add folders with
``register_locale_dir`` — so a new page adds its own file and edits nobody else's. A key defined twice
is a load error (two packages must not silently override each other).
"""

from __future__ import annotations

import logging
import threading
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"

_dirs: list[Path] = [LOCALE_DIR]
_lock = threading.Lock()
_catalogues: dict[str, dict[str, str]] | None = None


class CatalogueError(ValueError):
    """A catalogue file is unreadable, or two files define the same key."""


def register_locale_dir(path: Path) -> None:
    """Add another folder of ``<lang>/<domain>.toml`` files (read on the next load)."""
    global _catalogues
    with _lock:
        if path not in _dirs:
            _dirs.append(path)
            _catalogues = None


def normalize(lang: str | None) -> str:
    """``de`` or ``en``; anything else (``de-DE``, ``EN``, junk) falls back sensibly."""
    code = (lang or "").strip().lower()[:2]
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def _flatten(prefix: str, table: Mapping[str, Any], out: dict[str, str], source: Path) -> None:
    for name, value in table.items():
        key = f"{prefix}.{name}" if prefix else name
        if isinstance(value, Mapping):
            _flatten(key, value, out, source)
        elif isinstance(value, str):
            if key in out:
                raise CatalogueError(f"{source}: key {key!r} is defined twice")
            out[key] = value
        else:
            raise CatalogueError(f"{source}: {key!r} must be text, not {type(value).__name__}")


def load(dirs: list[Path] | None = None) -> dict[str, dict[str, str]]:
    """Every language's merged catalogue (key → text)."""
    result: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
    for folder in dirs if dirs is not None else list(_dirs):
        for lang in LANGUAGES:
            for path in sorted((folder / lang).glob("*.toml")):
                try:
                    table = tomllib.loads(path.read_text(encoding="utf-8"))
                except (OSError, tomllib.TOMLDecodeError) as exc:
                    raise CatalogueError(f"{path}: {exc}") from exc
                _flatten("", table, result[lang], path)
    return result


def catalogues() -> dict[str, dict[str, str]]:
    global _catalogues
    with _lock:
        if _catalogues is None:
            _catalogues = load(list(_dirs))
        return _catalogues


def translate(lang: str, key: str, **params: Any) -> str:
    """The text for ``key`` in ``lang`` (German if missing there), with ``{name}`` placeholders filled.

    A key missing everywhere shows as the key itself and is logged: visible, never a crash.
    """
    cats = catalogues()
    text = cats.get(normalize(lang), {}).get(key)
    if text is None:
        text = cats[DEFAULT_LANGUAGE].get(key)
        if text is None:
            log.warning("missing translation key %r", key)
            return key
    if not params:
        return text
    try:
        return text.format_map(params)
    except (KeyError, IndexError, ValueError):
        log.warning("translation %r does not fit its parameters %s", key, sorted(params))
        return text


class Translator:
    """``t(key, **params)`` bound to one language, as templates and handlers use it."""

    def __init__(self, lang: str) -> None:
        self.lang = normalize(lang)

    def __call__(self, key: str, **params: Any) -> str:
        return translate(self.lang, key, **params)

    def has(self, key: str) -> bool:
        return key in catalogues()[self.lang]
