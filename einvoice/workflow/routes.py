"""Workqueue API: tasks (list, claim, release, decide), account coding, the workflow of an invoice, the
clearing queue and substitutes.

Refusals carry the reason in ``detail``: 403 missing authority (role, unit, amount limit, substitution
outside its dates), 409 state or four-eyes conflicts, 422 unusable input, 404 unknown or invisible ids.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, status
from starlette.concurrency import run_in_threadpool

from einvoice.db import UnitOfWork
from einvoice.ledger.models import Invoice
from einvoice.ledger.service import get_visible
from einvoice.security import CurrentPrincipal, Principal, require_roles
from einvoice.web.schemas import ErrorBody
from einvoice.workflow import clock, notify, people, queries, service, views
from einvoice.workflow.errors import Forbidden, NotFound, WorkflowError
from einvoice.workflow.models import WorkflowTask
from einvoice.workflow.schemas import (
    ClearingAssignIn,
    ClearingItem,
    ClearingRejectIn,
    CodingIn,
    DecisionIn,
    DecisionOut,
    SubstituteIn,
    SubstituteOut,
    TaskOut,
    TaskPage,
    WorkflowOut,
)

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["workflow"])

STAFF = ("clerk", "approver", "admin")
MAX_PAGE = 200
T = TypeVar("T")

Staff = Annotated[Principal, Depends(require_roles(*STAFF))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    words = {401: "Missing or invalid token.", 403: "No authority: role, unit, amount limit or substitution dates.",
             404: "No such task or invoice (or not visible).", 409: "Conflicts with the state or four-eyes rules.",
             422: "Unusable input."}
    return {code: {"model": ErrorBody, "description": words[code]} for code in codes}


def _transaction(work: Callable[[UnitOfWork], T]) -> T:
    """Run ``work`` in one unit of work: commit on success, map refusals to HTTP errors, then send
    any queued e-mail notices in the background (never before the commit)."""
    with UnitOfWork() as uow:
        try:
            result = work(uow)
        except WorkflowError as exc:
            if exc.commit:
                uow.commit()
            raise HTTPException(exc.status_code, detail=exc.message) from None
        uow.commit()
    if notify.configured():
        threading.Thread(target=_deliver, name="einvoice-notices", daemon=True).start()
    return result


def _deliver() -> None:
    try:
        notify.deliver_pending()
    except Exception:  # the scheduled job retries; a request never fails for a mail server
        log.warning("sending notices failed; the deadline job will retry", exc_info=True)


def _today() -> Any:
    return clock.today(clock.current())


# --------------------------------------------------------------------------- tasks


@router.get("/tasks", response_model=TaskPage, summary="The workqueue, nearest deadline first",
            responses=_errors(401, 403, 422))
async def list_tasks(
    principal: Staff,
    mine: Annotated[bool, Query(description="Only tasks I hold (or hold as substitute) or that were escalated "
                                            "to me.")] = False,
    my_units: Annotated[bool, Query(description="Only tasks of my unit(s).")] = False,
    overdue: Annotated[bool, Query(description="Only tasks past the invoice's due date.")] = False,
    skonto_within_days: Annotated[int | None, Query(ge=0, le=365, description="Only tasks whose Skonto "
                                                                               "deadline is within N days.")] = None,
    kind: Annotated[str | None, Query(pattern="^(approval|clearing)$")] = None,
    cursor: Annotated[str | None, Query(max_length=500, description="next_cursor of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> TaskPage:
    filt = queries.TaskFilter(mine=mine, my_units=my_units, overdue=overdue,
                              skonto_within_days=skonto_within_days, kind=kind)

    def work(uow: UnitOfWork) -> TaskPage:
        tasks, next_cursor = queries.list_tasks(uow, principal.user_id, filt, cursor=cursor, limit=limit)
        return TaskPage(items=views.task_page_items(uow, tasks, _today()), next_cursor=next_cursor)

    return await run_in_threadpool(_transaction, work)


def _task_out(uow: UnitOfWork, task_id: str) -> TaskOut:
    task = uow.session.get(WorkflowTask, task_id)
    if task is None:
        raise NotFound(f"no task {task_id!r}")
    return views.task_page_items(uow, [task], _today())[0]


@router.post("/tasks/{task_id}/claim", response_model=TaskOut, summary="Take a task",
             responses=_errors(401, 403, 404, 409))
async def claim_task(task_id: str, principal: Staff) -> TaskOut:
    def work(uow: UnitOfWork) -> TaskOut:
        service.claim(uow, task_id, principal.user_id)
        return _task_out(uow, task_id)

    return await run_in_threadpool(_transaction, work)


@router.post("/tasks/{task_id}/release", response_model=TaskOut, summary="Give a task back to the queue",
             responses=_errors(401, 403, 404, 409))
async def release_task(task_id: str, principal: Staff) -> TaskOut:
    def work(uow: UnitOfWork) -> TaskOut:
        service.release(uow, task_id, principal.user_id)
        return _task_out(uow, task_id)

    return await run_in_threadpool(_transaction, work)


@router.post("/tasks/{task_id}/decision", response_model=DecisionOut,
             summary="Approve, reject (reason), return (comment) or forward (to a colleague)",
             responses=_errors(401, 403, 404, 409, 422))
async def decide_task(task_id: str, body: DecisionIn, principal: Staff) -> DecisionOut:
    coding = [line.model_dump() for line in body.coding] if body.coding is not None else None

    def work(uow: UnitOfWork) -> DecisionOut:
        result = service.decide(uow, task_id, principal.user_id, body.decision, comment=body.comment,
                                coding=coding, forward_to=body.forward_to)
        items = views.task_page_items(uow, [t for t in (result.task, result.next_task) if t is not None], _today())
        return DecisionOut(task=items[0], workflow_status=result.instance.status,
                           invoice_status=result.invoice_status, next_task=items[1] if len(items) > 1 else None)

    return await run_in_threadpool(_transaction, work)


# --------------------------------------------------------------------------- an invoice's workflow


def _visible_invoice(uow: UnitOfWork, invoice_id: str, principal: Principal) -> Any:
    invoice = get_visible(uow, invoice_id, principal.visibility)
    if invoice is None:
        candidate = uow.session.get(Invoice, invoice_id)
        if candidate is not None and queries.can_view(uow.session, principal.user_id, candidate):
            return candidate
        raise NotFound(f"no invoice {invoice_id!r}")
    return invoice


@router.get("/invoices/{invoice_id}/workflow", response_model=WorkflowOut,
            summary="Workflow state, current task and the full history (who, when)",
            responses=_errors(401, 404))
async def get_workflow(invoice_id: str, principal: CurrentPrincipal) -> WorkflowOut:
    def work(uow: UnitOfWork) -> WorkflowOut:
        invoice = _visible_invoice(uow, invoice_id, principal)
        return views.workflow_out(uow, invoice, queries.instance_for(uow, invoice_id), _today(),
                                  public=principal.role in views.PUBLIC_ROLES)

    return await run_in_threadpool(_transaction, work)


@router.put("/invoices/{invoice_id}/coding", response_model=WorkflowOut,
            summary="Set the account coding (approvals given on the old coding are discarded)",
            responses=_errors(401, 403, 404, 409, 422))
async def put_coding(invoice_id: str, body: CodingIn, principal: Staff) -> WorkflowOut:
    lines = [line.model_dump() for line in body.lines]

    def work(uow: UnitOfWork) -> WorkflowOut:
        invoice = _visible_invoice(uow, invoice_id, principal)
        instance = service.set_coding(uow, invoice.id, principal.user_id, lines)
        return views.workflow_out(uow, invoice, instance, _today())

    return await run_in_threadpool(_transaction, work)


# --------------------------------------------------------------------------- clearing


@router.get("/clearing", response_model=list[ClearingItem],
            summary="Invoices no unit could be found for (admins)", responses=_errors(401, 403))
async def list_clearing(principal: Admin,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[ClearingItem]:
    def work(uow: UnitOfWork) -> list[ClearingItem]:
        names = views.Names(uow.session)
        today = _today()
        return [ClearingItem(task=views.task_out(task, names, today, skonto_amount=instance.skonto_amount),
                             reason=instance.clearing_reason, invoice=views.invoice_brief(invoice))
                for task, invoice, instance in queries.clearing_queue(uow, limit=limit)]

    return await run_in_threadpool(_transaction, work)


@router.post("/clearing/{invoice_id}/assign", response_model=WorkflowOut,
             summary="Assign to a unit; its workflow starts", responses=_errors(401, 403, 404, 409, 422))
async def assign_clearing(invoice_id: str, body: ClearingAssignIn, principal: Admin) -> WorkflowOut:
    def work(uow: UnitOfWork) -> WorkflowOut:
        instance = service.assign_from_clearing(uow, invoice_id, body.unit, principal.user_id)
        return views.workflow_out(uow, uow.session.get_one(Invoice, invoice_id), instance, _today())

    return await run_in_threadpool(_transaction, work)


@router.post("/clearing/{invoice_id}/reject", response_model=WorkflowOut,
             summary="Reject an invoice no unit can take; the supplier is told",
             responses=_errors(401, 403, 404, 409, 422))
async def reject_clearing(invoice_id: str, body: ClearingRejectIn, principal: Admin) -> WorkflowOut:
    def work(uow: UnitOfWork) -> WorkflowOut:
        instance = service.reject_from_clearing(uow, invoice_id, body.reason, principal.user_id)
        return views.workflow_out(uow, uow.session.get_one(Invoice, invoice_id), instance, _today())

    return await run_in_threadpool(_transaction, work)


# --------------------------------------------------------------------------- substitutes


@router.get("/substitutes", response_model=list[SubstituteOut], summary="Substitutions (Vertretungen)",
            responses=_errors(401, 403))
async def list_substitutes(principal: Staff) -> list[SubstituteOut]:
    def work(uow: UnitOfWork) -> list[SubstituteOut]:
        user_id = None if principal.role == "admin" else principal.user_id
        return [SubstituteOut(id=row.id, absent=absent, substitute=substitute, valid_from=row.valid_from,
                              valid_to=row.valid_to)
                for row, absent, substitute in people.list_substitutes(uow, user_id)]

    return await run_in_threadpool(_transaction, work)


@router.post("/substitutes", response_model=SubstituteOut, status_code=status.HTTP_201_CREATED,
             summary="Name a substitute for an absence (your own, or anyone's as admin)",
             responses=_errors(401, 403, 422))
async def add_substitute(body: SubstituteIn, principal: Staff) -> SubstituteOut:
    if principal.role != "admin" and body.absent != principal.name:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="only admins may name substitutes for others")

    def work(uow: UnitOfWork) -> SubstituteOut:
        row = people.add_substitute(uow, absent=body.absent, substitute=body.substitute,
                                     valid_from=body.valid_from, valid_to=body.valid_to, actor=principal.user_id)
        return SubstituteOut(id=row.id, absent=body.absent, substitute=body.substitute, valid_from=row.valid_from,
                             valid_to=row.valid_to)

    return await run_in_threadpool(_transaction, work)


@router.delete("/substitutes/{substitute_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="End a substitution", responses=_errors(401, 403, 404))
async def remove_substitute(substitute_id: str, principal: Staff) -> None:
    def work(uow: UnitOfWork) -> None:
        if principal.role != "admin":
            own = {row.id for row, _, _ in people.list_substitutes(uow, principal.user_id)
                   if row.absent_user_id == principal.user_id}
            if substitute_id not in own:
                raise Forbidden("only admins may end substitutions of others")
        people.remove_substitute(uow, substitute_id, actor=principal.user_id)

    await run_in_threadpool(_transaction, work)
