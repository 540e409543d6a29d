"""The sample generator: check digits, well-formed output, exact totals, reproducible files."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from lxml import etree

from einvoice import samples
from einvoice.invoice import leitweg

ROOT = Path(__file__).resolve().parents[2]
CENT = Decimal("0.01")
NS = {
    "cac": samples.CAC,
    "cbc": samples.CBC,
    "rsm": samples.RSM,
    "ram": samples.RAM,
    "inv": samples.UBL_NS["Invoice"],
    "cn": samples.UBL_NS["CreditNote"],
}
# XR-SKONTO-REGEX of the XRechnung Schematron (common.sch), as XPath regex semantics allow in Python.
SKONTO = re.compile(
    r"(^|\r?\n)#(SKONTO)#TAGE=([0-9]+#PROZENT=[0-9]+\.[0-9]{2})(#BASISBETRAG=-?[0-9]+\.[0-9]{2})?#$")


# ------------------------------------------------------------------ Leitweg-ID

@pytest.mark.parametrize(("base", "check"), [
    ("04011000-1234512345", "06"),  # the example of KoSIT's Leitweg-ID format specification
    ("04011000-12345", "03"),
    ("991-33333TEST", "33"),  # letters count A=10 … Z=35
    ("90000000-03083", "72"),
])
def test_leitweg_check_digits_of_published_ids(base: str, check: str) -> None:
    assert leitweg.leitweg_check_digits(base) == check
    assert leitweg.make_leitweg_id(base) == f"{base}-{check}"
    assert leitweg.is_valid_leitweg_id(f"{base}-{check}")


def test_leitweg_check_digits_by_hand() -> None:
    # 04011000 → 4011000 * 100 = 401100000; 401100000 mod 97 = 53; 98 - 53 = 45
    assert 401100000 % 97 == 53
    assert leitweg.leitweg_check_digits("04011000") == "45"
    assert leitweg.is_valid_leitweg_id("04011000-45")


@pytest.mark.parametrize("value", [
    "04011000-12345-04",  # wrong check digits
    "04011000-1234512345-60",  # digits swapped
    "04011000-12345",  # no check digits at all
    "0-12345-03",  # coarse address shorter than 2 digits
    "1234567890123-12345-00",  # coarse address longer than 12 digits
    "04011000-123_45-03",  # not alphanumeric
    "04011000-1234567890123456789012345678901-00",  # fine address longer than 30 characters
    "04011000--03",
    "",
])
def test_invalid_leitweg_ids_are_refused(value: str) -> None:
    assert not leitweg.is_valid_leitweg_id(value)


@pytest.mark.parametrize("base", ["", "1", "04011000-", "04011000-AB-CD", "ABC-12345"])
def test_leitweg_check_digits_need_a_well_formed_base(base: str) -> None:
    with pytest.raises(ValueError):
        leitweg.leitweg_check_digits(base)


def test_every_generated_leitweg_id_validates_and_a_changed_digit_does_not() -> None:
    for base in ("05315000-BESCH2026", "99", "123456789012-Z", "09162000-0000000000000000000000000000AB"):
        full = leitweg.make_leitweg_id(base)
        assert leitweg.is_valid_leitweg_id(full)
        last = full[-1]
        assert not leitweg.is_valid_leitweg_id(full[:-1] + str((int(last) + 1) % 10))


# ------------------------------------------------------------------ IBAN and VAT id

@pytest.mark.parametrize("iban", [
    "DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32", "DE89370400440532013000"])
def test_published_ibans_are_valid(iban: str) -> None:
    assert samples.is_valid_iban(iban)


@pytest.mark.parametrize("iban", [
    "DE89370400440532013001", "DE88370400440532013000", "DE8937040044", "89DE370400"])
def test_wrong_ibans_are_refused(iban: str) -> None:
    assert not samples.is_valid_iban(iban)


def test_iban_check_digits() -> None:
    assert samples.iban_check_digits("DE", "370400440532013000") == "89"
    assert samples.make_iban("GB", "WEST12345698765432") == "GB82WEST12345698765432"
    assert samples.is_valid_iban(samples.SELLER_IBAN) and samples.is_valid_iban(samples.BUYER_IBAN)


def test_german_vat_id_check_digit() -> None:
    assert samples.german_vat_id("13669597") == "DE136695976"  # the Federal Central Tax Office's example
    assert re.fullmatch(r"DE[0-9]{9}", samples.SELLER.vat_id or "")


# ------------------------------------------------------------------ generated XML

def _parse(data: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(data, parser)


def test_generated_documents_are_well_formed_xrechnung() -> None:
    ubl = _parse(samples.make_ubl_invoice())
    creditnote = _parse(samples.make_ubl_creditnote())
    cii = _parse(samples.make_cii_invoice())
    assert etree.QName(ubl).localname == "Invoice"
    assert etree.QName(creditnote).localname == "CreditNote"
    assert etree.QName(cii).localname == "CrossIndustryInvoice"
    for root in (ubl, creditnote):
        assert root.findtext("cbc:CustomizationID", namespaces=NS) == samples.XRECHNUNG_30
        assert root.findtext("cbc:ProfileID", namespaces=NS) == samples.PEPPOL_BILLING
        assert leitweg.is_valid_leitweg_id(root.findtext("cbc:BuyerReference", namespaces=NS) or "")
        seller = root.find("cac:AccountingSupplierParty/cac:Party", NS)
        buyer = root.find("cac:AccountingCustomerParty/cac:Party", NS)
        assert seller is not None and buyer is not None
        assert seller.find("cbc:EndpointID", NS).get("schemeID") == "EM"  # BT-34
        assert buyer.find("cbc:EndpointID", NS).get("schemeID") == "0204"  # BT-49 = Leitweg-ID
        for field in ("cbc:Name", "cbc:Telephone", "cbc:ElectronicMail"):  # BR-DE-5/6/7
            assert seller.findtext(f"cac:Contact/{field}", namespaces=NS)
        iban = root.findtext("cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID", namespaces=NS)
        assert samples.is_valid_iban(iban or "")
    guideline = cii.findtext(
        "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID", namespaces=NS)
    assert guideline == samples.XRECHNUNG_30
    assert creditnote.findtext("cbc:CreditNoteTypeCode", namespaces=NS) == "381"
    assert creditnote.findtext("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID",
                               namespaces=NS) == "RE-2026-00815"


def test_skonto_follows_xrechnung_syntax() -> None:
    note = _parse(samples.make_ubl_invoice()).findtext("cac:PaymentTerms/cbc:Note", namespaces=NS) or ""
    hash_lines = [line for line in note.split("\n") if line.strip().startswith("#")]
    assert hash_lines == ["#SKONTO#TAGE=14#PROZENT=2.00#"]
    assert all(SKONTO.search(line.strip()) for line in hash_lines)
    assert note.split("#")[-1].startswith("\n")  # BR-DE-18: a line break after the last Skonto line
    with_base = samples.skonto_terms(10, Decimal("3"), Decimal("100"))
    assert with_base == "#SKONTO#TAGE=10#PROZENT=3.00#BASISBETRAG=100.00#\n"
    assert SKONTO.search(with_base.strip())
    without = _parse(samples.make_ubl_invoice(skonto=False)).findtext("cac:PaymentTerms/cbc:Note",
                                                                       namespaces=NS)
    assert without and "#" not in without


def _d(root: etree._Element, path: str) -> Decimal:
    text = root.findtext(path, namespaces=NS)
    assert text is not None, path
    return Decimal(text)


@pytest.mark.parametrize("lines", [1, 3, 8, 37, 1000])
def test_ubl_totals_add_up_exactly(lines: int) -> None:
    root = _parse(samples.make_ubl_invoice(lines))
    line_nets = [Decimal(x) for x in root.xpath("cac:InvoiceLine/cbc:LineExtensionAmount/text()",
                                                namespaces=NS)]
    assert len(line_nets) == lines
    for line in root.findall("cac:InvoiceLine", NS):  # net = quantity x price, to the cent
        qty, price = _d(line, "cbc:InvoicedQuantity"), _d(line, "cac:Price/cbc:PriceAmount")
        assert _d(line, "cbc:LineExtensionAmount") == (qty * price).quantize(CENT, ROUND_HALF_UP)
    charge_path = "cac:AllowanceCharge[cbc:ChargeIndicator='true']/cbc:Amount/text()"
    charges = sum((Decimal(x) for x in root.xpath(charge_path, namespaces=NS)), Decimal(0))
    total = "cac:LegalMonetaryTotal/cbc:"
    assert _d(root, total + "LineExtensionAmount") == sum(line_nets)  # BR-CO-10
    assert _d(root, total + "ChargeTotalAmount") == charges  # BR-CO-12
    assert _d(root, total + "TaxExclusiveAmount") == sum(line_nets) + charges  # BR-CO-13
    subtotals = root.findall("cac:TaxTotal/cac:TaxSubtotal", NS)
    assert {s.findtext("cac:TaxCategory/cbc:Percent", namespaces=NS) for s in subtotals} == (
        {"19", "7"} if lines > 1 else {"19"})
    assert _d(root, "cac:TaxTotal/cbc:TaxAmount") == sum(  # BR-CO-14
        _d(s, "cbc:TaxAmount") for s in subtotals)
    for subtotal in subtotals:
        rate = subtotal.findtext("cac:TaxCategory/cbc:Percent", namespaces=NS)
        base = sum((Decimal(x) for x in root.xpath(
            f"cac:InvoiceLine[cac:Item/cac:ClassifiedTaxCategory/cbc:Percent='{rate}']"
            "/cbc:LineExtensionAmount/text()"
            f" | cac:AllowanceCharge[cac:TaxCategory/cbc:Percent='{rate}']/cbc:Amount/text()",
            namespaces=NS)), Decimal(0))
        assert _d(subtotal, "cbc:TaxableAmount") == base  # BR-S-08
        expected = (base * Decimal(rate or "0") / 100).quantize(CENT, ROUND_HALF_UP)
        assert _d(subtotal, "cbc:TaxAmount") == expected  # BR-CO-17
    incl = _d(root, total + "TaxInclusiveAmount")
    assert incl == _d(root, total + "TaxExclusiveAmount") + _d(root, "cac:TaxTotal/cbc:TaxAmount")  # BR-CO-15
    assert _d(root, total + "PayableAmount") == incl  # BR-CO-16
    for node in root.iter():  # amounts carry exactly two decimals
        if node.get("currencyID"):
            assert re.fullmatch(r"-?[0-9]+\.[0-9]{2}", node.text or ""), node.tag


@pytest.mark.parametrize("lines", [3, 250])
def test_cii_states_the_same_totals_as_ubl(lines: int) -> None:
    ubl = _parse(samples.make_ubl_invoice(lines))
    cii = _parse(samples.make_cii_invoice(lines))
    summation = ("rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/"
                 "ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:")
    total = "cac:LegalMonetaryTotal/cbc:"
    pairs = {"LineTotalAmount": "LineExtensionAmount", "TaxBasisTotalAmount": "TaxExclusiveAmount",
             "GrandTotalAmount": "TaxInclusiveAmount", "DuePayableAmount": "PayableAmount",
             "ChargeTotalAmount": "ChargeTotalAmount"}
    for cii_name, ubl_name in pairs.items():
        assert _d(cii, summation + cii_name) == _d(ubl, total + ubl_name)
    assert _d(cii, summation + "TaxTotalAmount") == _d(ubl, "cac:TaxTotal/cbc:TaxAmount")
    line_totals = cii.xpath("//ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount/text()",
                            namespaces=NS)
    assert sum(Decimal(x) for x in line_totals) == _d(cii, summation + "LineTotalAmount")


def test_vat_is_rounded_once_per_rate_not_per_line() -> None:
    lines = [samples.Line(str(i), "X", "Schraube", Decimal(1), "H87", Decimal("0.05"), Decimal(19))
             for i in range(1, 4)]
    totals = samples.compute_totals(lines)
    # per line 0.0095 → 0.01 would give 0.03; EN 16931 rounds the category amount: 0.15 x 19 % = 0.0285 → 0.03
    assert totals.vat[0].taxable == Decimal("0.15")
    assert totals.vat[0].tax == Decimal("0.03")
    lines = [samples.Line(str(i), "X", "Mutter", Decimal(1), "H87", Decimal("0.02"), Decimal(19))
             for i in range(1, 11)]
    totals = samples.compute_totals(lines)
    assert totals.vat[0].tax == Decimal("0.04")  # 0.20 x 19 % = 0.038; per line it would be 10 x 0.00 = 0.00
    assert totals.payable == Decimal("0.24")


def test_invalid_sample_breaks_exactly_the_announced_rules() -> None:
    valid = _parse(samples.make_ubl_invoice(number="RE-2026-00816"))
    invalid = _parse(samples.make_invalid_ubl_invoice())
    assert invalid.find("cbc:BuyerReference", NS) is None  # BR-DE-15
    total = "cac:LegalMonetaryTotal/cbc:"
    line_sum = sum(Decimal(x) for x in invalid.xpath("cac:InvoiceLine/cbc:LineExtensionAmount/text()",
                                                     namespaces=NS))
    assert _d(invalid, total + "LineExtensionAmount") != line_sum  # BR-CO-10
    assert _d(invalid, total + "TaxInclusiveAmount") != (  # BR-CO-15
        _d(invalid, total + "TaxExclusiveAmount") + _d(invalid, "cac:TaxTotal/cbc:TaxAmount"))
    assert _d(invalid, total + "TaxInclusiveAmount") == _d(valid, total + "TaxInclusiveAmount")
    assert set(samples.INVALID_SAMPLE_RULES) == {"BR-CO-10", "BR-CO-15", "BR-DE-15"}


def test_generation_is_deterministic(tmp_path: Path) -> None:
    assert samples.make_ubl_invoice(20) == samples.make_ubl_invoice(20)
    assert samples.make_cii_invoice(20) == samples.make_cii_invoice(20)
    first = {p.name: p.read_bytes() for p in samples.write_samples(tmp_path / "a")}
    second = {p.name: p.read_bytes() for p in samples.write_samples(tmp_path / "b")}
    assert first == second
    assert set(first) == {"xrechnung-ubl-invoice.xml", "xrechnung-ubl-creditnote.xml",
                          "xrechnung-cii-invoice.xml", "xrechnung-ubl-invalid.xml", "zugferd-xrechnung.pdf",
                          "xrechnung-ubl-resent-invoice.xml"}


def test_committed_samples_are_up_to_date() -> None:
    """``samples/`` must be what ``write_samples`` writes; regenerate: ``python -m einvoice.samples``."""
    for sample in samples.sample_files():
        committed = ROOT / "samples" / sample.name
        assert committed.exists(), f"{committed} is missing"
        assert committed.read_bytes() == sample.payload, f"{committed} is stale"


def test_facturx_pdf_embeds_the_cii_invoice_and_declares_xrechnung() -> None:
    from facturx import get_xml_from_pdf

    pdf = samples.make_facturx_pdf()
    assert pdf.startswith(b"%PDF-")
    name, xml = get_xml_from_pdf(pdf, check_xsd=False)
    assert name == "factur-x.xml"
    assert xml == samples.make_cii_invoice()
    assert b"<fx:ConformanceLevel>XRECHNUNG</fx:ConformanceLevel>" in pdf
    import io

    from pypdf import PdfReader

    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "RE-2026-00815" in text and samples.DEFAULT_LEITWEG_ID in text
