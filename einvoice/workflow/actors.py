"""The scheduled deadline job: Skonto reminders, escalation of overdue tasks, e-mail retries.

With Redis it is a Dramatiq actor on its own queue (``workflow``), sent every
``EINVOICE_WORKFLOW_DEADLINE_INTERVAL`` seconds and consumed by ``einvoice workflow worker``; in
embedded mode the scheduler thread of ``einvoice serve`` runs the same job in-process. The job is
idempotent (each task is reminded and escalated once, under the invoice's lock), so several
schedulers or a message delivered twice do no harm.
"""

from __future__ import annotations

import logging

import dramatiq
from dramatiq import Broker

from einvoice.db import UnitOfWork
from einvoice.scheduling import PeriodicJob, Scheduler
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


DEADLINES = PeriodicJob(name=ACTOR_NAME, queue=QUEUE, body=check_deadlines,
                        interval_setting="workflow_deadline_interval")


def actor(broker: Broker | None = None) -> dramatiq.Actor:
    """The deadline job declared on ``broker`` (default: this process's broker)."""
    return DEADLINES.actor(broker)


class DeadlineScheduler(Scheduler):
    """Runs :func:`check_deadlines` every ``EINVOICE_WORKFLOW_DEADLINE_INTERVAL`` seconds."""

    def __init__(self, *, interval: float | None = None, in_process: bool | None = None,
                 broker: Broker | None = None) -> None:
        super().__init__(DEADLINES, interval=interval, in_process=in_process, broker=broker)
