"""EN 16931 business terms from UN/CEFACT CII D16B (binding EN 16931-3-3).

Covers XRechnung CII and every ZUGFeRD 2.x / Factur-X profile, which share the syntax (MINIMUM and
BASIC WL simply leave lines and most parties out). Header terms use compiled XPath relative to the
header agreement and settlement; lines are read with one pass over each element's children.
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from einvoice.formats.detect import SYNTAX_CII
from einvoice.invoice import common
from einvoice.invoice.model import (
    Attachment,
    InvoiceData,
    Line,
    Party,
    Totals,
    VatBreakdown,
    base64_size,
)
from einvoice.invoice.xmlvalues import (
    clean,
    first_children,
    full_text,
    identifier,
    tag,
    text_of,
    to_date,
    to_decimal,
    xpath,
)

_TYPE_CODE = xpath("string(rsm:ExchangedDocument/ram:TypeCode)")
_NUMBER = xpath("string(rsm:ExchangedDocument/ram:ID)")
_ISSUE_DATE = xpath("string(rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString)")
_NOTES = xpath("rsm:ExchangedDocument/ram:IncludedNote")
_SPECIFICATION = xpath("string(rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID)")
_PROCESS = xpath("string(rsm:ExchangedDocumentContext/ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID)")
_TRANSACTION = xpath("rsm:SupplyChainTradeTransaction")
_LINES = xpath("ram:IncludedSupplyChainTradeLineItem")
_AGREEMENT = xpath("ram:ApplicableHeaderTradeAgreement")
_SETTLEMENT = xpath("ram:ApplicableHeaderTradeSettlement")

# relative to ram:ApplicableHeaderTradeAgreement
_BUYER_REFERENCE = xpath("string(ram:BuyerReference)")
_SELLER = xpath("ram:SellerTradeParty")
_BUYER = xpath("ram:BuyerTradeParty")
_ORDER_REFERENCE = xpath("string(ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID)")
_CONTRACT_REFERENCE = xpath("string(ram:ContractReferencedDocument/ram:IssuerAssignedID)")
_PROJECT_REFERENCE = xpath("string(ram:SpecifiedProcuringProject/ram:ID)")
_ATTACHMENTS = xpath("ram:AdditionalReferencedDocument[normalize-space(ram:TypeCode)='916']")

# relative to ram:ApplicableHeaderTradeSettlement
_CURRENCY = xpath("string(ram:InvoiceCurrencyCode)")
_VAT_CURRENCY = xpath("string(ram:TaxCurrencyCode)")
_PAYMENT_REFERENCE = xpath("string(ram:PaymentReference)")
_PAYEE_NAME = xpath("string(ram:PayeeTradeParty/ram:Name)")
_PAYMENT_MEANS = xpath("ram:SpecifiedTradeSettlementPaymentMeans")
_TAXES = xpath("ram:ApplicableTradeTax")
_TAX_POINT_DATE = xpath("string(ram:ApplicableTradeTax/ram:TaxPointDate/udt:DateString)")
_PAYMENT_TERMS = xpath("ram:SpecifiedTradePaymentTerms/ram:Description")
_DUE_DATE = xpath("string(ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString)")
_SUMMATION = xpath("ram:SpecifiedTradeSettlementHeaderMonetarySummation")
_PRECEDING = xpath("ram:InvoiceReferencedDocument/ram:IssuerAssignedID")
_ACCOUNTING_REFERENCE = xpath("string(ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID)")

# relative to a trade party
_P_NAME = xpath("string(ram:Name)")
_P_TRADING_NAME = xpath("string(ram:SpecifiedLegalOrganization/ram:TradingBusinessName)")
_P_IDENTIFIERS = xpath("ram:ID | ram:GlobalID")
_P_LEGAL_ID = xpath("ram:SpecifiedLegalOrganization/ram:ID")
_P_VAT_ID = xpath("string(ram:SpecifiedTaxRegistration/ram:ID[normalize-space(@schemeID)='VA'])")
_P_TAX_REGISTRATION = xpath("string(ram:SpecifiedTaxRegistration/ram:ID[normalize-space(@schemeID)='FC'])")
_P_ENDPOINT = xpath("ram:URIUniversalCommunication/ram:URIID")
_P_STREET = xpath("string(ram:PostalTradeAddress/ram:LineOne)")
_P_CITY = xpath("string(ram:PostalTradeAddress/ram:CityName)")
_P_POSTAL_CODE = xpath("string(ram:PostalTradeAddress/ram:PostcodeCode)")
_P_COUNTRY = xpath("string(ram:PostalTradeAddress/ram:CountryID)")
_P_CONTACT_NAME = xpath("string(ram:DefinedTradeContact/ram:PersonName | ram:DefinedTradeContact/ram:DepartmentName)")
_P_CONTACT_PHONE = xpath("string(ram:DefinedTradeContact/ram:TelephoneUniversalCommunication/ram:CompleteNumber)")
_P_CONTACT_EMAIL = xpath("string(ram:DefinedTradeContact/ram:EmailURIUniversalCommunication/ram:URIID)")

_ID = tag("ram", "ID")
_CONTENT = tag("ram", "Content")
_SUBJECT_CODE = tag("ram", "SubjectCode")
_LINE_ID = tag("ram", "LineID")
_NAME = tag("ram", "Name")
_TYPE = tag("ram", "TypeCode")
_DOCUMENT_LINE = tag("ram", "AssociatedDocumentLineDocument")
_PRODUCT = tag("ram", "SpecifiedTradeProduct")
_LINE_AGREEMENT = tag("ram", "SpecifiedLineTradeAgreement")
_LINE_DELIVERY = tag("ram", "SpecifiedLineTradeDelivery")
_LINE_SETTLEMENT = tag("ram", "SpecifiedLineTradeSettlement")
_BUYER_ORDER = tag("ram", "BuyerOrderReferencedDocument")
_NET_PRICE = tag("ram", "NetPriceProductTradePrice")
_CHARGE_AMOUNT = tag("ram", "ChargeAmount")
_BILLED_QUANTITY = tag("ram", "BilledQuantity")
_TRADE_TAX = tag("ram", "ApplicableTradeTax")
_CATEGORY = tag("ram", "CategoryCode")
_RATE = tag("ram", "RateApplicablePercent")
_LINE_SUMMATION = tag("ram", "SpecifiedTradeSettlementLineMonetarySummation")
_LINE_TOTAL = tag("ram", "LineTotalAmount")
_ACCOUNT = tag("ram", "ReceivableSpecifiedTradeAccountingAccount")
_BASIS_AMOUNT = tag("ram", "BasisAmount")
_CALCULATED_AMOUNT = tag("ram", "CalculatedAmount")
_EXEMPTION_REASON = tag("ram", "ExemptionReason")
_EXEMPTION_CODE = tag("ram", "ExemptionReasonCode")
_CREDITOR_ACCOUNT = tag("ram", "PayeePartyCreditorFinancialAccount")
_IBAN = tag("ram", "IBANID")
_PROPRIETARY_ID = tag("ram", "ProprietaryID")
_ISSUER_ASSIGNED_ID = tag("ram", "IssuerAssignedID")
_URI = tag("ram", "URIID")
_BINARY_OBJECT = tag("ram", "AttachmentBinaryObject")
_TAX_TOTAL = tag("ram", "TaxTotalAmount")
_TOTAL_FIELDS = {
    tag("ram", "LineTotalAmount"): "line_total",
    tag("ram", "AllowanceTotalAmount"): "allowances",
    tag("ram", "ChargeTotalAmount"): "charges",
    tag("ram", "TaxBasisTotalAmount"): "net",
    tag("ram", "GrandTotalAmount"): "gross",
    tag("ram", "TotalPrepaidAmount"): "prepaid",
    tag("ram", "RoundingAmount"): "rounding",
    tag("ram", "DuePayableAmount"): "amount_due",
}


def _first(found: list[etree._Element]) -> etree._Element | None:
    return found[0] if found else None


def extract_cii(root: etree._Element) -> InvoiceData:
    """Read a CrossIndustryInvoice root element; missing terms become None."""
    transaction = _first(_TRANSACTION(root))
    agreement = _first(_AGREEMENT(transaction)) if transaction is not None else None
    settlement = _first(_SETTLEMENT(transaction)) if transaction is not None else None
    # Evaluating on a stand-in keeps every query total when a whole section is missing.
    empty = etree.Element("empty")
    agreement = empty if agreement is None else agreement
    settlement = empty if settlement is None else settlement

    type_code = clean(_TYPE_CODE(root))
    currency = clean(_CURRENCY(settlement))
    vat_currency = clean(_VAT_CURRENCY(settlement))
    buyer_reference = clean(_BUYER_REFERENCE(agreement))
    leitweg_id, leitweg_valid = common.leitweg(buyer_reference)
    payee_iban, means_code = _payment_means(_PAYMENT_MEANS(settlement))
    return InvoiceData(
        syntax=SYNTAX_CII,
        document_type=common.document_type(type_code, SYNTAX_CII),
        type_code=type_code,
        number=clean(_NUMBER(root)),
        issue_date=to_date(_ISSUE_DATE(root)),
        currency=currency,
        vat_currency=vat_currency,
        due_date=to_date(_DUE_DATE(settlement)),
        tax_point_date=to_date(_TAX_POINT_DATE(settlement)),
        buyer_reference=buyer_reference,
        leitweg_id=leitweg_id,
        leitweg_id_valid=leitweg_valid,
        project_reference=clean(_PROJECT_REFERENCE(agreement)),
        contract_reference=clean(_CONTRACT_REFERENCE(agreement)),
        order_reference=clean(_ORDER_REFERENCE(agreement)),
        accounting_reference=clean(_ACCOUNTING_REFERENCE(settlement)),
        preceding_invoices=[ref for ref in map(full_text, _PRECEDING(settlement)) if ref],
        business_process=clean(_PROCESS(root)),
        specification_id=clean(_SPECIFICATION(root)),
        seller=_party(_SELLER(agreement)),
        buyer=_party(_BUYER(agreement)),
        payee_name=clean(_PAYEE_NAME(settlement)),
        payee_iban=payee_iban,
        payment_means_code=means_code,
        payment_reference=clean(_PAYMENT_REFERENCE(settlement)),
        payment_terms=common.payment_terms(["".join(text.itertext()) for text in _PAYMENT_TERMS(settlement)]),
        totals=_totals(_first(_SUMMATION(settlement)), currency, vat_currency),
        vat_breakdown=[_tax(tax) for tax in _TAXES(settlement)],
        lines=[_line(line) for line in _LINES(transaction)] if transaction is not None else [],
        attachments=[_attachment(ref) for ref in _ATTACHMENTS(agreement)],
        notes=[note for note in map(_note, _NOTES(root)) if note],
    )


def _note(note: etree._Element) -> str | None:
    """BT-22 with its subject code BT-21 written as in UBL XRechnung ("#AAC#text"), so both agree."""
    fields = first_children(note)
    content = fields.get(_CONTENT)
    text = full_text(content)
    code = text_of(fields.get(_SUBJECT_CODE))
    return f"#{code}#{text or ''}" if code and text else text


def _party(found: list[etree._Element]) -> Party:
    if not found:
        return Party()
    party = found[0]
    legal = _P_LEGAL_ID(party)
    endpoint = _P_ENDPOINT(party)
    identifiers = [identifier(el.text, el.get("schemeID")) for el in _P_IDENTIFIERS(party)]
    return Party(
        name=clean(_P_NAME(party)),
        trading_name=clean(_P_TRADING_NAME(party)),
        identifiers=[ident for ident in identifiers if ident is not None],
        legal_registration_id=identifier(legal[0].text, legal[0].get("schemeID")) if legal else None,
        vat_id=clean(_P_VAT_ID(party)),
        tax_registration_id=clean(_P_TAX_REGISTRATION(party)),
        electronic_address=identifier(endpoint[0].text, endpoint[0].get("schemeID")) if endpoint else None,
        street=clean(_P_STREET(party)),
        city=clean(_P_CITY(party)),
        postal_code=clean(_P_POSTAL_CODE(party)),
        country=clean(_P_COUNTRY(party)),
        contact_name=clean(_P_CONTACT_NAME(party)),
        contact_phone=clean(_P_CONTACT_PHONE(party)),
        contact_email=clean(_P_CONTACT_EMAIL(party)),
    )


def _totals(summation: etree._Element | None, currency: str | None, vat_currency: str | None) -> Totals:
    """BG-22; of the (up to two) TaxTotalAmount, the document currency one is BT-110, the other BT-111."""
    if summation is None:
        return Totals()
    values: dict[str, Decimal | None] = {}
    vat: Decimal | None = None
    vat_accounting: Decimal | None = None
    seen_vat = False
    separate_accounting = vat_currency is not None and vat_currency != currency
    for child in summation:
        if child.tag == _TAX_TOTAL:
            currency_id = clean(child.get("currencyID"))
            if not seen_vat and not (separate_accounting and currency_id == vat_currency):
                vat, seen_vat = to_decimal(child.text), True
            elif vat_accounting is None and vat_currency is not None:
                vat_accounting = to_decimal(child.text)
            continue
        name = _TOTAL_FIELDS.get(child.tag)
        if name is not None and name not in values:
            values[name] = to_decimal(child.text)
    return Totals(vat=vat, vat_in_accounting_currency=vat_accounting, **values)


def _tax(tax: etree._Element) -> VatBreakdown:
    fields = first_children(tax)
    return VatBreakdown(
        category=text_of(fields.get(_CATEGORY)),
        rate=to_decimal(text_of(fields.get(_RATE))),
        taxable_amount=to_decimal(text_of(fields.get(_BASIS_AMOUNT))),
        tax_amount=to_decimal(text_of(fields.get(_CALCULATED_AMOUNT))),
        exemption_reason=text_of(fields.get(_EXEMPTION_REASON)),
        exemption_code=text_of(fields.get(_EXEMPTION_CODE)),
    )


def _payment_means(means: list[etree._Element]) -> tuple[str | None, str | None]:
    """(payee account BT-84, BT-81 of the first means)."""
    accounts: list[tuple[str | None, str | None]] = []
    for element in means:
        fields = first_children(element)
        account = first_children(fields.get(_CREDITOR_ACCOUNT))
        accounts.append((text_of(fields.get(_TYPE)),
                         text_of(account.get(_IBAN)) or text_of(account.get(_PROPRIETARY_ID))))
    code = next((code for code, _ in accounts if code), None)
    return common.payee_account(accounts), code


def _line(item: etree._Element) -> Line:
    fields = first_children(item)
    document = first_children(fields.get(_DOCUMENT_LINE))
    product = first_children(fields.get(_PRODUCT))
    agreement = first_children(fields.get(_LINE_AGREEMENT))
    order = first_children(agreement.get(_BUYER_ORDER))
    net_price = first_children(agreement.get(_NET_PRICE))
    quantity = first_children(fields.get(_LINE_DELIVERY)).get(_BILLED_QUANTITY)
    settlement = first_children(fields.get(_LINE_SETTLEMENT))
    tax = first_children(settlement.get(_TRADE_TAX))
    summation = first_children(settlement.get(_LINE_SUMMATION))
    account = first_children(settlement.get(_ACCOUNT))
    return Line(
        id=text_of(document.get(_LINE_ID)),
        quantity=to_decimal(quantity.text) if quantity is not None else None,
        unit=clean(quantity.get("unitCode")) if quantity is not None else None,
        net_amount=to_decimal(text_of(summation.get(_LINE_TOTAL))),
        item_name=text_of(product.get(_NAME)),
        price=to_decimal(text_of(net_price.get(_CHARGE_AMOUNT))),
        vat_category=text_of(tax.get(_CATEGORY)),
        vat_rate=to_decimal(text_of(tax.get(_RATE))),
        order_line_ref=text_of(order.get(_LINE_ID)),
        accounting_ref=text_of(account.get(_ID)),
    )


def _attachment(reference: etree._Element) -> Attachment:
    fields = first_children(reference)
    embedded = fields.get(_BINARY_OBJECT)
    payload = (embedded.text or "") if embedded is not None else ""
    return Attachment(
        id=text_of(fields.get(_ISSUER_ASSIGNED_ID)),
        description=text_of(fields.get(_NAME)),
        filename=clean(embedded.get("filename")) if embedded is not None else None,
        mime_code=clean(embedded.get("mimeCode")) if embedded is not None else None,
        uri=text_of(fields.get(_URI)),
        size=base64_size(payload),
        _payload=payload,
    )
