"""Run a compiled Schematron stylesheet with Saxon and return the findings; errors never pass silently."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from lxml import etree

from einvoice.saxon import compile_stylesheet, processor
from einvoice.schematron.svrl import FiredAssert, parse_svrl

__all__ = ["FiredAssert", "SchematronError", "SchematronRunner"]


class SchematronError(Exception):
    """The transformation failed (dynamic XPath error, unparsable input, ...): no verdict is possible."""


def _hardened_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class SchematronRunner:
    """One compiled stylesheet, reused for every document; each thread gets its own executable clone."""

    def __init__(self, xslt_path: Path) -> None:
        self.xslt_path = Path(xslt_path)
        try:
            self._executable = compile_stylesheet(str(self.xslt_path.resolve()))
        except Exception as exc:  # saxonche raises its own PySaxonApiError
            raise SchematronError(f"cannot compile {self.xslt_path}: {exc}") from exc
        self._local = threading.local()
        self.reads_attachments = _reads_attachments(self.xslt_path)

    def _thread_executable(self) -> Any:
        executable = getattr(self._local, "executable", None)
        if executable is None:
            executable = (
                self._executable.clone()
                if threading.current_thread() is not threading.main_thread()
                else self._executable
            )
            self._local.executable = executable
        return executable

    def run_svrl(self, node: Any) -> str:
        """The raw SVRL text for an already parsed Saxon document node."""
        try:
            result = self._thread_executable().transform_to_string(xdm_node=node)
        except Exception as exc:
            raise SchematronError(f"{self.xslt_path.name}: {exc}") from exc
        if not result:
            raise SchematronError(f"{self.xslt_path.name}: the transformation produced no SVRL")
        return str(result)

    def run_node(self, node: Any) -> list[FiredAssert]:
        """Findings for an already parsed Saxon document node."""
        return parse_svrl(self.run_svrl(node))

    def run_bytes(self, data: bytes) -> list[FiredAssert]:
        """Parse (hardened: no DTD, no entities, no network) and validate one document."""
        return self.run_node(parse_document(data))


def _reads_attachments(xslt_path: Path) -> bool:
    """False only for stylesheets our compiler proved blind to attachment content; True for all others
    (official or shipped XSLTs carry no such proof)."""
    from einvoice.schematron.opacity import ATTACHMENT_CONTENT

    try:
        for _event, root in etree.iterparse(str(xslt_path), events=("start",), resolve_entities=False,
                                            no_network=True, load_dtd=False):
            return root.get(ATTACHMENT_CONTENT) != "unread"
    except etree.XMLSyntaxError:
        pass
    return True


def parse_document(data: bytes) -> Any:
    """A Saxon document node from bytes, after lxml has refused DTDs and checked well-formedness."""
    try:
        tree = etree.fromstring(data, _hardened_parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        raise SchematronError(f"not well-formed XML: {exc}") from exc
    if tree.docinfo.doctype:
        raise SchematronError("documents with a DOCTYPE are refused")
    encoding = (tree.docinfo.encoding or "UTF-8").upper()
    if encoding in ("UTF-8", "UTF8", "US-ASCII", "ASCII"):
        text = data.decode("utf-8-sig")
    else:
        text = etree.tostring(tree, encoding="unicode")
    try:
        return processor().parse_xml(xml_text=text)
    except Exception as exc:
        raise SchematronError(f"Saxon cannot parse the document: {exc}") from exc
