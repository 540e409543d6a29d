"""Business terms from a hand-written CII (XRechnung / ZUGFeRD syntax) snippet, field by field."""

from __future__ import annotations

import base64
from datetime import date
from decimal import Decimal

from lxml import etree

from einvoice.invoice import Identifier, InvoiceData, Line, SkontoTerm, VatBreakdown, extract

ATTACHMENT = b"Zeile 1;Zeile 2\n"
PAYLOAD = base64.b64encode(ATTACHMENT).decode()

CII = f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
    xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
    xmlns:qdt="urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
    xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
  <rsm:ExchangedDocumentContext>
    <ram:BusinessProcessSpecifiedDocumentContextParameter>
      <ram:ID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</ram:ID>
      </ram:BusinessProcessSpecifiedDocumentContextParameter>
    <ram:GuidelineSpecifiedDocumentContextParameter><ram:ID>urn:cen.eu:en16931:2017</ram:ID>
      </ram:GuidelineSpecifiedDocumentContextParameter>
  </rsm:ExchangedDocumentContext>
  <rsm:ExchangedDocument>
    <ram:ID>471102</ram:ID>
    <ram:TypeCode>381</ram:TypeCode>
    <ram:IssueDateTime><udt:DateTimeString format="102">20260305</udt:DateTimeString></ram:IssueDateTime>
    <ram:IncludedNote><ram:Content>Rechnung gemäß Bestellung</ram:Content>
      <ram:SubjectCode>AAI</ram:SubjectCode></ram:IncludedNote>
    <ram:IncludedNote><ram:Content>Ohne Betreff</ram:Content></ram:IncludedNote>
  </rsm:ExchangedDocument>
  <rsm:SupplyChainTradeTransaction>
    <ram:IncludedSupplyChainTradeLineItem>
      <ram:AssociatedDocumentLineDocument><ram:LineID>1</ram:LineID></ram:AssociatedDocumentLineDocument>
      <ram:SpecifiedTradeProduct><ram:GlobalID schemeID="0160">4012345001235</ram:GlobalID>
        <ram:Name>GTIN-Ware</ram:Name></ram:SpecifiedTradeProduct>
      <ram:SpecifiedLineTradeAgreement>
        <ram:BuyerOrderReferencedDocument><ram:LineID>7</ram:LineID></ram:BuyerOrderReferencedDocument>
        <ram:GrossPriceProductTradePrice><ram:ChargeAmount>10.00</ram:ChargeAmount>
          </ram:GrossPriceProductTradePrice>
        <ram:NetPriceProductTradePrice><ram:ChargeAmount>9.90</ram:ChargeAmount>
          </ram:NetPriceProductTradePrice>
      </ram:SpecifiedLineTradeAgreement>
      <ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode="H87">20.0000</ram:BilledQuantity>
        </ram:SpecifiedLineTradeDelivery>
      <ram:SpecifiedLineTradeSettlement>
        <ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode><ram:CategoryCode>S</ram:CategoryCode>
          <ram:RateApplicablePercent>19.00</ram:RateApplicablePercent></ram:ApplicableTradeTax>
        <ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>198.00</ram:LineTotalAmount>
          </ram:SpecifiedTradeSettlementLineMonetarySummation>
        <ram:ReceivableSpecifiedTradeAccountingAccount><ram:ID>6800</ram:ID>
          </ram:ReceivableSpecifiedTradeAccountingAccount>
      </ram:SpecifiedLineTradeSettlement>
    </ram:IncludedSupplyChainTradeLineItem>
    <ram:IncludedSupplyChainTradeLineItem>
      <ram:AssociatedDocumentLineDocument><ram:LineID>2</ram:LineID></ram:AssociatedDocumentLineDocument>
      <ram:SpecifiedTradeProduct><ram:Name>Buch</ram:Name></ram:SpecifiedTradeProduct>
      <ram:SpecifiedLineTradeAgreement><ram:NetPriceProductTradePrice><ram:ChargeAmount>50</ram:ChargeAmount>
        </ram:NetPriceProductTradePrice></ram:SpecifiedLineTradeAgreement>
      <ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode="H87">1</ram:BilledQuantity>
        </ram:SpecifiedLineTradeDelivery>
      <ram:SpecifiedLineTradeSettlement>
        <ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode><ram:CategoryCode>S</ram:CategoryCode>
          <ram:RateApplicablePercent>7</ram:RateApplicablePercent></ram:ApplicableTradeTax>
        <ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>50.00</ram:LineTotalAmount>
          </ram:SpecifiedTradeSettlementLineMonetarySummation>
      </ram:SpecifiedLineTradeSettlement>
    </ram:IncludedSupplyChainTradeLineItem>
    <ram:ApplicableHeaderTradeAgreement>
      <ram:BuyerReference>991-33333TEST-33</ram:BuyerReference>
      <ram:SellerTradeParty>
        <ram:ID>549910</ram:ID>
        <ram:GlobalID schemeID="0088">4000001123452</ram:GlobalID>
        <ram:Name>Lieferant GmbH</ram:Name>
        <ram:SpecifiedLegalOrganization><ram:ID schemeID="0002">HRB 42</ram:ID>
          <ram:TradingBusinessName>Lieferant</ram:TradingBusinessName></ram:SpecifiedLegalOrganization>
        <ram:DefinedTradeContact>
          <ram:PersonName>Hans Muster</ram:PersonName>
          <ram:TelephoneUniversalCommunication><ram:CompleteNumber>+49 89 1</ram:CompleteNumber>
            </ram:TelephoneUniversalCommunication>
          <ram:EmailURIUniversalCommunication><ram:URIID>hans@lieferant.example</ram:URIID>
            </ram:EmailURIUniversalCommunication>
        </ram:DefinedTradeContact>
        <ram:PostalTradeAddress><ram:PostcodeCode>80333</ram:PostcodeCode>
          <ram:LineOne>Lieferantenstraße 20</ram:LineOne><ram:CityName>München</ram:CityName>
          <ram:CountryID>DE</ram:CountryID></ram:PostalTradeAddress>
        <ram:URIUniversalCommunication><ram:URIID schemeID="EM">rechnung@lieferant.example</ram:URIID>
          </ram:URIUniversalCommunication>
        <ram:SpecifiedTaxRegistration><ram:ID schemeID="FC">201/113/40209</ram:ID>
          </ram:SpecifiedTaxRegistration>
        <ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">DE123456789</ram:ID>
          </ram:SpecifiedTaxRegistration>
      </ram:SellerTradeParty>
      <ram:BuyerTradeParty>
        <ram:Name>Bundesamt</ram:Name>
        <ram:DefinedTradeContact><ram:DepartmentName>Beschaffung</ram:DepartmentName>
          </ram:DefinedTradeContact>
        <ram:PostalTradeAddress><ram:CityName>Berlin</ram:CityName><ram:CountryID>DE</ram:CountryID>
          </ram:PostalTradeAddress>
        <ram:URIUniversalCommunication><ram:URIID schemeID="0204">991-33333TEST-33</ram:URIID>
          </ram:URIUniversalCommunication>
      </ram:BuyerTradeParty>
      <ram:BuyerOrderReferencedDocument><ram:IssuerAssignedID>PO-42</ram:IssuerAssignedID>
        </ram:BuyerOrderReferencedDocument>
      <ram:ContractReferencedDocument><ram:IssuerAssignedID>V-1</ram:IssuerAssignedID>
        </ram:ContractReferencedDocument>
      <ram:AdditionalReferencedDocument>
        <ram:IssuerAssignedID>Aufmass</ram:IssuerAssignedID>
        <ram:TypeCode>916</ram:TypeCode>
        <ram:Name>Aufmaß als CSV</ram:Name>
        <ram:AttachmentBinaryObject mimeCode="text/csv" filename="aufmass.csv">{PAYLOAD}</ram:AttachmentBinaryObject>
      </ram:AdditionalReferencedDocument>
      <ram:AdditionalReferencedDocument><ram:IssuerAssignedID>LOS-3</ram:IssuerAssignedID>
        <ram:TypeCode>50</ram:TypeCode></ram:AdditionalReferencedDocument>
      <ram:AdditionalReferencedDocument><ram:IssuerAssignedID>OBJ-1</ram:IssuerAssignedID>
        <ram:TypeCode>130</ram:TypeCode></ram:AdditionalReferencedDocument>
      <ram:SpecifiedProcuringProject><ram:ID>PRJ-1</ram:ID><ram:Name>Projekt</ram:Name>
        </ram:SpecifiedProcuringProject>
    </ram:ApplicableHeaderTradeAgreement>
    <ram:ApplicableHeaderTradeDelivery/>
    <ram:ApplicableHeaderTradeSettlement>
      <ram:PaymentReference>VZ 471102</ram:PaymentReference>
      <ram:TaxCurrencyCode>USD</ram:TaxCurrencyCode>
      <ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
      <ram:PayeeTradeParty><ram:Name>Bank als Zahlungsempfänger</ram:Name></ram:PayeeTradeParty>
      <ram:SpecifiedTradeSettlementPaymentMeans>
        <ram:TypeCode>58</ram:TypeCode>
        <ram:PayeePartyCreditorFinancialAccount><ram:IBANID>DE75512108001245126199</ram:IBANID>
          </ram:PayeePartyCreditorFinancialAccount>
      </ram:SpecifiedTradeSettlementPaymentMeans>
      <ram:ApplicableTradeTax>
        <ram:CalculatedAmount>37.62</ram:CalculatedAmount><ram:TypeCode>VAT</ram:TypeCode>
          <ram:BasisAmount>198.00</ram:BasisAmount>
        <ram:CategoryCode>S</ram:CategoryCode>
        <ram:TaxPointDate><udt:DateString format="102">20260301</udt:DateString></ram:TaxPointDate>
        <ram:RateApplicablePercent>19.00</ram:RateApplicablePercent>
      </ram:ApplicableTradeTax>
      <ram:ApplicableTradeTax>
        <ram:CalculatedAmount>3.50</ram:CalculatedAmount><ram:TypeCode>VAT</ram:TypeCode>
          <ram:BasisAmount>50.00</ram:BasisAmount>
        <ram:CategoryCode>S</ram:CategoryCode><ram:RateApplicablePercent>7</ram:RateApplicablePercent>
      </ram:ApplicableTradeTax>
      <ram:SpecifiedTradePaymentTerms>
        <ram:Description>Zahlbar innerhalb 30 Tagen netto.</ram:Description>
        <ram:DueDateDateTime><udt:DateTimeString format="102">20260404</udt:DateTimeString>
          </ram:DueDateDateTime>
      </ram:SpecifiedTradePaymentTerms>
      <ram:SpecifiedTradePaymentTerms>
        <ram:Description>#SKONTO#TAGE=10#PROZENT=3.00#</ram:Description>
      </ram:SpecifiedTradePaymentTerms>
      <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
        <ram:LineTotalAmount>248.00</ram:LineTotalAmount>
        <ram:ChargeTotalAmount>0.00</ram:ChargeTotalAmount>
        <ram:AllowanceTotalAmount>0.00</ram:AllowanceTotalAmount>
        <ram:TaxBasisTotalAmount>248.00</ram:TaxBasisTotalAmount>
        <ram:TaxTotalAmount currencyID="EUR">41.12</ram:TaxTotalAmount>
        <ram:TaxTotalAmount currencyID="USD">44.80</ram:TaxTotalAmount>
        <ram:RoundingAmount>0</ram:RoundingAmount>
        <ram:GrandTotalAmount>289.12</ram:GrandTotalAmount>
        <ram:TotalPrepaidAmount>0.00</ram:TotalPrepaidAmount>
        <ram:DuePayableAmount>289.12</ram:DuePayableAmount>
      </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
      <ram:InvoiceReferencedDocument><ram:IssuerAssignedID>471100</ram:IssuerAssignedID>
        </ram:InvoiceReferencedDocument>
      <ram:ReceivableSpecifiedTradeAccountingAccount><ram:ID>BU-99</ram:ID>
        </ram:ReceivableSpecifiedTradeAccountingAccount>
    </ram:ApplicableHeaderTradeSettlement>
  </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>"""


def data() -> InvoiceData:
    return extract(etree.ElementTree(etree.fromstring(CII.encode())), "CII")


def test_header() -> None:
    invoice = data()
    assert (invoice.syntax, invoice.type_code, invoice.document_type) == ("CII", "381", "credit_note")
    assert invoice.number == "471102"
    assert (invoice.issue_date, invoice.due_date, invoice.tax_point_date) == (
        date(2026, 3, 5), date(2026, 4, 4), date(2026, 3, 1))
    assert (invoice.currency, invoice.vat_currency) == ("EUR", "USD")
    assert (invoice.leitweg_id, invoice.leitweg_id_valid) == ("991-33333TEST-33", True)
    assert (invoice.order_reference, invoice.contract_reference, invoice.project_reference) == (
        "PO-42", "V-1", "PRJ-1")
    assert invoice.accounting_reference == "BU-99"
    assert invoice.preceding_invoices == ["471100"]
    assert (invoice.specification_id, invoice.business_process) == (
        "urn:cen.eu:en16931:2017", "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0")
    assert invoice.notes == ["#AAI#Rechnung gemäß Bestellung", "Ohne Betreff"]  # BT-21 as in UBL


def test_parties() -> None:
    seller, buyer = data().seller, data().buyer
    assert (seller.name, seller.trading_name) == ("Lieferant GmbH", "Lieferant")
    assert seller.identifiers == [Identifier("549910"), Identifier("4000001123452", "0088")]
    assert seller.legal_registration_id == Identifier("HRB 42", "0002")
    assert (seller.vat_id, seller.tax_registration_id) == ("DE123456789", "201/113/40209")
    assert seller.electronic_address == Identifier("rechnung@lieferant.example", "EM")
    assert (seller.street, seller.postal_code, seller.city, seller.country) == (
        "Lieferantenstraße 20", "80333", "München", "DE")
    assert (seller.contact_name, seller.contact_phone, seller.contact_email) == (
        "Hans Muster", "+49 89 1", "hans@lieferant.example")
    assert (buyer.name, buyer.city, buyer.contact_name) == ("Bundesamt", "Berlin", "Beschaffung")
    assert buyer.electronic_address == Identifier("991-33333TEST-33", "0204")


def test_payment() -> None:
    invoice = data()
    assert (invoice.payee_name, invoice.payment_means_code) == ("Bank als Zahlungsempfänger", "58")
    assert invoice.payee_iban == "DE75512108001245126199"
    assert invoice.payment_reference == "VZ 471102"
    terms = invoice.payment_terms
    assert terms.text == "Zahlbar innerhalb 30 Tagen netto.\n#SKONTO#TAGE=10#PROZENT=3.00#"
    assert terms.skonto == [SkontoTerm(10, Decimal("3.00"))]
    # each Description is its own BT-20 text; the second lacks the closing line break
    assert terms.skonto_errors == [
        "Payment terms text 2: Line 1: the last Skonto term must be followed by a line break."]


def test_totals_and_vat() -> None:
    totals = data().totals
    assert (totals.line_total, totals.charges, totals.allowances, totals.net) == (
        Decimal("248.00"), Decimal("0.00"), Decimal("0.00"), Decimal("248.00"))
    assert (totals.vat, totals.vat_in_accounting_currency) == (Decimal("41.12"), Decimal("44.80"))
    assert (totals.rounding, totals.gross, totals.prepaid, totals.amount_due) == (
        Decimal("0"), Decimal("289.12"), Decimal("0.00"), Decimal("289.12"))
    assert data().vat_breakdown == [
        VatBreakdown("S", Decimal("19.00"), Decimal("198.00"), Decimal("37.62")),
        VatBreakdown("S", Decimal("7"), Decimal("50.00"), Decimal("3.50")),
    ]


def test_lines() -> None:
    assert data().lines == [
        Line("1", Decimal("20.0000"), "H87", Decimal("198.00"), "GTIN-Ware", Decimal("9.90"), "S",
             Decimal("19.00"), "7", "6800"),
        Line("2", Decimal("1"), "H87", Decimal("50.00"), "Buch", Decimal("50"), "S", Decimal("7")),
    ]


def test_attachments_are_only_type_916() -> None:
    attachments = data().attachments
    assert len(attachments) == 1
    attachment = attachments[0]
    assert (attachment.id, attachment.description, attachment.filename, attachment.mime_code) == (
        "Aufmass", "Aufmaß als CSV", "aufmass.csv", "text/csv")
    assert attachment.size == len(ATTACHMENT)
    assert attachment.content() == ATTACHMENT


def test_vat_currency_total_first_and_without_currency_ids() -> None:
    """BT-110 is chosen by currency, not position; without currencyID the first one is BT-110."""
    swapped = CII.replace('<ram:TaxTotalAmount currencyID="EUR">41.12</ram:TaxTotalAmount>', "").replace(
        '<ram:TaxTotalAmount currencyID="USD">44.80</ram:TaxTotalAmount>',
        '<ram:TaxTotalAmount currencyID="USD">44.80</ram:TaxTotalAmount>'
        '<ram:TaxTotalAmount currencyID="EUR">41.12</ram:TaxTotalAmount>')
    totals = extract(etree.ElementTree(etree.fromstring(swapped.encode()))).totals
    assert (totals.vat, totals.vat_in_accounting_currency) == (Decimal("41.12"), Decimal("44.80"))
    bare = CII.replace('<ram:TaxCurrencyCode>USD</ram:TaxCurrencyCode>', "").replace(
        ' currencyID="EUR"', "").replace('<ram:TaxTotalAmount currencyID="USD">44.80</ram:TaxTotalAmount>', "")
    totals = extract(etree.ElementTree(etree.fromstring(bare.encode()))).totals
    assert (totals.vat, totals.vat_in_accounting_currency) == (Decimal("41.12"), None)
