"""Realistic, valid XRechnung 3.0 sample invoices generated from our own data.

The samples serve three purposes: a ready example for users (``samples/``), a known-good input
for integration tests, and invoices of any size for the validation benchmark. Every amount is
computed with :class:`decimal.Decimal`, so the EN 16931 sums (BR-CO-10 … BR-CO-16, BR-S-08,
BR-CO-17) hold exactly; all dates and numbers are fixed, so regenerating gives identical bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from lxml import etree

# The data model, totals and the UBL renderer live in einvoice.entry (the web entry form uses them
# too); the names stay importable from here for the tests, the benchmarks and the demo.
from einvoice.entry.document import (
    CAC,
    CBC,
    CENT,
    CURRENCY,
    PEPPOL_BILLING,
    UBL_NS,
    XRECHNUNG_30,
    AllowanceCharge,
    InvoiceData,
    Line,
    Party,
    Totals,
    VatBreakdown,
    compute_totals,
    render_ubl,
    skonto_terms,
)
from einvoice.entry.document import XmlBuilder as _Builder
from einvoice.entry.document import amount_text as _amount
from einvoice.entry.document import number_text as _number
from einvoice.entry.document import serialize as _serialize
from einvoice.entry.identifiers import german_vat_id, iban_check_digits, is_valid_iban, make_iban
from einvoice.invoice.leitweg import make_leitweg_id

__all__ = [
    "CAC", "CBC", "CENT", "CURRENCY", "PEPPOL_BILLING", "UBL_NS", "XRECHNUNG_30", "AllowanceCharge",
    "InvoiceData", "Line", "Party", "Totals", "VatBreakdown", "compute_totals", "german_vat_id",
    "iban_check_digits", "is_valid_iban", "make_iban", "render_ubl", "skonto_terms",
]


# ------------------------------------------------------------------ our sample content

DEFAULT_LEITWEG_ID = make_leitweg_id("05315000-BESCH2026")
DEFAULT_ISSUE_DATE = date(2026, 3, 2)

SELLER = Party(
    name="Hanse Bürobedarf GmbH",
    street="Speicherstraße 12",
    postcode="20457",
    city="Hamburg",
    electronic_address="xrechnung@hanse-buerobedarf.example",
    electronic_scheme="EM",
    vat_id=german_vat_id("27394815"),
    registration_id="HRB 204711",
    contact_name="Frieda Ostermann",
    contact_phone="+49 40 5550 1230",
    contact_email="buchhaltung@hanse-buerobedarf.example",
)
SELLER_IBAN = make_iban("DE", "200505501234567891")
SELLER_BIC = "HASPDEHHXXX"

BUYER = Party(
    name="Stadt Musterhausen, Zentrale Beschaffung",
    street="Rathausplatz 1",
    postcode="53111",
    city="Musterhausen",
    electronic_address=DEFAULT_LEITWEG_ID,
    electronic_scheme="0204",
    contact_name="Jonas Behrendt",
)
BUYER_IBAN = make_iban("DE", "370501980000918273")
BUYER_BIC = "COLSDE33XXX"

# (item number, name, unit, unit price, VAT rate, base quantity)
_CATALOGUE: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("HB-1001", "Kopierpapier A4, 80 g/m², Paket à 500 Blatt", "H87", "4.89", "19", "10"),
    ("HB-2040", "Fachbuch „Vergaberecht kompakt“, 4. Auflage", "H87", "39.90", "7", "2"),
    ("HB-3312", "Tonerkartusche schwarz, 12.000 Seiten", "H87", "89.50", "19", "3"),
    ("HB-5120", "Kaffee, ganze Bohne, fair gehandelt", "KGM", "17.45", "7", "2.5"),
    ("HB-9001", "Wartung Multifunktionsdrucker (je Stunde)", "HUR", "78.00", "19", "1.5"),
    ("HB-4410", "Fachzeitschrift „Kommunalfinanzen“, Jahresabo", "C62", "118.00", "7", "1"),
    ("HB-1207", "Ordner DIN A4, 8 cm Rücken, blau", "H87", "2.35", "19", "25"),
    ("HB-7730", "Kabelkanal weiß, 40 x 60 mm", "MTR", "3.15", "19", "12"),
)


def sample_lines(count: int) -> tuple[Line, ...]:
    """``count`` lines cycling through our catalogue, quantities varying deterministically."""
    if count < 1:
        raise ValueError("an invoice needs at least one line")
    lines = []
    for index in range(count):
        item_id, name, unit, price, rate, base_qty = _CATALOGUE[index % len(_CATALOGUE)]
        factor = 1 + (index // len(_CATALOGUE)) % 4
        lines.append(Line(
            id=str(index + 1), item_id=item_id, name=name, quantity=Decimal(base_qty) * factor,
            unit=unit, price=Decimal(price), vat_rate=Decimal(rate),
        ))
    return tuple(lines)


def sample_invoice_data(
    lines: int = 3,
    *,
    number: str = "RE-2026-00815",
    skonto: bool = True,
    freight: bool = True,
    issue_date: date = DEFAULT_ISSUE_DATE,
    buyer_reference: str | None = DEFAULT_LEITWEG_ID,
) -> InvoiceData:
    """The sample invoice: office supplies to a municipality, 19 % and 7 % VAT, optional Skonto."""
    due = issue_date + timedelta(days=30)
    terms = f"Zahlbar bis zum {due:%d.%m.%Y} ohne Abzug.\n"
    if skonto:
        terms = skonto_terms(14, Decimal("2")) + terms
    adjustments = (
        (AllowanceCharge(True, "Versandkostenpauschale", "FC", Decimal("8.90"), Decimal("19")),)
        if freight else ()
    )
    return InvoiceData(
        number=number,
        type_code="380",
        issue_date=issue_date,
        delivery_date=issue_date - timedelta(days=4),
        due_date=due,
        buyer_reference=buyer_reference,
        order_reference="BE-2026-0193",
        seller=SELLER,
        buyer=BUYER,
        payment_iban=SELLER_IBAN,
        payment_bic=SELLER_BIC,
        payment_account_name=SELLER.name,
        payment_terms=terms,
        lines=sample_lines(lines),
        adjustments=adjustments,
        note="Vielen Dank für Ihren Auftrag.",
    )


def sample_creditnote_data(
    lines: int = 2,
    *,
    number: str = "GS-2026-00042",
    invoice_number: str = "RE-2026-00815",
    issue_date: date = date(2026, 3, 16),
) -> InvoiceData:
    """A credit note for returned goods; the refund goes to the buyer's account."""
    return InvoiceData(
        number=number,
        type_code="381",
        issue_date=issue_date,
        delivery_date=DEFAULT_ISSUE_DATE - timedelta(days=4),
        due_date=None,
        buyer_reference=DEFAULT_LEITWEG_ID,
        order_reference="BE-2026-0193",
        seller=SELLER,
        buyer=BUYER,
        payment_iban=BUYER_IBAN,
        payment_bic=BUYER_BIC,
        payment_account_name=BUYER.name,
        payment_terms="Der Gutschriftsbetrag wird innerhalb von 14 Tagen auf Ihr Konto überwiesen.\n",
        lines=sample_lines(lines),
        note=f"Gutschrift für zurückgesandte Ware aus Rechnung {invoice_number}.",
        preceding_invoice=(invoice_number, DEFAULT_ISSUE_DATE),
    )


# ------------------------------------------------------------------ CII namespaces

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"


# ------------------------------------------------------------------ CII

def _cii_date(b: _Builder, parent: etree._Element, name: str, value: date) -> None:
    b.sub(b.sub(parent, name), "udt:DateTimeString", value.strftime("%Y%m%d"), format="102")


def _cii_party(b: _Builder, parent: etree._Element, name: str, party: Party) -> None:
    node = b.sub(parent, name)
    b.sub(node, "ram:Name", party.name)
    if party.registration_id:
        b.sub(b.sub(node, "ram:SpecifiedLegalOrganization"), "ram:ID", party.registration_id)
    if party.contact_name:
        contact = b.sub(node, "ram:DefinedTradeContact")
        b.sub(contact, "ram:PersonName", party.contact_name)
        if party.contact_phone:
            b.sub(b.sub(contact, "ram:TelephoneUniversalCommunication"), "ram:CompleteNumber",
                  party.contact_phone)
        if party.contact_email:
            b.sub(b.sub(contact, "ram:EmailURIUniversalCommunication"), "ram:URIID", party.contact_email)
    address = b.sub(node, "ram:PostalTradeAddress")
    b.sub(address, "ram:PostcodeCode", party.postcode)
    b.sub(address, "ram:LineOne", party.street)
    b.sub(address, "ram:CityName", party.city)
    b.sub(address, "ram:CountryID", party.country)
    b.sub(b.sub(node, "ram:URIUniversalCommunication"), "ram:URIID", party.electronic_address,
          schemeID=party.electronic_scheme)
    if party.vat_id:
        b.sub(b.sub(node, "ram:SpecifiedTaxRegistration"), "ram:ID", party.vat_id, schemeID="VA")


def render_cii(data: InvoiceData) -> bytes:
    """UN/CEFACT CII D16B CrossIndustryInvoice in XRechnung 3.0 shape (also ZUGFeRD XRECHNUNG)."""
    b = _Builder({"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT})
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice",
                         nsmap={"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT})
    totals = data.totals
    context = b.sub(root, "rsm:ExchangedDocumentContext")
    b.sub(b.sub(context, "ram:BusinessProcessSpecifiedDocumentContextParameter"), "ram:ID", PEPPOL_BILLING)
    b.sub(b.sub(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", XRECHNUNG_30)
    document = b.sub(root, "rsm:ExchangedDocument")
    b.sub(document, "ram:ID", data.number)
    b.sub(document, "ram:TypeCode", data.type_code)
    _cii_date(b, document, "ram:IssueDateTime", data.issue_date)
    if data.note:
        b.sub(b.sub(document, "ram:IncludedNote"), "ram:Content", data.note)
    transaction = b.sub(root, "rsm:SupplyChainTradeTransaction")
    for line in data.lines:
        item = b.sub(transaction, "ram:IncludedSupplyChainTradeLineItem")
        b.sub(b.sub(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", line.id)
        product = b.sub(item, "ram:SpecifiedTradeProduct")
        if line.item_id:
            b.sub(product, "ram:SellerAssignedID", line.item_id)
        b.sub(product, "ram:Name", line.name)
        price = b.sub(b.sub(item, "ram:SpecifiedLineTradeAgreement"), "ram:NetPriceProductTradePrice")
        b.sub(price, "ram:ChargeAmount", f"{line.price:.2f}")
        b.sub(b.sub(item, "ram:SpecifiedLineTradeDelivery"), "ram:BilledQuantity", _number(line.quantity),
              unitCode=line.unit)
        settlement = b.sub(item, "ram:SpecifiedLineTradeSettlement")
        tax = b.sub(settlement, "ram:ApplicableTradeTax")
        b.sub(tax, "ram:TypeCode", "VAT")
        b.sub(tax, "ram:CategoryCode", "S")
        b.sub(tax, "ram:RateApplicablePercent", _number(line.vat_rate))
        b.sub(b.sub(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation"), "ram:LineTotalAmount",
              _amount(line.net))
    agreement = b.sub(transaction, "ram:ApplicableHeaderTradeAgreement")
    if data.buyer_reference:
        b.sub(agreement, "ram:BuyerReference", data.buyer_reference)
    _cii_party(b, agreement, "ram:SellerTradeParty", data.seller)
    _cii_party(b, agreement, "ram:BuyerTradeParty", data.buyer)
    if data.order_reference:
        b.sub(b.sub(agreement, "ram:BuyerOrderReferencedDocument"), "ram:IssuerAssignedID",
              data.order_reference)
    delivery = b.sub(transaction, "ram:ApplicableHeaderTradeDelivery")
    if data.delivery_date:
        _cii_date(b, b.sub(delivery, "ram:ActualDeliverySupplyChainEvent"), "ram:OccurrenceDateTime",
                  data.delivery_date)
    settlement = b.sub(transaction, "ram:ApplicableHeaderTradeSettlement")
    b.sub(settlement, "ram:PaymentReference", data.number)
    b.sub(settlement, "ram:InvoiceCurrencyCode", CURRENCY)
    means = b.sub(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
    b.sub(means, "ram:TypeCode", "58")
    account = b.sub(means, "ram:PayeePartyCreditorFinancialAccount")
    b.sub(account, "ram:IBANID", data.payment_iban)
    b.sub(account, "ram:AccountName", data.payment_account_name)
    if data.payment_bic:
        b.sub(b.sub(means, "ram:PayeeSpecifiedCreditorFinancialInstitution"), "ram:BICID", data.payment_bic)
    for vat in totals.vat:
        tax = b.sub(settlement, "ram:ApplicableTradeTax")
        b.sub(tax, "ram:CalculatedAmount", _amount(vat.tax))
        b.sub(tax, "ram:TypeCode", "VAT")
        b.sub(tax, "ram:BasisAmount", _amount(vat.taxable))
        b.sub(tax, "ram:CategoryCode", "S")
        b.sub(tax, "ram:RateApplicablePercent", _number(vat.rate))
    for adj in data.adjustments:
        node = b.sub(settlement, "ram:SpecifiedTradeAllowanceCharge")
        b.sub(b.sub(node, "ram:ChargeIndicator"), "udt:Indicator", "true" if adj.charge else "false")
        b.sub(node, "ram:ActualAmount", _amount(adj.amount))
        b.sub(node, "ram:ReasonCode", adj.reason_code)
        b.sub(node, "ram:Reason", adj.reason)
        category = b.sub(node, "ram:CategoryTradeTax")
        b.sub(category, "ram:TypeCode", "VAT")
        b.sub(category, "ram:CategoryCode", "S")
        b.sub(category, "ram:RateApplicablePercent", _number(adj.vat_rate))
    terms = b.sub(settlement, "ram:SpecifiedTradePaymentTerms")
    b.sub(terms, "ram:Description", data.payment_terms)
    if data.due_date:
        _cii_date(b, terms, "ram:DueDateDateTime", data.due_date)
    monetary = b.sub(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    b.sub(monetary, "ram:LineTotalAmount", _amount(totals.line_total))
    if any(a.charge for a in data.adjustments):
        b.sub(monetary, "ram:ChargeTotalAmount", _amount(totals.charge_total))
    if any(not a.charge for a in data.adjustments):
        b.sub(monetary, "ram:AllowanceTotalAmount", _amount(totals.allowance_total))
    b.sub(monetary, "ram:TaxBasisTotalAmount", _amount(totals.tax_exclusive))
    b.sub(monetary, "ram:TaxTotalAmount", _amount(totals.tax_total), currencyID=CURRENCY)
    b.sub(monetary, "ram:GrandTotalAmount", _amount(totals.tax_inclusive))
    b.sub(monetary, "ram:DuePayableAmount", _amount(totals.payable))
    if data.preceding_invoice:
        ref = b.sub(settlement, "ram:InvoiceReferencedDocument")
        b.sub(ref, "ram:IssuerAssignedID", data.preceding_invoice[0])
        date_node = b.sub(ref, "ram:FormattedIssueDateTime")
        b.sub(date_node, "qdt:DateTimeString", data.preceding_invoice[1].strftime("%Y%m%d"), format="102")
    return _serialize(root)


# ------------------------------------------------------------------ public generators

def make_ubl_invoice(
    lines: int = 3,
    *,
    number: str = "RE-2026-00815",
    skonto: bool = True,
    freight: bool = True,
    issue_date: date = DEFAULT_ISSUE_DATE,
    buyer_reference: str | None = DEFAULT_LEITWEG_ID,
) -> bytes:
    """A valid XRechnung 3.0 UBL invoice with ``lines`` lines (19 % and 7 % VAT)."""
    return render_ubl(sample_invoice_data(lines, number=number, skonto=skonto, freight=freight,
                                          issue_date=issue_date, buyer_reference=buyer_reference))


def make_cii_invoice(
    lines: int = 3,
    *,
    number: str = "RE-2026-00815",
    skonto: bool = True,
    freight: bool = True,
    issue_date: date = DEFAULT_ISSUE_DATE,
    buyer_reference: str | None = DEFAULT_LEITWEG_ID,
) -> bytes:
    """The same invoice as :func:`make_ubl_invoice`, in UN/CEFACT CII syntax."""
    return render_cii(sample_invoice_data(lines, number=number, skonto=skonto, freight=freight,
                                          issue_date=issue_date, buyer_reference=buyer_reference))


def make_ubl_creditnote(
    lines: int = 2,
    *,
    number: str = "GS-2026-00042",
    invoice_number: str = "RE-2026-00815",
) -> bytes:
    """A valid XRechnung 3.0 UBL credit note referring to the sample invoice (BG-3)."""
    return render_ubl(sample_creditnote_data(lines, number=number, invoice_number=invoice_number))


# Rules the invalid sample breaks on purpose (each is an error in the XRechnung 3.0 scenario).
INVALID_SAMPLE_RULES = ("BR-CO-10", "BR-CO-15", "BR-DE-15")


def make_invalid_ubl_invoice() -> bytes:
    """The sample invoice with three classic mistakes: wrong sums and no Leitweg-ID.

    * BR-CO-10: the sum of line net amounts (BT-106) is 10.00 higher than the lines add up to,
    * BR-CO-15: so is the total without VAT (BT-109, consistent with BT-106, hence no BR-CO-13),
      while the total with VAT (BT-112) and the amount due stay right — BT-112 ≠ BT-109 + VAT,
    * BR-DE-15: the buyer reference (BT-10, Leitweg-ID) is missing.
    """
    tree = etree.fromstring(make_ubl_invoice(number="RE-2026-00816", buyer_reference=None))
    ns = {"cac": CAC, "cbc": CBC}
    monetary = tree.find("cac:LegalMonetaryTotal", ns)
    assert monetary is not None
    for name, delta in (("cbc:LineExtensionAmount", "10.00"), ("cbc:TaxExclusiveAmount", "10.00")):
        node = monetary.find(name, ns)
        assert node is not None and node.text is not None
        node.text = _amount(Decimal(node.text) + Decimal(delta))
    return _serialize(tree)


# ------------------------------------------------------------------ Factur-X / ZUGFeRD PDF

def _pdf_text(text: str) -> str:
    raw = text.encode("cp1252", errors="replace").decode("latin-1")
    return raw.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _visual_lines(data: InvoiceData) -> list[str]:
    totals = data.totals
    rows = [
        f"{data.seller.name}, {data.seller.street}, {data.seller.postcode} {data.seller.city}",
        "",
        data.buyer.name,
        data.buyer.street,
        f"{data.buyer.postcode} {data.buyer.city}",
        "",
        f"Rechnung {data.number} vom {data.issue_date:%d.%m.%Y}",
        f"Leitweg-ID: {data.buyer_reference or '-'}",
        "",
    ]
    for line in data.lines[:30]:
        rows.append(f"{line.id:>3}  {_number(line.quantity):>6} {line.unit}  {line.name[:52]:<52} "
                    f"{_amount(line.net):>10} EUR  {_number(line.vat_rate)} %")
    if len(data.lines) > 30:
        rows.append(f"     … und {len(data.lines) - 30} weitere Positionen")
    for adj in data.adjustments:
        rows.append(f"     {adj.reason:<60} {_amount(adj.amount):>10} EUR")
    rows += ["", f"Summe netto: {_amount(totals.tax_exclusive)} EUR"]
    rows += [f"USt {_number(v.rate)} % auf {_amount(v.taxable)}: {_amount(v.tax)} EUR" for v in totals.vat]
    rows += [f"Zahlbetrag: {_amount(totals.payable)} EUR", "",
             f"IBAN {data.payment_iban}  BIC {data.payment_bic}"]
    rows += [row for row in data.payment_terms.splitlines() if row]
    return rows


def _minimal_pdf(rows: Iterable[str]) -> bytes:
    """A one-page A4 PDF with Helvetica text, written by hand (no PDF library needed)."""
    stream = ["BT", "/F1 9 Tf", "11 TL", "50 790 Td"]
    for row in rows:
        stream.append(f"({_pdf_text(row)}) Tj T*")
    stream.append("ET")
    content = "\n".join(stream).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _pin_pdf_dates(pdf: bytes, when: datetime) -> bytes:
    """Replace the generation time factur-x stamps into the PDF by ``when``, byte-length neutral.

    The dates occur as PDF strings (``D:YYYYMMDDHHMMSS``, ':' written as ``\\072``) and, with
    uncompressed XMP, as ISO 8601 text; equal lengths keep every xref offset valid.
    """
    pdf_date = b"D\\072" + when.strftime("%Y%m%d%H%M%S").encode()
    iso_date = when.strftime("%Y-%m-%dT%H:%M:%S+00:00").encode()
    pdf = re.sub(rb"D\\072[0-9]{14}", lambda _: pdf_date, pdf)
    return re.sub(rb"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\+00:00", lambda _: iso_date, pdf)


def make_facturx_pdf(xml: bytes | None = None, data: InvoiceData | None = None) -> bytes:
    """A ZUGFeRD/Factur-X PDF: a one-page visual invoice with the CII XML embedded.

    ``xml`` defaults to :func:`render_cii` of ``data``; ``data`` (the visible page) defaults to
    the sample invoice. An XRechnung XML is declared as ZUGFeRD profile XRECHNUNG in the XMP.
    The factur-x library's time stamps are pinned to the issue date, so the output is
    reproducible byte for byte. The page is a plain PDF (Helvetica, not embedded), so
    this is a technically valid hybrid invoice, not a PDF/A-3 archive file.
    """
    from facturx import generate_from_binary

    data = data or sample_invoice_data()
    xml = xml if xml is not None else render_cii(data)
    pdf = _minimal_pdf(_visual_lines(data))
    metadata = {
        "author": data.seller.name,
        "keywords": "ZUGFeRD, XRechnung, Factur-X",
        "title": f"{data.seller.name}: Rechnung {data.number}",
        "subject": f"Rechnung {data.number} vom {data.issue_date:%d.%m.%Y}",
    }
    result: bytes = generate_from_binary(pdf, xml, flavor="factur-x", level="en16931", check_xsd=True,
                                         pdf_metadata=metadata, lang="de-DE", xmp_compression=False)
    if XRECHNUNG_30.encode() in xml:
        result = _declare_xrechnung_profile(result)
    return _pin_pdf_dates(result, datetime.combine(data.issue_date, time(9, 0)))


def _declare_xrechnung_profile(pdf: bytes) -> bytes:
    """ZUGFeRD's profile XRECHNUNG: the XMP must say so, the factur-x library only knows EN 16931.

    One indentation blank pays for the extra letter, so the PDF's byte offsets stay valid.
    """
    old = b"      <fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>"
    new = b"     <fx:ConformanceLevel>XRECHNUNG</fx:ConformanceLevel>"
    if pdf.count(old) != 1:
        raise ValueError("unexpected XMP layout from the factur-x library; cannot declare XRECHNUNG")
    return pdf.replace(old, new)


# ------------------------------------------------------------------ the samples folder

@dataclass(frozen=True)
class SampleFile:
    name: str
    description: str
    payload: bytes = field(repr=False)


def sample_files(include_pdf: bool = True) -> list[SampleFile]:
    """The contents of ``samples/`` with a one-line description each.

    Each valid invoice has its own number, so the demo ledger shows them all accepted; the
    ``-duplicate`` file is a changed copy of the UBL invoice (same seller, number and buyer) that
    the ledger must mark as a suspected duplicate.
    """
    files = [
        SampleFile("xrechnung-ubl-invoice.xml",
                   "XRechnung 3.0 UBL invoice: 3 lines at 19 % and 7 % VAT, freight charge, Skonto, "
                   "Leitweg-ID, SEPA transfer — valid.", make_ubl_invoice()),
        SampleFile("xrechnung-ubl-creditnote.xml",
                   "XRechnung 3.0 UBL credit note (381) referring to the invoice — valid.",
                   make_ubl_creditnote()),
        SampleFile("xrechnung-cii-invoice.xml",
                   "An invoice of the same kind in UN/CEFACT CII syntax — valid.",
                   make_cii_invoice(number="RE-2026-00816")),
        SampleFile("xrechnung-ubl-invalid.xml",
                   "The invoice with wrong totals and without Leitweg-ID — rejected with "
                   + ", ".join(INVALID_SAMPLE_RULES) + ".", make_invalid_ubl_invoice()),
        SampleFile("xrechnung-ubl-resent-invoice.xml",
                   "The UBL invoice sent again with a fourth line: other bytes, same seller, number and "
                   "buyer — valid, but a suspected duplicate in the ledger.", make_ubl_invoice(lines=4)),
    ]
    if include_pdf:
        files.append(SampleFile("zugferd-xrechnung.pdf",
                                "ZUGFeRD/Factur-X PDF with a CII invoice embedded as factur-x.xml.",
                                make_facturx_pdf(data=sample_invoice_data(number="RE-2026-00817"))))
    return files


def write_samples(folder: Path, include_pdf: bool = True) -> list[Path]:
    """Write the sample files into ``folder``; the output is byte-identical on every run."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for sample in sample_files(include_pdf):
        path = folder / sample.name
        path.write_bytes(sample.payload)
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - convenience for maintainers
    import sys

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "samples"
    for written_path in write_samples(target):
        print(written_path)
