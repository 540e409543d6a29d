"""The approval engine: starting workflows, tasks and decisions, coding, clearing, the deadline job.

Reading lives in ``queries``, people/units/substitutes in ``people``, refusals in ``errors``.

Rules every function here keeps:

* The caller's unit of work owns the transaction; nothing here commits.
* Every write locks the journal head and then the invoice row (the ledger's one lock order), so
  decisions on one invoice are serialised on every database.
* Every transition is journalled (``einvoice.ledger.journal.append``) after the rows changed.
* Refusals raise a :class:`WorkflowError` whose ``status_code`` the API answers with: 403 for
  missing authority (role, unit, amount limit, substitution out of range), 409 for conflicts with
  the state or the four-eyes rules, 422 for unusable input, 404 for unknown ids.
* Business time comes from an injected clock (``clock=None``: :func:`einvoice.workflow.clock.current`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from einvoice.accounts.models import Role, Unit, User
from einvoice.db import UnitOfWork
from einvoice.ledger import journal
from einvoice.ledger.canonical import amount as ledger_amount
from einvoice.ledger.canonical import canonical_json, sha256_hex
from einvoice.ledger.models import Invoice, Status
from einvoice.workflow import clock as clock_mod
from einvoice.workflow import deadlines, notify
from einvoice.workflow.clock import Clock
from einvoice.workflow.coding import CodingLine
from einvoice.workflow.definitions import Definition, DefinitionError, Stage, from_dict, registry
from einvoice.workflow.errors import Conflict, Forbidden, Invalid, NotFound, Restarted
from einvoice.workflow.models import (
    ACTIVE,
    DefinitionSnapshot,
    InstanceStatus,
    Substitute,
    TaskKind,
    TaskStatus,
    UnitSettings,
    WorkflowInstance,
    WorkflowTask,
)
from einvoice.workflow.people import (
    SYSTEM_ACTOR,
    active_user,
    name_of,
    represented_users,
    substitutes_for,
    substitutions_of,
    unit_lead,
    unit_name_of,
    unit_named,
    user_named,
)

log = logging.getLogger(__name__)

DECISIONS = ("approve", "reject", "return", "forward")
CLEARING_STAGE = "clearing"
CLEARING_TITLE = "Zuordnung zu einer Dienststelle (Clearingstelle)"
CLEARING_ROLES = ("admin",)
MAX_REASON = 2000


# ------------------------------------------------------------------ small helpers


def _clock(clock: Clock | None) -> Clock:
    return clock or clock_mod.current()


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def invoice_amount(invoice: Invoice) -> Decimal:
    """The amount limits and thresholds compare with: the gross total (BT-112), else the amount due."""
    value = invoice.gross_amount if invoice.gross_amount is not None else invoice.amount_due
    return abs(value) if value is not None else Decimal(0)


def data_digest(invoice: Invoice) -> str:
    """What the approvals certify about the invoice; any change makes them void."""
    return sha256_hex(canonical_json({
        "data": invoice.data,
        "invoice_number": invoice.invoice_number,
        "issue_date": invoice.issue_date,
        "buyer_reference": invoice.buyer_reference,
        "currency": invoice.currency,
        "gross_amount": ledger_amount(invoice.gross_amount),
        "amount_due": ledger_amount(invoice.amount_due),
        "due_date": invoice.due_date,
    }))


def _cents(value: Decimal | None) -> str | None:
    """An amount for the journal: two decimals, however the database handed it back."""
    return None if value is None else format(value.quantize(Decimal("0.01")), "f")


def _money(value: Decimal | None, currency: str | None = None) -> str:
    if value is None:
        return "?"
    return f"{value.quantize(Decimal('0.01')):,.2f} {currency or ''}".strip()


def _lock_invoice(session: Session, invoice_id: str) -> Invoice:
    """The invoice, fresh and locked — after the journal head (the ledger's lock order)."""
    journal.lock_head(session)
    invoice = session.execute(
        select(Invoice).where(Invoice.id == invoice_id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one_or_none()
    if invoice is None:
        raise NotFound(f"no invoice {invoice_id!r}")
    return invoice


def _instance(session: Session, invoice_id: str) -> WorkflowInstance | None:
    return session.execute(select(WorkflowInstance).where(WorkflowInstance.invoice_id == invoice_id)
                           .execution_options(populate_existing=True)).scalar_one_or_none()


_definitions_lock = threading.Lock()
_definitions: dict[str, Definition] = {}


def definition_of(session: Session, instance: WorkflowInstance) -> Definition:
    """The definition snapshot the instance started with (never the current file)."""
    if instance.definition_id is None:
        raise Conflict("this invoice has no workflow yet (it waits in the clearing queue)")
    with _definitions_lock:
        cached = _definitions.get(instance.definition_id)
    if cached is not None:
        return cached
    snapshot = session.get(DefinitionSnapshot, instance.definition_id)
    if snapshot is None:
        raise NotFound(f"workflow definition snapshot {instance.definition_id} is missing")
    parsed = from_dict(snapshot.body, f"snapshot {snapshot.name} v{snapshot.version}")
    with _definitions_lock:
        _definitions[instance.definition_id] = parsed
    return parsed


def _snapshot(session: Session, definition: Definition) -> DefinitionSnapshot:
    digest = definition.digest()
    row = session.scalar(select(DefinitionSnapshot).where(DefinitionSnapshot.digest == digest))
    if row is not None:
        return row
    clash = session.scalar(select(DefinitionSnapshot.id).where(DefinitionSnapshot.name == definition.name,
                                                               DefinitionSnapshot.version == definition.version))
    if clash is not None:
        log.warning("workflow definition %s version %d changed without a new version number; both "
                    "contents are kept apart by their digest, but please raise 'version'",
                    definition.name, definition.version)
    row = DefinitionSnapshot(name=definition.name, version=definition.version, digest=digest,
                             body=definition.body())
    session.add(row)
    session.flush()
    return row


@dataclass
class _Ctx:
    """Everything a transition needs; ``actor`` is a user id or ``system``."""

    uow: UnitOfWork
    invoice: Invoice
    instance: WorkflowInstance
    clock: Clock
    actor: str
    definition: Definition | None = None

    @property
    def session(self) -> Session:
        return self.uow.session

    @property
    def today(self) -> date:
        return clock_mod.today(self.clock)

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def journal(self, event: str, **payload: Any) -> None:
        journal.append(self.session, event=event, actor=self.actor, invoice_id=self.invoice.id, payload=payload)


# ------------------------------------------------------------------ authority


@dataclass(frozen=True)
class Authority:
    """Who acts (``person``) and in whose capacity (``acting_for``: the absent user when substituting)."""

    person: User
    acting_for: User

    @property
    def substituting(self) -> bool:
        return self.person.id != self.acting_for.id

    def payload(self) -> dict[str, Any]:
        result: dict[str, Any] = {"by": self.person.name}
        if self.substituting:
            result["on_behalf_of"] = self.acting_for.name
        return result

    def label(self) -> str:
        return (f"{self.person.name} (substituting {self.acting_for.name})" if self.substituting
                else self.person.name)


def _roles(task: WorkflowTask) -> list[str]:
    return [r for r in task.roles.split(",") if r]


def eligible(user: User, task: WorkflowTask) -> bool:
    """Role among the task's roles and (except admins) a member of the task's unit."""
    if not user.active or user.role not in _roles(task):
        return False
    return user.role == Role.ADMIN.value or task.unit_id is None or user.unit_id == task.unit_id


def _authority(session: Session, user: User, task: WorkflowTask, today: date) -> Authority:
    """May ``user`` act on ``task`` today, and as whom? Raises Forbidden/Conflict with the reason."""
    if task.assignee_id is not None and task.assignee_id != user.id:
        holder = session.get(User, task.assignee_id)
        holder_name = holder.name if holder else task.assignee_id
        if holder is not None and substitutes_for(session, absent_id=holder.id, substitute_id=user.id,
                                                   today=today):
            return Authority(user, holder)
        raise Conflict(f"this task is held by {holder_name}; they may release or forward it")
    if eligible(user, task):
        return Authority(user, user)
    out_of_range: list[tuple[User, Substitute]] = []
    for substitution in substitutions_of(session, user.id):
        absent = session.get(User, substitution.absent_user_id)
        if absent is None or not eligible(absent, task):
            continue
        if substitution.valid_from <= today <= substitution.valid_to:
            return Authority(user, absent)
        out_of_range.append((absent, substitution))
    if out_of_range:
        absent, substitution = out_of_range[0]
        raise Forbidden(f"{user.name} substitutes {absent.name} only from {substitution.valid_from.isoformat()} "
                        f"to {substitution.valid_to.isoformat()}; today is {today.isoformat()}")
    unit = unit_name_of(session, task.unit_id) or "any unit"
    raise Forbidden(f"{user.name} ({user.role}) may not act on this task: it needs the role "
                    f"{' or '.join(_roles(task))} in {unit}")


# ------------------------------------------------------------------ starting


def _deadlines_for(invoice: Invoice, today: date) -> deadlines.Deadlines:
    received = _aware(invoice.received_at).astimezone(UTC).date() if invoice.received_at else today
    return deadlines.for_invoice(invoice.data, bt9=invoice.due_date, issue_date=invoice.issue_date,
                                 amount_due=invoice.amount_due, received=received, today=today)


def _apply_deadlines(instance: WorkflowInstance, result: deadlines.Deadlines) -> None:
    instance.due_date = result.due_date
    instance.due_source = result.due_source
    offer = result.skonto
    instance.skonto_date = offer.until if offer else None
    instance.skonto_percent = offer.percent if offer else None
    instance.skonto_amount = offer.amount if offer else None


def _task_deadline(instance: WorkflowInstance, today: date) -> date:
    skonto = instance.skonto_date
    if skonto is not None and today <= skonto < instance.due_date:
        return skonto
    return instance.due_date


def route(session: Session, invoice: Invoice) -> tuple[str | None, str]:
    """The receiving unit: by Leitweg-ID (set by the ledger), else by a unit's extra buyer reference."""
    if invoice.unit_id:
        return invoice.unit_id, "leitweg_id"
    if invoice.buyer_reference:
        unit_id = session.scalar(select(UnitSettings.unit_id).where(
            func.lower(UnitSettings.buyer_reference) == invoice.buyer_reference.strip().lower()))
        if unit_id:
            return unit_id, "buyer_reference"
    return None, ""


def select_definition(session: Session, unit_id: str, invoice: Invoice) -> Definition | None:
    """The definition for an invoice of this unit (unit setting, then the rules of the definitions)."""
    unit = session.get(Unit, unit_id)
    settings = session.get(UnitSettings, unit_id)
    return registry().select(unit=unit.name if unit else None,
                             unit_workflow=settings.workflow if settings else None,
                             buyer_reference=invoice.buyer_reference, amount=invoice_amount(invoice))


def start_for_accepted(uow: UnitOfWork, invoice: Invoice, *, clock: Clock | None = None) -> WorkflowInstance:
    """Called by the ledger in the transaction that accepts ``invoice``: start its workflow.

    Without a unit (unknown Leitweg-ID / buyer reference) or without an applicable definition, the
    invoice waits in the central clearing queue instead. Calling it again changes nothing.
    """
    session = uow.session
    existing = _instance(session, invoice.id)
    if existing is not None:
        return existing
    clk = _clock(clock)
    instance = WorkflowInstance(invoice_id=invoice.id, status=InstanceStatus.CLEARING.value, stage_index=0,
                                coding_version=0, data_digest=data_digest(invoice), started_at=clk.now())
    _apply_deadlines(instance, _deadlines_for(invoice, clock_mod.today(clk)))
    session.add(instance)
    ctx = _Ctx(uow, invoice, instance, clk, SYSTEM_ACTOR)
    unit_id, routed_by = route(session, invoice)
    if unit_id is None:
        reference = invoice.buyer_reference or "(none)"
        _to_clearing(ctx, f"no unit is registered for the buyer reference / Leitweg-ID {reference}")
        return instance
    try:
        definition = select_definition(session, unit_id, invoice)
    except DefinitionError as exc:
        log.error("workflow definitions unusable: %s", exc)
        _to_clearing(ctx, f"the workflow definitions cannot be used: {exc}")
        return instance
    if definition is None:
        _to_clearing(ctx, f"no workflow definition applies to unit {unit_name_of(session, unit_id)}")
        return instance
    invoice.unit_id = unit_id
    _begin(ctx, definition, unit_id, routed_by=routed_by)
    return instance


def _to_clearing(ctx: _Ctx, reason: str) -> None:
    instance = ctx.instance
    instance.status = InstanceStatus.CLEARING.value
    instance.clearing_reason = reason
    instance.stage = CLEARING_STAGE
    ctx.session.flush()
    task = _new_task(ctx, kind=TaskKind.CLEARING, stage_id=CLEARING_STAGE, title=CLEARING_TITLE,
                     roles=CLEARING_ROLES, unit_id=None, approval_no=1)
    ctx.journal("clearing_queued", reason=reason, buyer_reference=ctx.invoice.buyer_reference, task_id=task.id,
                due_date=instance.due_date)


def _begin(ctx: _Ctx, definition: Definition, unit_id: str, *, routed_by: str) -> None:
    snapshot = _snapshot(ctx.session, definition)
    instance = ctx.instance
    instance.definition_id = snapshot.id
    instance.unit_id = unit_id
    instance.status = InstanceStatus.RUNNING.value
    instance.stage_index = 0
    instance.stage = definition.stages[0].id
    instance.clearing_reason = None
    ctx.definition = definition
    ctx.invoice.status = Status.IN_APPROVAL.value
    ctx.journal("workflow_started", definition=definition.name, version=definition.version,
                digest=snapshot.digest, unit=unit_name_of(ctx.session, unit_id), unit_id=unit_id,
                routed_by=routed_by, due_date=instance.due_date, due_source=instance.due_source,
                skonto_date=instance.skonto_date, skonto_amount=_cents(instance.skonto_amount))
    _advance(ctx)


# ------------------------------------------------------------------ progressing


def _definition(ctx: _Ctx) -> Definition:
    if ctx.definition is None:
        ctx.definition = definition_of(ctx.session, ctx.instance)
    return ctx.definition


def valid_approvals(session: Session, instance_id: str, stage_id: str | None = None) -> list[WorkflowTask]:
    conditions = [WorkflowTask.instance_id == instance_id, WorkflowTask.decision == "approve",
                  WorkflowTask.valid.is_(True)]
    if stage_id is not None:
        conditions.append(WorkflowTask.stage == stage_id)
    return list(session.scalars(select(WorkflowTask).where(*conditions)
                                .execution_options(populate_existing=True)))


def active_tasks(session: Session, instance_id: str) -> list[WorkflowTask]:
    return list(session.scalars(select(WorkflowTask).where(
        WorkflowTask.instance_id == instance_id, WorkflowTask.status == ACTIVE)
        .order_by(WorkflowTask.created_at, WorkflowTask.id).execution_options(populate_existing=True)))


def _new_task(ctx: _Ctx, *, kind: TaskKind, stage_id: str, title: str, roles: Sequence[str],
              unit_id: str | None, approval_no: int, assignee_id: str | None = None) -> WorkflowTask:
    instance = ctx.instance
    task = WorkflowTask(
        instance_id=instance.id, invoice_id=ctx.invoice.id, kind=kind.value, stage=stage_id, stage_title=title[:200],
        approval_no=approval_no, roles=",".join(roles), unit_id=unit_id,
        status=ACTIVE, assignee_id=assignee_id,
        created_at=ctx.now, claimed_at=ctx.now if assignee_id else None,
        deadline=_task_deadline(instance, ctx.today), due_date=instance.due_date, skonto_date=instance.skonto_date)
    ctx.session.add(task)
    ctx.session.flush()
    return task


def _advance(ctx: _Ctx, *, assign_to: str | None = None) -> WorkflowTask | None:
    """Walk from the current stage to the first one that still needs an approval and give it a task;
    reaching the export stage approves the invoice."""
    definition = _definition(ctx)
    instance = ctx.instance
    amount = invoice_amount(ctx.invoice)
    while instance.stage_index < len(definition.stages):
        stage = definition.stages[instance.stage_index]
        instance.stage = stage.id
        if stage.kind == "export":
            _approve_invoice(ctx)
            return None
        if stage.skipped_for(amount):
            ctx.journal("stage_skipped", stage=stage.id, title=stage.title, amount=_cents(amount),
                        skip_below=_cents(stage.skip_below))
            instance.stage_index += 1
            continue
        given = valid_approvals(ctx.session, instance.id, stage.id)
        needed = stage.approvals_needed(amount)
        if len(given) >= needed:
            instance.stage_index += 1
            continue
        title = stage.title if needed == 1 else f"{stage.title} ({len(given) + 1}/{needed})"
        task = _new_task(ctx, kind=TaskKind.APPROVAL, stage_id=stage.id, title=title, roles=stage.roles,
                         unit_id=instance.unit_id, approval_no=len(given) + 1, assignee_id=assign_to)
        ctx.journal("task_created", task_id=task.id, stage=stage.id, title=task.stage_title,
                    roles=stage.roles, unit=unit_name_of(ctx.session, task.unit_id),
                    assignee=name_of(ctx.session, assign_to), approval_no=task.approval_no, approvals_needed=needed,
                    deadline=task.deadline)
        return task
    raise Conflict("the workflow definition has no export stage")  # prevented by validation


def _approve_invoice(ctx: _Ctx) -> None:
    definition = _definition(ctx)
    instance = ctx.instance
    ctx.invoice.status = Status.APPROVED.value
    instance.status = InstanceStatus.APPROVED.value
    instance.finished_at = ctx.now
    approvals = sorted(valid_approvals(ctx.session, instance.id),
                       key=lambda t: (definition.index_of(t.stage), t.approval_no))
    ctx.journal("workflow_approved", definition=definition.name, version=definition.version,
                approvals=[{"stage": t.stage, "by": name_of(ctx.session, t.decided_by),
                            "on_behalf_of": name_of(ctx.session, t.on_behalf_of), "at": t.decided_at}
                           for t in approvals],
                coding=instance.coding)
    _enqueue_export(ctx.uow, ctx.invoice.id)


def _enqueue_export(uow: UnitOfWork, invoice_id: str) -> None:
    """Hand the approved invoice to the export outbox in the same transaction (exactly once)."""
    from einvoice.export.outbox import enqueue_export

    enqueue_export(uow, invoice_id)


def _cancel_active(ctx: _Ctx, *, keep: WorkflowTask | None = None) -> list[str]:
    cancelled = []
    for task in active_tasks(ctx.session, ctx.instance.id):
        if keep is not None and task.id == keep.id:
            continue
        task.status = TaskStatus.CANCELLED.value
        cancelled.append(task.id)
    return cancelled


def _discard(ctx: _Ctx, stage_ids: Iterable[str]) -> list[WorkflowTask]:
    wanted = set(stage_ids)
    discarded = [t for t in valid_approvals(ctx.session, ctx.instance.id) if t.stage in wanted]
    for task in discarded:
        task.valid = False
        task.discarded_at = ctx.now
    return discarded


def _restart(ctx: _Ctx, *, from_index: int, reason: str, keep: WorkflowTask | None = None) -> bool:
    """Discard the approvals from stage ``from_index`` on and continue from there; False if there were none."""
    definition = _definition(ctx)
    discarded = _discard(ctx, [s.id for s in definition.stages[from_index:]])
    if not discarded and ctx.instance.stage_index <= from_index:
        return False
    cancelled = _cancel_active(ctx, keep=keep)
    ctx.journal("approvals_discarded", reason=reason, from_stage=definition.stages[from_index].id,
                approvals=[{"task_id": t.id, "stage": t.stage, "by": name_of(ctx.session, t.decided_by)}
                           for t in discarded],
                cancelled_tasks=cancelled)
    ctx.instance.stage_index = min(ctx.instance.stage_index, from_index)
    if keep is None:
        _advance(ctx)
    return True


def _check_data(ctx: _Ctx) -> None:
    """Approvals certify the invoice as it was: if its data changed since, start again (and say so)."""
    current = data_digest(ctx.invoice)
    if current == ctx.instance.data_digest:
        return
    ctx.instance.data_digest = current
    _apply_deadlines(ctx.instance, _deadlines_for(ctx.invoice, ctx.today))
    _restart(ctx, from_index=0, reason="invoice data changed")
    raise Restarted("the invoice data changed after the last approval: all approvals were discarded and "
                    "the workflow starts again")


def invoice_data_changed(uow: UnitOfWork, invoice_id: str, *, clock: Clock | None = None) -> bool:
    """Whoever changes an invoice's data in flight calls this: approvals given before are discarded."""
    invoice = _lock_invoice(uow.session, invoice_id)
    instance = _instance(uow.session, invoice_id)
    if instance is None or instance.status != InstanceStatus.RUNNING.value:
        return False
    try:
        _check_data(_Ctx(uow, invoice, instance, _clock(clock), SYSTEM_ACTOR))
    except Restarted:
        return True
    return False


# ------------------------------------------------------------------ tasks: claim, release, decide


def _locked_task(uow: UnitOfWork, task_id: str) -> tuple[WorkflowTask, Invoice, WorkflowInstance]:
    session = uow.session
    found = session.get(WorkflowTask, task_id)
    if found is None:
        raise NotFound(f"no task {task_id!r}")
    invoice = _lock_invoice(session, found.invoice_id)
    task = session.execute(select(WorkflowTask).where(WorkflowTask.id == task_id)
                           .execution_options(populate_existing=True)).scalar_one()
    instance = session.execute(select(WorkflowInstance).where(WorkflowInstance.id == task.instance_id)
                               .execution_options(populate_existing=True)).scalar_one()
    return task, invoice, instance


def _require_active(task: WorkflowTask) -> None:
    if task.status != ACTIVE:
        raise Conflict(f"this task is already {task.status}" + (f" ({task.decision})" if task.decision else ""))


def claim(uow: UnitOfWork, task_id: str, user_id: str, *, clock: Clock | None = None) -> WorkflowTask:
    """Take a task: it leaves the shared queue and waits for this user's decision."""
    task, invoice, instance = _locked_task(uow, task_id)
    _require_active(task)
    user = active_user(uow.session, user_id)
    ctx = _Ctx(uow, invoice, instance, _clock(clock), user.id)
    if task.assignee_id == user.id:
        return task
    authority = _authority(uow.session, user, task, ctx.today)
    previous = name_of(uow.session, task.assignee_id)
    task.assignee_id = user.id
    task.claimed_at = ctx.now
    ctx.journal("task_claimed", task_id=task.id, stage=task.stage, previous_holder=previous, **authority.payload())
    return task


def release(uow: UnitOfWork, task_id: str, user_id: str, *, clock: Clock | None = None) -> WorkflowTask:
    """Give a task back to the shared queue (its holder, their substitute or an admin)."""
    task, invoice, instance = _locked_task(uow, task_id)
    _require_active(task)
    user = active_user(uow.session, user_id)
    ctx = _Ctx(uow, invoice, instance, _clock(clock), user.id)
    if task.assignee_id is None:
        return task
    holder = task.assignee_id
    if holder != user.id and user.role != Role.ADMIN.value and not substitutes_for(
            uow.session, absent_id=holder, substitute_id=user.id, today=ctx.today):
        raise Conflict(f"this task is held by {name_of(uow.session, holder)}; only they (or an admin) may release it")
    task.assignee_id = None
    task.claimed_at = None
    ctx.journal("task_released", task_id=task.id, stage=task.stage, holder=name_of(uow.session, holder),
                by=user.name)
    return task


@dataclass
class DecisionResult:
    task: WorkflowTask
    instance: WorkflowInstance
    invoice_status: str
    next_task: WorkflowTask | None = None


def decide(uow: UnitOfWork, task_id: str, user_id: str, decision: str, *, comment: str = "",
           coding: Sequence[CodingLine | dict[str, Any]] | None = None, forward_to: str | None = None,
           clock: Clock | None = None) -> DecisionResult:
    """``approve``, ``reject`` (reason required), ``return`` (to the previous step, comment required) or
    ``forward`` (to a named colleague) — by someone with authority over the task."""
    if decision not in DECISIONS:
        raise Invalid(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    comment = (comment or "").strip()[:MAX_REASON]
    task, invoice, instance = _locked_task(uow, task_id)
    session = uow.session
    if task.kind == TaskKind.CLEARING.value:
        raise Conflict("this invoice waits in the clearing queue: assign it to a unit or reject it "
                       "(POST /api/v1/clearing/{invoice_id}/assign or /reject)")
    _require_active(task)
    if instance.status != InstanceStatus.RUNNING.value:
        raise Conflict(f"the workflow of this invoice is {instance.status}")
    user = active_user(session, user_id)
    ctx = _Ctx(uow, invoice, instance, _clock(clock), user.id)
    _check_data(ctx)
    authority = _authority(session, user, task, ctx.today)
    if decision == "approve":
        return _approve(ctx, task, authority, comment, coding)
    if coding is not None:
        raise Invalid("coding can only be given with the decision 'approve' (or PUT /invoices/{id}/coding)")
    if decision == "reject":
        if not comment:
            raise Invalid("a rejection needs a reason (comment); the supplier is told")
        _close(ctx, task, authority, "reject", comment)
        _reject(ctx, reason=comment, authority=authority, stage=task.stage)
        return DecisionResult(task, instance, invoice.status)
    if decision == "return":
        return _return(ctx, task, authority, comment)
    return _forward(ctx, task, authority, comment, forward_to)


def _close(ctx: _Ctx, task: WorkflowTask, authority: Authority, decision: str, comment: str) -> None:
    task.status = TaskStatus.DONE.value
    task.decision = decision
    task.decided_by = authority.person.id
    task.on_behalf_of = authority.acting_for.id if authority.substituting else None
    task.decided_at = ctx.now
    task.comment = comment or None
    if task.assignee_id is None:
        task.assignee_id = authority.person.id


def _check_four_eyes(ctx: _Ctx, stage: Stage, authority: Authority) -> None:
    people = {authority.person.id, authority.acting_for.id}
    definition = _definition(ctx)
    earlier = valid_approvals(ctx.session, ctx.instance.id)
    for approval in sorted(earlier, key=lambda t: t.stage not in stage.separate_from):
        if approval.decided_by not in people and approval.on_behalf_of not in people:
            continue
        who = name_of(ctx.session, approval.on_behalf_of if approval.on_behalf_of in people else approval.decided_by)
        done = definition.stage(approval.stage).title
        if approval.stage in stage.separate_from:
            raise Conflict(f"four-eyes principle: {who} certified '{done}' for this invoice and therefore "
                           f"may not give '{stage.title}'; another person must do it")
        raise Conflict(f"four-eyes principle: {who} has already approved this invoice ('{done}'); "
                       "nobody may approve the same invoice twice")


def _check_limit(ctx: _Ctx, stage: Stage, authority: Authority) -> None:
    acting = authority.acting_for
    has_entry, maximum = stage.limit_for(acting.name, acting.role)
    amount = invoice_amount(ctx.invoice)
    currency = ctx.invoice.currency
    if not has_entry:
        raise Forbidden(f"{acting.name} has no approval limit for '{stage.title}' and may not approve it")
    if maximum is not None and amount > maximum:
        raise Forbidden(f"amount limit exceeded: {authority.label()} may approve '{stage.title}' up to "
                        f"{_money(maximum, currency)}; this invoice is {_money(amount, currency)}")


def _approve(ctx: _Ctx, task: WorkflowTask, authority: Authority, comment: str,
             coding: Sequence[CodingLine | dict[str, Any]] | None) -> DecisionResult:
    definition = _definition(ctx)
    stage = definition.stage(task.stage)
    if coding is not None:
        _change_coding(ctx, _normalise_coding(coding, definition, ctx.invoice), authority, current=task)
    if stage.requires_coding and not ctx.instance.coding:
        fields = ", ".join(definition.coding.required_fields)
        raise Invalid(f"'{stage.title}' needs the account coding ({fields}): send 'coding' with the decision "
                      "or PUT /api/v1/invoices/{id}/coding first")
    _check_four_eyes(ctx, stage, authority)
    _check_limit(ctx, stage, authority)
    _close(ctx, task, authority, "approve", comment)
    task.valid = True
    ctx.journal("task_approved", task_id=task.id, stage=stage.id, title=stage.title, approval_no=task.approval_no,
                comment=comment, coding_version=ctx.instance.coding_version, **authority.payload())
    next_task = _advance(ctx)
    return DecisionResult(task, ctx.instance, ctx.invoice.status, next_task)


def _return(ctx: _Ctx, task: WorkflowTask, authority: Authority, comment: str) -> DecisionResult:
    if not comment:
        raise Invalid("returning a task needs a comment that says what to correct")
    definition = _definition(ctx)
    given = sorted(valid_approvals(ctx.session, ctx.instance.id),
                   key=lambda t: (definition.index_of(t.stage), t.approval_no))
    if not given:
        raise Conflict("there is no previous step to return to (no approval yet); reject or forward instead")
    previous = given[-1]
    previous.valid = False
    previous.discarded_at = ctx.now
    _close(ctx, task, authority, "return", comment)
    ctx.instance.stage_index = definition.index_of(previous.stage)
    back_to = previous.on_behalf_of or previous.decided_by
    ctx.journal("task_returned", task_id=task.id, stage=task.stage, to_stage=previous.stage,
                to=name_of(ctx.session, back_to), discarded_approval=previous.id, comment=comment,
                **authority.payload())
    holder = ctx.session.get(User, back_to) if back_to else None
    next_task = _advance(ctx, assign_to=holder.id if holder is not None and holder.active else None)
    return DecisionResult(task, ctx.instance, ctx.invoice.status, next_task)


def _forward(ctx: _Ctx, task: WorkflowTask, authority: Authority, comment: str,
             forward_to: str | None) -> DecisionResult:
    if not forward_to or not forward_to.strip():
        raise Invalid("forward needs 'forward_to': the name of the colleague")
    colleague = user_named(ctx.session, forward_to)
    if colleague.id == authority.person.id:
        raise Invalid("a task cannot be forwarded to oneself")
    if not eligible(colleague, task):
        raise Invalid(f"{colleague.name} ({colleague.role}) may not act on this task: it needs the role "
                      f"{' or '.join(_roles(task))} in {unit_name_of(ctx.session, task.unit_id) or 'any unit'}")
    previous = name_of(ctx.session, task.assignee_id)
    task.assignee_id = colleague.id
    task.claimed_at = ctx.now
    ctx.journal("task_forwarded", task_id=task.id, stage=task.stage, to=colleague.name, previous_holder=previous,
                comment=comment, **authority.payload())
    return DecisionResult(task, ctx.instance, ctx.invoice.status, task)


def _reject(ctx: _Ctx, *, reason: str, authority: Authority | None, stage: str | None) -> None:
    invoice, instance = ctx.invoice, ctx.instance
    invoice.status = Status.REJECTED.value
    instance.status = InstanceStatus.REJECTED.value
    instance.rejection_reason = reason
    instance.finished_at = ctx.now
    cancelled = _cancel_active(ctx)
    address = notify.supplier_address(ctx.session, invoice)
    if address is None:
        notice = "no supplier e-mail address is known"
    elif not notify.configured():
        notice = "not sent: EINVOICE_SMTP_URL is not set"
    else:
        subject, body = notify.rejection_text(invoice, reason)
        notify.queue(ctx.session, invoice_id=invoice.id, kind="rejection", recipient=address, subject=subject,
                     body=body)
        notice = f"queued to {address}"
    ctx.journal("workflow_rejected", reason=reason, stage=stage, cancelled_tasks=cancelled, notice=notice,
                **(authority.payload() if authority else {}))


# ------------------------------------------------------------------ coding


def _text(value: Any, field_name: str, limit: int = 40) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if len(text) > limit:
        raise Invalid(f"coding: {field_name} is longer than {limit} characters")
    return text or None


def _dec(value: Any, field_name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise Invalid(f"coding: {field_name} {value!r} is not a number") from None
    if not result.is_finite():
        raise Invalid(f"coding: {field_name} must be a finite number")
    return result


def _normalise_coding(lines: Sequence[CodingLine | dict[str, Any]], definition: Definition,
                      invoice: Invoice) -> list[dict[str, Any]]:
    """Coding lines as stored (JSON, amounts as text), checked against the definition and the invoice."""
    if not lines:
        raise Invalid("coding needs at least one line")
    result = []
    for number, line in enumerate(lines, start=1):
        raw = line.__dict__ if isinstance(line, CodingLine) else dict(line)
        entry = {
            "account": _text(raw.get("account"), "account"),
            "cost_center": _text(raw.get("cost_center"), "cost_center"),
            "budget_line": _text(raw.get("budget_line"), "budget_line", 60),
            "tax_key": _text(raw.get("tax_key"), "tax_key", 10),
            "amount": _dec(raw.get("amount"), "amount"),
            "vat_rate": _dec(raw.get("vat_rate"), "vat_rate"),
            "text": _text(raw.get("text"), "text", 200),
        }
        missing = [f for f in definition.coding.required_fields if not entry.get(f)]
        if missing:
            raise Invalid(f"coding line {number}: {', '.join(missing)} required by workflow '{definition.name}'")
        result.append(entry)
    amounts = [a for e in result if isinstance(a := e["amount"], Decimal)]
    if len(result) > 1 and len(amounts) < len(result):
        raise Invalid("coding split over several lines needs an amount on every line")
    net = deadlines._decimal(((invoice.data or {}).get("totals") or {}).get("net"))
    if amounts and len(amounts) == len(result) and net is not None:
        total = sum(amounts, Decimal(0))
        if total != net:
            raise Invalid(f"coding amounts add up to {_money(total)}, but the invoice's net total (BT-109) is "
                          f"{_money(net)}")
    return [{k: (format(v, "f") if isinstance(v, Decimal) else v) for k, v in e.items()} for e in result]


def _change_coding(ctx: _Ctx, lines: list[dict[str, Any]], authority: Authority, *,
                   current: WorkflowTask | None) -> bool:
    """Store new coding; approvals from the coding stage on are void. True if the workflow restarted."""
    instance = ctx.instance
    if instance.coding == lines:
        return False
    previous = instance.coding
    instance.coding = lines
    instance.coding_version += 1
    ctx.journal("coding_changed", coding_version=instance.coding_version, lines=lines, previous=previous,
                **authority.payload())
    start = _definition(ctx).coding_stage_index or 0
    restarted = _restart(ctx, from_index=start, reason="account coding changed")
    if restarted and current is not None:
        raise Restarted("the account coding changed after approvals had been given: those approvals were "
                        "discarded and the workflow starts again at the coding step")
    return restarted


def set_coding(uow: UnitOfWork, invoice_id: str, user_id: str, lines: Sequence[CodingLine | dict[str, Any]], *,
               clock: Clock | None = None) -> WorkflowInstance:
    """Set the account coding (Kontierung) of an invoice in approval; unit staff, their substitutes or admins."""
    invoice = _lock_invoice(uow.session, invoice_id)
    instance = _instance(uow.session, invoice_id)
    if instance is None or instance.status != InstanceStatus.RUNNING.value:
        state = instance.status if instance else "not in a workflow"
        raise Conflict(f"the coding can only change while the invoice is in approval (it is {state})")
    user = active_user(uow.session, user_id)
    ctx = _Ctx(uow, invoice, instance, _clock(clock), user.id)
    authority = _coding_authority(ctx, user)
    lines_json = _normalise_coding(lines, _definition(ctx), invoice)
    _change_coding(ctx, lines_json, authority, current=None)
    return instance


def _coding_authority(ctx: _Ctx, user: User) -> Authority:
    staff = (Role.CLERK.value, Role.APPROVER.value)
    if user.role == Role.ADMIN.value or (user.role in staff and user.unit_id == ctx.instance.unit_id):
        return Authority(user, user)
    for absent in represented_users(ctx.session, user.id, ctx.today):
        if absent.role in staff and absent.unit_id == ctx.instance.unit_id:
            return Authority(user, absent)
    raise Forbidden(f"{user.name} may not change the coding: only staff of the invoice's unit (or their "
                    "substitutes) and admins may")


def coding_for(uow: UnitOfWork, invoice_id: str) -> list[CodingLine]:
    """The account coding of an invoice, for the exporters (empty if none was given)."""
    instance = uow.session.scalar(select(WorkflowInstance).where(WorkflowInstance.invoice_id == invoice_id))
    if instance is None or not instance.coding:
        return []
    return [CodingLine(account=line.get("account") or "", cost_center=line.get("cost_center"),
                       budget_line=line.get("budget_line"), tax_key=line.get("tax_key"),
                       amount=Decimal(line["amount"]) if line.get("amount") is not None else None,
                       vat_rate=Decimal(line["vat_rate"]) if line.get("vat_rate") is not None else None,
                       text=line.get("text"))
            for line in instance.coding]


# ------------------------------------------------------------------ clearing


def _require_admin(user: User) -> None:
    if user.role not in CLEARING_ROLES:
        raise Forbidden(f"only {', '.join(CLEARING_ROLES)} may work the clearing queue")


def _clearing_context(uow: UnitOfWork, invoice_id: str, user_id: str,
                      clock: Clock | None) -> tuple[_Ctx, WorkflowTask, User]:
    user = active_user(uow.session, user_id)
    _require_admin(user)
    invoice = _lock_invoice(uow.session, invoice_id)
    instance = _instance(uow.session, invoice_id)
    if instance is None or instance.status != InstanceStatus.CLEARING.value:
        raise Conflict("this invoice is not in the clearing queue"
                       + (f" (its workflow is {instance.status})" if instance else ""))
    tasks = [t for t in active_tasks(uow.session, instance.id) if t.kind == TaskKind.CLEARING.value]
    if not tasks:
        raise Conflict("this invoice has no open clearing task")
    return _Ctx(uow, invoice, instance, _clock(clock), user.id), tasks[0], user


def assign_from_clearing(uow: UnitOfWork, invoice_id: str, unit_name: str, user_id: str, *,
                         clock: Clock | None = None) -> WorkflowInstance:
    """Give an invoice from the clearing queue to a unit; its workflow starts there."""
    ctx, task, user = _clearing_context(uow, invoice_id, user_id, clock)
    unit = unit_named(uow.session, unit_name)
    try:
        definition = select_definition(uow.session, unit.id, ctx.invoice)
    except DefinitionError as exc:
        raise Conflict(f"the workflow definitions cannot be used: {exc}") from None
    if definition is None:
        raise Conflict(f"no workflow definition applies to unit {unit.name}; set one with "
                       f"`einvoice units add`/`einvoice workflow unit {unit.name} --workflow NAME`")
    ctx.invoice.unit_id = unit.id
    _close(ctx, task, Authority(user, user), "assign", f"assigned to {unit.name}")
    ctx.journal("clearing_assigned", task_id=task.id, unit=unit.name, unit_id=unit.id, by=user.name)
    _begin(ctx, definition, unit.id, routed_by="clearing")
    return ctx.instance


def reject_from_clearing(uow: UnitOfWork, invoice_id: str, reason: str, user_id: str, *,
                         clock: Clock | None = None) -> WorkflowInstance:
    """An invoice no unit can take is rejected, and the supplier told why (ERechV)."""
    reason = (reason or "").strip()[:MAX_REASON]
    if not reason:
        raise Invalid("a rejection needs a reason; the supplier is told")
    ctx, task, user = _clearing_context(uow, invoice_id, user_id, clock)
    authority = Authority(user, user)
    _close(ctx, task, authority, "reject", reason)
    _reject(ctx, reason=reason, authority=authority, stage=CLEARING_STAGE)
    return ctx.instance


# ------------------------------------------------------------------ deadlines: reminders and escalation


@dataclass
class DeadlineReport:
    reminded: list[str] = field(default_factory=list)  # task ids
    escalated: list[str] = field(default_factory=list)
    skonto_updated: list[str] = field(default_factory=list)  # invoice ids

    @property
    def changes(self) -> int:
        return len(self.reminded) + len(self.escalated) + len(self.skonto_updated)


BATCH = 500


def check_deadlines(uow: UnitOfWork, *, clock: Clock | None = None) -> DeadlineReport:
    """One run of the scheduled job: move past Skonto dates on, remind before Skonto dates, escalate
    overdue tasks to the unit's lead. Each task is reminded and escalated once (idempotent)."""
    clk = _clock(clock)
    today = clock_mod.today(clk)
    report = DeadlineReport()
    session = uow.session
    expired = list(session.scalars(select(WorkflowInstance.invoice_id).where(
        WorkflowInstance.status.in_((InstanceStatus.RUNNING.value, InstanceStatus.CLEARING.value)),
        WorkflowInstance.skonto_date < today).limit(BATCH)))
    for invoice_id in expired:
        if _roll_skonto(uow, invoice_id, clk):
            report.skonto_updated.append(invoice_id)
    window_end = today + timedelta(days=60)
    due_soon = list(session.scalars(select(WorkflowTask.id).where(
        WorkflowTask.status == ACTIVE, WorkflowTask.reminded_at.is_(None),
        WorkflowTask.skonto_date.is_not(None), WorkflowTask.skonto_date >= today,
        WorkflowTask.skonto_date <= window_end).order_by(WorkflowTask.skonto_date).limit(BATCH)))
    for task_id in due_soon:
        if _remind(uow, task_id, clk):
            report.reminded.append(task_id)
    overdue = list(session.scalars(select(WorkflowTask.id).where(
        WorkflowTask.status == ACTIVE, WorkflowTask.escalated_at.is_(None),
        WorkflowTask.due_date < today).order_by(WorkflowTask.due_date).limit(BATCH)))
    for task_id in overdue:
        if _escalate(uow, task_id, clk):
            report.escalated.append(task_id)
    return report


def _roll_skonto(uow: UnitOfWork, invoice_id: str, clk: Clock) -> bool:
    invoice = _lock_invoice(uow.session, invoice_id)
    instance = _instance(uow.session, invoice_id)
    today = clock_mod.today(clk)
    if instance is None or instance.skonto_date is None or instance.skonto_date >= today:
        return False
    expired = instance.skonto_date
    _apply_deadlines(instance, _deadlines_for(invoice, today))
    for task in active_tasks(uow.session, instance.id):
        task.skonto_date = instance.skonto_date
        task.deadline = _task_deadline(instance, today)
        task.reminded_at = None
    ctx = _Ctx(uow, invoice, instance, clk, SYSTEM_ACTOR)
    ctx.journal("skonto_expired", expired=expired, next_skonto_date=instance.skonto_date,
                next_skonto_amount=_cents(instance.skonto_amount))
    return True


def _remind(uow: UnitOfWork, task_id: str, clk: Clock) -> bool:
    task, invoice, instance = _locked_task(uow, task_id)
    today = clock_mod.today(clk)
    if task.status != ACTIVE or task.reminded_at is not None or task.skonto_date is None:
        return False
    days_before = 3
    if instance.definition_id is not None:
        days_before = definition_of(uow.session, instance).reminders.skonto_days_before
    if (task.skonto_date - today).days > days_before or task.skonto_date < today:
        return False
    task.reminded_at = clk.now()
    recipients = _reminder_recipients(uow.session, task)
    amount = _money(instance.skonto_amount, invoice.currency)
    for person in recipients:
        if person.email:
            subject, body = notify.reminder_text(invoice, task.stage_title, task.skonto_date.isoformat(), amount)
            notify.queue(uow.session, invoice_id=invoice.id, kind="skonto_reminder", recipient=person.email,
                         subject=subject, body=body)
    ctx = _Ctx(uow, invoice, instance, clk, SYSTEM_ACTOR)
    ctx.journal("skonto_reminder", task_id=task.id, stage=task.stage, skonto_date=task.skonto_date,
                skonto_amount=_cents(instance.skonto_amount), to=[p.name for p in recipients])
    return True


def _reminder_recipients(session: Session, task: WorkflowTask) -> list[User]:
    if task.assignee_id:
        holder = session.get(User, task.assignee_id)
        return [holder] if holder is not None else []
    query = select(User).where(User.active.is_(True), User.role.in_(_roles(task)))
    if task.unit_id is not None:
        query = query.where(User.unit_id == task.unit_id)
    return list(session.scalars(query.order_by(User.name)))


def _escalate(uow: UnitOfWork, task_id: str, clk: Clock) -> bool:
    task, invoice, instance = _locked_task(uow, task_id)
    today = clock_mod.today(clk)
    if task.status != ACTIVE or task.escalated_at is not None or task.due_date >= today:
        return False
    lead = unit_lead(uow.session, task.unit_id)
    task.escalated_at = clk.now()
    task.escalated_to = lead.id if lead else None
    holder = name_of(uow.session, task.assignee_id) or "unassigned"
    if lead is not None and lead.email:
        subject, body = notify.escalation_text(invoice, task.stage_title, task.due_date.isoformat(), holder)
        notify.queue(uow.session, invoice_id=invoice.id, kind="escalation", recipient=lead.email, subject=subject,
                     body=body)
    ctx = _Ctx(uow, invoice, instance, clk, SYSTEM_ACTOR)
    ctx.journal("task_escalated", task_id=task.id, stage=task.stage, due_date=task.due_date,
                days_overdue=(today - task.due_date).days, to=lead.name if lead else None, holder=holder)
    return True
