"""The model's own behaviour: JSON form, lazy attachments, and extraction that never raises on values."""

from __future__ import annotations

import base64
import json
from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from einvoice.invoice import (
    Attachment,
    ExtractionError,
    Identifier,
    InvoiceData,
    Party,
    Totals,
    extract,
)
from einvoice.invoice.model import base64_size
from einvoice.invoice.xmlvalues import to_date, to_decimal

UBL_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"


def tree(xml: str) -> etree._ElementTree:
    return etree.ElementTree(etree.fromstring(xml.encode()))


@pytest.mark.parametrize("size", range(0, 9))
def test_base64_size_matches_decoded_length(size: int) -> None:
    payload = bytes(range(size))
    assert base64_size(base64.b64encode(payload).decode()) == size
    wrapped = base64.encodebytes(payload * 40).decode()  # 76-column lines with "\n"
    assert base64_size("\n  " + wrapped.replace("\n", "\r\n") + "  ") == size * 40


def test_attachment_content_is_decoded_on_demand() -> None:
    payload = base64.b64encode(b"hello").decode()
    attachment = Attachment(id="a", size=base64_size(payload), _payload=payload)
    assert attachment.embedded and attachment.size == 5
    assert attachment.content() == b"hello"
    assert "_payload" not in repr(attachment)
    with pytest.raises(ValueError, match="not valid base64"):
        Attachment(id="bad", _payload="abc").content()


def test_to_dict_is_json_safe_and_leaves_out_attachment_content() -> None:
    data = InvoiceData(
        syntax="UBL-Invoice", number="1", issue_date=date(2026, 1, 31),
        seller=Party(name="S", identifiers=[Identifier("4711", "0088")]),
        totals=Totals(net=Decimal("10.00"), vat=Decimal("1.90")),
        attachments=[Attachment(id="x.pdf", filename="x.pdf", size=3, _payload="AAAA")],
    )
    result = data.to_dict()
    assert json.loads(json.dumps(result)) == result
    assert result["issue_date"] == "2026-01-31"
    assert result["totals"]["net"] == "10.00" and result["totals"]["gross"] is None
    assert result["seller"]["identifiers"] == [{"value": "4711", "scheme": "0088"}]
    assert result["attachments"] == [{"id": "x.pdf", "description": None, "filename": "x.pdf",
                                      "mime_code": None, "uri": None, "size": 3}]
    assert result["payment_terms"] == {"text": None, "skonto": [], "skonto_errors": []}


@pytest.mark.parametrize(("text", "value"), [
    ("12.50", Decimal("12.50")), (" -0.5 ", Decimal("-0.5")), ("+3", Decimal("3")), (".5", Decimal(".5")),
    ("12,50", None), ("", None), ("NaN", None), ("Infinity", None), ("1e3", None), ("1 000", None), (None, None),
])
def test_decimals_are_xsd_decimal_only(text: str | None, value: Decimal | None) -> None:
    assert to_decimal(text) == value


@pytest.mark.parametrize(("text", "value"), [
    ("2026-03-02", date(2026, 3, 2)), ("2026-03-02Z", date(2026, 3, 2)), ("20260302", date(2026, 3, 2)),
    ("2026-02-30", None), ("02.03.2026", None), ("202603", None), ("", None), (None, None),
])
def test_dates(text: str | None, value: date | None) -> None:
    assert to_date(text) == value


def test_empty_invoice_extracts_to_nothing_without_errors() -> None:
    data = extract(tree(f'<Invoice xmlns="{UBL_NS}"/>'))
    assert data.syntax == "UBL-Invoice" and data.document_type == "invoice"
    assert (data.number, data.issue_date, data.currency, data.leitweg_id, data.leitweg_id_valid) == (
        None, None, None, None, None)
    assert data.seller == Party() and data.totals == Totals()
    assert (data.lines, data.attachments, data.vat_breakdown, data.notes) == ([], [], [], [])
    empty_cii = extract(tree(f'<rsm:CrossIndustryInvoice xmlns:rsm="{CII_NS}"/>'))
    assert empty_cii.syntax == "CII" and empty_cii.lines == [] and empty_cii.totals == Totals()


def test_unreadable_values_become_none() -> None:
    xml = (f'<Invoice xmlns="{UBL_NS}" xmlns:cbc="{CBC}"><cbc:ID>7</cbc:ID><cbc:IssueDate>13.04.2018'
           '</cbc:IssueDate><cbc:BuyerReference>Leitweg-ID</cbc:BuyerReference></Invoice>')
    data = extract(tree(xml))
    assert (data.number, data.issue_date) == ("7", None)
    assert (data.buyer_reference, data.leitweg_id, data.leitweg_id_valid) == ("Leitweg-ID", None, None)


def test_not_an_invoice() -> None:
    with pytest.raises(ExtractionError, match="<Order>"):
        extract(tree('<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>'))
    with pytest.raises(ExtractionError):  # ZUGFeRD 1.0 is another syntax
        extract(tree('<CrossIndustryDocument xmlns="urn:ferd:CrossIndustryDocument:invoice:1p0"/>'))


def test_declared_syntax_must_match_the_root() -> None:
    with pytest.raises(ExtractionError, match="declared as CII"):
        extract(tree(f'<Invoice xmlns="{UBL_NS}"/>'), "CII")


def test_element_instead_of_tree_is_accepted() -> None:
    root = etree.fromstring(f'<Invoice xmlns="{UBL_NS}" xmlns:cbc="{CBC}"><cbc:ID>9</cbc:ID></Invoice>')
    assert extract(root).number == "9"
