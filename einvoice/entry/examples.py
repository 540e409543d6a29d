"""A complete, valid entry form as plain data: the starting point of tests and of the demo.

Kept as the nested dict the HTML form produces (see :func:`einvoice.entry.form.nest_fields`), so the
same data drives the model tests, the validation of generated variants and the browser tests.
"""

from __future__ import annotations

import copy
from typing import Any

from einvoice.entry.identifiers import german_vat_id, make_iban
from einvoice.invoice.leitweg import make_leitweg_id

EXAMPLE_LEITWEG_ID = make_leitweg_id("05315000-BESCH2026")

_SELLER: dict[str, Any] = {
    "name": "Tischlerei Holzwurm Inh. Kai Brandt",
    "street": "Werkstattweg 3",
    "postcode": "24103",
    "city": "Kiel",
    "country": "DE",
    "vat_id": german_vat_id("18273645"),
    "tax_number": "20/123/45678",
    "registration_id": "HRA 7788 KI",
    "contact_name": "Kai Brandt",
    "contact_phone": "+49 431 555 0187",
    "contact_email": "rechnung@holzwurm.example",
    "electronic_address": "rechnung@holzwurm.example",
    "electronic_scheme": "EM",
    "iban": make_iban("DE", "210500001234567890"),
    "bic": "NOLADE21KIE",
    "account_name": "Kai Brandt",
}

_BUYER: dict[str, Any] = {
    "name": "Stadt Musterhausen, Zentrale Beschaffung",
    "street": "Rathausplatz 1",
    "postcode": "53111",
    "city": "Musterhausen",
    "country": "DE",
    "leitweg_id": EXAMPLE_LEITWEG_ID,
}

_INVOICE: dict[str, Any] = {
    "number": "HW-2026-0042",
    "issue_date": "2026-03-02",
    "due_date": "2026-04-01",
    "delivery_date": "2026-02-26",
    "order_reference": "BE-2026-0193",
    "note": "Reparatur der Eingangstür im Rathaus.",
    "lines": [
        {"name": "Arbeitszeit Tischlermeister", "quantity": "6,5", "unit": "HUR", "price": "68,00",
         "vat_category": "S", "vat_rate": "19"},
        {"name": "Eichenholz, gehobelt", "item_id": "EI-40", "quantity": "2.4", "unit": "MTR",
         "price": "42.35", "vat_category": "S", "vat_rate": "19"},
        {"name": "Fachbuch Holzschutz", "quantity": "1", "unit": "C62", "price": "29.90",
         "vat_category": "S", "vat_rate": "7"},
    ],
    "adjustments": [
        {"charge": "true", "reason_code": "FC", "amount": "12.50", "vat_category": "S", "vat_rate": "19"},
    ],
    "skonto": [{"days": "14", "percent": "2"}],
    "payment_text": "Zahlbar innerhalb von 30 Tagen ohne Abzug.",
}


def example_seller() -> dict[str, Any]:
    return copy.deepcopy(_SELLER)


def example_form_data() -> dict[str, Any]:
    """A fresh deep copy, so callers may change it freely."""
    data = copy.deepcopy(_INVOICE)
    data["seller"] = example_seller()
    data["buyer"] = copy.deepcopy(_BUYER)
    return data
