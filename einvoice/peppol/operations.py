"""Scheduled work and operator actions: the spool scan, Invoice Responses, and ``retry(item)``.

``tick`` is one run of everything (spool folder if configured, then responses); the periodic job
:data:`PEPPOL_TICK` (:mod:`einvoice.scheduling`) runs it every ``EINVOICE_PEPPOL_INTERVAL`` seconds
in-process (embedded mode) or through the ``peppol`` queue (Redis). Every step is idempotent, so
overlapping runs or a message delivered twice do no harm.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from einvoice.connectors.service import ItemView
from einvoice.peppol import delivery, inbound, spool
from einvoice.scheduling import PeriodicJob

log = logging.getLogger(__name__)

QUEUE = "peppol"
ACTOR_NAME = "peppol_tick"
_BLOB = re.compile(r"envelope kept as blob ([0-9a-f]{64})")


@dataclass(frozen=True)
class TickReport:
    spool: spool.SpoolReport | None
    responses_written: int
    delivered: delivery.DeliveryReport


def tick() -> TickReport:
    """Scan the spool (when configured), then write and deliver the Invoice Responses owed."""
    from einvoice.config import get_settings

    report = spool.run_once() if get_settings().peppol_spool_dir else None
    written, delivered = delivery.run_once()
    return TickReport(report, written, delivered)


def retry(item: ItemView) -> None:
    """Re-process a failed connector item (``einvoice.peppol.retry``, called by ``einvoice connectors retry``).

    ``peppol:spool``: the file goes from ``failed/`` back through the inbox; ``peppol:http``: the
    refused envelope kept in the blob store is submitted again; ``peppol:outbound``: the Invoice
    Response gets a fresh attempt budget and is delivered now. Raises ``ValueError`` when the item
    is not a Peppol one or cannot be retried; the outcome is recorded on the item as usual.
    """
    if item.connector == inbound.CONNECTOR_SPOOL:
        spool.retry_file(item.external_id.removeprefix("file:"))
    elif item.connector == inbound.CONNECTOR_HTTP:
        _retry_envelope(item)
    elif item.connector == delivery.CONNECTOR_OUTBOUND:
        delivery.reset_attempts(item.external_id)
        delivery.deliver_pending()
    else:
        raise ValueError(f"{item.connector!r} is not a Peppol connector")


def _retry_envelope(item: ItemView) -> None:
    from einvoice.connectors import service as connectors
    from einvoice.intake.service import blobs

    match = _BLOB.search(item.detail)
    if match is None:
        raise ValueError(f"item {item.id} has no stored envelope to retry")
    try:
        result = inbound.receive(blobs().get(match.group(1)), connector=inbound.CONNECTOR_HTTP)
    except spool.PERMANENT as exc:
        message = getattr(exc, "message", None) or str(exc)
        connectors.record_failure(item.connector, item.external_id, sender=item.sender,
                                  error=f"{message} (envelope kept as blob {match.group(1)})")
        return
    connectors.record_done(item.connector, item.external_id, sender=item.sender, invoice_ids=[result.invoice_id])


#: The scheduled job: ``einvoice serve`` runs it in-process, ``einvoice peppol worker`` with Redis.
PEPPOL_TICK = PeriodicJob(name=ACTOR_NAME, queue=QUEUE, body=tick, interval_setting="peppol_interval")
