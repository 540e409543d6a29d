"""SBDH parsing and building, participant ids, Invoice Response documents and which events call for them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from lxml import etree

from einvoice.formats.xml import InputError
from einvoice.peppol import sbdh
from einvoice.peppol.ids import ParticipantIdError, parse_participant
from einvoice.peppol.response import (
    AR_NS,
    DOCUMENT_TYPE,
    InvoiceResponse,
    Party,
    Reason,
    ResponseCode,
    application_response,
    wrapped,
)
from einvoice.peppol.responses import due_responses
from einvoice.peppol.samples import wrap_invoice
from einvoice.samples import DEFAULT_LEITWEG_ID, make_cii_invoice, render_ubl, sample_invoice_data

SENDER = "9930:DE123456789"
RECEIVER = f"0204:{DEFAULT_LEITWEG_ID}"
S = f"{{{sbdh.SBDH_NS}}}"


def ubl() -> bytes:
    return render_ubl(sample_invoice_data())


def test_participant_ids() -> None:
    leitweg = parse_participant(RECEIVER)
    assert (leitweg.icd, leitweg.leitweg_id) == ("0204", DEFAULT_LEITWEG_ID)
    assert str(parse_participant("iso6523-actorid-upis::9930:DE123456789")) == SENDER
    assert parse_participant("0088:4035811991021").leitweg_id is None
    for bad, fragment in (("DE123456789", "4-digit"), ("204:x", "4-digit"), ("0204:05315000-BESCH2026-70", "check"),
                          ("9930:123456789", "German VAT"), ("0088:a b", "without spaces"), ("0088:", "1-50")):
        with pytest.raises(ParticipantIdError, match=fragment):
            parse_participant(bad)
    with pytest.raises(ParticipantIdError, match="authority"):
        parse_participant(SENDER, authority="GLN")


def test_wrapped_invoice_comes_out_byte_identical() -> None:
    for document in (ubl(), make_cii_invoice()):
        envelope = sbdh.parse(wrap_invoice(document, sender=SENDER, receiver=RECEIVER, instance_id="i-1"))
        assert envelope.document == document
        assert (str(envelope.sender), str(envelope.receiver), envelope.instance_id) == (SENDER, RECEIVER, "i-1")
        assert envelope.document_type.startswith("busdox-docid-qns::")
        assert envelope.process == "cenbii-procid-ubl::urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
        assert envelope.scopes["COUNTRY_C1"] == "DE"
        assert envelope.created.endswith("Z")


def test_bare_document_is_accepted_as_is() -> None:
    envelope = sbdh.parse(ubl())
    assert envelope.bare and envelope.document == ubl() and envelope.instance_id == ""


def _envelope_tree() -> etree._Element:
    return etree.fromstring(wrap_invoice(ubl(), sender=SENDER, receiver=RECEIVER, instance_id="i-2"))


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: r.find(f"{S}StandardBusinessDocumentHeader/{S}DocumentIdentification/{S}InstanceIdentifier")
     .getparent().remove(r.find(f"{S}StandardBusinessDocumentHeader/{S}DocumentIdentification/"
                                f"{S}InstanceIdentifier")), "no InstanceIdentifier"),
    (lambda r: r.find(f"{S}StandardBusinessDocumentHeader/{S}Receiver/{S}Identifier").set("Authority", "DUNS"),
     "Receiver: participant identifier authority 'DUNS'"),
    (lambda r: setattr(r.find(f"{S}StandardBusinessDocumentHeader/{S}Sender/{S}Identifier"), "text", "DE1"),
     "Sender: participant identifier 'DE1'"),
    (lambda r: r.find(f"{S}StandardBusinessDocumentHeader").remove(
        r.find(f"{S}StandardBusinessDocumentHeader/{S}Sender")), "no Sender/Identifier"),
    (lambda r: r.remove(r[1]), "exactly one business document"),
    (lambda r: r.append(etree.Element("{urn:x}Other")), "exactly one business document"),
    (lambda r: r.remove(r[0]), "does not start with a StandardBusinessDocumentHeader"),
    (lambda r: r.find(f"{S}StandardBusinessDocumentHeader/{S}BusinessScope/{S}Scope/{S}InstanceIdentifier")
     .__setattr__("text", sbdh.document_type_of(sbdh.UBL_CREDITNOTE_NS, "CreditNote", "urn:x", "2.1")),
     "names urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2::CreditNote"),
])
def test_malformed_envelopes_are_refused_precisely(change: object, message: str) -> None:
    root = _envelope_tree()
    change(root)  # type: ignore[operator]
    with pytest.raises(sbdh.EnvelopeError, match=message):
        sbdh.parse(_bytes(root))


def test_unsafe_or_foreign_xml_is_refused() -> None:
    with pytest.raises(InputError) as refused:
        sbdh.parse(b'<!DOCTYPE x [<!ENTITY e "x">]><x>&e;</x>')
    assert refused.value.rule == "XML-DOCTYPE"
    with pytest.raises(InputError):
        sbdh.parse(b"<StandardBusinessDocument")
    with pytest.raises(sbdh.EnvelopeError, match="neither an SBDH"):
        sbdh.parse(b"<Order xmlns='urn:x'/>")


def _response(code: ResponseCode, *reasons: Reason) -> InvoiceResponse:
    return InvoiceResponse(
        id="r-1", code=code, sender=Party(parse_participant(RECEIVER), "Bauamt"),
        receiver=Party(parse_participant(SENDER), "Bürobedarf GmbH"), invoice_number="RE-1",
        invoice_issue_date=date(2026, 3, 1), reasons=reasons, issued=datetime(2026, 3, 2, 10, 0, tzinfo=UTC))


def test_invoice_response_and_its_envelope() -> None:
    response = _response(ResponseCode.REJECTED, Reason("REF", "Leitweg-ID fehlt"))
    document = etree.fromstring(application_response(response))
    ns = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2", "ar": AR_NS}
    assert document.findtext("cbc:CustomizationID", namespaces=ns) == "urn:fdc:peppol.eu:poacc:trns:invoice_response:3"
    assert document.xpath("//cbc:ResponseCode/text()", namespaces=ns) == ["RE"]
    assert document.xpath("//cbc:StatusReasonCode/text()", namespaces=ns) == ["REF"]
    root = etree.fromstring(wrapped(response))
    header = root.find(f"{S}StandardBusinessDocumentHeader")
    assert header.findtext(f"{S}Sender/{S}Identifier") == RECEIVER  # swapped: we answer the sender
    assert header.findtext(f"{S}Receiver/{S}Identifier") == SENDER
    scopes = {s.findtext(f"{S}Type"): s.findtext(f"{S}InstanceIdentifier")
              for s in header.iter(f"{S}Scope")}
    assert scopes["DOCUMENTID"] == DOCUMENT_TYPE == (
        "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2::ApplicationResponse"
        "##urn:fdc:peppol.eu:poacc:trns:invoice_response:3::2.1")
    assert scopes["PROCESSID"] == "urn:fdc:peppol.eu:poacc:bis:invoice_response:3"
    assert root[1].tag == f"{{{AR_NS}}}ApplicationResponse"


def test_rejection_needs_a_reason_and_reason_codes_are_checked() -> None:
    with pytest.raises(ValueError, match="needs at least one status reason"):
        _response(ResponseCode.REJECTED)
    with pytest.raises(ValueError, match="not an OPStatusReason"):
        Reason("XYZ")


def _codes(events: list[str]) -> list[str]:
    return [d.code.value for d in due_responses([(i, e, {}) for i, e in enumerate(events, 1)])]


def test_events_to_response_codes() -> None:
    assert _codes(["received"]) == ["AB"]
    assert _codes(["received", "validating", "accepted", "workflow_started"]) == ["AB", "IP"]
    assert _codes(["received", "validating", "rejected"]) == ["AB", "RE"]
    assert _codes(["received", "accepted", "workflow_approved", "exported", "paid"]) == ["AB", "IP", "AP", "PD"]
    assert _codes(["received", "accepted", "workflow_rejected", "paid"]) == ["AB", "IP", "RE"]
    assert _codes(["received", "workflow_approved"]) == ["AB", "IP", "AP"]  # never AP without IP before


def test_resolved_duplicate_suspicions() -> None:
    def codes(decision: str) -> list[str]:
        events = [(1, "received", {}), (2, "duplicate_suspected", {}),
                  (3, "duplicate_resolved", {"decision": decision})]
        return [d.code.value for d in due_responses(events)]

    assert codes("not_duplicate") == ["AB", "IP"]
    assert codes("duplicate") == ["AB", "RE"]
