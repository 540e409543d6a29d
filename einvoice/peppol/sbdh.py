"""SBDH (StandardBusinessDocumentHeader) envelopes as Peppol access points deliver and expect them.

Parsing goes through :func:`einvoice.formats.xml.parse_xml_safely` (no DTD, no entities, no
network). The business document is handed to intake as a standalone document with its own
namespace declarations; the same bytes a supplier would upload come out for documents serialised
the usual way, so cross-channel duplicates stay one ledger entry.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from einvoice.formats.xml import InputError, parse_xml_safely
from einvoice.peppol.ids import SCHEME, ParticipantId, ParticipantIdError, parse_participant

SBDH_NS = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
_S = f"{{{SBDH_NS}}}"
UBL_INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDITNOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
INVOICE_ROOTS = {f"{{{UBL_INVOICE_NS}}}Invoice", f"{{{UBL_CREDITNOTE_NS}}}CreditNote",
                 f"{{{CII_NS}}}CrossIndustryInvoice"}
DOCID_SCHEME = "busdox-docid-qns"
PROCID_SCHEME = "cenbii-procid-ubl"
_DOCID_ROOT = re.compile(r"^(?:busdox-docid-qns::)?(?P<ns>[^#]+)::(?P<local>[^#:]+)##")


class EnvelopeError(ValueError):
    """The envelope is XML but not a usable SBDH (missing or wrong parts): answered with 422."""


@dataclass(frozen=True)
class Envelope:
    """What the SBDH says, and the business document it carries (as standalone bytes)."""

    document: bytes
    sender: ParticipantId | None = None
    receiver: ParticipantId | None = None
    standard: str = ""
    type_version: str = ""
    instance_id: str = ""
    type: str = ""
    created: str = ""
    document_type: str = ""  # DOCUMENTID scope
    process: str = ""  # PROCESSID scope
    scopes: dict[str, str] = field(default_factory=dict)

    @property
    def bare(self) -> bool:
        """A document delivered without an SBDH: no participants, no instance identifier."""
        return self.sender is None


def _text(parent: etree._Element | None, path: str) -> str:
    if parent is None:
        return ""
    found = parent.find(path)
    return (found.text or "").strip() if found is not None else ""


def parse(data: bytes, *, max_bytes: int | None = None) -> Envelope:
    """Read an SBDH envelope or a bare UBL/CII invoice.

    Raises :class:`~einvoice.formats.xml.InputError` for unsafe or malformed XML (400) and
    :class:`EnvelopeError` for XML that is not a usable envelope or invoice (422).
    """
    root = parse_xml_safely(data, max_bytes=max_bytes).getroot()
    if root.tag in INVOICE_ROOTS:
        return Envelope(document=data)
    if root.tag != _S + "StandardBusinessDocument":
        raise EnvelopeError(f"the document is neither an SBDH StandardBusinessDocument ({SBDH_NS}) nor a "
                            f"UBL Invoice/CreditNote or CII CrossIndustryInvoice; its root is {root.tag}")
    children = [child for child in root if isinstance(child.tag, str)]
    if not children or children[0].tag != _S + "StandardBusinessDocumentHeader":
        raise EnvelopeError("the StandardBusinessDocument does not start with a StandardBusinessDocumentHeader")
    header, payload = children[0], children[1:]
    if len(payload) != 1:
        raise EnvelopeError(f"the StandardBusinessDocument must carry exactly one business document after "
                            f"the header; found {len(payload)}")
    business = payload[0]
    sender = _participant(header, "Sender")
    receiver = _participant(header, "Receiver")
    ident = header.find(_S + "DocumentIdentification")
    if ident is None:
        raise EnvelopeError("the SBDH has no DocumentIdentification")
    instance_id = _text(ident, _S + "InstanceIdentifier")
    if not instance_id:
        raise EnvelopeError("the SBDH DocumentIdentification has no InstanceIdentifier; it is needed to "
                            "recognise re-deliveries")
    if len(instance_id) > 200:
        raise EnvelopeError("the SBDH InstanceIdentifier is longer than 200 characters")
    scopes = _scopes(header)
    envelope = Envelope(
        document=standalone(business), sender=sender, receiver=receiver,
        standard=_text(ident, _S + "Standard"), type_version=_text(ident, _S + "TypeVersion"),
        instance_id=instance_id, type=_text(ident, _S + "Type"),
        created=_text(ident, _S + "CreationDateAndTime"),
        document_type=scopes.get("DOCUMENTID", ""), process=scopes.get("PROCESSID", ""), scopes=scopes)
    _check_document_type(envelope, business)
    return envelope


def _participant(header: etree._Element, role: str) -> ParticipantId:
    identifier = header.find(f"{_S}{role}/{_S}Identifier")
    if identifier is None:
        raise EnvelopeError(f"the SBDH has no {role}/Identifier (the {role.lower()}'s participant id)")
    try:
        return parse_participant(identifier.text or "", authority=identifier.get("Authority", ""))
    except ParticipantIdError as exc:
        raise EnvelopeError(f"SBDH {role}: {exc}") from None


def _scopes(header: etree._Element) -> dict[str, str]:
    """BusinessScope entries by type; the identifier scheme (Identifier) is kept as a ``::`` prefix."""
    scopes: dict[str, str] = {}
    for scope in header.iterfind(f"{_S}BusinessScope/{_S}Scope"):
        kind = _text(scope, _S + "Type")
        value = _text(scope, _S + "InstanceIdentifier")
        scheme = _text(scope, _S + "Identifier")
        if kind:
            scopes[kind] = f"{scheme}::{value}" if scheme and kind in ("DOCUMENTID", "PROCESSID") else value
    return scopes


def _check_document_type(envelope: Envelope, business: etree._Element) -> None:
    """A DOCUMENTID naming another root element than the one carried is refused (misrouted)."""
    if business.tag not in INVOICE_ROOTS:
        raise EnvelopeError(f"the business document in the envelope is {business.tag}, not a UBL "
                            "Invoice/CreditNote or CII CrossIndustryInvoice")
    match = _DOCID_ROOT.match(envelope.document_type)
    if envelope.document_type and match is None:
        raise EnvelopeError(f"the DOCUMENTID scope {envelope.document_type!r} is not a Peppol document type "
                            "identifier ('<namespace>::<root>##<customization>::<version>')")
    if match and f"{{{match['ns']}}}{match['local']}" != business.tag:
        raise EnvelopeError(f"the DOCUMENTID scope names {match['ns']}::{match['local']}, but the envelope "
                            f"carries {business.tag}")


def standalone(element: etree._Element) -> bytes:
    """The element as its own document: in-scope namespaces declared, the XML declaration lxml writes."""
    copied = copy.deepcopy(element)
    copied.tail = None
    return etree.tostring(copied, xml_declaration=True, encoding="UTF-8") + b"\n"


# ------------------------------------------------------------------ building


@dataclass(frozen=True)
class Header:
    """The values of an SBDH we write (responses) or generate (tests, samples)."""

    sender: ParticipantId
    receiver: ParticipantId
    instance_id: str
    standard: str
    type: str
    type_version: str
    document_type: str  # value of the DOCUMENTID scope (without the busdox-docid-qns scheme)
    process: str  # value of the PROCESSID scope (without the cenbii-procid-ubl scheme)
    country_c1: str = ""
    created: datetime | None = None


def build(header: Header, document: bytes) -> bytes:
    """Wrap ``document`` (one XML document, e.g. an Invoice or ApplicationResponse) in an SBDH."""
    nsmap = {None: SBDH_NS}
    root = etree.Element(_S + "StandardBusinessDocument", nsmap=nsmap)
    head = etree.SubElement(root, _S + "StandardBusinessDocumentHeader")
    etree.SubElement(head, _S + "HeaderVersion").text = "1.0"
    for role, participant in (("Sender", header.sender), ("Receiver", header.receiver)):
        party = etree.SubElement(head, _S + role)
        etree.SubElement(party, _S + "Identifier", Authority=SCHEME).text = str(participant)
    ident = etree.SubElement(head, _S + "DocumentIdentification")
    created = (header.created or datetime.now(UTC)).astimezone(UTC)
    for name, value in (("Standard", header.standard), ("TypeVersion", header.type_version),
                        ("InstanceIdentifier", header.instance_id), ("Type", header.type),
                        ("CreationDateAndTime", created.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z")):
        etree.SubElement(ident, _S + name).text = value
    scope_list = etree.SubElement(head, _S + "BusinessScope")
    scopes = [("DOCUMENTID", header.document_type, DOCID_SCHEME), ("PROCESSID", header.process, PROCID_SCHEME)]
    if header.country_c1:
        scopes.append(("COUNTRY_C1", header.country_c1, ""))
    for kind, value, scheme in scopes:
        scope = etree.SubElement(scope_list, _S + "Scope")
        etree.SubElement(scope, _S + "Type").text = kind
        etree.SubElement(scope, _S + "InstanceIdentifier").text = value
        if scheme:
            etree.SubElement(scope, _S + "Identifier").text = scheme
    text = etree.tostring(root, encoding="unicode")
    body = document.decode("utf-8")
    if body.startswith("<?xml"):
        body = body[body.index("?>") + 2:].lstrip()
    # The business document goes in verbatim (its bytes, its whitespace), before the closing tag.
    closing = "</StandardBusinessDocument>"
    if not text.endswith(closing):
        raise AssertionError("unexpected SBDH serialisation")
    wrapped = text[:-len(closing)] + body.rstrip("\n") + closing
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + wrapped.encode("utf-8") + b"\n"


def document_type_of(root_ns: str, root_name: str, customization: str, version: str = "2.1") -> str:
    """A Peppol document type identifier value: ``<ns>::<root>##<customization>::<version>``."""
    return f"{root_ns}::{root_name}##{customization}::{version}"


def error_message(exc: InputError | EnvelopeError) -> str:
    return exc.message if isinstance(exc, InputError) else str(exc)
