"""Hardened XML parsing: every input passes here before XSD or Schematron sees it.

Invoices never legitimately carry a DOCTYPE, so any DTD is refused outright; that single rule
removes XXE, billion laughs, parameter entities and external DTD fetches as a class of attacks.
Size is checked before parsing and element depth is bounded, so hostile input stays cheap.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

# libxml2 refuses deeper documents unless XML_PARSE_HUGE is set, which we never do.
LIBXML2_MAX_DEPTH = 256
_SCAN_CHUNK = 64 * 1024
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it shares the first two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# XML 1.0 Appendix F: an XML document without BOM starts with '<?xml' or at least '<'.
_UNMARKED: tuple[tuple[bytes, str], ...] = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
)


class InputError(Exception):
    """A document we refuse before validation; ``message`` is shown to the supplier as is."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{rule}: {message}")
        self.rule = rule
        self.message = message


def bom_encoding(data: bytes) -> tuple[str | None, int]:
    """Codec named by a byte-order mark and the BOM length, or (None, 0)."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec, len(bom)
    return None, 0


def sniff_encoding(data: bytes) -> str | None:
    """Encoding family visible from the first bytes (BOM or UTF-16/32 layout of '<'), else None."""
    codec, _ = bom_encoding(data)
    if codec:
        return codec
    for prefix, name in _UNMARKED:
        if data.startswith(prefix):
            return name
    return None


class _PrologReader:
    """Lazily decoded text of the document head; consumed text is dropped, so memory stays small."""

    def __init__(self, data: bytes) -> None:
        codec, skip = bom_encoding(data)
        codec = codec or sniff_encoding(data)
        # latin-1 is byte-transparent, so ASCII markup reads correctly in every ASCII-compatible encoding.
        if codec is None or codec == "utf-8":
            codec = "latin-1"
        self._decoder = codecs.getincrementaldecoder(codec)(errors="replace")
        self._data = data
        self._offset = skip
        self.text = ""

    def more(self) -> bool:
        if self._offset >= len(self._data):
            return False
        chunk = self._data[self._offset:self._offset + _SCAN_CHUNK]
        self._offset += len(chunk)
        self.text += self._decoder.decode(chunk, final=self._offset >= len(self._data))
        return True

    def ensure(self, length: int) -> None:
        while len(self.text) < length and self.more():
            pass

    def consume_until(self, token: str) -> bool:
        """Drop text up to and including ``token``; False if the document ends first."""
        while (index := self.text.find(token)) < 0:
            self.text = self.text[-len(token):]  # keep a tail in case the token spans chunks
            if not self.more():
                return False
        self.text = self.text[index + len(token):]
        return True


_PROLOG_SPACE = re.compile(r"[ \t\r\n\ufeff]*")
_ENCODING_DECL = re.compile(
    rb"(?:\xef\xbb\xbf|\xff\xfe|\xfe\xff)?\s*<\?xml[^>]*?\bencoding\s*=\s*[\"\']([A-Za-z0-9._:-]+)"
)


@dataclass(frozen=True)
class Prolog:
    """What stands before the root element: ``kind`` is "root", "doctype", "other" or "end"."""

    kind: str
    snippet: str = ""


def scan_prolog(data: bytes) -> Prolog:
    """Walk the prolog (XML declaration, comments, PIs, whitespace) up to the first other markup.

    The prolog is the only place a DOCTYPE can stand, so "<!DOCTYPE" inside a comment or CDATA of
    the body is not mistaken for one. Decoding is lazy and consumed text is dropped: cost is linear
    in the prolog length and independent of the rest of the document.
    """
    reader = _PrologReader(data)
    while True:
        reader.ensure(1)
        end = _PROLOG_SPACE.match(reader.text).end()  # type: ignore[union-attr]
        reader.text = reader.text[end:]
        if not reader.text:
            if reader.more():
                continue
            return Prolog("end")
        reader.ensure(9)
        head = reader.text[:9]
        if head.startswith("<?"):
            found = reader.consume_until("?>")
        elif head.startswith("<!--"):
            found = reader.consume_until("-->")
        elif head.upper() == "<!DOCTYPE":
            reader.ensure(200)
            return Prolog("doctype", _doctype_snippet(reader.text[:200]))
        elif head.startswith("<") and len(head) > 1 and (head[1].isalpha() or head[1] in "_:"):
            return Prolog("root")
        else:
            reader.ensure(40)
            return Prolog("other", reader.text[:40])
        if not found:
            return Prolog("end")


def _doctype_snippet(head: str) -> str:
    """The DOCTYPE declaration, internal subset included, as far as the first 200 characters go."""
    subset, close = head.find("["), head.find(">")
    if 0 <= subset < close:
        end = head.find("]", subset)
        close = head.find(">", end) if end >= 0 else -1
    return head[:close + 1] if close >= 0 else head


def find_doctype(data: bytes) -> str | None:
    """The DOCTYPE declaration if the prolog has one (cheap pre-parse check), else None."""
    prolog = scan_prolog(data)
    return prolog.snippet if prolog.kind == "doctype" else None


def declared_encoding(data: bytes) -> str | None:
    """The encoding named in the XML declaration, read from the ASCII-compatible head."""
    match = _ENCODING_DECL.match(data[:256].replace(b"\x00", b""))
    return match.group(1).decode("ascii") if match else None


def _make_parser() -> etree.XMLParser:
    """A fresh parser per call: lxml parsers must not be shared between threads.

    Do not add ``collect_ids=False``: with lxml 6 / libxml2 2.14 it makes libxml2 load the external
    DTD subset from disk despite ``load_dtd=False`` (test_hardening guards this).
    """
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
        remove_comments=False,
        remove_pis=False,
    )


def _parse(data: bytes, parser: etree.XMLParser) -> etree._ElementTree:
    """The one place lxml sees untrusted bytes (tests replace it to prove early refusals)."""
    root = etree.fromstring(data, parser=parser)
    return root.getroottree()


@lru_cache(maxsize=8)
def _deeper_than(max_depth: int) -> etree.XPath:
    """XPath that is true when an element sits below ``max_depth`` levels; evaluated in C."""
    return etree.XPath("boolean(/" + "/".join(["*"] * (max_depth + 1)) + ")")


def _describe_syntax_error(exc: etree.XMLSyntaxError, parser: etree.XMLParser, data: bytes) -> InputError:
    """A precise refusal for a libxml2 error; the parser's first error is the cause, later ones follow."""
    entries = list(parser.error_log)
    first = entries[0] if entries else None
    text = first.message.strip() if first else re.sub(r", line \d+, column \d+$", "", exc.msg or str(exc))
    line, column = (first.line, first.column) if first else (exc.position or (0, 0))
    where = f" (line {line}, column {column})" if line else ""
    kind = first.type_name if first else ""
    lowered = text.lower()
    if "excessive depth" in lowered:
        return InputError("XML-TOO-DEEP", f"The XML nests elements more than {LIBXML2_MAX_DEPTH} levels "
                                          f"deep{where}; invoices are far flatter, so it is refused.")
    if kind == "ERR_RESOURCE_LIMIT" or "xml_parse_huge" in lowered:
        return InputError("TOO-LARGE", f"The XML exceeds the parser's safety limits{where}: {text}.")
    if kind in ("ERR_INVALID_ENCODING", "ERR_UNSUPPORTED_ENCODING") or "encoding" in lowered:
        declared = declared_encoding(data)
        assumed = (f"declares encoding \"{declared}\"" if declared
                   else f"has no encoding declaration, so {sniff_encoding(data) or 'UTF-8'} applies")
        return InputError("XML-ENCODING", f"The document {assumed}, but its bytes do not match it: "
                                          f"{text}{where}. Declare the encoding actually used or save "
                                          "the file as UTF-8.")
    return InputError("XML-NOT-WELLFORMED", f"The document is not well-formed XML: {text}{where}.")


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{size} bytes"


def check_size(data: bytes, max_bytes: int) -> None:
    """Refuse empty and oversized input before any parser touches it."""
    if not data:
        raise InputError("EMPTY", "The file is empty (0 bytes); there is no invoice to check.")
    if len(data) > max_bytes:
        raise InputError("TOO-LARGE", f"The file is {_megabytes(len(data))}, more than the limit of "
                                      f"{_megabytes(max_bytes)}; it was not processed.")


def describe_start(snippet: str) -> str:
    """Show how a non-XML file begins: printable text quoted, binary as hex."""
    if snippet and all(ch.isprintable() or ch in "\t\r\n" for ch in snippet):
        return f"the text '{snippet.strip()[:30]}'"
    return "the bytes " + " ".join(f"{ord(ch) & 0xFF:02X}" for ch in snippet[:8])


def parse_xml_safely(
    data: bytes, *, max_bytes: int | None = None, max_depth: int | None = None
) -> etree._ElementTree:
    """Parse untrusted XML with every dangerous feature off; raise ``InputError`` on any problem.

    The effective depth limit is ``min(max_depth, 256)``: libxml2 refuses deeper trees itself.
    """
    if max_bytes is None or max_depth is None:
        from einvoice.config import get_settings

        settings = get_settings()
        max_bytes = settings.max_document_bytes if max_bytes is None else max_bytes
        max_depth = settings.max_xml_depth if max_depth is None else max_depth
    check_size(data, max_bytes)
    prolog = scan_prolog(data)
    if prolog.kind == "end":
        raise InputError("EMPTY", "The file contains no XML element (only whitespace, comments or an XML "
                                  "declaration); there is no invoice to check.")
    if prolog.kind == "doctype":
        raise InputError("XML-DOCTYPE", _doctype_message(prolog.snippet))
    if prolog.kind == "other":
        raise InputError("XML-NOT-WELLFORMED", f"The document is not XML: it begins with "
                                               f"{describe_start(prolog.snippet)} where an XML element "
                                               "('<') is expected.")
    parser = _make_parser()
    try:
        tree = _parse(data, parser)
    except etree.XMLSyntaxError as exc:
        raise _describe_syntax_error(exc, parser, data) from None
    except (ValueError, LookupError) as exc:  # e.g. lxml refusing an unknown codec name
        raise InputError("XML-ENCODING", f"The document's character encoding cannot be read: {exc}.") \
            from None
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise InputError("XML-DOCTYPE", _doctype_message(docinfo.doctype or "<!DOCTYPE ...>"))
    if max_depth < LIBXML2_MAX_DEPTH and _deeper_than(max_depth)(tree):
        raise InputError("XML-TOO-DEEP", f"The XML nests elements more than {max_depth} levels deep; "
                                         "invoices are far flatter, so it is refused.")
    return tree


def _doctype_message(doctype: str) -> str:
    shown = re.sub(r"\s+", " ", doctype)[:120]
    if re.match(r"<!DOCTYPE\s+html\b", shown, re.IGNORECASE):
        return (f"The file is an HTML page ({shown}), not an e-invoice; HTML and DOCTYPE declarations "
                "are not allowed in invoices.")
    return (f"The XML contains a DOCTYPE declaration ({shown}). E-invoices never use DTDs, and DTDs can "
            "hide entity attacks, so the document is refused; remove the DOCTYPE.")


def xml_text(data: bytes, tree: etree._ElementTree) -> str:
    """Decode the document exactly as the parser read it, for engines that take text (Saxon).

    BOM wins over the byte layout, which wins over the declared encoding (the order libxml2 uses).
    The XML declaration stays in the text; Saxon ignores its encoding for string input.
    """
    codec = sniff_encoding(data) or tree.docinfo.encoding or "utf-8"
    _, skip = bom_encoding(data)
    try:
        text = data[skip:].decode(codec)
    except LookupError:
        raise InputError("XML-ENCODING", f"The declared character encoding '{codec}' is not supported; "
                                         "save the file as UTF-8.") from None
    except UnicodeDecodeError as exc:
        raise InputError("XML-ENCODING", f"The document's bytes are not valid {codec} at byte offset "
                                         f"{exc.start + skip}; declare the encoding actually used or save "
                                         "the file as UTF-8.") from None
    return text.removeprefix("\ufeff")
