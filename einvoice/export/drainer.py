"""The background export job: webhooks that are due, automatic file batches, late configurations.

A periodic job (``einvoice.scheduling``) every ``EINVOICE_EXPORT_INTERVAL`` seconds: in-process in
``einvoice serve`` without Redis, and ``einvoice export drain --loop`` in production. Several drainers
may run at once: rows are claimed under row locks, so each delivery is attempted by one of them.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from einvoice.db import UnitOfWork
from einvoice.export.outbox import Clock, drain_webhooks, enqueue_missing, run_file_exports
from einvoice.ledger.models import utcnow
from einvoice.scheduling import PeriodicJob

log = logging.getLogger(__name__)


def drain_once(*, factory: sessionmaker[Session] | None = None, clock: Clock = utcnow) -> None:
    """One pass: enqueue late rows, deliver due webhooks, write automatic file batches."""
    with UnitOfWork(factory) as uow:
        if enqueue_missing(uow):
            uow.commit()
    report = drain_webhooks(factory=factory, clock=clock)
    if report.delivered or report.failed:
        log.info("webhooks: %d delivered, %d retrying, %d failed", len(report.delivered), len(report.retrying),
                 len(report.failed))
    run_file_exports(only_auto=True, factory=factory, clock=clock)


EXPORT_DRAIN = PeriodicJob(name="einvoice_export_drain", queue="export", body=drain_once,
                           interval_setting="export_interval")
