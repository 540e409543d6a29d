"""Turn workflow rows into API shapes, with user and unit names resolved once per request."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from einvoice.accounts.models import Unit, User
from einvoice.db import UnitOfWork
from einvoice.ledger.models import Invoice, JournalEntry
from einvoice.ledger.service import payload_of
from einvoice.web.schemas import InvoiceDetail, money, utc
from einvoice.workflow import queries
from einvoice.workflow.models import ACTIVE, DefinitionSnapshot, WorkflowInstance, WorkflowTask
from einvoice.workflow.people import SYSTEM_ACTOR
from einvoice.workflow.schemas import (
    DefinitionRef,
    HistoryEvent,
    InvoiceBrief,
    InvoiceDetailWithWorkflow,
    TaskOut,
    WorkflowOut,
    WorkflowSummary,
)

PUBLIC_ROLES = ("supplier", "connector")  # they see the outcome, not the internal process


class Names:
    """User and unit names by id, cached for one request."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._users: dict[str, str] = {}
        self._units: dict[str, str] = {}

    def user(self, user_id: str | None) -> str | None:
        if user_id is None:
            return None
        if user_id not in self._users:
            row = self.session.get(User, user_id)
            self._users[user_id] = row.name if row else user_id
        return self._users[user_id]

    def unit(self, unit_id: str | None) -> str | None:
        if unit_id is None:
            return None
        if unit_id not in self._units:
            row = self.session.get(Unit, unit_id)
            self._units[unit_id] = row.name if row else unit_id
        return self._units[unit_id]

    def actor(self, actor: str) -> str:
        return actor if actor == SYSTEM_ACTOR else (self.user(actor) or actor)


def invoice_brief(invoice: Invoice) -> InvoiceBrief:
    return InvoiceBrief(id=invoice.id, status=invoice.status, invoice_number=invoice.invoice_number,
                        issue_date=invoice.issue_date, seller_name=invoice.seller_name,
                        buyer_reference=invoice.buyer_reference, currency=invoice.currency,
                        gross_amount=money(invoice.gross_amount), amount_due=money(invoice.amount_due))


def task_out(task: WorkflowTask, names: Names, today: date, *, invoice: Invoice | None = None,
             skonto_amount: Any = None) -> TaskOut:
    return TaskOut(
        id=task.id, invoice_id=task.invoice_id, kind=task.kind, stage=task.stage, title=task.stage_title,
        approval_no=task.approval_no, roles=[r for r in task.roles.split(",") if r], unit=names.unit(task.unit_id),
        status=task.state, assignee=names.user(task.assignee_id), created_at=utc(task.created_at) or task.created_at,
        deadline=task.deadline, due_date=task.due_date, skonto_date=task.skonto_date,
        skonto_amount=money(skonto_amount) if skonto_amount is not None else None,
        overdue=task.status == ACTIVE and task.due_date < today,
        escalated_to=names.user(task.escalated_to), escalated_at=utc(task.escalated_at),
        decision=task.decision, decided_by=names.user(task.decided_by), on_behalf_of=names.user(task.on_behalf_of),
        decided_at=utc(task.decided_at), comment=task.comment, valid=task.valid,
        invoice=invoice_brief(invoice) if invoice is not None else None)


def task_page_items(uow: UnitOfWork, tasks: list[WorkflowTask], today: date) -> list[TaskOut]:
    """Tasks with their invoices (two queries for the whole page)."""
    session = uow.session
    ids = sorted({t.invoice_id for t in tasks})
    invoices = {i.id: i for i in session.scalars(select(Invoice).where(Invoice.id.in_(ids)))} if ids else {}
    instances = ({w.invoice_id: w for w in session.scalars(
        select(WorkflowInstance).where(WorkflowInstance.invoice_id.in_(ids)))} if ids else {})
    names = Names(session)
    return [task_out(t, names, today, invoice=invoices.get(t.invoice_id),
                     skonto_amount=getattr(instances.get(t.invoice_id), "skonto_amount", None)) for t in tasks]


def _current(tasks: list[WorkflowTask]) -> WorkflowTask | None:
    active = [t for t in tasks if t.status == ACTIVE]
    return active[-1] if active else None


def summary(session: Session, instance: WorkflowInstance, today: date, names: Names | None = None,
            *, public: bool = False) -> WorkflowSummary:
    names = names or Names(session)
    tasks = list(session.scalars(select(WorkflowTask).where(WorkflowTask.instance_id == instance.id)
                                 .order_by(WorkflowTask.created_at, WorkflowTask.id)))
    current = _current(tasks)
    stage_title = current.stage_title if current else None
    if public:
        return WorkflowSummary(status=instance.status, stage=None, stage_title=None, current_task=None,
                               due_date=None, skonto_date=None, skonto_amount=None,
                               rejection_reason=instance.rejection_reason)
    return WorkflowSummary(
        status=instance.status, stage=instance.stage, stage_title=stage_title,
        current_task=task_out(current, names, today, skonto_amount=instance.skonto_amount) if current else None,
        due_date=instance.due_date, skonto_date=instance.skonto_date, skonto_amount=money(instance.skonto_amount),
        rejection_reason=instance.rejection_reason)


def workflow_out(uow: UnitOfWork, invoice: Invoice, instance: WorkflowInstance | None, today: date, *,
                 public: bool = False) -> WorkflowOut:
    session = uow.session
    names = Names(session)
    if instance is None:
        return WorkflowOut(invoice_id=invoice.id, invoice_status=invoice.status, status="none", stage=None,
                           stage_title=None, current_task=None, due_date=None, skonto_date=None, skonto_amount=None,
                           rejection_reason=None, definition=None, unit=None, due_source=None, skonto_percent=None,
                           coding=[], coding_version=0, clearing_reason=None, tasks=[], history=[])
    head = summary(session, instance, today, names, public=public)
    if public:
        return WorkflowOut(**head.model_dump(), invoice_id=invoice.id, invoice_status=invoice.status,
                           definition=None, unit=None, due_source=None, skonto_percent=None, coding=[],
                           coding_version=0, clearing_reason=None, tasks=[], history=[])
    snapshot = session.get(DefinitionSnapshot, instance.definition_id) if instance.definition_id else None
    tasks = list(session.scalars(select(WorkflowTask).where(WorkflowTask.instance_id == instance.id)
                                 .order_by(WorkflowTask.created_at, WorkflowTask.id)))
    events: list[JournalEntry] = queries.history(uow, invoice.id)
    return WorkflowOut(
        **head.model_dump(), invoice_id=invoice.id, invoice_status=invoice.status,
        definition=DefinitionRef(name=snapshot.name, version=snapshot.version, digest=snapshot.digest)
        if snapshot else None,
        unit=names.unit(instance.unit_id), due_source=instance.due_source,
        skonto_percent=str(instance.skonto_percent.normalize()) if instance.skonto_percent is not None else None,
        coding=list(instance.coding or []), coding_version=instance.coding_version,
        clearing_reason=instance.clearing_reason,
        tasks=[task_out(t, names, today, skonto_amount=instance.skonto_amount) for t in tasks],
        history=[HistoryEvent(seq=e.seq, at=utc(e.at) or e.at, event=e.event, actor=names.actor(e.actor),
                              payload=payload_of(e)) for e in events])


def with_workflow(uow: UnitOfWork, detail: InvoiceDetail, role: str) -> InvoiceDetailWithWorkflow:
    """The ledger entry plus its workflow block (``GET /api/v1/invoices/{id}``)."""
    from einvoice.workflow import clock

    instance = queries.instance_for(uow, detail.id)
    block = (summary(uow.session, instance, clock.today(clock.current()), public=role in PUBLIC_ROLES)
             if instance is not None else None)
    return InvoiceDetailWithWorkflow(**detail.model_dump(), workflow=block)
