"""Key figures for unit leads: intake per day and channel, open tasks by age, lead time, Skonto.

Read-only queries over the ledger, workflow and export tables, scoped to a set of units (``None``:
all units, for admins). Grouping happens in SQL where the row count can be large (invoices, tasks);
per-invoice figures (lead time, Skonto) only look at the chosen window.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session

from einvoice.export.models import EntryStatus, OutboxEntry
from einvoice.ledger.models import Channel, Invoice
from einvoice.workflow.models import ACTIVE, WorkflowInstance, WorkflowTask

#: Age buckets of open tasks in days (inclusive lower bound, exclusive upper bound; None: open end).
AGE_BUCKETS: tuple[tuple[int, int | None], ...] = ((0, 3), (3, 8), (8, 15), (15, 31), (31, None))
CHANNELS: tuple[str, ...] = tuple(c.value for c in Channel)


@dataclass(frozen=True)
class DayCount:
    day: date
    counts: dict[str, int]  # channel → invoices received

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class SkontoFigures:
    captured: int
    captured_amount: Decimal
    lost: int
    lost_amount: Decimal
    open: int
    open_amount: Decimal


@dataclass(frozen=True)
class Dashboard:
    days: list[DayCount]
    channels: tuple[str, ...]
    task_ages: list[tuple[tuple[int, int | None], int]]
    exported: int
    average_lead_time: timedelta | None
    skonto: SkontoFigures


def _scoped(query: Select[Any], column: Any, unit_ids: frozenset[str] | None) -> Select[Any]:
    if unit_ids is None:
        return query
    return query.where(column.in_(sorted(unit_ids)))


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def received_per_day(session: Session, unit_ids: frozenset[str] | None, first: date, last: date) -> list[DayCount]:
    """Every day from ``first`` to ``last`` (also the empty ones), invoices per channel."""
    day = func.date(Invoice.received_at)
    query = (select(day, Invoice.channel, func.count())
             .where(Invoice.received_at >= _start_of(first), Invoice.received_at < _start_of(last + timedelta(1)))
             .group_by(day, Invoice.channel))
    counts: dict[date, dict[str, int]] = defaultdict(dict)
    for value, channel, count in session.execute(_scoped(query, Invoice.unit_id, unit_ids)):
        counts[date.fromisoformat(str(value)[:10])][channel] = int(count)
    return [DayCount(first + timedelta(n), counts.get(first + timedelta(n), {}))
            for n in range((last - first).days + 1)]


def open_tasks_by_age(session: Session, unit_ids: frozenset[str] | None,
                      now: datetime) -> list[tuple[tuple[int, int | None], int]]:
    """Active (open or claimed) tasks, counted by days since they were created."""
    columns = []
    for low, high in AGE_BUCKETS:
        condition = WorkflowTask.created_at <= now - timedelta(days=low)
        if high is not None:
            condition = and_(condition, WorkflowTask.created_at > now - timedelta(days=high))
        columns.append(func.coalesce(func.sum(case((condition, 1), else_=0)), 0))
    query = _scoped(select(*columns).where(WorkflowTask.status == ACTIVE), WorkflowTask.unit_id, unit_ids)
    row = session.execute(query).one()
    return [(bucket, int(count)) for bucket, count in zip(AGE_BUCKETS, row, strict=True)]


def _first_export():  # type: ignore[no-untyped-def]
    """Per invoice: when its first export was delivered."""
    return (select(OutboxEntry.invoice_id.label("invoice_id"), func.min(OutboxEntry.done_at).label("exported_at"))
            .where(OutboxEntry.status == EntryStatus.DONE.value).group_by(OutboxEntry.invoice_id).subquery())


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite returns naive UTC


def lead_time(session: Session, unit_ids: frozenset[str] | None, since: datetime) -> tuple[int, timedelta | None]:
    """Invoices exported since ``since`` and their average time from receipt to export."""
    exported = _first_export()
    query = (select(Invoice.received_at, exported.c.exported_at)
             .join(exported, exported.c.invoice_id == Invoice.id)
             .where(exported.c.exported_at >= since))
    spans = [_aware(done) - _aware(received)
             for received, done in session.execute(_scoped(query, Invoice.unit_id, unit_ids))]
    if not spans:
        return 0, None
    return len(spans), sum(spans, timedelta()) / len(spans)


def skonto(session: Session, unit_ids: frozenset[str] | None, today: date, since: date) -> SkontoFigures:
    """Cash discounts whose date lies after ``since``: captured (exported by the Skonto date), lost, still open.

    "Exported" is when the payment order left for bookkeeping, the latest moment this service sees.
    """
    exported = _first_export()
    query = (select(WorkflowInstance.skonto_date, WorkflowInstance.skonto_amount, exported.c.exported_at)
             .outerjoin(exported, exported.c.invoice_id == WorkflowInstance.invoice_id)
             .where(WorkflowInstance.skonto_date.is_not(None), WorkflowInstance.skonto_date >= since))
    counts = {"captured": 0, "lost": 0, "open": 0}
    amounts = {"captured": Decimal("0"), "lost": Decimal("0"), "open": Decimal("0")}
    for until, amount, exported_at in session.execute(_scoped(query, WorkflowInstance.unit_id, unit_ids)):
        if exported_at is not None:
            kind = "captured" if _aware(exported_at).date() <= until else "lost"
        else:
            kind = "open" if until >= today else "lost"
        counts[kind] += 1
        amounts[kind] += Decimal(amount or 0)
    return SkontoFigures(captured=counts["captured"], captured_amount=amounts["captured"], lost=counts["lost"],
                         lost_amount=amounts["lost"], open=counts["open"], open_amount=amounts["open"])


def dashboard(session: Session, unit_ids: frozenset[str] | None, *, now: datetime, days: int = 30) -> Dashboard:
    """All figures for the last ``days`` days up to ``now``."""
    today = now.date()
    first = today - timedelta(days=days - 1)
    exported, average = lead_time(session, unit_ids, _start_of(first))
    return Dashboard(
        days=received_per_day(session, unit_ids, first, today),
        channels=CHANNELS,
        task_ages=open_tasks_by_age(session, unit_ids, now),
        exported=exported,
        average_lead_time=average,
        skonto=skonto(session, unit_ids, today, first),
    )
