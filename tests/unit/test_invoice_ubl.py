"""Business terms from hand-written UBL Invoice and CreditNote snippets, field by field."""

from __future__ import annotations

import base64
from datetime import date
from decimal import Decimal

from lxml import etree

from einvoice.invoice import (
    Attachment,
    Identifier,
    Line,
    SkontoTerm,
    VatBreakdown,
    extract,
)

NS = ('xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" '
      'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"')
PDF = b"%PDF-1.4 hand-made attachment"

INVOICE = f"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" {NS}>
  <cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0</cbc:CustomizationID>
  <cbc:ProfileID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</cbc:ProfileID>
  <cbc:ID> RE-4711 </cbc:ID>
  <cbc:IssueDate>2026-03-02</cbc:IssueDate>
  <cbc:DueDate>2026-04-01</cbc:DueDate>
  <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
  <cbc:Note>#ADU#Lieferung frei Haus</cbc:Note>
  <cbc:Note>   </cbc:Note>
  <cbc:TaxPointDate>2026-02-27</cbc:TaxPointDate>
  <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
  <cbc:TaxCurrencyCode>GBP</cbc:TaxCurrencyCode>
  <cbc:AccountingCost>KST-100</cbc:AccountingCost>
  <cbc:BuyerReference>04011000-12345-03</cbc:BuyerReference>
  <cac:OrderReference><cbc:ID>PO-1</cbc:ID></cac:OrderReference>
  <cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>RE-4000</cbc:ID></cac:InvoiceDocumentReference>
    </cac:BillingReference>
  <cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>RE-4001</cbc:ID></cac:InvoiceDocumentReference>
    </cac:BillingReference>
  <cac:ContractDocumentReference><cbc:ID>V-77</cbc:ID></cac:ContractDocumentReference>
  <cac:AdditionalDocumentReference>
    <cbc:ID>Stundenzettel.pdf</cbc:ID>
    <cbc:DocumentDescription>Stundennachweis</cbc:DocumentDescription>
    <cac:Attachment>
      <cbc:EmbeddedDocumentBinaryObject mimeCode="application/pdf" filename="Stundenzettel.pdf">
        {base64.encodebytes(PDF).decode()}
      </cbc:EmbeddedDocumentBinaryObject>
    </cac:Attachment>
  </cac:AdditionalDocumentReference>
  <cac:AdditionalDocumentReference>
    <cbc:ID>Lieferschein</cbc:ID>
    <cac:Attachment><cac:ExternalReference><cbc:URI>https://example.org/ls/1</cbc:URI>
      </cac:ExternalReference></cac:Attachment>
  </cac:AdditionalDocumentReference>
  <cac:AdditionalDocumentReference>
    <cbc:ID schemeID="AAB">OBJ-9</cbc:ID>
    <cbc:DocumentTypeCode>130</cbc:DocumentTypeCode>
  </cac:AdditionalDocumentReference>
  <cac:ProjectReference><cbc:ID>PRJ-5</cbc:ID></cac:ProjectReference>
  <cac:AccountingSupplierParty><cac:Party>
    <cbc:EndpointID schemeID="EM">rechnung@seller.example</cbc:EndpointID>
    <cac:PartyIdentification><cbc:ID schemeID="0088">4000001123452</cbc:ID></cac:PartyIdentification>
    <cac:PartyIdentification><cbc:ID>L-17</cbc:ID></cac:PartyIdentification>
    <cac:PartyIdentification><cbc:ID schemeID="SEPA">DE98ZZZ09999999999</cbc:ID></cac:PartyIdentification>
    <cac:PartyName><cbc:Name>Seller Shop</cbc:Name></cac:PartyName>
    <cac:PostalAddress>
      <cbc:StreetName>Hauptstr. 1</cbc:StreetName><cbc:CityName>Hamburg</cbc:CityName>
      <cbc:PostalZone>20095</cbc:PostalZone><cac:Country><cbc:IdentificationCode>DE</cbc:IdentificationCode>
        </cac:Country>
    </cac:PostalAddress>
    <cac:PartyTaxScheme><cbc:CompanyID>DE123456789</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID>
      </cac:TaxScheme></cac:PartyTaxScheme>
    <cac:PartyTaxScheme><cbc:CompanyID>22/815/08150</cbc:CompanyID><cac:TaxScheme><cbc:ID>FC</cbc:ID>
      </cac:TaxScheme></cac:PartyTaxScheme>
    <cac:PartyLegalEntity><cbc:RegistrationName>Seller GmbH</cbc:RegistrationName>
      <cbc:CompanyID schemeID="0002">HRB 1</cbc:CompanyID></cac:PartyLegalEntity>
    <cac:Contact><cbc:Name>Eva Muster</cbc:Name><cbc:Telephone>+49 40 1</cbc:Telephone>
      <cbc:ElectronicMail>eva@seller.example</cbc:ElectronicMail></cac:Contact>
  </cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party>
    <cbc:EndpointID schemeID="0204">04011000-12345-03</cbc:EndpointID>
    <cac:PostalAddress><cbc:CityName>Bonn</cbc:CityName><cac:Country>
      <cbc:IdentificationCode>DE</cbc:IdentificationCode></cac:Country></cac:PostalAddress>
    <cac:PartyLegalEntity><cbc:RegistrationName>Stadt Bonn</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingCustomerParty>
  <cac:PayeeParty><cac:PartyName><cbc:Name>Factoring AG</cbc:Name></cac:PartyName></cac:PayeeParty>
  <cac:PaymentMeans>
    <cbc:PaymentMeansCode>1</cbc:PaymentMeansCode>
    <cbc:PaymentID>VZ-RE-4711</cbc:PaymentID>
  </cac:PaymentMeans>
  <cac:PaymentMeans>
    <cbc:PaymentMeansCode>58</cbc:PaymentMeansCode>
    <cac:PayeeFinancialAccount><cbc:ID>DE02 1203 0000 0000 2020 51</cbc:ID></cac:PayeeFinancialAccount>
  </cac:PaymentMeans>
  <cac:PaymentTerms><cbc:Note>#SKONTO#TAGE=10#PROZENT=2.00#
#SKONTO#TAGE=20#PROZENT=1.00#BASISBETRAG=100.00#
Zahlbar in 30 Tagen.</cbc:Note></cac:PaymentTerms>
  <cac:TaxTotal><cbc:TaxAmount currencyID="GBP">16.20</cbc:TaxAmount></cac:TaxTotal>
  <cac:TaxTotal>
    <cbc:TaxAmount currencyID="EUR">19.00</cbc:TaxAmount>
    <cac:TaxSubtotal>
      <cbc:TaxableAmount currencyID="EUR">100.00</cbc:TaxableAmount>
      <cbc:TaxAmount currencyID="EUR">19.00</cbc:TaxAmount>
      <cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>19</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID>
        </cac:TaxScheme></cac:TaxCategory>
    </cac:TaxSubtotal>
    <cac:TaxSubtotal>
      <cbc:TaxableAmount currencyID="EUR">20.00</cbc:TaxableAmount>
      <cbc:TaxAmount currencyID="EUR">0.00</cbc:TaxAmount>
      <cac:TaxCategory><cbc:ID>E</cbc:ID><cbc:Percent>0</cbc:Percent>
        <cbc:TaxExemptionReasonCode>VATEX-EU-132-1I</cbc:TaxExemptionReasonCode>
        <cbc:TaxExemptionReason>Steuerfrei nach § 4 Nr. 21 UStG</cbc:TaxExemptionReason>
        <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory>
    </cac:TaxSubtotal>
  </cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="EUR">120.00</cbc:LineExtensionAmount>
    <cbc:TaxExclusiveAmount currencyID="EUR">120.00</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="EUR">139.00</cbc:TaxInclusiveAmount>
    <cbc:AllowanceTotalAmount currencyID="EUR">0.00</cbc:AllowanceTotalAmount>
    <cbc:ChargeTotalAmount currencyID="EUR">0.00</cbc:ChargeTotalAmount>
    <cbc:PrepaidAmount currencyID="EUR">39.00</cbc:PrepaidAmount>
    <cbc:PayableRoundingAmount currencyID="EUR">0.01</cbc:PayableRoundingAmount>
    <cbc:PayableAmount currencyID="EUR">100.01</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
  <cac:InvoiceLine>
    <cbc:ID>1</cbc:ID>
    <cbc:InvoicedQuantity unitCode="HUR">2.5</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="EUR">100.00</cbc:LineExtensionAmount>
    <cbc:AccountingCost>4711-0815</cbc:AccountingCost>
    <cac:OrderLineReference><cbc:LineID>10</cbc:LineID></cac:OrderLineReference>
    <cac:Item>
      <cbc:Description>Beratung vor Ort</cbc:Description>
      <cbc:Name>Beratung</cbc:Name>
      <cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>19</cbc:Percent><cac:TaxScheme>
        <cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory>
      <cac:AdditionalItemProperty><cbc:Name>Farbe</cbc:Name><cbc:Value>blau</cbc:Value>
        </cac:AdditionalItemProperty>
    </cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="EUR">40.00</cbc:PriceAmount></cac:Price>
  </cac:InvoiceLine>
  <cac:InvoiceLine>
    <cbc:ID>2</cbc:ID>
    <cbc:InvoicedQuantity>1</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="EUR">20,00</cbc:LineExtensionAmount>
    <cac:Item><cbc:Name>Kurs</cbc:Name>
      <cac:ClassifiedTaxCategory><cbc:ID>E</cbc:ID><cbc:Percent>0</cbc:Percent><cac:TaxScheme>
        <cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory>
    </cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="EUR">20.00</cbc:PriceAmount></cac:Price>
  </cac:InvoiceLine>
</Invoice>"""

CREDIT_NOTE = f"""<?xml version="1.0" encoding="UTF-8"?>
<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2" {NS}>
  <cbc:ID>GS-1</cbc:ID>
  <cbc:IssueDate>2026-03-16+01:00</cbc:IssueDate>
  <cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>
  <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
  <cbc:BuyerReference>04011000-12345-34</cbc:BuyerReference>
  <cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>RE-4711</cbc:ID></cac:InvoiceDocumentReference>
    </cac:BillingReference>
  <cac:AdditionalDocumentReference><cbc:ID>PRJ-9</cbc:ID><cbc:DocumentTypeCode>50</cbc:DocumentTypeCode>
    </cac:AdditionalDocumentReference>
  <cac:AdditionalDocumentReference><cbc:ID>Anlage 1</cbc:ID></cac:AdditionalDocumentReference>
  <cac:AccountingSupplierParty><cac:Party><cac:PartyLegalEntity>
    <cbc:RegistrationName>Seller GmbH</cbc:RegistrationName></cac:PartyLegalEntity></cac:Party>
    </cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party><cac:PartyLegalEntity>
    <cbc:RegistrationName>Stadt Bonn</cbc:RegistrationName></cac:PartyLegalEntity></cac:Party>
    </cac:AccountingCustomerParty>
  <cac:PaymentMeans>
    <cbc:PaymentMeansCode>30</cbc:PaymentMeansCode>
    <cbc:PaymentDueDate>2026-03-30</cbc:PaymentDueDate>
    <cac:PayeeFinancialAccount><cbc:ID>DE02120300000000202051</cbc:ID></cac:PayeeFinancialAccount>
  </cac:PaymentMeans>
  <cac:TaxTotal><cbc:TaxAmount currencyID="EUR">1.90</cbc:TaxAmount></cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="EUR">10.00</cbc:LineExtensionAmount>
    <cbc:TaxExclusiveAmount currencyID="EUR">10.00</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="EUR">11.90</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="EUR">11.90</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
  <cac:CreditNoteLine>
    <cbc:ID>1</cbc:ID>
    <cbc:CreditedQuantity unitCode="H87">-1</cbc:CreditedQuantity>
    <cbc:LineExtensionAmount currencyID="EUR">10.00</cbc:LineExtensionAmount>
    <cac:Item><cbc:Name>Retoure</cbc:Name>
      <cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>19</cbc:Percent></cac:ClassifiedTaxCategory>
        </cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="EUR">10.00</cbc:PriceAmount></cac:Price>
  </cac:CreditNoteLine>
</CreditNote>"""


def parse(xml: str) -> etree._ElementTree:
    return etree.ElementTree(etree.fromstring(xml.encode()))


def test_invoice_header() -> None:
    data = extract(parse(INVOICE), "UBL-Invoice")
    assert data.syntax == "UBL-Invoice"
    assert (data.document_type, data.type_code, data.number) == ("invoice", "380", "RE-4711")
    assert (data.issue_date, data.due_date, data.tax_point_date) == (
        date(2026, 3, 2), date(2026, 4, 1), date(2026, 2, 27))
    assert (data.currency, data.vat_currency) == ("EUR", "GBP")
    assert data.buyer_reference == data.leitweg_id == "04011000-12345-03"
    assert data.leitweg_id_valid is True
    assert (data.order_reference, data.contract_reference, data.project_reference) == ("PO-1", "V-77", "PRJ-5")
    assert data.accounting_reference == "KST-100"
    assert data.preceding_invoices == ["RE-4000", "RE-4001"]
    assert data.specification_id == "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
    assert data.business_process == "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
    assert data.notes == ["#ADU#Lieferung frei Haus"]


def test_invoice_parties() -> None:
    data = extract(parse(INVOICE), "UBL-Invoice")
    seller = data.seller
    assert (seller.name, seller.trading_name) == ("Seller GmbH", "Seller Shop")
    assert seller.identifiers == [Identifier("4000001123452", "0088"), Identifier("L-17")]  # SEPA is BT-90
    assert seller.legal_registration_id == Identifier("HRB 1", "0002")
    assert (seller.vat_id, seller.tax_registration_id) == ("DE123456789", "22/815/08150")
    assert seller.electronic_address == Identifier("rechnung@seller.example", "EM")
    assert (seller.street, seller.city, seller.postal_code, seller.country) == (
        "Hauptstr. 1", "Hamburg", "20095", "DE")
    assert (seller.contact_name, seller.contact_phone, seller.contact_email) == (
        "Eva Muster", "+49 40 1", "eva@seller.example")
    buyer = data.buyer
    assert (buyer.name, buyer.city, buyer.country) == ("Stadt Bonn", "Bonn", "DE")
    assert buyer.electronic_address == Identifier("04011000-12345-03", "0204")
    assert (buyer.vat_id, buyer.trading_name, buyer.identifiers) == (None, None, [])


def test_invoice_payment() -> None:
    data = extract(parse(INVOICE), "UBL-Invoice")
    assert data.payee_name == "Factoring AG"
    assert data.payment_means_code == "1"
    assert data.payee_iban == "DE02120300000000202051"  # of the credit transfer, printed spaces removed
    assert data.payment_reference == "VZ-RE-4711"
    terms = data.payment_terms
    assert terms.text is not None and terms.text.endswith("Zahlbar in 30 Tagen.")
    assert terms.skonto == [SkontoTerm(10, Decimal("2.00")), SkontoTerm(20, Decimal("1.00"), Decimal("100.00"))]
    assert terms.skonto_errors == []


def test_invoice_totals_and_vat() -> None:
    data = extract(parse(INVOICE), "UBL-Invoice")
    totals = data.totals
    assert totals.line_total == Decimal("120.00")
    assert (totals.allowances, totals.charges) == (Decimal("0.00"), Decimal("0.00"))
    assert (totals.net, totals.vat, totals.gross) == (Decimal("120.00"), Decimal("19.00"), Decimal("139.00"))
    assert totals.vat_in_accounting_currency == Decimal("16.20")  # BT-111 comes first in the document
    assert (totals.prepaid, totals.rounding, totals.amount_due) == (
        Decimal("39.00"), Decimal("0.01"), Decimal("100.01"))
    assert data.vat_breakdown == [
        VatBreakdown("S", Decimal("19"), Decimal("100.00"), Decimal("19.00")),
        VatBreakdown("E", Decimal("0"), Decimal("20.00"), Decimal("0.00"),
                     "Steuerfrei nach § 4 Nr. 21 UStG", "VATEX-EU-132-1I"),
    ]


def test_invoice_lines() -> None:
    data = extract(parse(INVOICE), "UBL-Invoice")
    assert data.lines == [
        Line("1", Decimal("2.5"), "HUR", Decimal("100.00"), "Beratung", Decimal("40.00"), "S",
             Decimal("19"), "10", "4711-0815"),
        # "20,00" is no xsd:decimal: None, not an exception
        Line("2", Decimal("1"), None, None, "Kurs", Decimal("20.00"), "E", Decimal("0")),
    ]


def test_invoice_attachments() -> None:
    data = extract(parse(INVOICE), "UBL-Invoice")
    assert [a.id for a in data.attachments] == ["Stundenzettel.pdf", "Lieferschein"]  # not the 130 object
    embedded, external = data.attachments
    assert (embedded.filename, embedded.mime_code, embedded.description) == (
        "Stundenzettel.pdf", "application/pdf", "Stundennachweis")
    assert embedded.size == len(PDF)
    assert embedded.content() == PDF
    assert external.uri == "https://example.org/ls/1"
    assert (external.size, external.content(), external.filename) == (0, b"", None)
    assert isinstance(embedded, Attachment)


def test_credit_note() -> None:
    data = extract(parse(CREDIT_NOTE), "UBL-CreditNote")
    assert (data.syntax, data.document_type, data.type_code) == ("UBL-CreditNote", "credit_note", "381")
    assert data.issue_date == date(2026, 3, 16)  # time zone suffix ignored
    assert data.due_date == date(2026, 3, 30)  # BT-9 of a CreditNote sits in PaymentMeans
    assert data.project_reference == "PRJ-9"  # BT-11 of a CreditNote: document reference code 50
    assert [a.id for a in data.attachments] == ["Anlage 1"]
    assert (data.leitweg_id, data.leitweg_id_valid) == ("04011000-12345-34", False)
    assert data.preceding_invoices == ["RE-4711"]
    assert data.payee_iban == "DE02120300000000202051"
    assert (data.totals.vat, data.totals.gross, data.totals.amount_due) == (
        Decimal("1.90"), Decimal("11.90"), Decimal("11.90"))
    assert data.vat_breakdown == []
    assert data.lines == [Line("1", Decimal("-1"), "H87", Decimal("10.00"), "Retoure", Decimal("10.00"), "S",
                               Decimal("19"))]
    assert (data.seller.name, data.buyer.name) == ("Seller GmbH", "Stadt Bonn")


def test_credit_note_type_decides_over_root() -> None:
    """A UBL Invoice with a credit note code is a credit note; an unknown code keeps the root's kind."""
    as_credit = INVOICE.replace(">380<", ">381<")
    assert extract(parse(as_credit)).document_type == "credit_note"
    unknown = CREDIT_NOTE.replace(">381<", ">999<")
    assert extract(parse(unknown)).document_type == "credit_note"
    corrected = INVOICE.replace(">380<", ">384<")
    assert extract(parse(corrected)).document_type == "invoice"
