"""Invoices typed into the entry form are accepted by the official rules without errors or warnings.

Each variant changes the example form in one realistic way (VAT categories, allowances, Skonto
stages, service period, rounding edges, long invoices); the generated XRechnung 3.0 UBL document
runs through the full validation (XSD, EN 16931 and XRechnung Schematron).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from einvoice.entry.document import render_ubl
from einvoice.entry.examples import example_form_data
from einvoice.entry.form import InvoiceForm
from einvoice.entry.identifiers import german_vat_id

pytestmark = pytest.mark.integration

Data = dict[str, Any]


def _line(name: str, quantity: str, price: str, category: str = "S", rate: str = "19",
          unit: str = "C62") -> Data:
    return {"name": name, "quantity": quantity, "price": price, "vat_category": category,
            "vat_rate": rate, "unit": unit}


def _minimal(d: Data) -> None:
    for key in ("due_date", "delivery_date", "order_reference", "note", "payment_text"):
        d.pop(key)
    d["adjustments"], d["skonto"] = [], []
    for key in ("tax_number", "registration_id", "bic", "account_name"):
        d["seller"].pop(key)


def _allowances_and_stages(d: Data) -> None:
    d["adjustments"] = [
        {"charge": "false", "reason_code": "95", "reason": "Treuerabatt", "amount": "20,00",
         "vat_category": "S", "vat_rate": "19"},
        {"charge": "false", "reason_code": "100", "amount": "1.99", "vat_category": "S", "vat_rate": "7"},
        {"charge": "true", "reason_code": "ABL", "amount": "4.95", "vat_category": "S", "vat_rate": "7"},
    ]
    d["skonto"] = [{"days": "7", "percent": "3"}, {"days": "14", "percent": "2,5"}]
    d["period_start"], d["period_end"] = "2026-02-01", "2026-02-28"
    d["lines"].append(_line("Kleinteile nach Gewicht", "0.333", "0.0155", unit="KGM"))


def _zero_rated(d: Data) -> None:
    d["lines"].append(_line("Lieferung an Bord eines Seeschiffs", "1", "250", "Z", "0"))


def _exempt(d: Data) -> None:
    d["seller"].pop("vat_id")  # tax number and registration number suffice
    d["lines"] = [_line("Heilbehandlung", "2", "85.00", "E", "0", "HUR")]
    d["adjustments"] = []
    d["exemption_reason"] = "Steuerfrei nach § 4 Nr. 14 UStG"


def _reverse_charge(d: Data) -> None:
    d["buyer"]["vat_id"] = german_vat_id("13572468")
    d["lines"] = [_line("Bauleistung Fenstereinbau", "1", "4800", "AE", "0", "LS")]
    d["adjustments"] = [{"charge": "true", "reason_code": "FC", "amount": "80", "vat_category": "AE",
                         "vat_rate": "0"}]


def _intra_community(d: Data) -> None:
    d["buyer"].update(country="AT", vat_id="ATU12345678", postcode="6020", city="Innsbruck")
    d.update(delivery_street="Museumstraße 5", delivery_city="Innsbruck", delivery_postcode="6020",
             delivery_country="AT")
    d["lines"] = [_line("Eichenholzplatten", "12", "118.40", "K", "0")]
    d["adjustments"] = []


def _intra_community_to_buyer(d: Data) -> None:
    _intra_community(d)
    for key in ("delivery_street", "delivery_city", "delivery_postcode", "delivery_country"):
        d.pop(key)  # delivered to the buyer's address, which the form fills in (BR-IC-12)


def _export(d: Data) -> None:
    d["buyer"].update(country="CH", postcode="8001", city="Zürich")
    d["lines"] = [_line("Messestand aus Holz", "1", "3150", "G", "0", "SET")]
    d["adjustments"] = []


def _not_subject(d: Data) -> None:
    d["lines"] = [_line("Vortrag (nicht steuerbar)", "1", "400", "O", "0")]
    d["adjustments"] = [{"charge": "true", "reason_code": "FC", "amount": "15", "vat_category": "O",
                         "vat_rate": "0"}]


def _addresses(d: Data) -> None:
    d["seller"].update(electronic_scheme="9930", electronic_address=d["seller"]["vat_id"])
    d["buyer"].update(electronic_scheme="EM", electronic_address="eingang@musterhausen.example",
                      contact_name="Jonas Behrendt")


def _long(d: Data) -> None:
    units = ("C62", "H87", "HUR", "KGM", "MTR", "LTR", "DAY", "SET")
    d["lines"] = [_line(f"Position {i}", f"{1 + i % 7}.{i % 10}", f"{3 + i * 1.37:.2f}",
                        rate="7" if i % 3 == 0 else "19", unit=units[i % len(units)]) for i in range(150)]


def _rounding(d: Data) -> None:
    # half-cent line amounts and many lines at the same rate: the VAT is rounded once per rate
    d["lines"] = [_line(f"Schraube {i}", "3", "0.335") for i in range(7)]
    d["adjustments"] = [{"charge": "false", "reason_code": "104", "amount": "0.01", "vat_category": "S",
                         "vat_rate": "19"}]


VARIANTS: dict[str, Callable[[Data], None]] = {
    "example": lambda d: None,
    "minimal": _minimal,
    "allowances-skonto-stages-period": _allowances_and_stages,
    "zero-rated": _zero_rated,
    "exempt": _exempt,
    "reverse-charge": _reverse_charge,
    "intra-community": _intra_community,
    "intra-community-to-buyer": _intra_community_to_buyer,
    "export": _export,
    "not-subject-to-vat": _not_subject,
    "electronic-addresses": _addresses,
    "150-lines": _long,
    "rounding": _rounding,
}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_entry_variant_is_accepted_without_errors_or_warnings(validator, name: str) -> None:  # type: ignore[no-untyped-def]
    data = example_form_data()
    VARIANTS[name](data)
    form = InvoiceForm.model_validate(data)
    result = validator.validate_bytes(render_ubl(form.to_document()), f"{name}.xml")
    problems = [f"{f.level.value} {f.rule}: {f.message}" for f in result.findings
                if f.level.value in ("fatal", "error", "warning")]
    problems += [f"step {s.id}: {s.error}" for s in result.steps if s.error]
    assert result.accepted, problems
    assert result.scenario == "xrechnung-3.0-ubl-invoice"
    assert problems == []
