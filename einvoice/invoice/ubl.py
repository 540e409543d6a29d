"""EN 16931 business terms from UBL 2.1 Invoice and CreditNote (binding EN 16931-3-2).

Header terms use compiled XPath relative to the root, which works for both roots because their
children share the cbc/cac namespaces. Lines, totals and VAT subtotals are read with one pass over
each element's children: per-field XPath would cost ~3 µs a call, 30 ms+ for a 5,000-line invoice.
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from einvoice.formats.detect import SYNTAX_UBL_CREDITNOTE
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

_TYPE_CODE = xpath("string(cbc:InvoiceTypeCode | cbc:CreditNoteTypeCode)")
_NUMBER = xpath("string(cbc:ID)")
_ISSUE_DATE = xpath("string(cbc:IssueDate)")
_DUE_DATE = xpath("string(cbc:DueDate | cac:PaymentMeans/cbc:PaymentDueDate)")  # CreditNote: BT-9 in means
_TAX_POINT_DATE = xpath("string(cbc:TaxPointDate)")
_CURRENCY = xpath("string(cbc:DocumentCurrencyCode)")
_VAT_CURRENCY = xpath("string(cbc:TaxCurrencyCode)")
_ACCOUNTING_REFERENCE = xpath("string(cbc:AccountingCost)")
_BUYER_REFERENCE = xpath("string(cbc:BuyerReference)")
_ORDER_REFERENCE = xpath("string(cac:OrderReference/cbc:ID)")
_CONTRACT_REFERENCE = xpath("string(cac:ContractDocumentReference/cbc:ID)")
_INVOICE_PROJECT = xpath("string(cac:ProjectReference/cbc:ID)")
# A CreditNote has no ProjectReference; BT-11 is an additional document reference with code 50.
_CREDITNOTE_PROJECT = xpath("string(cac:AdditionalDocumentReference[normalize-space(cbc:DocumentTypeCode)='50']"
                            "/cbc:ID)")
_PRECEDING = xpath("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID")
_SPECIFICATION = xpath("string(cbc:CustomizationID)")
_PROCESS = xpath("string(cbc:ProfileID)")
_NOTES = xpath("cbc:Note")
_SELLER = xpath("cac:AccountingSupplierParty/cac:Party")
_BUYER = xpath("cac:AccountingCustomerParty/cac:Party")
_PAYEE_NAME = xpath("string(cac:PayeeParty/cac:PartyName/cbc:Name)")
_PAYMENT_MEANS = xpath("cac:PaymentMeans")
_PAYMENT_TERMS = xpath("cac:PaymentTerms/cbc:Note")
_TAX_TOTALS = xpath("cac:TaxTotal")
_MONETARY_TOTAL = xpath("cac:LegalMonetaryTotal")
# No union of the two: libxml2 merges node sets in quadratic time, seconds for 5,000-line sets.
_INVOICE_LINES = xpath("cac:InvoiceLine")
_CREDITNOTE_LINES = xpath("cac:CreditNoteLine")
# BG-24: every additional document reference except the invoiced object (130) and, in a
# CreditNote, the project reference (50).
_INVOICE_ATTACHMENTS = xpath("cac:AdditionalDocumentReference[not(normalize-space(cbc:DocumentTypeCode)='130')]")
_CREDITNOTE_ATTACHMENTS = xpath("cac:AdditionalDocumentReference"
                                "[not(normalize-space(cbc:DocumentTypeCode)='130' or "
                                "normalize-space(cbc:DocumentTypeCode)='50')]")

_P_NAME = xpath("string(cac:PartyLegalEntity/cbc:RegistrationName)")
_P_TRADING_NAME = xpath("string(cac:PartyName/cbc:Name)")
_P_IDENTIFIERS = xpath("cac:PartyIdentification/cbc:ID[not(normalize-space(@schemeID)='SEPA')]")
_P_LEGAL_ID = xpath("cac:PartyLegalEntity/cbc:CompanyID")
_P_VAT_ID = xpath("string(cac:PartyTaxScheme[normalize-space(cac:TaxScheme/cbc:ID)='VAT']/cbc:CompanyID)")
_P_TAX_REGISTRATION = xpath("string(cac:PartyTaxScheme[normalize-space(cac:TaxScheme/cbc:ID)!='VAT']"
                            "/cbc:CompanyID)")
_P_ENDPOINT = xpath("cbc:EndpointID")
_P_STREET = xpath("string(cac:PostalAddress/cbc:StreetName)")
_P_CITY = xpath("string(cac:PostalAddress/cbc:CityName)")
_P_POSTAL_CODE = xpath("string(cac:PostalAddress/cbc:PostalZone)")
_P_COUNTRY = xpath("string(cac:PostalAddress/cac:Country/cbc:IdentificationCode)")
_P_CONTACT_NAME = xpath("string(cac:Contact/cbc:Name)")
_P_CONTACT_PHONE = xpath("string(cac:Contact/cbc:Telephone)")
_P_CONTACT_EMAIL = xpath("string(cac:Contact/cbc:ElectronicMail)")

_ID = tag("cbc", "ID")
_NAME = tag("cbc", "Name")
_PERCENT = tag("cbc", "Percent")
_INVOICED_QUANTITY = tag("cbc", "InvoicedQuantity")
_CREDITED_QUANTITY = tag("cbc", "CreditedQuantity")
_LINE_EXTENSION = tag("cbc", "LineExtensionAmount")
_ACCOUNTING_COST = tag("cbc", "AccountingCost")
_ORDER_LINE_REFERENCE = tag("cac", "OrderLineReference")
_LINE_ID = tag("cbc", "LineID")
_ITEM = tag("cac", "Item")
_CLASSIFIED_TAX = tag("cac", "ClassifiedTaxCategory")
_PRICE = tag("cac", "Price")
_PRICE_AMOUNT = tag("cbc", "PriceAmount")
_TAX_AMOUNT = tag("cbc", "TaxAmount")
_TAXABLE_AMOUNT = tag("cbc", "TaxableAmount")
_TAX_SUBTOTAL = tag("cac", "TaxSubtotal")
_TAX_CATEGORY = tag("cac", "TaxCategory")
_EXEMPTION_REASON = tag("cbc", "TaxExemptionReason")
_EXEMPTION_CODE = tag("cbc", "TaxExemptionReasonCode")
_PAYMENT_MEANS_CODE = tag("cbc", "PaymentMeansCode")
_PAYMENT_ID = tag("cbc", "PaymentID")
_PAYEE_ACCOUNT = tag("cac", "PayeeFinancialAccount")
_DOCUMENT_DESCRIPTION = tag("cbc", "DocumentDescription")
_ATTACHMENT = tag("cac", "Attachment")
_EMBEDDED = tag("cbc", "EmbeddedDocumentBinaryObject")
_EXTERNAL_REFERENCE = tag("cac", "ExternalReference")
_URI = tag("cbc", "URI")
_TOTAL_FIELDS = {
    tag("cbc", "LineExtensionAmount"): "line_total",
    tag("cbc", "AllowanceTotalAmount"): "allowances",
    tag("cbc", "ChargeTotalAmount"): "charges",
    tag("cbc", "TaxExclusiveAmount"): "net",
    tag("cbc", "TaxInclusiveAmount"): "gross",
    tag("cbc", "PrepaidAmount"): "prepaid",
    tag("cbc", "PayableRoundingAmount"): "rounding",
    tag("cbc", "PayableAmount"): "amount_due",
}


def extract_ubl(root: etree._Element, syntax: str) -> InvoiceData:
    """Read a UBL Invoice or CreditNote root element; missing terms become None."""
    credit_note = syntax == SYNTAX_UBL_CREDITNOTE
    type_code = clean(_TYPE_CODE(root))
    currency = clean(_CURRENCY(root))
    vat_currency = clean(_VAT_CURRENCY(root))
    buyer_reference = clean(_BUYER_REFERENCE(root))
    leitweg_id, leitweg_valid = common.leitweg(buyer_reference)
    vat, vat_accounting, breakdown = _vat(_TAX_TOTALS(root), currency, vat_currency)
    payee_iban, means_code, payment_reference = _payment_means(_PAYMENT_MEANS(root))
    quantity_tag = _CREDITED_QUANTITY if credit_note else _INVOICED_QUANTITY
    return InvoiceData(
        syntax=syntax,
        document_type=common.document_type(type_code, syntax),
        type_code=type_code,
        number=clean(_NUMBER(root)),
        issue_date=to_date(_ISSUE_DATE(root)),
        currency=currency,
        vat_currency=vat_currency,
        due_date=to_date(_DUE_DATE(root)),
        tax_point_date=to_date(_TAX_POINT_DATE(root)),
        buyer_reference=buyer_reference,
        leitweg_id=leitweg_id,
        leitweg_id_valid=leitweg_valid,
        project_reference=clean((_CREDITNOTE_PROJECT if credit_note else _INVOICE_PROJECT)(root)),
        contract_reference=clean(_CONTRACT_REFERENCE(root)),
        order_reference=clean(_ORDER_REFERENCE(root)),
        accounting_reference=clean(_ACCOUNTING_REFERENCE(root)),
        preceding_invoices=[ref for ref in map(full_text, _PRECEDING(root)) if ref],
        business_process=clean(_PROCESS(root)),
        specification_id=clean(_SPECIFICATION(root)),
        seller=_party(_SELLER(root)),
        buyer=_party(_BUYER(root)),
        payee_name=clean(_PAYEE_NAME(root)),
        payee_iban=payee_iban,
        payment_means_code=means_code,
        payment_reference=payment_reference,
        payment_terms=common.payment_terms(["".join(note.itertext()) for note in _PAYMENT_TERMS(root)]),
        totals=_totals(_MONETARY_TOTAL(root), vat, vat_accounting),
        vat_breakdown=breakdown,
        lines=[_line(line, quantity_tag) for line in (_CREDITNOTE_LINES if credit_note else _INVOICE_LINES)(root)],
        attachments=[_attachment(ref) for ref in
                     (_CREDITNOTE_ATTACHMENTS if credit_note else _INVOICE_ATTACHMENTS)(root)],
        notes=[note for note in map(full_text, _NOTES(root)) if note],
    )


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


def _vat(tax_totals: list[etree._Element], currency: str | None,
         vat_currency: str | None) -> tuple[Decimal | None, Decimal | None, list[VatBreakdown]]:
    """BT-110 (document currency, with the BG-23 subtotals) and BT-111 (VAT accounting currency)."""
    vat: Decimal | None = None
    vat_accounting: Decimal | None = None
    main: etree._Element | None = None
    separate_accounting = vat_currency is not None and vat_currency != currency
    for total in tax_totals:
        amount = total.find(_TAX_AMOUNT)
        currency_id = clean(amount.get("currencyID")) if amount is not None else None
        value = to_decimal(amount.text) if amount is not None else None
        if main is None and not (separate_accounting and currency_id == vat_currency):
            main, vat = total, value
        elif vat_accounting is None and vat_currency is not None:
            vat_accounting = value
    breakdown = [] if main is None else [_subtotal(sub) for sub in main.iterchildren(_TAX_SUBTOTAL)]
    return vat, vat_accounting, breakdown


def _subtotal(subtotal: etree._Element) -> VatBreakdown:
    fields = first_children(subtotal)
    category = first_children(fields.get(_TAX_CATEGORY))
    return VatBreakdown(
        category=text_of(category.get(_ID)),
        rate=to_decimal(text_of(category.get(_PERCENT))),
        taxable_amount=to_decimal(text_of(fields.get(_TAXABLE_AMOUNT))),
        tax_amount=to_decimal(text_of(fields.get(_TAX_AMOUNT))),
        exemption_reason=text_of(category.get(_EXEMPTION_REASON)),
        exemption_code=text_of(category.get(_EXEMPTION_CODE)),
    )


def _totals(found: list[etree._Element], vat: Decimal | None, vat_accounting: Decimal | None) -> Totals:
    values: dict[str, Decimal | None] = {}
    if found:
        for child in found[0]:
            name = _TOTAL_FIELDS.get(child.tag)
            if name is not None and name not in values:
                values[name] = to_decimal(child.text)
    return Totals(vat=vat, vat_in_accounting_currency=vat_accounting, **values)


def _payment_means(means: list[etree._Element]) -> tuple[str | None, str | None, str | None]:
    """(payee account BT-84, BT-81 of the first means, first BT-83)."""
    accounts: list[tuple[str | None, str | None]] = []
    reference = None
    for element in means:
        fields = first_children(element)
        account = text_of(first_children(fields.get(_PAYEE_ACCOUNT)).get(_ID))
        accounts.append((text_of(fields.get(_PAYMENT_MEANS_CODE)), account))
        reference = reference or text_of(fields.get(_PAYMENT_ID))
    code = next((code for code, _ in accounts if code), None)
    return common.payee_account(accounts), code, reference


def _line(line: etree._Element, quantity_tag: str) -> Line:
    fields = first_children(line)
    quantity = fields.get(quantity_tag)
    item = first_children(fields.get(_ITEM))
    tax = first_children(item.get(_CLASSIFIED_TAX))
    price = first_children(fields.get(_PRICE))
    order_line = first_children(fields.get(_ORDER_LINE_REFERENCE))
    return Line(
        id=text_of(fields.get(_ID)),
        quantity=to_decimal(quantity.text) if quantity is not None else None,
        unit=clean(quantity.get("unitCode")) if quantity is not None else None,
        net_amount=to_decimal(text_of(fields.get(_LINE_EXTENSION))),
        item_name=text_of(item.get(_NAME)),
        price=to_decimal(text_of(price.get(_PRICE_AMOUNT))),
        vat_category=text_of(tax.get(_ID)),
        vat_rate=to_decimal(text_of(tax.get(_PERCENT))),
        order_line_ref=text_of(order_line.get(_LINE_ID)),
        accounting_ref=text_of(fields.get(_ACCOUNTING_COST)),
    )


def _attachment(reference: etree._Element) -> Attachment:
    fields = first_children(reference)
    attachment = first_children(fields.get(_ATTACHMENT))
    embedded = attachment.get(_EMBEDDED)
    external = first_children(attachment.get(_EXTERNAL_REFERENCE))
    payload = (embedded.text or "") if embedded is not None else ""
    return Attachment(
        id=text_of(fields.get(_ID)),
        description=text_of(fields.get(_DOCUMENT_DESCRIPTION)),
        filename=clean(embedded.get("filename")) if embedded is not None else None,
        mime_code=clean(embedded.get("mimeCode")) if embedded is not None else None,
        uri=text_of(external.get(_URI)),
        size=base64_size(payload),
        _payload=payload,
    )
