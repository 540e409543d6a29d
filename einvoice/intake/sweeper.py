"""Re-enqueue committed work that nobody finished: the guarantee that nothing is lost.

Between the commit and the enqueue the process may die; a worker may be SIGKILLed with jobs in
hand; Redis may restart and forget its queues. In all these cases the ledger still says
``received`` or ``validating``, so a periodic sweep of entries that have not moved for a while
puts them back on the queue. Duplicated jobs are harmless: processing is idempotent.
"""

from __future__ import annotations

import logging
import random
import threading
from datetime import timedelta

from einvoice.db import UnitOfWork
from einvoice.intake import DEFAULT_STALE_AFTER, service
from einvoice.intake import DEFAULT_SWEEP_INTERVAL as DEFAULT_INTERVAL

log = logging.getLogger(__name__)

# While jobs wait in the queue, a pending entry may just be waiting its turn: re-enqueueing it
# would only multiply the backlog. Then only entries this many times older count as lost.
BACKLOG_FACTOR = 10


def sweep_once(*, stale_after: float = DEFAULT_STALE_AFTER) -> int:
    """Re-enqueue every pending entry untouched for ``stale_after`` seconds; returns how many."""
    from einvoice.intake.broker import backlog
    from einvoice.ledger.service import stale_work

    if backlog():
        stale_after *= BACKLOG_FACTOR
    with UnitOfWork() as uow:
        ids = stale_work(uow, older_than=timedelta(seconds=stale_after))
    if not ids:
        return 0
    sent = service.enqueue(ids)
    log.info("sweeper re-enqueued %d of %d stale invoice(s)", len(sent), len(ids))
    return len(sent)


class Sweeper:
    """``sweep_once`` every ``interval`` seconds in a daemon thread, until ``stop()``."""

    def __init__(self, *, interval: float = DEFAULT_INTERVAL,
                 stale_after: float = DEFAULT_STALE_AFTER) -> None:
        if interval <= 0 or stale_after < 0:
            raise ValueError("the sweep interval must be positive and stale_after not negative")
        self.interval = interval
        self.stale_after = stale_after
        self.sweeps = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Sweeper:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="einvoice-sweeper", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        # A random first delay spreads the sweeps of several replicas apart.
        delay = random.uniform(0, self.interval)
        while not self._stop.wait(delay):
            try:
                sweep_once(stale_after=self.stale_after)
            except Exception:  # database down: try again next time, never kill the thread
                log.warning("sweep failed; retrying in %.0f s", self.interval, exc_info=True)
            self.sweeps += 1
            delay = self.interval
