"""Staff pages: the workqueue (filters of the API, sortable), the invoice page (visualisation, findings,
extracted data, attachments, account coding, decisions, claim/release, history), ledger search, suspected
duplicates and the clearing queue.

Every action calls the same service functions as the JSON routes (``einvoice.workflow.service``,
``einvoice.ledger.service``); refusals come back as a flash message on the invoice page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response

from einvoice.accounts.service import list_units
from einvoice.db import UnitOfWork
from einvoice.ledger.models import Invoice, Status
from einvoice.ledger.service import (
    InvoiceFilter,
    LedgerError,
    get_visible,
    resolve_duplicate,
    search,
)
from einvoice.security import Principal
from einvoice.web.ui import documents, sessions
from einvoice.web.ui.auth import STAFF, PageError, require_page_user
from einvoice.web.ui.i18n import Translator
from einvoice.web.ui.pages import Form, field, page_router, redirect
from einvoice.web.ui.templating import register_nav, render
from einvoice.workflow import clock, queries, service, views
from einvoice.workflow.errors import WorkflowError
from einvoice.workflow.models import ACTIVE, WorkflowTask

router = page_router(prefix="/staff")
Staff = Annotated[Principal, Depends(require_page_user(roles=STAFF))]
Admin = Annotated[Principal, Depends(require_page_user(roles=("admin",)))]

register_nav("staff.nav_tasks", "/staff/tasks", roles=STAFF, order=10)
register_nav("staff.nav_search", "/staff/search", roles=STAFF, order=20)
register_nav("staff.nav_duplicates", "/staff/duplicates", roles=STAFF, order=30)
register_nav("staff.nav_clearing", "/staff/clearing", roles=("admin",), order=40)

MAX_TASKS = 200
PAGE_SIZE = 50
CODING_FIELDS = ("account", "cost_center", "budget_line", "tax_key", "amount", "text")
T = TypeVar("T")


def _today() -> date:
    return clock.today(clock.current())


def _act(request: Request, back: str, work: Callable[[UnitOfWork], Any], done_key: str) -> Response:
    """Run a workflow action in one transaction; a refusal becomes an error message on the page."""
    from einvoice.workflow import notify
    from einvoice.workflow.routes import _deliver

    with UnitOfWork() as uow:
        try:
            work(uow)
        except WorkflowError as exc:
            if exc.commit:
                uow.commit()
            sessions.flash(request, "errors.workflow", "error", detail=exc.message)
            return redirect(back)
        except (LedgerError, ValueError) as exc:
            sessions.flash(request, "errors.workflow", "error", detail=str(exc))
            return redirect(back)
        uow.commit()
    if notify.configured():
        import threading

        threading.Thread(target=_deliver, name="einvoice-notices", daemon=True).start()
    sessions.flash(request, done_key, "success")
    return redirect(back)


def _visible_invoice(uow: UnitOfWork, invoice_id: str, principal: Principal) -> Invoice:
    """The ledger's visibility plus the workflow's (task holders, substitutes): exactly the API's rule."""
    invoice = get_visible(uow, invoice_id[:32], principal.visibility)
    if invoice is None:
        candidate = uow.session.get(Invoice, invoice_id[:32])
        if candidate is not None and queries.can_view(uow.session, principal.user_id, candidate):
            return candidate
        raise PageError(404, "errors.not_found")
    return invoice


# --------------------------------------------------------------------------- workqueue


def _flag(value: str) -> bool:
    return value in ("1", "true", "on", "yes")


@router.get("/tasks", response_class=HTMLResponse)
def tasks_page(request: Request, principal: Staff, mine: str = "", my_units: str = "", overdue: str = "",
               skonto_days: str = "", kind: str = "", sort: str = "deadline", order: str = "asc") -> Response:
    days = int(skonto_days) if skonto_days.isdigit() and int(skonto_days) <= 365 else None
    filt = queries.TaskFilter(mine=_flag(mine), my_units=_flag(my_units), overdue=_flag(overdue),
                              skonto_within_days=days, kind=kind if kind in ("approval", "clearing") else None)
    sort = sort if sort in queries.TASK_SORTS else "deadline"
    with UnitOfWork() as uow:
        try:
            tasks, _ = queries.list_tasks(uow, principal.user_id, filt, limit=MAX_TASKS + 1, sort=sort,
                                          descending=order == "desc")
        except WorkflowError as exc:
            raise PageError(exc.status_code, "errors.workflow", detail=exc.message) from None
        more = len(tasks) > MAX_TASKS
        items = views.task_page_items(uow, tasks[:MAX_TASKS], _today())
    return render(request, "staff/tasks.html", items=items, more=bool(more), sort=sort, order=order,
                  query={"mine": _flag(mine), "my_units": _flag(my_units), "overdue": _flag(overdue),
                         "skonto_days": skonto_days if days is not None else "", "kind": kind})


@router.post("/tasks/{task_id}/claim")
def claim(request: Request, task_id: str, principal: Staff, form: Form) -> Response:
    back = _back(form)
    return _act(request, back, lambda uow: service.claim(uow, task_id[:32], principal.user_id), "staff.claimed")


@router.post("/tasks/{task_id}/release")
def release(request: Request, task_id: str, principal: Staff, form: Form) -> Response:
    back = _back(form)
    return _act(request, back, lambda uow: service.release(uow, task_id[:32], principal.user_id), "staff.released")


@router.post("/tasks/{task_id}/decision")
def decide(request: Request, task_id: str, principal: Staff, form: Form) -> Response:
    decision = field(form, "decision", 20)
    comment = field(form, "comment", 2000)
    forward_to = field(form, "forward_to", 200) or None
    back = _back(form)
    return _act(request, back, lambda uow: service.decide(uow, task_id[:32], principal.user_id, decision,
                                                          comment=comment, forward_to=forward_to),
                f"staff.decided_{decision}" if decision in service.DECISIONS else "staff.decided")


def _back(form: Any) -> str:
    """Where to go after an action: the invoice page named in the form, else the workqueue."""
    invoice_id = field(form, "invoice_id", 32)
    return f"/staff/invoices/{invoice_id}" if invoice_id.isalnum() else "/staff/tasks"


# --------------------------------------------------------------------------- the invoice page


@router.get("/invoices/{invoice_id}", response_class=HTMLResponse)
def invoice_page(request: Request, invoice_id: str, principal: Staff) -> Response:
    lang = sessions.language(request)
    t = Translator(lang)
    with UnitOfWork() as uow:
        invoice = _visible_invoice(uow, invoice_id, principal)
        instance = queries.instance_for(uow, invoice.id)
        flow = views.workflow_out(uow, invoice, instance, _today())
        names = views.Names(uow.session)
        events = documents.timeline(queries.history(uow, invoice.id), t, names, public=False)
        current = flow.current_task
        can_decide = False
        if current is not None and current.kind == "approval":
            task = uow.session.get(WorkflowTask, current.id)
            can_decide = task is not None and task.status == ACTIVE
        duplicate_of = uow.session.get(Invoice, invoice.duplicate_of) if invoice.duplicate_of else None
        data = invoice.data or {}
        coding_rows = [*flow.coding, {}] if flow.status == "running" else list(flow.coding)
        return render(request, "staff/invoice.html", invoice=invoice, flow=flow, events=events, current=current,
                      can_decide=can_decide, data=data, lines=data.get("lines") or [],
                      attachments=data.get("attachments") or [], findings=documents.findings_of(invoice, lang),
                      reason=documents.reason_of(invoice), coding_rows=coding_rows, coding_fields=CODING_FIELDS,
                      duplicate_of=duplicate_of, unit=names.unit(invoice.unit_id))


@router.post("/invoices/{invoice_id}/coding")
def set_coding(request: Request, invoice_id: str, principal: Staff, form: Form) -> Response:
    columns = {name: form.getlist(name) for name in CODING_FIELDS}
    rows = max((len(values) for values in columns.values()), default=0)
    lines: list[dict[str, Any]] = []
    problems: list[str] = []
    for index in range(min(rows, 100)):
        line = {name: str(columns[name][index]).strip()[:200] if index < len(columns[name]) else ""
                for name in CODING_FIELDS}
        if not any(line.values()):
            continue
        amount = line.pop("amount")
        entry: dict[str, Any] = {name: value or None for name, value in line.items()}
        if amount:
            try:
                entry["amount"] = str(Decimal(amount.replace(",", ".")))
            except InvalidOperation:
                problems.append(amount)
        lines.append(entry)
    back = f"/staff/invoices/{invoice_id[:32]}"
    if problems or not lines:
        sessions.flash(request, "staff.coding_invalid", "error")
        return redirect(back)

    def work(uow: UnitOfWork) -> None:
        invoice = _visible_invoice(uow, invoice_id, principal)
        service.set_coding(uow, invoice.id, principal.user_id, lines)

    return _act(request, back, work, "staff.coding_saved")


@router.get("/invoices/{invoice_id}/view")
def visualisation(request: Request, invoice_id: str, principal: Staff) -> Response:
    with UnitOfWork() as uow:
        invoice = _visible_invoice(uow, invoice_id, principal)
    return documents.visualisation_response(invoice, sessions.language(request))


@router.get("/invoices/{invoice_id}/original")
def original(invoice_id: str, principal: Staff) -> Response:
    with UnitOfWork() as uow:
        invoice = _visible_invoice(uow, invoice_id, principal)
    return documents.original_response(invoice)


@router.get("/invoices/{invoice_id}/report")
def report(request: Request, invoice_id: str, principal: Staff) -> Response:
    with UnitOfWork() as uow:
        invoice = _visible_invoice(uow, invoice_id, principal)
    return documents.report_response(invoice, sessions.language(request))


@router.get("/invoices/{invoice_id}/attachments/{index}")
def attachment(invoice_id: str, index: int, principal: Staff) -> Response:
    with UnitOfWork() as uow:
        invoice = _visible_invoice(uow, invoice_id, principal)
    return documents.attachment_response(invoice, index)


# --------------------------------------------------------------------------- search


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, principal: Staff, number: str = "", seller: str = "", status: str = "",
                issued_from: str = "", issued_to: str = "", cursor: str = "") -> Response:
    statuses = [s.value for s in Status]
    filt = InvoiceFilter(status=status if status in statuses else None, seller=seller[:200] or None,
                         number=number[:200] or None, issued_from=_date(issued_from), issued_to=_date(issued_to))
    with UnitOfWork() as uow:
        try:
            items, next_cursor = search(uow, filt, principal.visibility, cursor=cursor[:500] or None,
                                        limit=PAGE_SIZE)
        except LedgerError:
            raise PageError(400, "errors.bad_cursor") from None
        return render(request, "staff/search.html", items=items, next_cursor=next_cursor, statuses=statuses,
                      query={"number": number, "seller": seller, "status": status, "issued_from": issued_from,
                             "issued_to": issued_to})


# --------------------------------------------------------------------------- duplicates


@router.get("/duplicates", response_class=HTMLResponse)
def duplicates_page(request: Request, principal: Staff) -> Response:
    with UnitOfWork() as uow:
        items, _ = search(uow, InvoiceFilter(status=Status.DUPLICATE_SUSPECTED.value), principal.visibility,
                          limit=PAGE_SIZE)
        originals = {i.id: uow.session.get(Invoice, i.duplicate_of) if i.duplicate_of else None for i in items}
        return render(request, "staff/duplicates.html", items=items, originals=originals)


@router.post("/duplicates/{invoice_id}")
def resolve(request: Request, invoice_id: str, principal: Staff, form: Form) -> Response:
    decision = field(form, "decision", 20)
    comment = field(form, "comment", 2000)

    def work(uow: UnitOfWork) -> None:
        invoice = _visible_invoice(uow, invoice_id, principal)
        resolve_duplicate(uow, invoice.id, decision=decision, actor=principal.user_id, comment=comment)

    return _act(request, "/staff/duplicates", work, "staff.duplicate_resolved")


# --------------------------------------------------------------------------- clearing


@router.get("/clearing", response_class=HTMLResponse)
def clearing_page(request: Request, principal: Admin) -> Response:
    with UnitOfWork() as uow:
        queue = queries.clearing_queue(uow, limit=MAX_TASKS)
        units = list_units(uow)
        return render(request, "staff/clearing.html", queue=queue, units=units)


@router.post("/clearing/{invoice_id}/assign")
def clearing_assign(request: Request, invoice_id: str, principal: Admin, form: Form) -> Response:
    unit = field(form, "unit", 200)
    return _act(request, "/staff/clearing",
                lambda uow: service.assign_from_clearing(uow, invoice_id[:32], unit, principal.user_id),
                "staff.clearing_assigned")


@router.post("/clearing/{invoice_id}/reject")
def clearing_reject(request: Request, invoice_id: str, principal: Admin, form: Form) -> Response:
    reason = field(form, "reason", 2000)
    return _act(request, "/staff/clearing",
                lambda uow: service.reject_from_clearing(uow, invoice_id[:32], reason, principal.user_id),
                "staff.clearing_rejected")
