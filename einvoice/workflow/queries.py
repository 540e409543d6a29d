"""Reading the workflow: the workqueue (filters, nearest deadline first, cursor pages), an invoice's
instance, tasks and history, the clearing queue, and who may look at an invoice."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.orm import Session

from einvoice.accounts.models import Role
from einvoice.db import UnitOfWork
from einvoice.ledger.models import Invoice, JournalEntry
from einvoice.workflow import clock as clock_mod
from einvoice.workflow.clock import Clock
from einvoice.workflow.errors import Forbidden, Invalid
from einvoice.workflow.models import ACTIVE, TaskKind, WorkflowInstance, WorkflowTask
from einvoice.workflow.people import active_user, represented_users


@dataclass
class TaskFilter:
    mine: bool = False
    my_units: bool = False
    overdue: bool = False
    skonto_within_days: int | None = None
    kind: str | None = None
    include_done: bool = False


def _encode_cursor(task: WorkflowTask) -> str:
    raw = json.dumps([task.deadline.isoformat(), task.id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[date, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        day, task_id = json.loads(raw)
        return date.fromisoformat(day), str(task_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise Invalid(f"invalid cursor: {cursor!r}") from exc


TASK_SORTS = ("deadline", "due_date", "amount", "seller", "stage")


def _sort_keys(sort: str) -> list[Any]:
    """The ORDER BY of a workqueue sort; ties broken by deadline, then id (a stable order)."""
    keys: dict[str, list[Any]] = {
        "deadline": [],
        "due_date": [WorkflowTask.due_date],
        "amount": [func.coalesce(Invoice.gross_amount, 0)],
        "seller": [func.lower(func.coalesce(Invoice.seller_name, ""))],
        "stage": [func.lower(WorkflowTask.stage_title)],
    }
    if sort not in keys:
        raise Invalid(f"unknown sort {sort!r}: use one of {', '.join(TASK_SORTS)}")
    return [*keys[sort], WorkflowTask.deadline, WorkflowTask.id]


def list_tasks(uow: UnitOfWork, user_id: str, filt: TaskFilter, *, cursor: str | None = None, limit: int = 50,
               clock: Clock | None = None, sort: str = "deadline",
               descending: bool = False) -> tuple[list[WorkflowTask], str | None]:
    """The caller's workqueue, nearest deadline first: what they hold, what waits in their unit (and in the
    units of those they substitute today), what was escalated to them; admins see everything.

    Another ``sort`` (or ``descending``) orders the whole queue in the database and gives the first page
    only: cursors continue the deadline order."""
    if cursor and (sort != "deadline" or descending):
        raise Invalid("a cursor continues the deadline order; sort by another column without a cursor")
    order = _sort_keys(sort)
    session = uow.session
    user = active_user(session, user_id)
    today = clock_mod.today(clock or clock_mod.current())
    limit = max(1, min(limit, 500))
    represented = represented_users(session, user.id, today)
    holders = [user.id, *(u.id for u in represented)]
    units = sorted({u.unit_id for u in [user, *represented] if u.unit_id})
    conditions: list[ColumnElement[bool]] = []
    if not filt.include_done:
        conditions.append(WorkflowTask.status == ACTIVE)
    if user.role == Role.ADMIN.value:
        visible: ColumnElement[bool] = true()
    elif user.role in (Role.CLERK.value, Role.APPROVER.value):
        visible = or_(WorkflowTask.unit_id.in_(units) if units else false(),
                      WorkflowTask.assignee_id.in_(holders), WorkflowTask.escalated_to == user.id)
    else:
        raise Forbidden(f"role {user.role!r} has no workqueue")
    conditions.append(visible)
    if filt.mine:
        conditions.append(or_(WorkflowTask.assignee_id.in_(holders), WorkflowTask.escalated_to == user.id))
    if filt.my_units:
        conditions.append(WorkflowTask.unit_id.in_(units) if units else false())
    if filt.overdue:
        # a deadline is never after the due date: the redundant bound lets the (status, deadline) index
        # deliver the overdue tasks already in order
        conditions.extend([WorkflowTask.due_date < today, WorkflowTask.deadline < today])
    if filt.skonto_within_days is not None:
        until = today + timedelta(days=filt.skonto_within_days)
        conditions.extend([WorkflowTask.skonto_date.is_not(None), WorkflowTask.skonto_date >= today,
                           WorkflowTask.skonto_date <= until])
    if filt.kind:
        conditions.append(WorkflowTask.kind == filt.kind)
    if cursor:
        day, last_id = _decode_cursor(cursor)
        conditions.append(or_(WorkflowTask.deadline > day,
                              and_(WorkflowTask.deadline == day, WorkflowTask.id > last_id)))
    query = select(WorkflowTask).where(*conditions)
    if sort in ("amount", "seller"):
        query = query.join(Invoice, Invoice.id == WorkflowTask.invoice_id)
    rows = list(session.scalars(query.order_by(*(key.desc() if descending else key for key in order))
                                .limit(limit + 1)))
    page = rows[:limit]
    if sort != "deadline" or descending:
        return page, None  # no cursor for other orders: ask for one more than you show to know of more
    return page, (_encode_cursor(page[-1]) if len(rows) > limit and page else None)


def can_view(session: Session, user_id: str, invoice: Invoice, *, clock: Clock | None = None) -> bool:
    """Beyond the ledger's visibility: people who hold, decided or were escalated a task of the invoice,
    and today's substitutes of the staff of its unit."""
    involved = session.scalar(select(WorkflowTask.id).where(
        WorkflowTask.invoice_id == invoice.id,
        or_(WorkflowTask.assignee_id == user_id, WorkflowTask.decided_by == user_id,
            WorkflowTask.escalated_to == user_id)).limit(1)) is not None
    if involved or invoice.unit_id is None:
        return involved
    today = clock_mod.today(clock or clock_mod.current())
    return any(absent.unit_id == invoice.unit_id for absent in represented_users(session, user_id, today))


def instance_for(uow: UnitOfWork, invoice_id: str) -> WorkflowInstance | None:
    return uow.session.scalar(select(WorkflowInstance).where(WorkflowInstance.invoice_id == invoice_id))


def tasks_of(uow: UnitOfWork, instance_id: str) -> list[WorkflowTask]:
    return list(uow.session.scalars(select(WorkflowTask).where(WorkflowTask.instance_id == instance_id)
                                    .order_by(WorkflowTask.created_at, WorkflowTask.id)))


def history(uow: UnitOfWork, invoice_id: str) -> list[JournalEntry]:
    """The invoice's journal entries in order (ledger and workflow events: who did what, when)."""
    return list(uow.session.scalars(select(JournalEntry).where(JournalEntry.invoice_id == invoice_id)
                                    .order_by(JournalEntry.seq)))


def clearing_queue(uow: UnitOfWork, *, limit: int = 200) -> list[tuple[WorkflowTask, Invoice, WorkflowInstance]]:
    rows = uow.session.execute(
        select(WorkflowTask, Invoice, WorkflowInstance)
        .join(Invoice, Invoice.id == WorkflowTask.invoice_id)
        .join(WorkflowInstance, WorkflowInstance.id == WorkflowTask.instance_id)
        .where(WorkflowTask.kind == TaskKind.CLEARING.value, WorkflowTask.status == ACTIVE)
        .order_by(WorkflowTask.deadline, WorkflowTask.id).limit(max(1, min(limit, 1000))))
    return [(t, i, w) for t, i, w in rows]
