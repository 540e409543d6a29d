"""Embedded mode: the processing actors run on worker threads inside ``einvoice serve``.

This is what a fresh machine runs (no Redis): the in-process broker's queue lives in memory, so
jobs pending at shutdown are lost from the queue but not from the ledger — the sweeper of the
next start re-enqueues them.
"""

from __future__ import annotations

import logging
import threading

import dramatiq

from einvoice.intake import actors, service
from einvoice.intake.broker import QUEUE, boot, get_broker, is_embedded
from einvoice.intake.sweeper import DEFAULT_INTERVAL, DEFAULT_STALE_AFTER, Sweeper
from einvoice.scheduling import Scheduler

log = logging.getLogger(__name__)


class EmbeddedWorker:
    """Worker threads plus the sweeper, on this process's in-process broker."""

    def __init__(self, *, threads: int = 2, sweep_interval: float = DEFAULT_INTERVAL,
                 stale_after: float = DEFAULT_STALE_AFTER, warm_up: bool = True,
                 periodic_jobs: bool = True) -> None:
        self.broker = get_broker()
        if not is_embedded(self.broker):
            raise RuntimeError("the embedded worker needs the in-process broker (EINVOICE_REDIS_URL unset)")
        self.threads = max(1, threads)
        self.warm_up = warm_up
        self.periodic_jobs = periodic_jobs  # tests that run the jobs themselves turn the schedules off
        self.sweeper = Sweeper(interval=sweep_interval, stale_after=stale_after)
        self._worker: dramatiq.Worker | None = None
        self._schedulers: list[Scheduler] = []  # periodic jobs: exports, deadlines, mail polling, Peppol spool

    def start(self) -> EmbeddedWorker:
        actors.actor(self.broker)
        if self.warm_up:
            # Compile the rule packs in the background, so neither start-up nor the first job waits.
            threading.Thread(target=service.validator, name="einvoice-warm-up", daemon=True).start()
        boot(self.broker)
        self._worker = dramatiq.Worker(self.broker, queues={QUEUE}, worker_threads=self.threads,
                                       worker_timeout=200)
        self._worker.start()
        self.sweeper.start()
        self._schedulers = [scheduler.start() for scheduler in _periodic_jobs()] if self.periodic_jobs else []
        log.info("embedded worker started with %d thread(s)", self.threads)
        return self

    def stop(self, timeout_ms: int = 30_000) -> None:
        self.sweeper.stop()
        for scheduler in self._schedulers:
            scheduler.stop()
        self._schedulers = []
        if self._worker is not None:
            self._worker.stop(timeout=timeout_ms)
            self._worker = None

    def __enter__(self) -> EmbeddedWorker:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _periodic_jobs() -> list[Scheduler]:
    """The export outbox (webhooks, automatic batches), Skonto reminders and escalations, mail polling
    (idle without a mailbox), Peppol spool."""
    from einvoice.export.drainer import EXPORT_DRAIN
    from einvoice.mail.jobs import MAIL_POLL
    from einvoice.peppol.operations import PEPPOL_TICK
    from einvoice.workflow.actors import DEADLINES

    return [Scheduler(job, in_process=True) for job in (EXPORT_DRAIN, DEADLINES, MAIL_POLL, PEPPOL_TICK)]
