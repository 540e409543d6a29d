"""Periodic jobs (deadlines, mail polling, Peppol spool): one way to declare, schedule and consume them.

A job runs every ``interval`` seconds. In embedded mode the scheduler thread runs it in-process;
with Redis the scheduler sends a message to the job's own queue and ``<domain> worker`` commands
consume it. Jobs are idempotent, so several schedulers or a message delivered twice do no harm.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Self

import dramatiq
from dramatiq import Broker

log = logging.getLogger(__name__)


@dataclass
class PeriodicJob:
    name: str  # the Dramatiq actor name
    queue: str
    body: Callable[[], object]
    interval_setting: str  # Settings attribute with the default interval in seconds
    enabled: Callable[[], bool] = lambda: True  # e.g. "a mailbox is configured"
    _actors: dict[int, dramatiq.Actor] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def run(self) -> object:
        return self.body()

    def default_interval(self) -> float:
        from einvoice.config import get_settings

        return float(getattr(get_settings(), self.interval_setting))

    def actor(self, broker: Broker | None = None) -> dramatiq.Actor:
        """The job declared on ``broker`` (default: this process's broker), once per broker."""
        from einvoice.intake.broker import get_broker

        broker = broker or get_broker()
        with self._lock:
            declared = self._actors.get(id(broker))
            if declared is None or declared.broker is not broker:
                broker.declare_queue(self.queue)
                declared = dramatiq.actor(broker=broker, actor_name=self.name, queue_name=self.queue,
                                          max_retries=0)(self.body)
                self._actors[id(broker)] = declared
            return declared


class Scheduler:
    """Every ``interval`` seconds: run the job in-process (embedded) or send it to the broker (Redis)."""

    def __init__(self, job: PeriodicJob, *, interval: float | None = None, in_process: bool | None = None,
                 broker: Broker | None = None) -> None:
        from einvoice.intake.broker import get_broker, is_embedded

        self.job = job
        self.interval = interval if interval is not None else job.default_interval()
        if self.interval <= 0:
            raise ValueError(f"the interval of {job.name} must be positive")
        self.broker = broker or get_broker()
        self.in_process = is_embedded(self.broker) if in_process is None else in_process
        self.runs = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        if self.in_process:
            self.job.run()
        else:
            self.job.actor(self.broker).send()

    def start(self) -> Self:
        if not self.job.enabled():
            log.info("%s: not configured, not scheduled", self.job.name)
            return self
        if self._thread is None:
            if not self.in_process:
                self.job.actor(self.broker)
            self._thread = threading.Thread(target=self._run, name=f"einvoice-{self.job.name}", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        # The first run within one interval, spread over replicas (not at once: a process that has
        # just started has other things to do, and replicas started together should not collide).
        delay = random.uniform(self.interval / 2, self.interval)
        while not self._stop.wait(delay):
            try:
                self.tick()
            except Exception:  # database, server or broker down: next time; never kill the thread
                log.warning("%s failed; retrying in %.0f s", self.job.name, self.interval, exc_info=True)
            self.runs += 1
            delay = self.interval


def _until_signalled() -> threading.Event:
    """An event set by SIGTERM/SIGINT (for the long-running commands); logging to stderr on."""
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()

    def handler(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def run_in_process(job: PeriodicJob, *, interval: float | None = None) -> None:
    """Run ``job`` now and then every ``interval`` seconds in this process until SIGTERM/SIGINT
    (e.g. ``einvoice export drain --loop``: no broker needed)."""
    stop = _until_signalled()
    scheduler = Scheduler(job, interval=interval, in_process=True)
    try:
        job.run()
    except Exception:  # e.g. the database is still starting: the schedule tries again
        log.warning("%s failed; retrying in %.0f s", job.name, scheduler.interval, exc_info=True)
    scheduler.start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        scheduler.stop()


def run_worker(job: PeriodicJob, *, threads: int = 1, interval: float | None = None) -> None:
    """With Redis: schedule ``job`` and consume its queue until SIGTERM/SIGINT (``<domain> worker``)."""
    from einvoice.intake import broker

    stop = _until_signalled()
    jobs = broker.configure()
    job.actor(jobs)
    broker.boot(jobs)
    consumer = dramatiq.Worker(jobs, queues={job.queue}, worker_threads=threads)
    consumer.start()
    scheduler = Scheduler(job, interval=interval, in_process=False, broker=jobs).start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        scheduler.stop()
        consumer.stop(timeout=30_000)
        jobs.close()
