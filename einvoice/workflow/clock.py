"""The workflow's notion of "now": injected, so tests move time instead of sleeping.

Service functions take ``clock=None`` and fall back to :func:`current`; the HTTP API, the Dramatiq
actor and the embedded scheduler all read :func:`current`, which tests replace with :func:`use`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved (tests)."""

    def __init__(self, start: datetime | date) -> None:
        if not isinstance(start, datetime):
            start = datetime(start.year, start.month, start.day, 9, 0, tzinfo=UTC)
        self._now = start if start.tzinfo else start.replace(tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self._now += timedelta(**delta)
            return self._now

    def set(self, moment: datetime | date) -> None:
        replacement = FixedClock(moment)
        with self._lock:
            self._now = replacement._now


def today(clock: Clock) -> date:
    """The calendar day in UTC (deadlines are days, not instants)."""
    return clock.now().astimezone(UTC).date()


_lock = threading.Lock()
_current: Clock = SystemClock()


def current() -> Clock:
    with _lock:
        return _current


def set_clock(clock: Clock | None) -> None:
    """Replace the process clock (None: back to the system clock)."""
    global _current
    with _lock:
        _current = clock or SystemClock()


@contextmanager
def use(clock: Clock) -> Iterator[Clock]:
    """``with use(FixedClock(...)):`` — the process clock for the block."""
    previous = current()
    set_clock(clock)
    try:
        yield clock
    finally:
        set_clock(previous)
