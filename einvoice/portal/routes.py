"""Supplier portal pages: register, upload (one or many files, immediate answer per file), my invoices
(search, status timeline, rejection notices) and downloads of the original and the report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from einvoice.db import UnitOfWork
from einvoice.ledger.models import Channel, Invoice, Status
from einvoice.ledger.service import DocumentRefused, InvoiceFilter, LedgerError, get_visible, history, search
from einvoice.portal import registration
from einvoice.security import Principal
from einvoice.web.deps import app_settings
from einvoice.web.ui import documents, sessions
from einvoice.web.ui.auth import PageError, require_page_user
from einvoice.web.ui.i18n import Translator
from einvoice.web.ui.pages import Form, field, files, page_router
from einvoice.web.ui.templating import register_nav, render
from einvoice.workflow import queries

router = page_router(prefix="/portal")
Supplier = Annotated[Principal, Depends(require_page_user(roles=("supplier",)))]

register_nav("portal.nav_upload", "/portal", roles=("supplier",), order=10)
register_nav("portal.nav_invoices", "/portal/invoices", roles=("supplier",), order=20)

WAIT_SECONDS = 8.0  # how long the upload answer waits for verdicts before showing "in Prüfung"
PAGE_SIZE = 25
STATUSES = [s.value for s in Status]


@dataclass
class FileResult:
    filename: str
    invoice_id: str | None = None
    invoice: Invoice | None = None
    error_key: str | None = None
    error_detail: str = ""
    again: bool = False  # these exact bytes had been received before


# --------------------------------------------------------------------------- registration


@router.get("/register", response_class=HTMLResponse)
def register_page(request: Request) -> Response:
    return render(request, "portal/register.html", errors=[], values={}, done=None)


@router.post("/register")
def register_submit(request: Request, form: Form) -> Response:
    values = {name: field(form, name, 500) for name in ("name", "email", "company", "vat_id", "invitation_code")}
    password = field(form, "password", 1000)
    wanted = registration.RegistrationRequest(password=password, **values)
    errors = registration.check(wanted)
    if password != field(form, "repeat", 1000):
        errors.append("register.mismatch")
    if not errors:
        with UnitOfWork() as uow:
            try:
                row = registration.register(uow, wanted)
            except registration.RegistrationError as exc:
                errors.append(exc.key)
            else:
                uow.commit()
                return render(request, "portal/register.html", errors=[], values={}, done=row.status)
    return render(request, "portal/register.html", status_code=422, errors=errors, values=values, done=None)


# --------------------------------------------------------------------------- upload


@router.get("", response_class=HTMLResponse)
def upload_page(request: Request, principal: Supplier) -> Response:
    return render(request, "portal/upload.html", errors=[])


@router.post("/upload", response_class=HTMLResponse)
async def upload(request: Request, principal: Supplier, form: Form) -> Response:
    """Every file goes through the one intake path (channel portal); then a short wait for verdicts."""
    from einvoice.intake.service import submit, wait_until_final

    limit = app_settings(request).max_document_bytes
    uploads = files(form, "files")
    if not uploads:
        return render(request, "portal/upload.html", status_code=422, errors=["portal.no_files"])
    results: list[FileResult] = []
    for part in uploads:
        name = (part.filename or "").replace("\\", "/").rsplit("/", 1)[-1][:500]
        data = await part.read(limit + 1)
        if len(data) > limit:
            results.append(FileResult(name, error_key="portal.too_large"))
            continue
        if not data:
            results.append(FileResult(name, error_key="portal.empty"))
            continue
        media = (part.content_type or "").split(";")[0].strip().lower()[:200] or None
        try:
            outcome = await run_in_threadpool(partial(submit, data=data, channel=Channel.PORTAL.value,
                                                      sender=principal.user_id, filename=name, content_type=media))
        except DocumentRefused as exc:
            results.append(FileResult(name, error_key="portal.refused", error_detail=str(exc)))
            continue
        results.append(FileResult(name, invoice_id=outcome.invoice_id, again=not outcome.created))
    ids = [r.invoice_id for r in results if r.invoice_id is not None]
    if ids:
        await run_in_threadpool(lambda: wait_until_final(ids, timeout=WAIT_SECONDS))
    return await run_in_threadpool(_results_page, request, principal, results)


def _results_page(request: Request, principal: Principal, results: list[FileResult]) -> Response:
    lang = sessions.language(request)
    with UnitOfWork() as uow:
        for result in results:
            if result.invoice_id is not None:
                result.invoice = get_visible(uow, result.invoice_id, principal.visibility)
                if result.invoice is None:  # the same bytes came from someone else: say so, show nothing of it
                    result.error_key = "portal.received_elsewhere"
        pending = [r.invoice.id for r in results if r.invoice is not None and r.invoice.status in
                   (Status.RECEIVED.value, Status.VALIDATING.value)]
        refresh = "/portal/results?" + "&".join(f"id={r.invoice.id}" for r in results if r.invoice) if pending else None
        return render(request, "portal/results.html", results=results, refresh=refresh,
                      findings={r.invoice.id: documents.findings_of(r.invoice, lang) for r in results if r.invoice},
                      reasons={r.invoice.id: documents.reason_of(r.invoice) for r in results if r.invoice})


@router.get("/results", response_class=HTMLResponse)
def results_page(request: Request, principal: Supplier,
                 ids: Annotated[list[str] | None, Query(alias="id", max_length=50)] = None) -> Response:
    results = []
    with UnitOfWork() as uow:
        for invoice_id in (ids or [])[:50]:
            visible = get_visible(uow, invoice_id[:32], principal.visibility)
            if visible is None:
                raise PageError(404, "errors.not_found")
            results.append(FileResult(visible.filename, invoice_id=visible.id))
    return _results_page(request, principal, results)


# --------------------------------------------------------------------------- my invoices


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.get("/invoices", response_class=HTMLResponse)
def my_invoices(request: Request, principal: Supplier, number: str = "", status: str = "", issued_from: str = "",
                issued_to: str = "", cursor: str = "") -> Response:
    filt = InvoiceFilter(status=status if status in STATUSES else None, number=number[:200] or None,
                         issued_from=_date(issued_from), issued_to=_date(issued_to))
    with UnitOfWork() as uow:
        try:
            items, next_cursor = search(uow, filt, principal.visibility, cursor=cursor[:500] or None,
                                        limit=PAGE_SIZE)
        except LedgerError:
            raise PageError(400, "errors.bad_cursor") from None
        return render(request, "portal/invoices.html", items=items, next_cursor=next_cursor, statuses=STATUSES,
                      query={"number": number, "status": status, "issued_from": issued_from,
                             "issued_to": issued_to})


def _visible(uow: UnitOfWork, invoice_id: str, principal: Principal) -> Invoice:
    invoice = get_visible(uow, invoice_id[:32], principal.visibility)
    if invoice is None:
        raise PageError(404, "errors.not_found")
    return invoice


@router.get("/invoices/{invoice_id}", response_class=HTMLResponse)
def my_invoice(request: Request, invoice_id: str, principal: Supplier) -> Response:
    lang = sessions.language(request)
    t = Translator(lang)
    with UnitOfWork() as uow:
        invoice = _visible(uow, invoice_id, principal)
        instance = queries.instance_for(uow, invoice.id)
        from einvoice.workflow.views import Names

        events = documents.timeline(history(uow, invoice.id), t, Names(uow.session), public=True)
        return render(request, "portal/invoice.html", invoice=invoice, events=events,
                      findings=documents.findings_of(invoice, lang), reason=documents.reason_of(invoice),
                      rejection=instance.rejection_reason if instance is not None else None,
                      pending=invoice.status in (Status.RECEIVED.value, Status.VALIDATING.value))


@router.get("/invoices/{invoice_id}/original")
def my_original(invoice_id: str, principal: Supplier) -> Response:
    with UnitOfWork() as uow:
        invoice = _visible(uow, invoice_id, principal)
    return documents.original_response(invoice)


@router.get("/invoices/{invoice_id}/report")
def my_report(request: Request, invoice_id: str, principal: Supplier) -> Response:
    with UnitOfWork() as uow:
        invoice = _visible(uow, invoice_id, principal)
    return documents.report_response(invoice, sessions.language(request))
