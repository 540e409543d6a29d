"""ZUGFeRD / Factur-X / XRechnung-in-PDF: find the embedded invoice XML and the XMP claims about it.

We read the PDF with pypdf directly rather than ``facturx.get_facturx_xml_from_pdf``: that helper
only looks at the names tree, ignores ``xrechnung.xml``, parses the XML with a default (entity
resolving) lxml parser and silently skips files it cannot parse, whereas we must say precisely
why a PDF is refused. Every pypdf failure becomes ``InputError("PDF-UNREADABLE")`` and every
stream read is capped, so a hostile PDF costs bounded memory and time.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from pypdf import PdfReader, apply_configuration, get_configuration
from pypdf.errors import LimitReachedError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

from einvoice.formats.xml import InputError, check_size, parse_xml_safely

# Preferred embedded file names, best first (Factur-X 1.0 / ZUGFeRD 2.1+, XRechnung in ZUGFeRD,
# ZUGFeRD 2.0, ZUGFeRD 1.0). Comparison ignores case, so the last two differ only in priority.
INVOICE_FILENAMES = ("factur-x.xml", "xrechnung.xml", "zugferd-invoice.xml", "ZUGFeRD-invoice.xml")
HEADER_SEARCH_BYTES = 1024  # PDF readers accept junk before %PDF- within the first KiB
MAX_ATTACHMENTS = 1000
MAX_NAME_TREE_DEPTH = 32
MAX_FALLBACK_CANDIDATES = 20  # XML attachments with unusual names that we open to look for an invoice
MAX_XMP_BYTES = 4 * 1024 * 1024
XMP_FIELDS = ("ConformanceLevel", "DocumentType", "Version", "DocumentFileName")
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
# XMP extension schemas for the invoice, newest first.
XMP_NAMESPACES = (
    "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#",  # Factur-X 1.0, ZUGFeRD 2.1+
    "urn:zugferd:pdfa:CrossIndustryDocument:invoice:2p0#",  # ZUGFeRD 2.0
    "urn:ferd:pdfa:CrossIndustryDocument:invoice:1p0#",  # ZUGFeRD 1.0
)
INVOICE_ROOTS = {
    "{urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100}CrossIndustryInvoice",
    "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice",
    "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote",
    "{urn:ferd:CrossIndustryDocument:invoice:1p0}CrossIndustryDocument",
}
NO_INVOICE = ("The PDF contains no embedded invoice XML (factur-x.xml / zugferd-invoice.xml / "
              "xrechnung.xml); a plain PDF is not an e-invoice.")

logger = logging.getLogger(__name__)


@dataclass
class PdfInvoice:
    """The invoice XML found in a PDF plus what the PDF's XMP metadata claims about it."""

    xml: bytes
    filename: str  # embedded file name, e.g. factur-x.xml
    xmp_profile: str | None  # fx:ConformanceLevel as written, e.g. "EN 16931", "BASIC WL", "XRECHNUNG"
    xmp_document_type: str | None
    xmp_version: str | None
    xmp_namespace: str | None  # the Factur-X / ZUGFeRD XMP schema namespace seen
    attachments: list[str]  # names of all embedded files
    xmp_document_file_name: str | None = None  # fx:DocumentFileName
    associated: bool = False  # the XML is listed in the catalog's /AF (PDF/A-3 associated file)
    relationship: str | None = None  # its /AFRelationship (Data, Alternative, Source ...)


@dataclass
class _Embedded:
    """One embedded file specification, from the names tree or /AF."""

    name: str
    spec: DictionaryObject
    associated: bool = False
    aliases: set[str] = field(default_factory=set)


def is_pdf(data: bytes) -> bool:
    """PDF header within the first KiB (some producers write junk or a BOM before it).

    Junk containing '<' means markup came first: that is an XML file mentioning "%PDF-", not a PDF.
    """
    index = data.find(b"%PDF-", 0, HEADER_SEARCH_BYTES)
    return index >= 0 and b"<" not in data[:index]


def _pypdf_limits(max_bytes: int) -> dict[str, int]:
    """pypdf configuration caps: decompressed output per stream never exceeds our document limit."""
    return {
        "maximum_declared_stream_length": max_bytes,
        "zlib_maximum_output_length": max_bytes,
        "lzw_maximum_output_length": max_bytes,
        "run_length_maximum_output_length": max_bytes,
        "brotli_maximum_output_length": max_bytes,
        "array_based_stream_maximum_output_length": max_bytes,
        "stream_decoding_work_maximum_length": 4 * max_bytes,
        "xmp_maximum_input_length": MAX_XMP_BYTES,
    }


def _resolve(obj: Any) -> Any:
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def _text(value: Any) -> str:
    """A PDF string as str: text strings are str already, byte strings are read as Latin-1."""
    value = _resolve(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return ""


def _spec_names(spec: DictionaryObject) -> set[str]:
    """All names a file specification goes by (/UF, /F)."""
    return {name for key in ("/UF", "/F") if (name := _text(spec.get(key)))}


def _identity(obj: Any) -> object:
    """Stable identity of a PDF object: its object number if indirect, else the Python object."""
    if isinstance(obj, IndirectObject):
        return (obj.idnum, obj.generation)
    reference = getattr(obj, "indirect_reference", None)
    if reference is not None:
        return (reference.idnum, reference.generation)
    return id(obj)


def _walk_name_tree(node: Any, depth: int = 0, seen: set[object] | None = None) -> Iterator[tuple[str, Any]]:
    """(name, value) pairs of a PDF name tree, bounded in depth and guarded against cycles."""
    seen = set() if seen is None else seen
    identity = _identity(node)
    node = _resolve(node)
    if not isinstance(node, DictionaryObject) or depth > MAX_NAME_TREE_DEPTH or identity in seen:
        return
    seen.add(identity)
    names = _resolve(node.get("/Names"))
    if isinstance(names, ArrayObject):
        for index in range(0, min(len(names) - 1, 2 * MAX_ATTACHMENTS), 2):
            yield _text(names[index]), names[index + 1]
    kids = _resolve(node.get("/Kids"))
    if isinstance(kids, ArrayObject):
        for kid in kids:
            yield from _walk_name_tree(kid, depth + 1, seen)


def _catalog(reader: PdfReader) -> DictionaryObject:
    catalog = _resolve(reader.trailer.get("/Root"))
    if not isinstance(catalog, DictionaryObject):
        raise InputError("PDF-UNREADABLE", "The PDF has no document catalog (/Root); it is damaged.")
    return catalog


def _embedded_files(reader: PdfReader) -> list[_Embedded]:
    """Embedded files from the /EmbeddedFiles names tree and the catalog /AF array, merged by name."""
    catalog = _catalog(reader)
    found: dict[object, _Embedded] = {}

    def add(name: str, spec_obj: Any, associated: bool) -> None:
        identity = _identity(spec_obj)
        spec = _resolve(spec_obj)
        if not isinstance(spec, DictionaryObject) or len(found) >= MAX_ATTACHMENTS:
            return
        entry = found.get(identity)
        aliases = _spec_names(spec) | ({name} if name else set())
        if entry is None:
            # The /UF name is what a viewer shows; fall back to the name tree key.
            primary = _text(spec.get("/UF")) or name or _text(spec.get("/F"))
            found[identity] = entry = _Embedded(primary, spec)
        entry.aliases |= aliases
        entry.associated = entry.associated or associated

    names = _resolve(catalog.get("/Names"))
    if isinstance(names, DictionaryObject):
        for name, spec in _walk_name_tree(names.get("/EmbeddedFiles")):
            add(name, spec, associated=False)
    associated = _resolve(catalog.get("/AF"))
    if isinstance(associated, ArrayObject):
        for spec in associated[:MAX_ATTACHMENTS]:
            add("", spec, associated=True)
    return list(found.values())


def _file_stream(spec: DictionaryObject) -> StreamObject | None:
    ef = _resolve(spec.get("/EF"))
    if not isinstance(ef, DictionaryObject):
        return None
    for key in ("/UF", "/F"):
        stream = _resolve(ef.get(key))
        if isinstance(stream, StreamObject):
            return stream
    return None


def _read_stream(stream: StreamObject, what: str, cap: int) -> bytes:
    """Decoded stream content, refused when larger than ``cap`` (pypdf enforces the same cap)."""
    data = stream.get_data()
    if len(data) > cap:
        raise InputError("TOO-LARGE", f"The embedded {what} is {len(data)} bytes after decompression, more "
                                      f"than the limit of {cap} bytes.")
    return data


def _rank(entry: _Embedded) -> tuple[int, int] | None:
    """Preference of an embedded file: exact preferred names first, then the same names in any case."""
    for index, preferred in enumerate(INVOICE_FILENAMES):
        if preferred in entry.aliases:
            return (0, index)
    lowered = {alias.lower().rsplit("/", 1)[-1] for alias in entry.aliases}
    for index, preferred in enumerate(INVOICE_FILENAMES):
        if preferred.lower() in lowered:
            return (1, index)
    return None


def _looks_like_invoice(xml: bytes, max_bytes: int) -> bool:
    """True for an XML attachment with an invoice root element, for PDFs using an unusual name."""
    try:
        root = parse_xml_safely(xml, max_bytes=max_bytes).getroot()
    except InputError:
        return False
    return root.tag in INVOICE_ROOTS


@dataclass
class XmpClaims:
    """The invoice properties from the XMP packet."""

    namespace: str | None = None
    values: dict[str, str] = field(default_factory=dict)


def read_xmp(xmp: bytes) -> XmpClaims:
    """Factur-X / ZUGFeRD properties from an XMP packet, element form or attribute form.

    Both ``<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>`` and
    ``<rdf:Description fx:ConformanceLevel="EN 16931">`` are valid RDF/XML; the XMP is parsed with
    the same hardened parser as invoices (a DOCTYPE in XMP is refused, not expanded).
    """
    try:
        tree = parse_xml_safely(xmp, max_bytes=MAX_XMP_BYTES)
    except InputError as exc:
        logger.info("XMP metadata unreadable: %s", exc.message)
        return XmpClaims()
    by_namespace: dict[str, dict[str, str]] = {}
    for description in tree.iter(f"{{{RDF_NS}}}Description"):
        for attribute, value in description.attrib.items():
            qname = etree.QName(attribute)
            if qname.localname in XMP_FIELDS and qname.namespace:
                by_namespace.setdefault(qname.namespace, {}).setdefault(qname.localname, value.strip())
        for child in description:
            if not isinstance(child.tag, str):
                continue
            qname = etree.QName(child)
            if qname.localname in XMP_FIELDS and qname.namespace:
                text = "".join(child.itertext()).strip()
                by_namespace.setdefault(qname.namespace, {}).setdefault(qname.localname, text)
    for namespace in XMP_NAMESPACES:
        if namespace in by_namespace:
            return XmpClaims(namespace, by_namespace[namespace])
    # Any other schema that carries a ConformanceLevel (e.g. a misspelt namespace) still counts.
    for namespace, values in by_namespace.items():
        if "ConformanceLevel" in values and "CrossIndustryDocument" in namespace:
            return XmpClaims(namespace, values)
    return XmpClaims()


def _xmp_claims(reader: PdfReader) -> XmpClaims:
    metadata = _resolve(_catalog(reader).get("/Metadata"))
    if not isinstance(metadata, StreamObject):
        return XmpClaims()
    try:
        return read_xmp(_read_stream(metadata, "XMP metadata", MAX_XMP_BYTES))
    except InputError:
        return XmpClaims()


def _open(data: bytes) -> PdfReader:
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted and not reader.decrypt(""):
        raise InputError("PDF-UNREADABLE", "The PDF is password-protected, so its embedded invoice cannot be "
                                           "read; send it without encryption (PDF/A-3 forbids it anyway).")
    return reader


def extract_invoice_from_pdf(data: bytes, *, max_bytes: int | None = None) -> PdfInvoice:
    """Extract the embedded invoice XML and XMP claims; raise ``InputError`` if there is none."""
    if max_bytes is None:
        from einvoice.config import get_settings

        max_bytes = get_settings().max_document_bytes
    check_size(data, max_bytes)
    if not is_pdf(data):
        raise InputError("PDF-UNREADABLE", "The file has no PDF header (%PDF-) in its first 1024 bytes.")
    try:
        limits = get_configuration().with_overwrites(**_pypdf_limits(max_bytes))
        with apply_configuration(limits):
            return _extract(data, max_bytes)
    except InputError:
        raise
    except LimitReachedError as exc:
        raise InputError("TOO-LARGE", f"The PDF exceeds a safety limit while being read ({exc}); a stream "
                                      f"decompresses to more than {max_bytes} bytes or is otherwise "
                                      "excessive.") from None
    except Exception as exc:  # pypdf raises many types on broken input; all mean "unreadable"
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise InputError("PDF-UNREADABLE", f"The PDF cannot be read ({detail}); it may be damaged or not "
                                           "a PDF at all.") from None


def _extract(data: bytes, max_bytes: int) -> PdfInvoice:
    reader = _open(data)
    entries = _embedded_files(reader)
    attachments = sorted({entry.name for entry in entries})
    ranked = sorted((rank, entry.name, index) for index, entry in enumerate(entries)
                    if (rank := _rank(entry)) is not None)
    chosen: _Embedded | None = None
    xml = b""
    for _, _, index in ranked:
        stream = _file_stream(entries[index].spec)
        if stream is not None:
            chosen, xml = entries[index], _read_stream(stream, f"file {entries[index].name}", max_bytes)
            break
    if chosen is None:  # unusual name: accept an XML attachment only if its root is an invoice
        candidates = [entry for entry in entries if entry.name.lower().endswith(".xml")]
        for entry in candidates[:MAX_FALLBACK_CANDIDATES]:
            stream = _file_stream(entry.spec)
            if stream is None:
                continue
            content = _read_stream(stream, f"file {entry.name}", max_bytes)
            if _looks_like_invoice(content, max_bytes):
                chosen, xml = entry, content
                break
    if chosen is None:
        listed = f" Its attachments: {', '.join(attachments)}." if attachments else ""
        raise InputError("PDF-NO-INVOICE", NO_INVOICE + listed)
    if not xml.strip():
        raise InputError("PDF-NO-INVOICE", f"The PDF's embedded invoice file {chosen.name} is empty.")
    claims = _xmp_claims(reader)
    relationship = _resolve(chosen.spec.get("/AFRelationship"))
    return PdfInvoice(
        xml=xml,
        filename=chosen.name,
        xmp_profile=claims.values.get("ConformanceLevel"),
        xmp_document_type=claims.values.get("DocumentType"),
        xmp_version=claims.values.get("Version"),
        xmp_namespace=claims.namespace,
        attachments=attachments,
        xmp_document_file_name=claims.values.get("DocumentFileName"),
        associated=chosen.associated,
        relationship=str(relationship).lstrip("/") if relationship is not None else None,
    )
