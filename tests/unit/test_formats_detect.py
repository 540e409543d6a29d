"""Document detection: syntax, specification identifier (BT-24) and ZUGFeRD/Factur-X profile."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from einvoice.formats.detect import (
    SYNTAX_CII,
    SYNTAX_UBL_CREDITNOTE,
    SYNTAX_UBL_INVOICE,
    guideline_hint,
    load_document,
    profile_from_guideline,
    profile_from_xmp,
)
from einvoice.formats.xml import InputError

XR_UBL = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
PEPPOL = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"


def ubl(root: str, customization: str) -> bytes:
    namespace = f"urn:oasis:names:specification:ubl:schema:xsd:{root}-2"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{namespace}"'
        ' xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">\n'
        f"  <cbc:CustomizationID>\n    {customization}\n  </cbc:CustomizationID>\n"
        f"  <cbc:ID>4711</cbc:ID>\n</{root}>\n"
    ).encode()


def cii(guideline: str) -> bytes:
    return (
        '<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"'
        ' xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100">'
        "<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>"
        f"<ram:ID> {guideline} </ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>"
        "</rsm:ExchangedDocumentContext></rsm:CrossIndustryInvoice>"
    ).encode()


def zugferd1(guideline: str) -> bytes:
    return (
        '<rsm:CrossIndustryDocument xmlns:rsm="urn:ferd:CrossIndustryDocument:invoice:1p0"'
        ' xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12">'
        "<rsm:SpecifiedExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>"
        f"<ram:ID>{guideline}</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>"
        "</rsm:SpecifiedExchangedDocumentContext></rsm:CrossIndustryDocument>"
    ).encode()


def _refusal(call: Callable[[], object]) -> InputError:
    with pytest.raises(InputError) as caught:
        call()
    return caught.value


@pytest.mark.parametrize(
    ("data", "syntax", "spec_id", "profile"),
    [
        (ubl("Invoice", XR_UBL), SYNTAX_UBL_INVOICE, XR_UBL, None),
        (ubl("CreditNote", PEPPOL), SYNTAX_UBL_CREDITNOTE, PEPPOL, None),
        (ubl("Invoice", "urn:cen.eu:en16931:2017"), SYNTAX_UBL_INVOICE, "urn:cen.eu:en16931:2017", None),
        (cii(XR_UBL), SYNTAX_CII, XR_UBL, "XRECHNUNG"),
        (cii("urn:cen.eu:en16931:2017"), SYNTAX_CII, "urn:cen.eu:en16931:2017", "EN16931"),
        (cii(PEPPOL), SYNTAX_CII, PEPPOL, None),
        (zugferd1("urn:ferd:CrossIndustryDocument:invoice:1p0:comfort"), None,
         "urn:ferd:CrossIndustryDocument:invoice:1p0:comfort", None),
        (b"<Order xmlns='urn:example'><ID>1</ID></Order>", None, None, None),
        (ubl("Invoice", "").replace(b"<cbc:CustomizationID>\n    \n  </cbc:CustomizationID>", b""),
         SYNTAX_UBL_INVOICE, None, None),
    ],
    ids=["ubl-invoice", "ubl-creditnote", "ubl-en16931", "cii-xrechnung", "cii-en16931", "cii-peppol",
         "zugferd1", "unknown-root", "ubl-no-customization"],
)
def test_syntax_specification_id_and_profile(
    data: bytes, syntax: str | None, spec_id: str | None, profile: str | None
) -> None:
    doc = load_document(data, "invoice.xml")
    assert (doc.syntax, doc.specification_id, doc.profile) == (syntax, spec_id, profile)
    assert doc.container == "xml" and doc.pdf is None and doc.container_findings == []
    assert doc.data is data and doc.xml is data
    assert doc.text == data.decode()
    assert doc.tree.getroot() is not None


@pytest.mark.parametrize(
    ("guideline", "profile"),
    [
        ("urn:factur-x.eu:1p0:minimum", "MINIMUM"),
        ("urn:zugferd.de:2p0:minimum", "MINIMUM"),
        ("urn:factur-x.eu:1p0:basicwl", "BASIC WL"),
        ("urn:zugferd.de:2p0:basicwl", "BASIC WL"),
        ("urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic", "BASIC"),
        ("urn:cen.eu:en16931:2017#compliant#urn:zugferd.de:2p0:basic", "BASIC"),
        ("urn:cen.eu:en16931:2017", "EN16931"),
        ("urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended", "EXTENDED"),
        ("urn:cen.eu:en16931:2017#conformant#urn:zugferd.de:2p0:extended", "EXTENDED"),
        ("urn:zugferd.de:2p0:extended", "EXTENDED"),
        ("urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0", "XRECHNUNG"),
        ("urn:cen.eu:en16931:2017#compliant#urn:xoev-de:kosit:standard:xrechnung_2.3", "XRECHNUNG"),
        ("urn:cen.eu:en16931:2017#compliant#urn:xoev-de:kosit:standard:xrechnung_1.2", "XRECHNUNG"),
        ("urn:cen.eu:en16931:2017:compliant:factur-x.eu:1p0:en16931", None),  # pre-release spelling
        ("urn:ferd:CrossIndustryDocument:invoice:1p0:basic", None),  # ZUGFeRD 1.0
        (PEPPOL, None),
        ("URN:CEN.EU:EN16931:2017", None),  # identifiers are case-sensitive
        ("", None),
        (None, None),
    ],
)
def test_profile_from_guideline(guideline: str | None, profile: str | None) -> None:
    assert profile_from_guideline(guideline) == profile


@pytest.mark.parametrize(
    ("level", "profile"),
    [("MINIMUM", "MINIMUM"), ("BASIC WL", "BASIC WL"), ("BASIC", "BASIC"), ("EN 16931", "EN16931"),
     ("en  16931", "EN16931"), ("COMFORT", "EN16931"), ("EXTENDED", "EXTENDED"), ("XRECHNUNG", "XRECHNUNG"),
     ("PLATINUM", None), (None, None)],
)
def test_profile_from_xmp(level: str | None, profile: str | None) -> None:
    assert profile_from_xmp(level) == profile


def test_guideline_hint_names_the_published_identifier() -> None:
    hint = guideline_hint("urn:cen.eu:en16931:2017:compliant:factur-x.eu:1p0:basic")
    assert "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic" in hint
    assert guideline_hint("urn:cen.eu:en16931:2017") == ""


def test_plain_cii_with_utf8_bom_and_latin1() -> None:
    data = b"\xef\xbb\xbf" + cii("urn:cen.eu:en16931:2017")
    doc = load_document(data)
    assert doc.syntax == SYNTAX_CII and not doc.text.startswith("\ufeff")
    latin1 = b'<?xml version="1.0" encoding="ISO-8859-1"?>' + ubl("Invoice", XR_UBL).split(b"?>", 1)[1]
    assert load_document(latin1.replace(b"4711", "Größe".encode("latin-1"))).text.count("Größe") == 1


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "a JPEG image"),
        (b"PK\x03\x04\x14\x00\x06\x00", "a ZIP archive"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", "legacy Microsoft Office"),
        (b"Rechnung 4711\nBetrag: 100 EUR\n", "begins with the text 'Rechnung 4711"),
        (b"\x00\x13\x37\xfe\xed", "begins with the bytes 00 13 37 FE ED"),
        (b"{\"invoice\": 1}", "begins with the text '{\"invoice\": 1}'"),
    ],
)
def test_files_that_are_neither_xml_nor_pdf(data: bytes, fragment: str) -> None:
    error = _refusal(lambda: load_document(data, "upload.bin"))
    assert error.rule == "NOT-AN-INVOICE"
    assert fragment in error.message


@pytest.mark.parametrize("data", [b"", b"   \n\t", b"\xef\xbb\xbf \n"])
def test_empty_input(data: bytes) -> None:
    assert _refusal(lambda: load_document(data)).rule == "EMPTY"


def test_html_page_is_named_as_such() -> None:
    error = _refusal(lambda: load_document(b"<!DOCTYPE html>\n<html><body>Rechnung</body></html>"))
    assert error.rule == "XML-DOCTYPE"
    assert "HTML page" in error.message


def test_a_pdf_name_without_pdf_content_is_called_out() -> None:
    error = _refusal(lambda: load_document(b"\x00\x01 not really", "uploads/Rechnung.pdf"))
    assert error.rule == "PDF-UNREADABLE"
    assert "named Rechnung.pdf but is not a PDF" in error.message
    assert load_document(cii("urn:cen.eu:en16931:2017"), "misnamed.pdf").syntax == SYNTAX_CII


def test_xml_mentioning_the_pdf_header_stays_xml() -> None:
    data = b"<!-- converted from %PDF-1.7 -->" + cii("urn:cen.eu:en16931:2017")
    doc = load_document(data, "invoice.xml")
    assert doc.container == "xml" and doc.syntax == SYNTAX_CII
