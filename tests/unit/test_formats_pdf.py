"""ZUGFeRD / Factur-X PDF extraction on PDFs generated here with pypdf."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject, TextStringObject

from einvoice.formats.detect import PROFILE_EN16931, load_document
from einvoice.formats.pdf import NO_INVOICE, extract_invoice_from_pdf, read_xmp
from einvoice.formats.xml import InputError
from einvoice.validation.model import Level

FX_NS = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
ZF2_NS = "urn:zugferd:pdfa:CrossIndustryDocument:invoice:2p0#"


def cii(guideline: str = "urn:cen.eu:en16931:2017", note: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"'
        ' xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100">'
        "<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>"
        f"<ram:ID>{guideline}</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>"
        f"</rsm:ExchangedDocumentContext><!--{note}--></rsm:CrossIndustryInvoice>"
    ).encode()


def xmp_elements(level: str = "EN 16931", filename: str = "factur-x.xml", namespace: str = FX_NS) -> bytes:
    """XMP in element form, as most producers write it (with the PDF/A extension schema noise)."""
    return f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
   <pdfaid:part>3</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
   <pdfaProperty:name>ConformanceLevel</pdfaProperty:name>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:fx="{namespace}">
   <fx:DocumentType>INVOICE</fx:DocumentType>
   <fx:DocumentFileName>{filename}</fx:DocumentFileName>
   <fx:Version>1.0</fx:Version>
   <fx:ConformanceLevel>{level}</fx:ConformanceLevel>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>""".encode()


def xmp_attributes(
    level: str = "EN 16931", filename: str = "zugferd-invoice.xml", namespace: str = ZF2_NS
) -> bytes:
    """XMP in attribute form (valid RDF/XML, used by some ZUGFeRD 2.0 producers)."""
    return f"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:zf="{namespace}" zf:ConformanceLevel="{level}"
 zf:DocumentFileName="{filename}" zf:DocumentType="INVOICE" zf:Version="1.0"/>
</rdf:RDF></x:xmpmeta>""".encode()


def build_pdf(
    attachments: dict[str, bytes] | None = None,
    *,
    xmp: bytes | None = None,
    associated: tuple[str, ...] = (),
    af_only: dict[str, bytes] | None = None,
    prefix: bytes = b"",
    mutate: Callable[[PdfWriter], None] | None = None,
) -> bytes:
    """A one-page PDF with files in the names tree, optionally listed in /AF, or in /AF only."""
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    af = ArrayObject()
    for name, content in (attachments or {}).items():
        embedded = writer.add_attachment(name, content)
        if name in associated:
            embedded.associated_file_relationship = NameObject("/Alternative")
            af.append(embedded.pdf_object.indirect_reference)
    for name, content in (af_only or {}).items():
        stream = DecodedStreamObject()
        stream.set_data(content)
        stream[NameObject("/Type")] = NameObject("/EmbeddedFile")
        spec = DictionaryObject({
            NameObject("/Type"): NameObject("/Filespec"),
            NameObject("/F"): TextStringObject(name),
            NameObject("/UF"): TextStringObject(name),
            NameObject("/AFRelationship"): NameObject("/Data"),
            NameObject("/EF"): DictionaryObject({NameObject("/F"): writer._add_object(stream)}),
        })
        af.append(writer._add_object(spec))
    if af:
        writer.root_object[NameObject("/AF")] = af
    if xmp is not None:
        metadata = DecodedStreamObject()
        metadata.set_data(xmp)
        metadata.update({NameObject("/Type"): NameObject("/Metadata"),
                         NameObject("/Subtype"): NameObject("/XML")})
        writer.root_object[NameObject("/Metadata")] = writer._add_object(metadata)
    if mutate is not None:
        mutate(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    return prefix + buffer.getvalue()


def _refusal(call: Callable[[], object]) -> InputError:
    with pytest.raises(InputError) as caught:
        call()
    return caught.value


def test_factur_x_pdf_with_element_xmp_is_extracted() -> None:
    xml = cii()
    data = build_pdf({"factur-x.xml": xml}, xmp=xmp_elements(), associated=("factur-x.xml",))
    pdf = extract_invoice_from_pdf(data)
    assert pdf.xml == xml
    assert pdf.filename == "factur-x.xml"
    assert (pdf.xmp_profile, pdf.xmp_document_type, pdf.xmp_version) == ("EN 16931", "INVOICE", "1.0")
    assert pdf.xmp_namespace == FX_NS
    assert pdf.xmp_document_file_name == "factur-x.xml"
    assert pdf.attachments == ["factur-x.xml"]
    assert pdf.associated is True and pdf.relationship == "Alternative"


def test_attribute_based_xmp_is_read() -> None:
    data = build_pdf({"zugferd-invoice.xml": cii()}, xmp=xmp_attributes())
    pdf = extract_invoice_from_pdf(data)
    assert pdf.filename == "zugferd-invoice.xml"
    assert (pdf.xmp_profile, pdf.xmp_document_type, pdf.xmp_version) == ("EN 16931", "INVOICE", "1.0")
    assert pdf.xmp_namespace == ZF2_NS
    assert pdf.associated is False


def test_read_xmp_ignores_extension_schema_descriptions() -> None:
    claims = read_xmp(xmp_elements(level="BASIC WL"))
    assert claims.values == {"DocumentType": "INVOICE", "DocumentFileName": "factur-x.xml",
                             "Version": "1.0", "ConformanceLevel": "BASIC WL"}


def test_pdf_without_xmp_still_yields_the_xml_and_a_warning() -> None:
    data = build_pdf({"factur-x.xml": cii()})
    pdf = extract_invoice_from_pdf(data)
    assert pdf.xmp_profile is None and pdf.xmp_namespace is None
    doc = load_document(data, "no-xmp.pdf")
    assert doc.container == "pdf"
    assert doc.profile == PROFILE_EN16931
    assert [(f.rule, f.level) for f in doc.container_findings] == [("FX-XMP-MISSING", Level.WARNING)]
    assert doc.container_findings[0].step == "input"


def test_associated_file_only_in_af_is_found() -> None:
    xml = cii(note="from AF")
    pdf = extract_invoice_from_pdf(build_pdf(af_only={"factur-x.xml": xml}, xmp=xmp_elements()))
    assert pdf.xml == xml
    assert pdf.associated is True and pdf.relationship == "Data"


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (("ZUGFeRD-invoice.xml", "factur-x.xml"), "factur-x.xml"),
        (("zugferd-invoice.xml", "xrechnung.xml"), "xrechnung.xml"),
        (("ZUGFeRD-invoice.xml", "zugferd-invoice.xml"), "zugferd-invoice.xml"),
        (("other.xml", "Factur-X.XML"), "Factur-X.XML"),
        (("factur-x.xml", "readme.txt", "xrechnung.xml"), "factur-x.xml"),
    ],
)
def test_preferred_invoice_file_wins(names: tuple[str, ...], expected: str) -> None:
    data = build_pdf({name: cii(note=name) for name in names})
    pdf = extract_invoice_from_pdf(data)
    assert pdf.filename == expected
    assert pdf.xml == cii(note=expected)
    assert pdf.attachments == sorted(names)


def test_unusually_named_xml_is_accepted_only_with_an_invoice_root() -> None:
    pdf = extract_invoice_from_pdf(build_pdf({"data.xml": b"<Timesheet/>", "Rechnung_4711.xml": cii()}))
    assert pdf.filename == "Rechnung_4711.xml"
    error = _refusal(lambda: extract_invoice_from_pdf(build_pdf({"data.xml": b"<Timesheet/>"})))
    assert error.rule == "PDF-NO-INVOICE"


def test_plain_pdf_is_not_an_invoice() -> None:
    error = _refusal(lambda: load_document(build_pdf(), "scan.pdf"))
    assert error.rule == "PDF-NO-INVOICE"
    assert error.message == NO_INVOICE


def test_pdf_with_other_attachments_lists_them() -> None:
    error = _refusal(lambda: load_document(build_pdf({"lieferschein.txt": b"x", "logo.png": b"y"})))
    assert error.rule == "PDF-NO-INVOICE"
    assert error.message == NO_INVOICE + " Its attachments: lieferschein.txt, logo.png."


def test_leading_bytes_before_the_pdf_header_are_tolerated() -> None:
    doc = load_document(build_pdf({"factur-x.xml": cii()}, prefix=b"\r\n  "), "prefixed.pdf")
    assert doc.container == "pdf" and doc.syntax == "CII"


def test_embedded_utf16_xml_is_decoded() -> None:
    xml = cii(note="Grüße €").decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    doc = load_document(build_pdf({"factur-x.xml": xml}), "utf16.pdf")
    assert "<!--Grüße €-->" in doc.text
    assert doc.xml == xml


def test_load_document_keeps_original_bytes_and_reports_profile_mismatch() -> None:
    xml = cii()
    data = build_pdf({"factur-x.xml": xml}, xmp=xmp_elements(level="EXTENDED"))
    doc = load_document(data, "mismatch.pdf")
    assert doc.data == data and doc.xml == xml
    assert doc.pdf is not None and doc.pdf.xmp_profile == "EXTENDED"
    assert doc.profile == PROFILE_EN16931  # the XML is leading
    [finding] = doc.container_findings
    assert (finding.rule, finding.level, finding.value) == ("FX-XMP-PROFILE", Level.ERROR, "EXTENDED")
    assert "'EXTENDED'" in finding.message and "urn:cen.eu:en16931:2017" in finding.message


@pytest.mark.parametrize(
    ("level", "guideline"),
    [
        ("MINIMUM", "urn:factur-x.eu:1p0:minimum"),
        ("BASIC WL", "urn:factur-x.eu:1p0:basicwl"),
        ("BASIC", "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic"),
        ("EN 16931", "urn:cen.eu:en16931:2017"),
        ("COMFORT", "urn:cen.eu:en16931:2017"),
        ("EXTENDED", "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended"),
        ("XRECHNUNG", "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"),
    ],
)
def test_consistent_xmp_gives_no_findings(level: str, guideline: str) -> None:
    doc = load_document(build_pdf({"factur-x.xml": cii(guideline)}, xmp=xmp_elements(level=level)))
    assert doc.container_findings == []


def test_xmp_file_name_mismatch_is_a_warning() -> None:
    data = build_pdf({"factur-x.xml": cii()}, xmp=xmp_elements(filename="zugferd-invoice.xml"))
    findings = load_document(data).container_findings
    assert [(f.rule, f.level) for f in findings] == [("FX-XMP-FILENAME", Level.WARNING)]


def test_empty_invoice_attachment_is_refused() -> None:
    error = _refusal(lambda: load_document(build_pdf({"factur-x.xml": b""})))
    assert error.rule == "PDF-NO-INVOICE"


def test_not_wellformed_attachment_names_the_file_and_position() -> None:
    error = _refusal(lambda: load_document(build_pdf({"factur-x.xml": b"<a>\n<b></a>"})))
    assert error.rule == "XML-NOT-WELLFORMED"
    assert error.message.startswith("The invoice embedded in the PDF (factur-x.xml) is unusable: ")
    assert "(line 2, column" in error.message


def test_no_pdf_header_is_unreadable() -> None:
    error = _refusal(lambda: extract_invoice_from_pdf(b"x" * 2000 + b"%PDF-1.7"))
    assert error.rule == "PDF-UNREADABLE"
