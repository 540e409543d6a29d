"""Intake: persist first, acknowledge second, process asynchronously.

``submit`` is the one path every channel (API, portal, mail, Peppol, ``einvoice demo``) uses: the
bytes and the ledger entry are committed before anything else happens; the processing job is
enqueued afterwards, and if that fails (broker down) the entry is still safe — the sweeper
re-enqueues everything that stays unprocessed for too long.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from einvoice.db import UnitOfWork
from einvoice.ledger.models import Invoice, Status, utcnow

if TYPE_CHECKING:
    from einvoice.ledger.blobs import BlobStore
    from einvoice.ledger.service import ReceiveOutcome
    from einvoice.validation.engine import Validator

log = logging.getLogger(__name__)

#: Entries not yet in a final state: the sweeper's and ``wait_until_final``'s concern.
PENDING = frozenset({Status.RECEIVED.value, Status.VALIDATING.value})

# Separate locks: building the validator takes seconds and must not block intake (``blobs()``).
_validator_lock = threading.Lock()
_blobs_lock = threading.Lock()
_validator: Validator | None = None
_blobs: BlobStore | None = None


def validator() -> Validator:
    """The process-wide Validator, built and warmed up once (compiling takes seconds)."""
    global _validator
    with _validator_lock:
        if _validator is None:
            from einvoice.validation.engine import Validator

            started = time.perf_counter()
            built = Validator.from_settings()
            built.warm_up()
            _validator = built
            log.info("validator ready in %.1f s", time.perf_counter() - started)
        return _validator


def install_validator(instance: Validator | None) -> None:
    """Use an already built Validator (tests share one per session); ``None`` forgets it."""
    global _validator
    with _validator_lock:
        _validator = instance


def blobs() -> BlobStore:
    global _blobs
    with _blobs_lock:
        if _blobs is None:
            from einvoice.ledger.blobs import BlobStore

            _blobs = BlobStore.from_settings()
        return _blobs


def reset() -> None:
    """Forget the cached blob store and validator (tests that switch settings)."""
    global _blobs, _validator
    with _validator_lock, _blobs_lock:
        _blobs, _validator = None, None


def submit(*, data: bytes, channel: str, sender: str, filename: str = "",
           content_type: str | None = None, meta: dict[str, Any] | None = None) -> ReceiveOutcome:
    """Commit the document to the ledger, then enqueue its processing.

    Returns only after the commit, so a caller may acknowledge receipt. An enqueue failure is
    logged, never raised: the document is already durable and the sweeper will pick it up.
    ``meta``: what the channel knows of the arrival (see ``einvoice.ledger.service.receive``).
    """
    from einvoice.ledger.service import receive_committed

    outcome = receive_committed(blobs(), data=data, channel=channel, sender=sender,
                                filename=filename, content_type=content_type, meta=meta)
    if outcome.created and str(outcome.status) in PENDING:
        enqueue([outcome.invoice_id])
    return outcome


def enqueue(invoice_ids: Iterable[str]) -> list[str]:
    """Send a job per id and stamp ``enqueued_at``; returns the ids sent.

    Stops at the first broker failure (the rest would fail too) and logs it; whatever was not
    sent keeps its pending state and is re-enqueued by the sweeper.
    """
    from einvoice.intake import actors

    sent: list[str] = []
    for invoice_id in invoice_ids:
        try:
            actors.send(invoice_id)
        except Exception as exc:
            log.warning("could not enqueue invoice %s (%s: %s); the sweeper will retry",
                        invoice_id, type(exc).__name__, exc)
            break
        sent.append(invoice_id)
    if sent:
        _stamp_enqueued(sent)
    return sent


def _stamp_enqueued(invoice_ids: list[str]) -> None:
    """Bookkeeping only (not journalled): keeps the sweeper from re-sending work that is queued."""
    try:
        with UnitOfWork() as uow:
            uow.session.execute(
                update(Invoice)
                .where(Invoice.id.in_(invoice_ids), Invoice.status.in_(PENDING))
                .values(enqueued_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            uow.commit()
    except Exception:
        log.warning("could not stamp enqueued_at for %d invoice(s)", len(invoice_ids), exc_info=True)


def statuses(invoice_ids: Iterable[str]) -> dict[str, str]:
    """Current status per id (one query)."""
    ids = list(invoice_ids)
    with UnitOfWork() as uow:
        rows = uow.session.execute(select(Invoice.id, Invoice.status).where(Invoice.id.in_(ids)))
        return {invoice_id: status for invoice_id, status in rows}


def wait_until_final(invoice_ids: Iterable[str], *, timeout: float = 120.0,
                     poll: float = 0.2) -> dict[str, str]:
    """Poll the ledger until every id has left ``received``/``validating`` or ``timeout`` passes.

    Returns the last statuses seen (the caller checks whether some are still pending); ids the
    ledger does not know are absent from the result and do not hold up the wait.
    """
    ids = list(dict.fromkeys(invoice_ids))
    deadline = time.monotonic() + timeout
    while True:
        seen = statuses(ids)
        if all(seen.get(i) not in PENDING for i in ids) or time.monotonic() >= deadline:
            return seen
        time.sleep(poll)
