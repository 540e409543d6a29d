"""The entry form model refuses what XRechnung would reject, with stable error types for the pages."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree
from pydantic import ValidationError

from einvoice.entry.document import CAC, CBC, render_ubl
from einvoice.entry.examples import EXAMPLE_LEITWEG_ID, example_form_data
from einvoice.entry.form import InvoiceForm, flatten_fields, nest_fields
from einvoice.entry.identifiers import german_vat_id, is_valid_vat_id

Data = dict[str, Any]
NS = {"cac": CAC, "cbc": CBC}


def _error_types(data: Data) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        InvoiceForm.model_validate(data)
    return {error["type"] for error in caught.value.errors()}


def _set(path: str, value: Any) -> Callable[[Data], None]:
    def change(data: Data) -> None:
        node: Any = data
        *parents, last = path.split(".")
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is None:
            node.pop(last)
        else:
            node[last] = value
    return change


WRONG_CHECK_DIGITS = EXAMPLE_LEITWEG_ID[:-2] + ("00" if not EXAMPLE_LEITWEG_ID.endswith("00") else "01")


@pytest.mark.parametrize(("change", "expected"), [
    (_set("buyer.leitweg_id", WRONG_CHECK_DIGITS), "leitweg_check_digits"),
    (_set("buyer.leitweg_id", "Musterhausen"), "leitweg_check_digits"),
    (_set("seller.iban", "DE00210500001234567890"), "iban"),
    (_set("seller.vat_id", "DE123456789"), "vat_id"),
    (_set("seller.contact_email", "kein-at-zeichen"), "email"),
    (_set("seller.contact_phone", " "), "missing"),
    (_set("seller.electronic_address", "not-an-email"), "electronic_address"),
    (_set("lines.0.unit", "XYZ"), "unit_code"),
    (_set("lines.0.quantity", "zwei"), "decimal_parsing"),
    (_set("lines.0.quantity", "0"), "greater_than"),
    (_set("lines.0.price", "-1"), "greater_than_equal"),
    (_set("lines.0.vat_rate", "0"), "vat_rate_standard"),
    (_set("lines.0.vat_category", "Z"), "vat_rate_zero"),
    (_set("lines.0.vat_category", "X"), "vat_category"),
    (_set("adjustments.0.reason_code", "95"), "reason_code"),  # 95 is an allowance, not a charge
    (_set("due_date", "2026-01-01"), "due_before_issue"),
    (_set("period_start", "2026-02-01"), "period_incomplete"),
    (_set("lines", []), "too_short"),
    (_set("payment_text", "#Zahlbar sofort"), "payment_text_hash"),
    (_set("number", "RE\x07-1"), "control_characters"),
])
def test_invalid_input_is_refused_with_a_stable_error_type(change: Callable[[Data], None], expected: str) -> None:
    data = example_form_data()
    change(data)
    assert expected in _error_types(data)


def test_the_seller_must_be_identifiable() -> None:  # BR-CO-26
    data = example_form_data()
    data["seller"].pop("vat_id")
    data["seller"].pop("registration_id")
    assert "seller_identifier" in _error_types(data)


def test_not_subject_to_vat_cannot_be_mixed_with_other_categories() -> None:
    data = example_form_data()
    data["lines"][0].update(vat_category="O", vat_rate="0")
    assert "category_o_mixed" in _error_types(data)


def test_reverse_charge_needs_the_buyers_vat_id() -> None:
    data = example_form_data()
    data["lines"] = [{"name": "Bauleistung", "quantity": "1", "price": "100", "vat_category": "AE", "vat_rate": "0"}]
    data["adjustments"] = []
    assert "buyer_vat_id" in _error_types(data)
    data["buyer"]["vat_id"] = german_vat_id("13572468")
    InvoiceForm.model_validate(data)


def test_allowances_larger_than_the_invoice_are_refused() -> None:
    data = example_form_data()
    data["adjustments"] = [{"charge": "false", "reason_code": "95", "amount": "5000", "vat_category": "S",
                            "vat_rate": "19"}]
    assert "negative_total" in _error_types(data)


def test_empty_optional_fields_from_the_page_count_as_not_given() -> None:
    data = example_form_data()
    for key in ("due_date", "delivery_date", "period_start", "period_end", "delivery_street", "delivery_city",
                "delivery_postcode", "delivery_country", "order_reference", "note", "payment_text",
                "exemption_reason"):
        data[key] = ""
    data["seller"].update(bic="", account_name="", tax_number="")
    data["buyer"].update(vat_id="", contact_name="", electronic_address="")
    data["lines"][1]["item_id"] = ""
    data["adjustments"][0]["reason"] = ""
    form = InvoiceForm.model_validate(data)
    assert form.due_date is None and form.seller.bic is None and form.delivery_address() is None
    assert form.adjustments[0].reason_text() == "Frachtkosten"


def test_german_number_formats_are_read() -> None:
    data = example_form_data()
    data["lines"][0].update(quantity="1.234,5", price="0,50")
    form = InvoiceForm.model_validate(data)
    assert form.lines[0].quantity == Decimal("1234.5")
    assert form.lines[0].price == Decimal("0.50")


def test_generated_document_carries_what_was_typed() -> None:
    form = InvoiceForm.model_validate(example_form_data())
    root = etree.fromstring(render_ubl(form.to_document()))
    assert root.findtext("cbc:BuyerReference", namespaces=NS) == EXAMPLE_LEITWEG_ID
    endpoint = root.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", NS)
    assert endpoint is not None and (endpoint.text, endpoint.get("schemeID")) == (EXAMPLE_LEITWEG_ID, "0204")
    assert root.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS) == "693.80"
    assert root.findtext("cac:PaymentTerms/cbc:Note", namespaces=NS) == form.payment_terms()
    quantities = [q.text for q in root.findall("cac:InvoiceLine/cbc:InvoicedQuantity", NS)]
    assert quantities == ["6.5", "2.4", "1"]


def test_not_subject_to_vat_omits_vat_ids_and_line_rates() -> None:
    data = example_form_data()
    data["lines"] = [{"name": "Vortrag", "quantity": "1", "price": "400", "vat_category": "O", "vat_rate": "0"}]
    data["adjustments"] = []
    root = etree.fromstring(render_ubl(InvoiceForm.model_validate(data).to_document()))
    seller = root.find("cac:AccountingSupplierParty/cac:Party", NS)
    assert seller is not None
    schemes = [e.text for e in seller.findall("cac:PartyTaxScheme/cac:TaxScheme/cbc:ID", NS)]
    assert schemes == ["FC"]  # the tax number stays, the VAT id goes (BR-O-02)
    assert root.find("cac:InvoiceLine/cac:Item/cac:ClassifiedTaxCategory/cbc:Percent", NS) is None
    assert root.findtext("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:Percent", namespaces=NS) == "0"
    assert root.findtext("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReasonCode",
                         namespaces=NS) == "VATEX-EU-O"


def test_html_fields_nest_into_the_model_shape_and_back() -> None:
    data = example_form_data()
    flat = flatten_fields(data)
    assert flat["lines.1.price"] == "42.35"
    assert nest_fields(flat) == data


def test_nesting_drops_gaps_and_foreign_keys() -> None:
    nested = nest_fields({"lines.3.name": "b", "lines.0.name": "a", "csrf_token": "x", "lines.x-y": "z",
                          "__proto__.a": "1", "0.name": "n"})
    assert nested == {"lines": [{"name": "a"}, {"name": "b"}], "csrf_token": "x"}


@pytest.mark.parametrize(("value", "valid"), [(german_vat_id("27394815"), True), ("DE273948150", False),
                                              ("ATU12345678", True), ("de123", False)])
def test_vat_ids(value: str, valid: bool) -> None:
    assert is_valid_vat_id(value) is valid
