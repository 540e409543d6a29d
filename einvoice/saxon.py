"""The one Saxon processor of this process, shared by every XSLT and XPath user."""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from saxonche import PySaxonApiError, PySaxonProcessor

_lock = threading.Lock()


class StylesheetError(Exception):
    """A stylesheet could not be compiled: the rule pack is broken or missing."""

_processor: PySaxonProcessor | None = None


def processor() -> PySaxonProcessor:
    """SaxonC allows one processor per process; creating more leaks isolates, so share it."""
    global _processor
    with _lock:
        if _processor is None:
            _processor = PySaxonProcessor(license=False)
        return _processor


@lru_cache(maxsize=64)
def compile_stylesheet(path: str) -> Any:
    """Compile an XSLT once per process; the executable is reused for every document."""
    xslt = processor().new_xslt30_processor()
    try:
        executable = xslt.compile_stylesheet(stylesheet_file=str(Path(path).resolve()))
    except PySaxonApiError as exc:
        raise StylesheetError(f"cannot compile stylesheet {path}: {exc}") from exc
    if executable is None:
        raise StylesheetError(f"cannot compile stylesheet {path}")
    return executable


def parse_xml(data: bytes) -> Any:
    """Build a Saxon tree from bytes that have already passed the hardened lxml parse (no DOCTYPE)."""
    return processor().parse_xml(xml_text=data.decode("utf-8"))


def parse_text(text: str) -> Any:
    """Build a Saxon tree from already decoded XML text (any original encoding)."""
    return processor().parse_xml(xml_text=text)
