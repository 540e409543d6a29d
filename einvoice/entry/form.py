"""The entry form as a typed model: what a supplier may type, checked before any XML exists.

The checks mirror the business rules XRechnung 3.0 would otherwise reject (BR-DE-*, BR-CO-*, the
VAT category rules BR-S/Z/E/AE/IC/G/O-*), so the person typing learns about a mistake next to the
field, not from a validation report. Error types (``leitweg_check_digits``, ``seller_identifier``,
…) are stable keys the pages translate through the catalogues; the English message is the fallback.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from einvoice.entry import codes
from einvoice.entry.document import (
    Address,
    AllowanceCharge,
    InvoiceData,
    Line,
    Party,
    Totals,
    compute_totals,
    skonto_terms,
)
from einvoice.entry.identifiers import compact_iban, is_valid_iban, is_valid_vat_id
from einvoice.invoice.leitweg import is_valid_leitweg_id
from einvoice.invoice.skonto import parse_skonto

MAX_LINES = 200
MAX_ADJUSTMENTS = 10
MAX_SKONTO = 3
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BIC = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _error(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def _decimal_input(value: Any) -> Any:
    """Accept the German way of writing numbers: ``1,5`` and ``1.234,56`` as well as ``1.5``."""
    if isinstance(value, str):
        text = value.strip().replace(" ", "").replace("\u00a0", "")
        if "," in text:
            text = text.replace(".", "").replace(",", ".")
        if not text:
            return None
        try:
            return Decimal(text)
        except InvalidOperation:
            raise _error("decimal_parsing", "enter a number such as 12,50") from None
    return value


def _text_input(value: Any) -> Any:
    """Trim text, refuse control characters, and treat an empty field as not given."""
    if isinstance(value, str):
        if _CONTROL.search(value):
            raise _error("control_characters", "the text contains control characters")
        value = value.strip()
        return value or None
    return value


def _required_text(value: Any) -> Any:
    value = _text_input(value)
    if value is None:
        raise _error("missing", "this field is required")
    return value


def _code_input(value: Any) -> Any:
    return value.strip().upper() or None if isinstance(value, str) else value


Text = Annotated[str, BeforeValidator(_required_text), Field(min_length=1, max_length=200)]
OptText = Annotated[Annotated[str, StringConstraints(max_length=200)] | None, BeforeValidator(_text_input)]
OptLongText = Annotated[Annotated[str, StringConstraints(max_length=2000)] | None, BeforeValidator(_text_input)]
Code = Annotated[str, BeforeValidator(_code_input), Field(min_length=1, max_length=10)]
OptCode = Annotated[Annotated[str, StringConstraints(max_length=40)] | None, BeforeValidator(_code_input)]
Quantity = Annotated[Decimal, BeforeValidator(_decimal_input),
                     Field(gt=0, le=Decimal("999999999"), decimal_places=4)]
Price = Annotated[Decimal, BeforeValidator(_decimal_input),
                  Field(ge=0, le=Decimal("999999999"), decimal_places=4)]
Amount = Annotated[Decimal, BeforeValidator(_decimal_input),
                   Field(gt=0, le=Decimal("999999999"), decimal_places=2)]
Rate = Annotated[Decimal, BeforeValidator(_decimal_input), Field(ge=0, lt=100, decimal_places=2)]
OptDate = Annotated[date | None, BeforeValidator(_text_input)]


def _one_of(value: str, table: tuple[codes.Code, ...], kind: str) -> str:
    if value not in codes.codes(table):
        raise _error(kind, "choose a value from the list")
    return value


def _vat_id_input(value: str) -> str:
    compact = value.replace(" ", "")
    if not is_valid_vat_id(compact):
        raise _error("vat_id", "not a valid VAT identification number (e.g. DE123456789)")
    return compact


Country = Annotated[Code, AfterValidator(lambda v: _one_of(v, codes.COUNTRIES, "country_code"))]
Scheme = Annotated[Code, AfterValidator(lambda v: _one_of(v, codes.ELECTRONIC_SCHEMES, "electronic_scheme"))]
UnitCode = Annotated[Code, AfterValidator(lambda v: _one_of(v, codes.UNITS, "unit_code"))]
VatId = Annotated[Annotated[str, StringConstraints(max_length=40), AfterValidator(_vat_id_input)] | None,
                  BeforeValidator(_code_input)]


class _PartyAddress(BaseModel):
    """Name and postal address, as seller (BG-4/BG-5) and buyer (BG-7/BG-8) both need them."""

    model_config = ConfigDict(extra="ignore")

    name: Text
    street: Text
    postcode: Annotated[str, BeforeValidator(_required_text), Field(min_length=1, max_length=20)]
    city: Text
    country: Country = "DE"


class SellerForm(_PartyAddress):
    """The supplier's own data; remembered per account and filled in on the next invoice."""

    vat_id: VatId = None  # BT-31
    tax_number: OptText = None  # BT-32
    registration_id: OptText = None  # BT-30
    contact_name: Text  # BR-DE-5
    contact_phone: Text  # BR-DE-6
    contact_email: Text  # BR-DE-7
    electronic_address: Text  # BT-34 (mandatory in XRechnung 3.0)
    electronic_scheme: Scheme = "EM"
    iban: Annotated[str, BeforeValidator(_required_text), Field(min_length=5, max_length=42)]
    bic: OptCode = None
    account_name: OptText = None




    @field_validator("contact_email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise _error("email", "not an e-mail address")
        return value

    @field_validator("iban")
    @classmethod
    def _iban(cls, value: str) -> str:
        if not is_valid_iban(value):
            raise _error("iban", "the IBAN is not valid (check digits or length)")
        return compact_iban(value)

    @field_validator("bic")
    @classmethod
    def _bic(cls, value: str | None) -> str | None:
        if value is not None and not _BIC.match(value):
            raise _error("bic", "a BIC has 8 or 11 letters and digits")
        return value

    @model_validator(mode="after")
    def _address(self) -> SellerForm:
        _check_electronic_address(self.electronic_scheme, self.electronic_address)
        if not (self.vat_id or self.registration_id):
            # BR-CO-26: the buyer must be able to identify the seller
            raise _error("seller_identifier", "give the VAT identification number or a registration number")
        return self


def _check_electronic_address(scheme: str, address: str) -> None:
    if scheme == "EM" and not _EMAIL.match(address):
        raise _error("electronic_address", "the electronic address must be an e-mail address")
    if scheme == "0204" and not is_valid_leitweg_id(address):
        raise _error("electronic_address", "the electronic address must be a valid Leitweg-ID")
    if scheme == "0088" and not re.fullmatch(r"[0-9]{13}", address):
        raise _error("electronic_address", "a GLN has 13 digits")
    if scheme == "9930" and not (address.startswith("DE") and is_valid_vat_id(address)):
        raise _error("electronic_address", "the electronic address must be a German VAT number")


class BuyerForm(_PartyAddress):
    """The public buyer, addressed by its Leitweg-ID (BT-10, also its electronic address by default)."""

    leitweg_id: Annotated[str, BeforeValidator(_required_text), Field(min_length=1, max_length=46)]
    electronic_address: OptText = None
    electronic_scheme: Scheme = "0204"
    vat_id: VatId = None  # BT-48
    contact_name: OptText = None


    @field_validator("leitweg_id")
    @classmethod
    def _leitweg(cls, value: str) -> str:
        if not is_valid_leitweg_id(value):
            raise _error("leitweg_check_digits", "the Leitweg-ID is not valid (format or check digits)")
        return value



    @model_validator(mode="after")
    def _address(self) -> BuyerForm:
        _check_electronic_address(self.electronic_scheme, self.electronic_address or self.leitweg_id)
        return self

    @property
    def endpoint(self) -> tuple[str, str]:
        """BT-49 and its scheme: the Leitweg-ID unless another address was given."""
        if self.electronic_address:
            return self.electronic_address, self.electronic_scheme
        return self.leitweg_id, "0204"


def _check_vat(category: str, rate: Decimal) -> None:
    if category not in codes.codes(codes.VAT_CATEGORIES):
        raise _error("vat_category", "choose a VAT category from the list")
    if category == "S" and rate <= 0:
        raise _error("vat_rate_standard", "the standard rate must be above 0 %")
    if category != "S" and rate != 0:
        raise _error("vat_rate_zero", "this VAT category has a rate of 0 %")


class LineForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Text
    item_id: OptText = None
    quantity: Quantity
    unit: UnitCode = "C62"
    price: Price
    vat_category: Code = "S"
    vat_rate: Rate = Decimal("19")


    @model_validator(mode="after")
    def _vat(self) -> LineForm:
        _check_vat(self.vat_category, self.vat_rate)
        return self


class AdjustmentForm(BaseModel):
    """A document-level allowance (discount) or charge (freight, packing)."""

    model_config = ConfigDict(extra="ignore")

    charge: bool = False
    reason_code: Code
    reason: OptText = None
    amount: Amount
    vat_category: Code = "S"
    vat_rate: Rate = Decimal("19")

    @model_validator(mode="after")
    def _codes(self) -> AdjustmentForm:
        table = codes.CHARGE_REASONS if self.charge else codes.ALLOWANCE_REASONS
        _one_of(self.reason_code, table, "reason_code")
        _check_vat(self.vat_category, self.vat_rate)
        return self

    def reason_text(self) -> str:
        """BT-97/BT-104: the typed reason, else the German label of the code."""
        table = codes.CHARGE_REASONS if self.charge else codes.ALLOWANCE_REASONS
        return self.reason or next(c.de for c in table if c.code == self.reason_code)


class SkontoForm(BaseModel):
    """One cash discount stage: ``percent`` off when paid within ``days`` days."""

    model_config = ConfigDict(extra="ignore")

    days: Annotated[int, Field(ge=1, le=365)]
    percent: Annotated[Decimal, BeforeValidator(_decimal_input), Field(gt=0, lt=100, decimal_places=2)]


class InvoiceForm(BaseModel):
    """One invoice as typed into the entry form (EUR, invoice type 380, SEPA credit transfer)."""

    model_config = ConfigDict(extra="ignore")

    seller: SellerForm
    buyer: BuyerForm
    number: Annotated[str, BeforeValidator(_required_text), Field(min_length=1, max_length=100)]
    issue_date: date
    due_date: OptDate = None
    delivery_date: OptDate = None
    period_start: OptDate = None
    period_end: OptDate = None
    delivery_street: OptText = None
    delivery_city: OptText = None
    delivery_postcode: Annotated[Annotated[str, StringConstraints(max_length=20)] | None,
                                 BeforeValidator(_text_input)] = None
    delivery_country: Annotated[Country | None, BeforeValidator(_code_input)] = None
    order_reference: OptText = None
    note: OptLongText = None
    lines: Annotated[list[LineForm], Field(min_length=1, max_length=MAX_LINES)]
    adjustments: Annotated[list[AdjustmentForm], Field(max_length=MAX_ADJUSTMENTS)] = []
    skonto: Annotated[list[SkontoForm], Field(max_length=MAX_SKONTO)] = []
    payment_text: OptLongText = None
    exemption_reason: OptText = None


    @field_validator("payment_text")
    @classmethod
    def _payment_text(cls, value: str | None) -> str | None:
        if value and any(row.strip().startswith("#") for row in value.splitlines()):
            # a line starting with '#' would be read as a (broken) Skonto term, BR-DE-18
            raise _error("payment_text_hash", "lines of the payment terms must not start with '#'")
        return value

    @model_validator(mode="after")
    def _rules(self) -> InvoiceForm:
        if self.due_date and self.due_date < self.issue_date:
            raise _error("due_before_issue", "the due date lies before the invoice date")
        if (self.period_start is None) != (self.period_end is None):
            raise _error("period_incomplete", "give both the start and the end of the service period")
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise _error("period_order", "the service period ends before it starts")  # BR-29
        self._check_categories()
        self.delivery_address()
        if self.totals().payable < 0:
            raise _error("negative_total", "the allowances exceed the invoice amount")
        terms, problems = parse_skonto(self.payment_terms())
        if problems or len(terms) != len(self.skonto):
            raise _error("skonto_syntax", "the Skonto terms cannot be written as XRechnung requires")
        return self

    def _check_categories(self) -> None:
        """VAT category rules that need the whole invoice (BR-O-11…14, BR-AE/IC/G/S/Z/E-02, BR-IC-11/12)."""
        categories = self.categories()
        seller, buyer = self.seller, self.buyer
        if "O" in categories:
            if categories != {"O"}:
                raise _error("category_o_mixed", "'not subject to VAT' cannot be mixed with other categories")
            if not seller.registration_id:
                raise _error("category_o_registration",
                             "without VAT the seller needs a registration number (BT-30)")
            return
        if categories & {"S", "Z", "E", "AE"} and not (seller.vat_id or seller.tax_number):
            raise _error("seller_tax_id", "give the VAT identification number or the tax number")
        if categories & {"K", "G"} and not seller.vat_id:
            raise _error("seller_vat_id", "this VAT category needs the seller's VAT identification number")
        if categories & {"AE", "K"} and not buyer.vat_id:
            raise _error("buyer_vat_id", "this VAT category needs the buyer's VAT identification number")
        if "K" in categories and not (self.delivery_date or self.period_start):
            raise _error("delivery_date", "an intra-community supply needs the delivery date or period")

    def delivery_address(self) -> Address | None:
        """BG-15 as typed; for an intra-community supply at least the buyer's address (BR-IC-12)."""
        if self.delivery_country or self.delivery_city or self.delivery_postcode or self.delivery_street:
            if not (self.delivery_country and self.delivery_city and self.delivery_postcode):
                raise _error("delivery_address", "a delivery address needs postcode, city and country")
            return Address(city=self.delivery_city, postcode=self.delivery_postcode,
                           country=self.delivery_country, street=self.delivery_street)
        if "K" in self.categories():
            buyer = self.buyer
            return Address(city=buyer.city, postcode=buyer.postcode, country=buyer.country, street=buyer.street)
        return None

    def categories(self) -> set[str]:
        return {line.vat_category for line in self.lines} | {a.vat_category for a in self.adjustments}

    # ------------------------------------------------------------------ derived content

    def payment_terms(self) -> str:
        """BT-20: one Skonto line per stage (BR-DE-18), then the free text."""
        text = "".join(skonto_terms(stage.days, stage.percent) for stage in self.skonto)
        if self.payment_text:
            text += self.payment_text.replace("\r\n", "\n")
        elif self.due_date:
            text += f"Zahlbar bis zum {self.due_date:%d.%m.%Y} ohne Abzug."
        else:
            text += "Zahlbar sofort ohne Abzug."
        return text

    def document_lines(self) -> tuple[Line, ...]:
        return tuple(
            Line(id=str(index), item_id=line.item_id, name=line.name, quantity=line.quantity, unit=line.unit,
                 price=line.price, vat_rate=line.vat_rate, vat_category=line.vat_category)
            for index, line in enumerate(self.lines, start=1)
        )

    def document_adjustments(self) -> tuple[AllowanceCharge, ...]:
        return tuple(
            AllowanceCharge(charge=adj.charge, reason=adj.reason_text(), reason_code=adj.reason_code,
                            amount=adj.amount, vat_rate=adj.vat_rate, vat_category=adj.vat_category)
            for adj in self.adjustments
        )

    def totals(self) -> Totals:
        """The authoritative totals (the page's JavaScript only previews them)."""
        return compute_totals(self.document_lines(), self.document_adjustments())

    def to_document(self) -> InvoiceData:
        seller, buyer = self.seller, self.buyer
        buyer_address, buyer_scheme = buyer.endpoint
        return InvoiceData(
            number=self.number,
            type_code="380",
            issue_date=self.issue_date,
            delivery_date=self.delivery_date,
            due_date=self.due_date,
            buyer_reference=buyer.leitweg_id,
            order_reference=self.order_reference,
            seller=Party(
                name=seller.name, street=seller.street, postcode=seller.postcode, city=seller.city,
                electronic_address=seller.electronic_address, electronic_scheme=seller.electronic_scheme,
                country=seller.country, vat_id=seller.vat_id, registration_id=seller.registration_id,
                contact_name=seller.contact_name, contact_phone=seller.contact_phone,
                contact_email=seller.contact_email, tax_number=seller.tax_number,
            ),
            buyer=Party(
                name=buyer.name, street=buyer.street, postcode=buyer.postcode, city=buyer.city,
                electronic_address=buyer_address, electronic_scheme=buyer_scheme, country=buyer.country,
                vat_id=buyer.vat_id, contact_name=buyer.contact_name,
            ),
            payment_iban=seller.iban,
            payment_bic=seller.bic,
            payment_account_name=seller.account_name or seller.name,
            payment_terms=self.payment_terms(),
            lines=self.document_lines(),
            adjustments=self.document_adjustments(),
            note=self.note,
            invoice_period=(self.period_start, self.period_end) if self.period_start and self.period_end else None,
            delivery_address=self.delivery_address(),
            exemption_reason=self.exemption_reason,
        )


# ------------------------------------------------------------------ HTML form fields <-> nested data


def nest_fields(fields: Mapping[str, str]) -> dict[str, Any]:
    """``{"seller.name": …, "lines.0.price": …}`` → nested dicts and lists (the model's shape).

    List indexes come from the page (lines can be removed in between), so lists keep the order of
    the indexes and drop the gaps. Keys other than ``[a-z_]`` names and indexes are ignored.
    """
    root: dict[str, Any] = {}
    for key, value in fields.items():
        parts = key.split(".")
        if not all(re.fullmatch(r"[a-z][a-z_]{0,39}|[0-9]{1,3}", part) for part in parts) or parts[0].isdigit():
            continue
        node: dict[str, Any] = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(key.isdigit() for key in node):
        return [_lists(node[key]) for key in sorted(node, key=int)]
    return {key: _lists(value) for key, value in node.items()}


def flatten_fields(data: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """The inverse of :func:`nest_fields`, for filling the form from a draft."""
    flat: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_fields(value, f"{name}."))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    flat.update(flatten_fields(item, f"{name}.{index}."))
                else:
                    flat[f"{name}.{index}"] = "" if item is None else str(item)
        else:
            flat[name] = "" if value is None else str(value)
    return flat
