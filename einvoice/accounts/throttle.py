"""Slow down password guessing: after ``limit`` failed logins for one user name within ``window``, further
attempts for that name are refused until the window (counted from its first failure) has passed.

The counts live in the database (``login_failures``), so every replica and process sees the same
numbers; each failure is one atomic upsert, so parallel guesses cannot slip past the limit unseen.
Every name counts, existing or not, so the answer never tells which names exist.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from einvoice.accounts.models import LoginFailure
from einvoice.ledger.models import as_utc, utcnow

LIMIT = 10
WINDOW = timedelta(minutes=15)


def _key(name: str) -> str:
    return hashlib.sha256(name.strip().lower().encode("utf-8")).hexdigest()


def login_blocked(session: Session, name: str, *, limit: int = LIMIT, window: timedelta = WINDOW,
                  now: datetime | None = None) -> bool:
    now = now or utcnow()
    row = session.get(LoginFailure, _key(name))
    return row is not None and row.failures >= limit and now - as_utc(row.since) < window


def record_failed_login(session: Session, name: str, *, window: timedelta = WINDOW,
                        now: datetime | None = None) -> None:
    """Count one failure (a new window once the old one has passed); old rows are swept on the way."""
    now = now or utcnow()
    cutoff = now - window
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(LoginFailure).values(name_key=_key(name), failures=1, since=now)
    expired = LoginFailure.since < cutoff
    session.execute(statement.on_conflict_do_update(
        index_elements=[LoginFailure.name_key],
        set_={"failures": case((expired, 1), else_=LoginFailure.failures + 1),
              "since": case((expired, now), else_=LoginFailure.since)}))
    session.execute(delete(LoginFailure).where(LoginFailure.since < cutoff))


def clear_failed_logins(session: Session, name: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.name_key == _key(name)))


def failures_of(session: Session, name: str) -> int:
    """For tests and operators: the current count of a name."""
    return session.scalar(select(LoginFailure.failures).where(LoginFailure.name_key == _key(name))) or 0
