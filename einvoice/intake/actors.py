"""The Dramatiq actor that validates and extracts one ledger entry.

Jobs carry the invoice id only; everything else is read from the ledger inside the job's own
unit of work. ``process`` does nothing for entries already in a final state, so a message that is
delivered twice (worker killed before its ack, sweeper re-enqueue) is harmless.
"""

from __future__ import annotations

import logging
import threading

import dramatiq
from dramatiq import Broker

from einvoice.db import UnitOfWork
from einvoice.intake import service
from einvoice.intake.broker import QUEUE, get_broker

log = logging.getLogger(__name__)

ACTOR_NAME = "process_invoice"


def process_invoice(invoice_id: str) -> None:
    """Validate and extract one entry (``process`` commits its ``validating`` mark, we the verdict)."""
    from einvoice.ledger.service import InvoiceNotFound, process

    with UnitOfWork() as uow:
        try:
            status = process(uow, service.blobs(), service.validator(), invoice_id)
        except InvoiceNotFound:
            log.error("job for unknown invoice %s dropped (nothing to process)", invoice_id)
            return
        uow.commit()
    log.debug("invoice %s: %s", invoice_id, status)


def give_up(invoice_id: str, *, error: str) -> None:
    """Retries are used up: the entry goes to ``failed`` with the error, where people can see it."""
    from einvoice.ledger.service import mark_failed

    log.error("invoice %s failed for good: %s", invoice_id, error)
    with UnitOfWork() as uow:
        mark_failed(uow, invoice_id, error)
        uow.commit()


_lock = threading.Lock()
_actors: dict[int, dramatiq.Actor] = {}


def actor(broker: Broker | None = None) -> dramatiq.Actor:
    """``process_invoice`` declared on ``broker`` (default: this process's broker), once per broker.

    Declaring lazily rather than with a module-level decorator keeps the broker choice in
    :func:`einvoice.intake.broker.configure` (settings are read at run time, not import time).
    """
    broker = broker or get_broker()
    with _lock:
        declared = _actors.get(id(broker))
        if declared is None or declared.broker is not broker:
            declare = dramatiq.actor(broker=broker, actor_name=ACTOR_NAME, queue_name=QUEUE,
                                     on_give_up=give_up)
            declared = declare(process_invoice)
            _actors[id(broker)] = declared
        return declared


def send(invoice_id: str) -> None:
    """Put a job on the queue; raises when the broker cannot take it (callers decide what that means)."""
    actor().send(invoice_id)
