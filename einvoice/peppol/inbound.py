"""One inbound envelope → one intake, idempotent by SBDH instance identifier.

Order of durability: intake commits the invoice first, then the exchange row (instance id →
invoice) and the connector item are written. A crash in between is harmless: the next delivery
of the same envelope finds the same bytes in the ledger (``created=False``) and records the
exchange then. A *different* document under a used instance id is refused (:class:`Conflict`).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from einvoice.connectors import service as connectors
from einvoice.db import UnitOfWork
from einvoice.ledger.models import Channel, Invoice
from einvoice.peppol import sbdh
from einvoice.peppol.models import PeppolExchange

log = logging.getLogger(__name__)

CONNECTOR_HTTP = "peppol:http"
CONNECTOR_SPOOL = "peppol:spool"


class Conflict(ValueError):
    """The instance identifier was already used for another document (HTTP 409)."""


@dataclass(frozen=True)
class InboundResult:
    invoice_id: str
    status: str
    duplicate_of: str | None
    instance_id: str | None
    created: bool  # a new ledger entry (False: replay of the envelope, or bytes already in the ledger)
    replay: bool  # this instance identifier was handled before


def exchange_key(envelope: sbdh.Envelope) -> str:
    """Idempotency key: the SBDH instance identifier, or the document hash for a bare document."""
    return envelope.instance_id or f"sha256:{hashlib.sha256(envelope.document).hexdigest()}"


def receive(data: bytes, *, connector: str, filename: str = "", fallback_sender: str = "") -> InboundResult:
    """Parse, submit and record one envelope; raises ``InputError``/``EnvelopeError``/``Conflict``."""
    from einvoice.intake.service import submit

    envelope = sbdh.parse(data)
    key = exchange_key(envelope)
    digest = hashlib.sha256(envelope.document).hexdigest()
    replayed = _replay(key, digest, connector, envelope)
    if replayed is not None:
        return replayed
    sender = str(envelope.sender) if envelope.sender else (fallback_sender or connector)
    outcome = submit(data=envelope.document, channel=Channel.PEPPOL.value, sender=sender,
                     filename=filename[:500], content_type="application/xml", meta=intake_meta(envelope, connector))
    _record_exchange(key, digest, connector, envelope, outcome.invoice_id)
    connectors.record_done(connector, key, sender=sender, invoice_ids=[outcome.invoice_id])
    return InboundResult(outcome.invoice_id, str(outcome.status), outcome.duplicate_of,
                         envelope.instance_id or None, outcome.created, replay=False)


def intake_meta(envelope: sbdh.Envelope, connector: str) -> dict[str, Any]:
    """What the ledger keeps of the envelope; a 0204 receiver routes to the unit with that Leitweg-ID."""
    meta: dict[str, Any] = {"connector": connector}
    if envelope.bare:
        return meta
    meta.update(sender_id=str(envelope.sender), receiver_id=str(envelope.receiver),
                document_type=envelope.document_type, process=envelope.process,
                instance_id=envelope.instance_id)
    leitweg = envelope.receiver.leitweg_id if envelope.receiver else None
    if leitweg:
        meta["route_leitweg_id"] = leitweg
    return meta


def _replay(key: str, digest: str, connector: str, envelope: sbdh.Envelope) -> InboundResult | None:
    with UnitOfWork() as uow:
        row = uow.session.execute(select(PeppolExchange).where(PeppolExchange.instance_id == key)).scalar_one_or_none()
        if row is None:
            return None
        _check_same(row, digest)
        invoice = uow.session.get(Invoice, row.invoice_id)
        status = invoice.status if invoice else "unknown"
        duplicate_of = invoice.duplicate_of if invoice else None
        invoice_id, sender = row.invoice_id, row.sender_id or connector
    # The item may be missing after a crash between the exchange and the item write.
    connectors.record_done(connector, key, sender=sender, invoice_ids=[invoice_id])
    return InboundResult(invoice_id, status, duplicate_of, envelope.instance_id or None, created=False, replay=True)


def _check_same(row: PeppolExchange, digest: str) -> None:
    if row.document_sha256 != digest:
        raise Conflict(f"the SBDH instance identifier {row.instance_id!r} was already used for another document "
                       f"(ledger entry {row.invoice_id}); every envelope needs its own InstanceIdentifier")


def _record_exchange(key: str, digest: str, connector: str, envelope: sbdh.Envelope, invoice_id: str) -> None:
    """Insert the exchange; a concurrent delivery of the same envelope that won the insert is fine."""
    try:
        with UnitOfWork() as uow:
            uow.session.add(PeppolExchange(
                instance_id=key, connector=connector, invoice_id=invoice_id, document_sha256=digest,
                sender_id=str(envelope.sender) if envelope.sender else None,
                receiver_id=str(envelope.receiver) if envelope.receiver else None,
                document_type=envelope.document_type[:500], process=envelope.process[:300], closed=False,
                checked_seq=0))
            uow.commit()
    except IntegrityError:
        with UnitOfWork() as uow:
            row = uow.session.execute(select(PeppolExchange).where(PeppolExchange.instance_id == key)).scalar_one()
            _check_same(row, digest)
