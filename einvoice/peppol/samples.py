"""Generated SBDH envelopes for tests, demos and access-point integration checks (``einvoice peppol wrap``)."""

from __future__ import annotations

import uuid

from lxml import etree

from einvoice.formats.xml import parse_xml_safely
from einvoice.peppol.ids import ParticipantId, parse_participant
from einvoice.peppol.sbdh import CII_NS, Header, build, document_type_of

BILLING_PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
_CII_GUIDELINE = (f"{{{CII_NS}}}ExchangedDocumentContext/"
                  "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}"
                  "GuidelineSpecifiedDocumentContextParameter/"
                  "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}ID")


def wrap_invoice(document: bytes, *, sender: str | ParticipantId, receiver: str | ParticipantId,
                 instance_id: str | None = None, country_c1: str = "DE") -> bytes:
    """``document`` (UBL or CII) in an SBDH as an access point would deliver it."""
    root = parse_xml_safely(document).getroot()
    qname = etree.QName(root)
    found = root.find(f"{{{CBC}}}CustomizationID")
    if found is None:
        found = root.find(_CII_GUIDELINE)
    customization = (found.text or "").strip() if found is not None else ""
    version = "2.1" if qname.namespace != CII_NS else "D16B"
    header = Header(
        sender=sender if isinstance(sender, ParticipantId) else parse_participant(sender),
        receiver=receiver if isinstance(receiver, ParticipantId) else parse_participant(receiver),
        instance_id=instance_id or str(uuid.uuid4()),
        standard=qname.namespace or "", type=qname.localname, type_version=version,
        document_type=document_type_of(qname.namespace or "", qname.localname, customization, version),
        process=BILLING_PROCESS, country_c1=country_c1)
    return build(header, document)
