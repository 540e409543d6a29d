"""Turn any input (XML or hybrid PDF) into one parsed ``InvoiceDocument`` the engine can validate.

The XML is leading: syntax, specification identifier (BT-24) and profile come from the XML; what
the PDF's XMP metadata claims is compared with it and contradictions become container findings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from einvoice.formats.pdf import PdfInvoice, extract_invoice_from_pdf, is_pdf
from einvoice.formats.xml import (
    InputError,
    check_size,
    describe_start,
    parse_xml_safely,
    scan_prolog,
    xml_text,
)
from einvoice.validation.model import Finding, Level

SYNTAX_UBL_INVOICE = "UBL-Invoice"
SYNTAX_UBL_CREDITNOTE = "UBL-CreditNote"
SYNTAX_CII = "CII"

PROFILE_MINIMUM = "MINIMUM"
PROFILE_BASIC_WL = "BASIC WL"
PROFILE_BASIC = "BASIC"
PROFILE_EN16931 = "EN16931"
PROFILE_EXTENDED = "EXTENDED"
PROFILE_XRECHNUNG = "XRECHNUNG"

UBL_INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDITNOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
UBL_CBC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CII_RSM_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
CII_RAM_NS = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
ZUGFERD1_NS = "urn:ferd:CrossIndustryDocument:invoice:1p0"

_ROOTS = {
    f"{{{UBL_INVOICE_NS}}}Invoice": SYNTAX_UBL_INVOICE,
    f"{{{UBL_CREDITNOTE_NS}}}CreditNote": SYNTAX_UBL_CREDITNOTE,
    f"{{{CII_RSM_NS}}}CrossIndustryInvoice": SYNTAX_CII,
}
_CII_GUIDELINE = etree.XPath(
    "string(/rsm:CrossIndustryInvoice/rsm:ExchangedDocumentContext"
    "/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID)",
    namespaces={"rsm": CII_RSM_NS, "ram": CII_RAM_NS},
)
# ZUGFeRD 1.0 uses different namespaces (D13B-era ram:12); local names keep this readable.
_ZUGFERD1_GUIDELINE = etree.XPath(
    "string(/*[local-name()='CrossIndustryDocument']/*[local-name()='SpecifiedExchangedDocumentContext']"
    "/*[local-name()='GuidelineSpecifiedDocumentContextParameter']/*[local-name()='ID'])"
)
_UBL_CUSTOMIZATION = etree.XPath("string(/*/cbc:CustomizationID)", namespaces={"cbc": UBL_CBC_NS})

# Guideline ids (BT-24) of Factur-X 1.0 / ZUGFeRD 2.x, as published in the specifications.
_GUIDELINE_PROFILES = {
    "urn:factur-x.eu:1p0:minimum": PROFILE_MINIMUM,
    "urn:zugferd.de:2p0:minimum": PROFILE_MINIMUM,
    "urn:factur-x.eu:1p0:basicwl": PROFILE_BASIC_WL,
    "urn:zugferd.de:2p0:basicwl": PROFILE_BASIC_WL,
    "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic": PROFILE_BASIC,
    "urn:cen.eu:en16931:2017#compliant#urn:zugferd.de:2p0:basic": PROFILE_BASIC,
    "urn:cen.eu:en16931:2017": PROFILE_EN16931,
    "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended": PROFILE_EXTENDED,
    "urn:cen.eu:en16931:2017#conformant#urn:zugferd.de:2p0:extended": PROFILE_EXTENDED,
    "urn:zugferd.de:2p0:extended": PROFILE_EXTENDED,
}
_XRECHNUNG_PREFIXES = (
    "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_",
    "urn:cen.eu:en16931:2017#compliant#urn:xoev-de:kosit:standard:xrechnung_",
)
_PUBLISHED_IDS = {
    "minimum": "urn:factur-x.eu:1p0:minimum",
    "basicwl": "urn:factur-x.eu:1p0:basicwl",
    "basic": "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic",
    "en16931": "urn:cen.eu:en16931:2017",
    "extended": "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended",
}
# Pre-release Factur-X spelling seen in old samples: colons where the published ids have '#'.
_DRAFT_ID = re.compile(r"^urn:cen\.eu:en16931:2017:(?:compliant|conformant):(?:urn:)?factur-x\.eu:1p0:(\w+)$")
# XMP fx:ConformanceLevel values (Factur-X 1.0, ZUGFeRD 2.x; COMFORT is the ZUGFeRD 1 name of EN 16931).
_XMP_PROFILES = {
    "MINIMUM": PROFILE_MINIMUM,
    "BASIC WL": PROFILE_BASIC_WL,
    "BASICWL": PROFILE_BASIC_WL,
    "BASIC": PROFILE_BASIC,
    "EN 16931": PROFILE_EN16931,
    "EN16931": PROFILE_EN16931,
    "COMFORT": PROFILE_EN16931,
    "EXTENDED": PROFILE_EXTENDED,
    "XRECHNUNG": PROFILE_XRECHNUNG,
}
# Magic numbers of files people send by mistake, to say what was received instead of an invoice.
_MAGIC = (
    (b"PK\x03\x04", "a ZIP archive (or an Office document such as .docx/.xlsx)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Microsoft Office document (.doc/.xls/.msg)"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"{\\rtf", "an RTF document"),
)
INPUT_STEP = "input"


@dataclass
class InvoiceDocument:
    """One input, parsed once and safely; the engine validates ``tree`` (XSD) and ``text`` (Saxon)."""

    data: bytes  # original bytes, unchanged
    xml: bytes  # the XML validated (the embedded XML for PDFs)
    tree: etree._ElementTree  # hardened lxml parse of xml
    text: str  # decoded XML text for Saxon
    container: str  # "xml" | "pdf"
    syntax: str | None  # one of the SYNTAX_* or None (unknown root)
    specification_id: str | None  # BT-24, stripped
    profile: str | None  # ZUGFeRD/Factur-X profile from the XML guideline id
    container_findings: list[Finding] = field(default_factory=list)
    pdf: PdfInvoice | None = None


def profile_from_guideline(guideline_id: str | None) -> str | None:
    """ZUGFeRD/Factur-X profile named by a CII guideline id, None if it is not one of theirs."""
    if not guideline_id:
        return None
    if guideline_id.startswith(_XRECHNUNG_PREFIXES):
        return PROFILE_XRECHNUNG
    return _GUIDELINE_PROFILES.get(guideline_id)


def guideline_hint(guideline_id: str | None) -> str:
    """A hint for a pre-release Factur-X guideline id, naming the published one; "" otherwise."""
    match = _DRAFT_ID.match(guideline_id or "")
    if not match or match.group(1).lower() not in _PUBLISHED_IDS:
        return ""
    return (f" It is a pre-release spelling; the published Factur-X 1.0 identifier is "
            f"'{_PUBLISHED_IDS[match.group(1).lower()]}'.")


def profile_from_xmp(conformance_level: str | None) -> str | None:
    """Profile named by an XMP fx:ConformanceLevel, None if unknown."""
    if not conformance_level:
        return None
    return _XMP_PROFILES.get(" ".join(conformance_level.upper().split()))


def detect_syntax(tree: etree._ElementTree) -> str | None:
    return _ROOTS.get(tree.getroot().tag)


def specification_id(tree: etree._ElementTree, syntax: str | None) -> str | None:
    """BT-24 as written in the document (also for ZUGFeRD 1.0, whose syntax we do not support)."""
    if syntax == SYNTAX_CII:
        value = _CII_GUIDELINE(tree)
    elif syntax in (SYNTAX_UBL_INVOICE, SYNTAX_UBL_CREDITNOTE):
        value = _UBL_CUSTOMIZATION(tree)
    elif etree.QName(tree.getroot()).namespace == ZUGFERD1_NS:
        value = _ZUGFERD1_GUIDELINE(tree)
    else:
        return None
    return str(value).strip() or None


def _refuse_non_xml(data: bytes, filename: str) -> None:
    """Name what was sent when it clearly is neither XML nor PDF."""
    kind = next((kind for magic, kind in _MAGIC if data.startswith(magic)), None)
    prolog = scan_prolog(data) if kind is None else None
    if kind is None and (prolog is None or prolog.kind != "other"):
        return  # looks like XML: the parser decides
    if filename.lower().endswith(".pdf"):
        raise InputError("PDF-UNREADABLE", f"The file is named {filename.rsplit('/', 1)[-1]} but is not a "
                                           "PDF: there is no %PDF- header in its first 1024 bytes.")
    if kind is not None:
        raise InputError("NOT-AN-INVOICE", f"The file is {kind}, not an e-invoice; send the invoice as "
                                           "XML (XRechnung, UBL, CII) or as a ZUGFeRD/Factur-X PDF.")
    assert prolog is not None
    raise InputError("NOT-AN-INVOICE", f"The file is neither XML nor PDF: it begins with "
                                       f"{describe_start(prolog.snippet)}. Send the invoice as XML "
                                       "(XRechnung, UBL, CII) or as a ZUGFeRD/Factur-X PDF.")


def _xmp_findings(pdf: PdfInvoice, syntax: str | None, profile: str | None,
                  spec_id: str | None) -> list[Finding]:
    """Compare the PDF's XMP claims with the XML; the XML is leading, so these never stop validation."""
    def finding(rule: str, level: Level, message: str, value: str = "") -> Finding:
        return Finding(rule=rule, level=level, step=INPUT_STEP, message=message,
                       location="PDF XMP metadata", value=value)

    if pdf.xmp_namespace is None:
        return [finding("FX-XMP-MISSING", Level.WARNING,
                        "The PDF has no Factur-X/ZUGFeRD XMP metadata (fx:ConformanceLevel, "
                        "fx:DocumentFileName); the embedded XML was validated anyway.")]
    findings = []
    claimed = profile_from_xmp(pdf.xmp_profile)
    if syntax == SYNTAX_CII and pdf.xmp_profile is not None and claimed != profile:
        what = f"profile {profile}" if profile else "no known Factur-X/ZUGFeRD profile"
        findings.append(finding(
            "FX-XMP-PROFILE", Level.ERROR,
            f"The PDF's XMP metadata declares conformance level '{pdf.xmp_profile}', but the embedded "
            f"XML's guideline identifier '{spec_id or ''}' means {what}; the XML is leading."
            + guideline_hint(spec_id),
            pdf.xmp_profile))
    if pdf.xmp_document_file_name and pdf.xmp_document_file_name != pdf.filename:
        findings.append(finding(
            "FX-XMP-FILENAME", Level.WARNING,
            f"The PDF's XMP metadata names the invoice file '{pdf.xmp_document_file_name}', but the "
            f"embedded file is '{pdf.filename}'.", pdf.xmp_document_file_name))
    if pdf.xmp_document_type and pdf.xmp_document_type.strip().upper() != "INVOICE":
        findings.append(finding(
            "FX-XMP-DOCTYPE", Level.WARNING,
            f"The PDF's XMP metadata declares document type '{pdf.xmp_document_type}' instead of INVOICE.",
            pdf.xmp_document_type))
    return findings


def load_document(data: bytes, filename: str = "", *, max_bytes: int | None = None) -> InvoiceDocument:
    """Read XML or hybrid PDF input into an ``InvoiceDocument``; raise ``InputError`` if unreadable.

    The content decides what the file is; ``filename`` only sharpens the message for a
    "*.pdf" that is no PDF.
    """
    from einvoice.config import get_settings

    settings = get_settings()
    max_bytes = settings.max_document_bytes if max_bytes is None else max_bytes
    check_size(data, max_bytes)
    pdf: PdfInvoice | None = None
    xml = data
    if is_pdf(data):
        pdf = extract_invoice_from_pdf(data, max_bytes=max_bytes)
        xml = pdf.xml
    else:
        _refuse_non_xml(data, filename)
    try:
        tree = parse_xml_safely(xml, max_bytes=max_bytes, max_depth=settings.max_xml_depth)
        text = xml_text(xml, tree)
    except InputError as exc:
        if pdf is None:
            raise
        raise InputError(exc.rule, f"The invoice embedded in the PDF ({pdf.filename}) is unusable: "
                                   f"{exc.message}") from None
    syntax = detect_syntax(tree)
    spec_id = specification_id(tree, syntax)
    profile = profile_from_guideline(spec_id) if syntax == SYNTAX_CII else None
    findings = _xmp_findings(pdf, syntax, profile, spec_id) if pdf is not None else []
    return InvoiceDocument(
        data=data,
        xml=xml,
        tree=tree,
        text=text,
        container="pdf" if pdf is not None else "xml",
        syntax=syntax,
        specification_id=spec_id,
        profile=profile,
        container_findings=findings,
        pdf=pdf,
    )
