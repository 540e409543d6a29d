"""The background export loop: webhooks that are due, automatic file batches, late configurations.

Runs as a thread of the embedded worker (``einvoice serve`` without Redis) and as the command
``einvoice export drain --loop`` next to ``einvoice worker`` in production. Several drainers may
run at once: rows are claimed under row locks, so each delivery is attempted by one of them.
"""

from __future__ import annotations

import logging
import random
import threading

from sqlalchemy.orm import Session, sessionmaker

from einvoice.db import UnitOfWork
from einvoice.export.outbox import Clock, drain_webhooks, enqueue_missing, run_file_exports
from einvoice.ledger.models import utcnow

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 10.0


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


class ExportDrainer:
    """``drain_once`` every ``interval`` seconds in a daemon thread, until ``stop()``."""

    def __init__(self, *, interval: float = DEFAULT_INTERVAL) -> None:
        if interval <= 0:
            raise ValueError("the drain interval must be positive")
        self.interval = interval
        self.passes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> ExportDrainer:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="einvoice-export", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        delay = random.uniform(0, self.interval)  # spread several replicas apart
        while not self._stop.wait(delay):
            try:
                drain_once()
            except Exception:  # database down, disk full: try again next time, never kill the thread
                log.warning("export drain failed; retrying in %.0f s", self.interval, exc_info=True)
            self.passes += 1
            delay = self.interval
