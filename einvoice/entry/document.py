"""The invoice content, its EN 16931 totals and its XRechnung 3.0 UBL rendering: one generator.

Used by the web entry form (documents people type in) and by :mod:`einvoice.samples` (the sample
and benchmark invoices). Every amount is a :class:`decimal.Decimal`; line net amounts and the VAT of
each category/rate are rounded once to the cent (half up), and every sum is exact, so BR-CO-10 …
BR-CO-17 hold by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from lxml import etree

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
XRECHNUNG_30 = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
PEPPOL_BILLING = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
CURRENCY = "EUR"

#: VAT categories (UNTDID 5305 subset of EN 16931) whose rate is always 0 %.
ZERO_RATED = frozenset({"Z", "E", "AE", "K", "G", "O"})
#: Exemption reason (BT-120) and code (BT-121, VATEX) that BR-E-10, BR-AE-10, BR-IC-10, BR-G-10 and
#: BR-O-10 require in the VAT breakdown; the text of E can be replaced by the invoice's own reason.
EXEMPTIONS: dict[str, tuple[str | None, str]] = {
    "E": (None, "Steuerfreie Leistung"),
    "AE": ("VATEX-EU-AE", "Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge)"),
    "K": ("VATEX-EU-IC", "Steuerfreie innergemeinschaftliche Lieferung"),
    "G": ("VATEX-EU-G", "Steuerfreie Ausfuhrlieferung"),
    "O": ("VATEX-EU-O", "Nicht der Umsatzsteuer unterliegend"),
}


def money(value: Decimal) -> Decimal:
    """Round to the cent, half up (the rounding EN 16931 assumes for amounts)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def amount_text(value: Decimal) -> str:
    return f"{money(value):.2f}"


def number_text(value: Decimal) -> str:
    """Quantities and rates without needless trailing zeros (``2.5``, ``19``)."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def price_text(value: Decimal) -> str:
    """Unit prices with two decimals, or with all the decimals they have if there are more."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        return f"{value.normalize():f}"
    return f"{value:.2f}"


def skonto_terms(days: int, percent: Decimal, base_amount: Decimal | None = None) -> str:
    """One cash-discount line in XRechnung syntax (BR-DE-18), terminated by a line break."""
    line = f"#SKONTO#TAGE={days}#PROZENT={percent:.2f}#"
    if base_amount is not None:
        line += f"BASISBETRAG={amount_text(base_amount)}#"
    return line + "\n"


# ------------------------------------------------------------------ content


@dataclass(frozen=True)
class Party:
    """Seller or buyer with the fields XRechnung 3.0 requires (BT-34/BT-49, BR-DE-2 … BR-DE-9)."""

    name: str
    street: str
    postcode: str
    city: str
    electronic_address: str
    electronic_scheme: str  # EAS code: EM (e-mail), 0204 (Leitweg-ID), …
    country: str = "DE"
    vat_id: str | None = None  # BT-31 / BT-48
    registration_id: str | None = None  # BT-30, e.g. the commercial register number
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    tax_number: str | None = None  # BT-32, the Steuernummer (seller only)


@dataclass(frozen=True)
class Address:
    """BG-15, the deliver-to address (city and postcode: BR-DE-10, BR-DE-11; country: BR-57)."""

    city: str
    postcode: str
    country: str
    street: str | None = None


@dataclass(frozen=True)
class Line:
    """One invoice line; the net amount is quantity x unit price, rounded to the cent."""

    id: str
    item_id: str | None
    name: str
    quantity: Decimal
    unit: str  # UN/ECE Recommendation 20
    price: Decimal
    vat_rate: Decimal
    vat_category: str = "S"

    @property
    def net(self) -> Decimal:
        return money(self.quantity * self.price)


@dataclass(frozen=True)
class AllowanceCharge:
    """A document-level charge (e.g. freight) or allowance (e.g. discount)."""

    charge: bool
    reason: str
    reason_code: str  # UNTDID 7161 (charges) or 5189 (allowances)
    amount: Decimal
    vat_rate: Decimal
    vat_category: str = "S"


@dataclass(frozen=True)
class VatBreakdown:
    """BG-23: the taxable amount and VAT of one category at one rate."""

    rate: Decimal
    taxable: Decimal
    tax: Decimal
    category: str = "S"


@dataclass(frozen=True)
class Totals:
    """BG-22 and BG-23, derived exactly from the lines and document-level allowances/charges."""

    line_total: Decimal  # BT-106
    allowance_total: Decimal  # BT-107
    charge_total: Decimal  # BT-108
    tax_exclusive: Decimal  # BT-109
    vat: tuple[VatBreakdown, ...]
    tax_total: Decimal  # BT-110
    tax_inclusive: Decimal  # BT-112
    payable: Decimal  # BT-115


def compute_totals(lines: Sequence[Line], adjustments: Sequence[AllowanceCharge] = ()) -> Totals:
    """EN 16931 arithmetic: sums are exact, the VAT of each category and rate is rounded once (BR-CO-17)."""
    line_total = sum((line.net for line in lines), ZERO)
    allowances = sum((money(a.amount) for a in adjustments if not a.charge), ZERO)
    charges = sum((money(a.amount) for a in adjustments if a.charge), ZERO)
    bases: dict[tuple[str, Decimal], Decimal] = {}
    for line in lines:
        key = (line.vat_category, line.vat_rate)
        bases[key] = bases.get(key, ZERO) + line.net
    for adj in adjustments:
        key = (adj.vat_category, adj.vat_rate)
        bases[key] = bases.get(key, ZERO) + (money(adj.amount) if adj.charge else -money(adj.amount))
    vat = tuple(
        VatBreakdown(rate, money(base), money(base * rate / 100), category)
        for (category, rate), base in sorted(bases.items(), key=lambda item: (-item[0][1], item[0][0]))
    )
    tax_exclusive = line_total - allowances + charges
    tax_total = sum((v.tax for v in vat), ZERO)
    return Totals(
        line_total=money(line_total),
        allowance_total=money(allowances),
        charge_total=money(charges),
        tax_exclusive=money(tax_exclusive),
        vat=vat,
        tax_total=money(tax_total),
        tax_inclusive=money(tax_exclusive + tax_total),
        payable=money(tax_exclusive + tax_total),
    )


@dataclass(frozen=True)
class InvoiceData:
    """Everything one document states, independent of the syntax (UBL or CII)."""

    number: str
    type_code: str  # 380 invoice, 381 credit note
    issue_date: date
    delivery_date: date | None  # BT-72
    due_date: date | None
    buyer_reference: str | None  # BT-10, the Leitweg-ID
    order_reference: str | None
    seller: Party
    buyer: Party
    payment_iban: str
    payment_bic: str | None
    payment_account_name: str
    payment_terms: str
    lines: tuple[Line, ...]
    adjustments: tuple[AllowanceCharge, ...] = ()
    note: str | None = None
    preceding_invoice: tuple[str, date] | None = None  # BG-3 for credit notes
    invoice_period: tuple[date, date] | None = None  # BG-14, the service period
    delivery_address: Address | None = None  # BG-15, needed for intra-community supplies (BR-IC-12)
    exemption_reason: str | None = None  # BT-120 text for category E (replaces the default)

    @property
    def totals(self) -> Totals:
        return compute_totals(self.lines, self.adjustments)

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(line.vat_category for line in self.lines) | frozenset(
            adj.vat_category for adj in self.adjustments)


# ------------------------------------------------------------------ XML building helpers

UBL_NS = {
    "Invoice": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "CreditNote": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
}
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"


class XmlBuilder:
    """Tiny helper so the document structure reads top-down like the schema."""

    def __init__(self, prefixes: dict[str, str]) -> None:
        self.prefixes = prefixes

    def _tag(self, name: str) -> str:
        prefix, local = name.split(":")
        return f"{{{self.prefixes[prefix]}}}{local}"

    def sub(self, parent: etree._Element, tag: str, text: str | None = None,
            **attrs: str) -> etree._Element:
        element = etree.SubElement(parent, self._tag(tag), attrs)
        if text is not None:
            element.text = text
        return element


def serialize(root: etree._Element) -> bytes:
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# ------------------------------------------------------------------ UBL


def _ubl_party(b: XmlBuilder, parent: etree._Element, party: Party, *, vat_ids: bool) -> None:
    node = b.sub(parent, "cac:Party")
    b.sub(node, "cbc:EndpointID", party.electronic_address, schemeID=party.electronic_scheme)
    b.sub(b.sub(node, "cac:PartyName"), "cbc:Name", party.name)
    address = b.sub(node, "cac:PostalAddress")
    b.sub(address, "cbc:StreetName", party.street)
    b.sub(address, "cbc:CityName", party.city)
    b.sub(address, "cbc:PostalZone", party.postcode)
    b.sub(b.sub(address, "cac:Country"), "cbc:IdentificationCode", party.country)
    for company_id, scheme in ((party.vat_id if vat_ids else None, "VAT"), (party.tax_number, "FC")):
        if company_id:
            tax = b.sub(node, "cac:PartyTaxScheme")
            b.sub(tax, "cbc:CompanyID", company_id)
            b.sub(b.sub(tax, "cac:TaxScheme"), "cbc:ID", scheme)
    legal = b.sub(node, "cac:PartyLegalEntity")
    b.sub(legal, "cbc:RegistrationName", party.name)
    if party.registration_id:
        b.sub(legal, "cbc:CompanyID", party.registration_id)
    if party.contact_name:
        contact = b.sub(node, "cac:Contact")
        b.sub(contact, "cbc:Name", party.contact_name)
        if party.contact_phone:
            b.sub(contact, "cbc:Telephone", party.contact_phone)
        if party.contact_email:
            b.sub(contact, "cbc:ElectronicMail", party.contact_email)


def _ubl_tax_category(b: XmlBuilder, parent: etree._Element, name: str, category: str, rate: Decimal,
                      exemption: tuple[str | None, str] | None = None, *, breakdown: bool = False) -> None:
    node = b.sub(parent, name)
    b.sub(node, "cbc:ID", category)
    # BR-O-05 … BR-O-07: lines, allowances and charges "not subject to VAT" carry no rate, while the
    # VAT breakdown always states one (BR-DE-14), 0 for category O.
    if category != "O" or breakdown:
        b.sub(node, "cbc:Percent", number_text(rate))
    if exemption is not None:
        code, reason = exemption
        if code:
            b.sub(node, "cbc:TaxExemptionReasonCode", code)
        b.sub(node, "cbc:TaxExemptionReason", reason)
    b.sub(b.sub(node, "cac:TaxScheme"), "cbc:ID", "VAT")


def _exemption(data: InvoiceData, category: str) -> tuple[str | None, str] | None:
    if category not in EXEMPTIONS:
        return None
    code, reason = EXEMPTIONS[category]
    if category == "E" and data.exemption_reason:
        reason = data.exemption_reason
    return code, reason


def render_ubl(data: InvoiceData) -> bytes:
    """UBL 2.1 Invoice (type 380) or CreditNote (type 381) in XRechnung 3.0 shape."""
    kind = "CreditNote" if data.type_code == "381" else "Invoice"
    b = XmlBuilder({"ubl": UBL_NS[kind], "cac": CAC, "cbc": CBC})
    nsmap: Any = {None: UBL_NS[kind], "cac": CAC, "cbc": CBC}  # default namespace: stubs dislike None keys
    root = etree.Element(f"{{{UBL_NS[kind]}}}{kind}", nsmap=nsmap)
    totals = data.totals
    # BR-O-02: an invoice "not subject to VAT" names no VAT identifiers.
    vat_ids = "O" not in data.categories
    b.sub(root, "cbc:CustomizationID", XRECHNUNG_30)
    b.sub(root, "cbc:ProfileID", PEPPOL_BILLING)
    b.sub(root, "cbc:ID", data.number)
    b.sub(root, "cbc:IssueDate", data.issue_date.isoformat())
    if kind == "Invoice":
        if data.due_date:
            b.sub(root, "cbc:DueDate", data.due_date.isoformat())
        b.sub(root, "cbc:InvoiceTypeCode", data.type_code)
    else:
        b.sub(root, "cbc:CreditNoteTypeCode", data.type_code)
    if data.note:
        b.sub(root, "cbc:Note", data.note)
    b.sub(root, "cbc:DocumentCurrencyCode", CURRENCY)
    if data.buyer_reference:
        b.sub(root, "cbc:BuyerReference", data.buyer_reference)
    if data.invoice_period:
        period = b.sub(root, "cac:InvoicePeriod")
        b.sub(period, "cbc:StartDate", data.invoice_period[0].isoformat())
        b.sub(period, "cbc:EndDate", data.invoice_period[1].isoformat())
    if data.order_reference:
        b.sub(b.sub(root, "cac:OrderReference"), "cbc:ID", data.order_reference)
    if data.preceding_invoice:
        ref = b.sub(b.sub(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
        b.sub(ref, "cbc:ID", data.preceding_invoice[0])
        b.sub(ref, "cbc:IssueDate", data.preceding_invoice[1].isoformat())
    _ubl_party(b, b.sub(root, "cac:AccountingSupplierParty"), data.seller, vat_ids=vat_ids)
    _ubl_party(b, b.sub(root, "cac:AccountingCustomerParty"), data.buyer, vat_ids=vat_ids)
    if data.delivery_date or data.delivery_address:
        delivery = b.sub(root, "cac:Delivery")
        if data.delivery_date:
            b.sub(delivery, "cbc:ActualDeliveryDate", data.delivery_date.isoformat())
        if data.delivery_address:
            place = data.delivery_address
            address = b.sub(b.sub(delivery, "cac:DeliveryLocation"), "cac:Address")
            if place.street:
                b.sub(address, "cbc:StreetName", place.street)
            b.sub(address, "cbc:CityName", place.city)
            b.sub(address, "cbc:PostalZone", place.postcode)
            b.sub(b.sub(address, "cac:Country"), "cbc:IdentificationCode", place.country)
    means = b.sub(root, "cac:PaymentMeans")
    b.sub(means, "cbc:PaymentMeansCode", "58", name="SEPA credit transfer")
    b.sub(means, "cbc:PaymentID", data.number)
    account = b.sub(means, "cac:PayeeFinancialAccount")
    b.sub(account, "cbc:ID", data.payment_iban)
    b.sub(account, "cbc:Name", data.payment_account_name)
    if data.payment_bic:
        b.sub(b.sub(account, "cac:FinancialInstitutionBranch"), "cbc:ID", data.payment_bic)
    b.sub(b.sub(root, "cac:PaymentTerms"), "cbc:Note", data.payment_terms)
    for adj in data.adjustments:
        node = b.sub(root, "cac:AllowanceCharge")
        b.sub(node, "cbc:ChargeIndicator", "true" if adj.charge else "false")
        b.sub(node, "cbc:AllowanceChargeReasonCode", adj.reason_code)
        b.sub(node, "cbc:AllowanceChargeReason", adj.reason)
        b.sub(node, "cbc:Amount", amount_text(adj.amount), currencyID=CURRENCY)
        _ubl_tax_category(b, node, "cac:TaxCategory", adj.vat_category, adj.vat_rate)
    tax_total = b.sub(root, "cac:TaxTotal")
    b.sub(tax_total, "cbc:TaxAmount", amount_text(totals.tax_total), currencyID=CURRENCY)
    for vat in totals.vat:
        subtotal = b.sub(tax_total, "cac:TaxSubtotal")
        b.sub(subtotal, "cbc:TaxableAmount", amount_text(vat.taxable), currencyID=CURRENCY)
        b.sub(subtotal, "cbc:TaxAmount", amount_text(vat.tax), currencyID=CURRENCY)
        _ubl_tax_category(b, subtotal, "cac:TaxCategory", vat.category, vat.rate, _exemption(data, vat.category),
                          breakdown=True)
    monetary = b.sub(root, "cac:LegalMonetaryTotal")
    b.sub(monetary, "cbc:LineExtensionAmount", amount_text(totals.line_total), currencyID=CURRENCY)
    b.sub(monetary, "cbc:TaxExclusiveAmount", amount_text(totals.tax_exclusive), currencyID=CURRENCY)
    b.sub(monetary, "cbc:TaxInclusiveAmount", amount_text(totals.tax_inclusive), currencyID=CURRENCY)
    if any(not a.charge for a in data.adjustments):
        b.sub(monetary, "cbc:AllowanceTotalAmount", amount_text(totals.allowance_total), currencyID=CURRENCY)
    if any(a.charge for a in data.adjustments):
        b.sub(monetary, "cbc:ChargeTotalAmount", amount_text(totals.charge_total), currencyID=CURRENCY)
    b.sub(monetary, "cbc:PayableAmount", amount_text(totals.payable), currencyID=CURRENCY)
    line_tag, quantity_tag = (("cac:InvoiceLine", "cbc:InvoicedQuantity") if kind == "Invoice"
                              else ("cac:CreditNoteLine", "cbc:CreditedQuantity"))
    for line in data.lines:
        node = b.sub(root, line_tag)
        b.sub(node, "cbc:ID", line.id)
        b.sub(node, quantity_tag, number_text(line.quantity), unitCode=line.unit)
        b.sub(node, "cbc:LineExtensionAmount", amount_text(line.net), currencyID=CURRENCY)
        item = b.sub(node, "cac:Item")
        b.sub(item, "cbc:Name", line.name)
        if line.item_id:
            b.sub(b.sub(item, "cac:SellersItemIdentification"), "cbc:ID", line.item_id)
        _ubl_tax_category(b, item, "cac:ClassifiedTaxCategory", line.vat_category, line.vat_rate)
        b.sub(b.sub(node, "cac:Price"), "cbc:PriceAmount", price_text(line.price), currencyID=CURRENCY)
    return serialize(root)
