"""Slow down password guessing: after ``limit`` failed logins for one user name within ``window`` seconds,
further attempts for that name are refused until the oldest failure ages out.

Per process (each replica counts for itself), which still caps guessing at ``limit × replicas`` per window;
the clock is injectable for tests.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class LoginThrottle:
    def __init__(self, limit: int = 10, window: float = 900.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        now = self._clock()
        failures = self._failures.setdefault(key, deque())
        while failures and now - failures[0] > self.window:
            failures.popleft()
        if not failures:
            self._failures.pop(key, None)
        return failures

    def blocked(self, name: str) -> bool:
        with self._lock:
            return len(self._recent(name.strip().lower())) >= self.limit

    def failed(self, name: str) -> None:
        key = name.strip().lower()
        with self._lock:
            self._recent(key)
            self._failures.setdefault(key, deque()).append(self._clock())
            if len(self._failures) > 100_000:  # never let a flood of invented names eat the memory
                self._failures.clear()

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name.strip().lower(), None)


LOGINS = LoginThrottle()
