"""The scheduled deadline job: Skonto reminders, escalation of overdue tasks, e-mail retries.

With Redis it is a Dramatiq actor on its own queue (``workflow``), sent every
``EINVOICE_WORKFLOW_DEADLINE_INTERVAL`` seconds and consumed by ``einvoice workflow worker``; in
embedded mode the scheduler thread of ``einvoice serve`` runs the same job in-process. The job is
idempotent (each task is reminded and escalated once, under the invoice's lock), so several
schedulers or a message delivered twice do no harm.
"""

from __future__ import annotations

import logging
import random
import threading

import dramatiq
from dramatiq import Broker

from einvoice.db import UnitOfWork
from einvoice.workflow import clock as clock_mod
from einvoice.workflow import notify

log = logging.getLogger(__name__)

QUEUE = "workflow"
ACTOR_NAME = "workflow_check_deadlines"


def check_deadlines() -> dict[str, int]:
    """One run: deadlines in one transaction, then the e-mail outbox (after the commit)."""
    from einvoice.workflow.service import check_deadlines as run

    with UnitOfWork() as uow:
        report = run(uow, clock=clock_mod.current())
        uow.commit()
    sent = notify.deliver_pending()
    if report.changes or sent:
        log.info("deadlines: %d reminded, %d escalated, %d Skonto dates moved on, %d e-mail(s) sent",
                 len(report.reminded), len(report.escalated), len(report.skonto_updated), sent)
    return {"reminded": len(report.reminded), "escalated": len(report.escalated),
            "skonto_updated": len(report.skonto_updated), "sent": sent}


_lock = threading.Lock()
_actors: dict[int, dramatiq.Actor] = {}


def actor(broker: Broker | None = None) -> dramatiq.Actor:
    """The job declared on ``broker`` (default: this process's broker), once per broker."""
    from einvoice.intake.broker import get_broker

    broker = broker or get_broker()
    with _lock:
        declared = _actors.get(id(broker))
        if declared is None or declared.broker is not broker:
            broker.declare_queue(QUEUE)
            declared = dramatiq.actor(broker=broker, actor_name=ACTOR_NAME, queue_name=QUEUE,
                                      max_retries=0)(check_deadlines)
            _actors[id(broker)] = declared
        return declared


class DeadlineScheduler:
    """Every ``interval`` seconds: run the job in-process (embedded) or send it to the broker (Redis)."""

    def __init__(self, *, interval: float | None = None, in_process: bool | None = None,
                 broker: Broker | None = None) -> None:
        from einvoice.config import get_settings
        from einvoice.intake.broker import get_broker, is_embedded

        self.interval = interval if interval is not None else get_settings().workflow_deadline_interval
        if self.interval <= 0:
            raise ValueError("the deadline interval must be positive")
        self.broker = broker or get_broker()
        self.in_process = is_embedded(self.broker) if in_process is None else in_process
        self.runs = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        if self.in_process:
            check_deadlines()
        else:
            actor(self.broker).send()

    def start(self) -> DeadlineScheduler:
        if self._thread is None:
            if not self.in_process:
                actor(self.broker)
            self._thread = threading.Thread(target=self._run, name="einvoice-deadlines", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        delay = random.uniform(0, min(self.interval, 30.0))  # soon after start, spread over replicas
        while not self._stop.wait(delay):
            try:
                self.tick()
            except Exception:  # database or broker down: next time; never kill the thread
                log.warning("deadline check failed; retrying in %.0f s", self.interval, exc_info=True)
            self.runs += 1
            delay = self.interval
