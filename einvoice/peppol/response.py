"""Peppol BIS Invoice Response 3 (UBL 2.1 ApplicationResponse, transaction T111) and its SBDH.

Response codes are the UNCL4343 subset the BIS allows; we produce AB (received), IP (in process),
AP (accepted), RE (rejected, with OPStatusReason clarification codes) and PD (fully paid).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum

from lxml import etree

from einvoice.peppol.ids import ParticipantId
from einvoice.peppol.sbdh import Header, build, document_type_of

AR_NS = "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
CAC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CUSTOMIZATION = "urn:fdc:peppol.eu:poacc:trns:invoice_response:3"
PROFILE = "urn:fdc:peppol.eu:poacc:bis:invoice_response:3"
DOCUMENT_TYPE = document_type_of(AR_NS, "ApplicationResponse", CUSTOMIZATION, "2.1")
_NSMAP = {None: AR_NS, "cac": CAC_NS, "cbc": CBC_NS}


class ResponseCode(StrEnum):
    ACKNOWLEDGED = "AB"
    IN_PROCESS = "IP"
    ACCEPTED = "AP"
    REJECTED = "RE"
    PAID = "PD"


#: OPStatusReason (clarification reason codes) of the BIS code list.
STATUS_REASONS = frozenset({"NON", "REF", "LEG", "REC", "QUA", "DEL", "PRI", "QTY", "ITM", "PAY", "PPD",
                            "UNR", "FIN", "OTH"})
#: Codes the T111 rules require a clarification (reason code) for.
NEEDS_REASON = frozenset({"CA", "UQ", "RE"})


@dataclass(frozen=True)
class Reason:
    code: str
    text: str = ""

    def __post_init__(self) -> None:
        if self.code not in STATUS_REASONS:
            raise ValueError(f"{self.code!r} is not an OPStatusReason code ({', '.join(sorted(STATUS_REASONS))})")


@dataclass(frozen=True)
class Party:
    participant: ParticipantId
    name: str


@dataclass(frozen=True)
class InvoiceResponse:
    """One status message about one invoice, from its receiver (us) to its sender."""

    id: str
    code: ResponseCode
    sender: Party  # the buyer: the invoice's Peppol receiver
    receiver: Party  # the seller: the invoice's Peppol sender
    invoice_number: str
    invoice_type_code: str = "380"
    invoice_issue_date: date | None = None
    reasons: tuple[Reason, ...] = field(default_factory=tuple)
    issued: datetime | None = None

    def __post_init__(self) -> None:
        if self.code in NEEDS_REASON and not self.reasons:
            raise ValueError(f"an Invoice Response with code {self.code} needs at least one status reason")


def _sub(parent: etree._Element, ns: str, name: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def _party(parent: etree._Element, name: str, party: Party) -> None:
    element = _sub(parent, CAC_NS, name)
    _sub(element, CBC_NS, "EndpointID", party.participant.value, schemeID=party.participant.icd)
    legal = _sub(element, CAC_NS, "PartyLegalEntity")
    _sub(legal, CBC_NS, "RegistrationName", party.name or str(party.participant))


def application_response(response: InvoiceResponse) -> bytes:
    """The UBL ApplicationResponse document (UTF-8, with XML declaration)."""
    issued = (response.issued or datetime.now(UTC)).astimezone(UTC)
    root = etree.Element(f"{{{AR_NS}}}ApplicationResponse", nsmap=_NSMAP)
    _sub(root, CBC_NS, "CustomizationID", CUSTOMIZATION)
    _sub(root, CBC_NS, "ProfileID", PROFILE)
    _sub(root, CBC_NS, "ID", response.id)
    _sub(root, CBC_NS, "IssueDate", issued.date().isoformat())
    _sub(root, CBC_NS, "IssueTime", issued.strftime("%H:%M:%S"))
    _party(root, "SenderParty", response.sender)
    _party(root, "ReceiverParty", response.receiver)
    document_response = _sub(root, CAC_NS, "DocumentResponse")
    answer = _sub(document_response, CAC_NS, "Response")
    _sub(answer, CBC_NS, "ResponseCode", response.code.value, listID="UNCL4343OpSubset")
    _sub(answer, CBC_NS, "EffectiveDate", issued.date().isoformat())
    for reason in response.reasons:
        status = _sub(answer, CAC_NS, "Status")
        _sub(status, CBC_NS, "StatusReasonCode", reason.code, listID="OPStatusReason")
        if reason.text:
            _sub(status, CBC_NS, "StatusReason", reason.text)
    reference = _sub(document_response, CAC_NS, "DocumentReference")
    _sub(reference, CBC_NS, "ID", response.invoice_number)
    if response.invoice_issue_date:
        _sub(reference, CBC_NS, "IssueDate", response.invoice_issue_date.isoformat())
    _sub(reference, CBC_NS, "DocumentTypeCode", response.invoice_type_code)
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def wrapped(response: InvoiceResponse, *, country_c1: str = "DE") -> bytes:
    """The ApplicationResponse in an SBDH addressed back to the invoice's sender."""
    header = Header(sender=response.sender.participant, receiver=response.receiver.participant,
                    instance_id=response.id, standard=AR_NS, type="ApplicationResponse", type_version="2.1",
                    document_type=DOCUMENT_TYPE, process=PROFILE, country_c1=country_c1, created=response.issued)
    return build(header, application_response(response))
