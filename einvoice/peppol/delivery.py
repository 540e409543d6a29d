"""Deliver Invoice Responses: a file in the outbound folder or an HTTP POST to the access point.

Each response is written once (:mod:`.responses`) and delivered until acknowledged: files are
written atomically under the response id (a re-run after a crash leaves the same bytes alone);
POSTs carry the same SBDH instance id and ``X-Einvoice-Idempotency-Key`` on every attempt, so the
access point can recognise a repeat. Failures back off exponentially; after
``EINVOICE_PEPPOL_OUTBOUND_MAX_ATTEMPTS`` the response shows up as a failed ``peppol:outbound``
item in the operations view, where a retry gives it a fresh attempt budget.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import or_, select

from einvoice import __version__
from einvoice.connectors import service as connectors
from einvoice.db import UnitOfWork
from einvoice.export.outbox import ExportError, write_atomically
from einvoice.ledger.models import utcnow
from einvoice.peppol.models import PeppolResponse
from einvoice.peppol.responses import emit_pending

log = logging.getLogger(__name__)

CONNECTOR_OUTBOUND = "peppol:outbound"
TIMEOUT = httpx.Timeout(15.0, connect=5.0)


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int = 0
    failed: int = 0


def outbound_target() -> str | None:
    """The configured URL, else the outbound folder (default ``<spool>/outbound``), else None."""
    from einvoice.config import get_settings

    settings = get_settings()
    if settings.peppol_outbound_url:
        return settings.peppol_outbound_url
    if settings.peppol_outbound_dir:
        return str(settings.peppol_outbound_dir)
    if settings.peppol_spool_dir:
        return str(Path(settings.peppol_spool_dir) / "outbound")
    return None


def deliver_pending(*, client: httpx.Client | None = None, limit: int = 500) -> DeliveryReport:
    """Deliver every response due; failures back off exponentially up to the attempt limit."""
    from einvoice.config import get_settings

    settings = get_settings()
    target = outbound_target()
    if target is None:
        return DeliveryReport()
    now = utcnow()
    with UnitOfWork() as uow:
        rows = list(uow.session.execute(
            select(PeppolResponse.id, PeppolResponse.document, PeppolResponse.attempts)
            .where(PeppolResponse.delivered_at.is_(None),
                   PeppolResponse.attempts < settings.peppol_outbound_max_attempts,
                   or_(PeppolResponse.next_attempt_at.is_(None), PeppolResponse.next_attempt_at <= now))
            .order_by(PeppolResponse.created_at, PeppolResponse.journal_seq).limit(limit)))
    delivered = failed = 0
    for response_id, document, attempts in rows:
        error = _deliver_one(target, response_id, document.encode("utf-8"), attempts + 1, client,
                             settings.peppol_outbound_token)
        _mark(response_id, target, error, settings.peppol_outbound_max_attempts)
        delivered, failed = (delivered + 1, failed) if error is None else (delivered, failed + 1)
    return DeliveryReport(delivered, failed)


def _deliver_one(target: str, response_id: str, data: bytes, attempt: int, client: httpx.Client | None,
                 token: str | None) -> str | None:
    if not target.startswith(("http://", "https://")):
        try:  # the same bytes under the same name again (a re-run after a crash) are left alone
            write_atomically(Path(target), f"{response_id}.xml", data)
        except (OSError, ExportError) as exc:
            return f"{type(exc).__name__}: {exc}"
        return None
    headers = {"Content-Type": "application/xml", "User-Agent": f"einvoice/{__version__}",
               "X-Einvoice-Idempotency-Key": response_id, "X-Einvoice-Delivery-Attempt": str(attempt)}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    try:
        answer = http.post(target, content=data, headers=headers)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        if client is None:
            http.close()
    return None if 200 <= answer.status_code < 300 else f"HTTP {answer.status_code}: {answer.text[:300]}"


def _mark(response_id: str, target: str, error: str | None, max_attempts: int) -> None:
    with UnitOfWork() as uow:
        row = uow.session.get(PeppolResponse, response_id)
        if row is None:
            return
        row.attempts = (row.attempts or 0) + 1
        if error is None:
            row.delivered_at, row.delivered_to, row.last_error = utcnow(), target[:1000], None
        else:
            row.last_error = error[:4000]
            row.next_attempt_at = utcnow() + timedelta(seconds=min(3600, 30 * 2 ** (row.attempts - 1)))
        attempts = row.attempts
        uow.commit()
    if error is not None and attempts >= max_attempts:
        connectors.record_failure(CONNECTOR_OUTBOUND, response_id, sender="",
                                  error=f"Invoice Response not delivered after {attempts} attempts: {error}")
    elif error is None and connectors.item(CONNECTOR_OUTBOUND, response_id) is not None:
        connectors.record_done(CONNECTOR_OUTBOUND, response_id, sender="", invoice_ids=[])


def reset_attempts(response_id: str) -> None:
    """An operator's retry: deliver this response again on the next run, with a fresh attempt budget."""
    with UnitOfWork() as uow:
        row = uow.session.get(PeppolResponse, response_id)
        if row is None:
            raise LookupError(f"no Invoice Response {response_id}")
        row.attempts, row.next_attempt_at = 0, None
        uow.commit()


def run_once(*, client: httpx.Client | None = None) -> tuple[int, DeliveryReport]:
    """One scheduled step: emit what the journal calls for, then deliver."""
    written = emit_pending()
    return written, deliver_pending(client=client)


