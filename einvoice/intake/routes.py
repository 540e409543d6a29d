"""Intake API: hand over invoices, and read back the ledger entries the caller may see.

Every read endpoint answers 404 for invoices the caller may not see, exactly as for invoices that
do not exist, so ids cannot be probed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from einvoice.db import UnitOfWork
from einvoice.ledger.blobs import BlobStore
from einvoice.ledger.models import Channel, Invoice, Status
from einvoice.ledger.service import DocumentRefused, InvoiceFilter, get_visible, history, search
from einvoice.security import CurrentPrincipal, Principal, require_roles
from einvoice.validation.engine import Validator
from einvoice.web import visualize
from einvoice.web.deps import RAW_TYPES, process_validator, read_document
from einvoice.web.schemas import ErrorBody, InvoicePage, ReceiveResponse, detail_of, summary_of
from einvoice.workflow.schemas import InvoiceDetailWithWorkflow
from einvoice.workflow.views import with_workflow

router = APIRouter(prefix="/api/v1", tags=["invoices"])

UPLOAD_ROLES = ("supplier", "connector", "admin", "clerk")
# Content types we hand back as such; anything else a client claimed is served as opaque bytes.
SAFE_ORIGINAL_TYPES = frozenset({"application/xml", "text/xml", "application/pdf"})
MAX_PAGE = 200
MEDIA = {"json": "application/json", "html": "text/html; charset=utf-8",
         "kosit": "application/xml", "text": "text/plain; charset=utf-8"}

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such invoice, or not visible to the caller."}}
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {401: {"model": ErrorBody, "description": "Missing or invalid token."}}

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": "The invoice: a multipart form with the field `file`, or the raw bytes.",
        "content": {
            "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                               "properties": {"file": {"type": "string", "format": "binary"}}}},
            **{media: {"schema": {"type": "string", "format": "binary"}} for media in RAW_TYPES},
        },
    }
}


def _not_found(invoice_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no invoice {invoice_id!r}")


# --------------------------------------------------------------------------- receive


@router.post(
    "/invoices",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ReceiveResponse,
    summary="Hand over an invoice (XML or hybrid PDF)",
    openapi_extra=UPLOAD_BODY,
    responses={
        200: {"model": ReceiveResponse, "description": "These exact bytes were received before: the existing entry."},
        400: {"model": ErrorBody, "description": "Empty document or malformed form."},
        **AUTH_ERRORS,
        403: {"model": ErrorBody, "description": "The caller's role may not hand over invoices."},
        413: {"model": ErrorBody, "description": "Larger than EINVOICE_MAX_DOCUMENT_BYTES."},
        415: {"model": ErrorBody, "description": "Unsupported Content-Type."},
    },
)
async def receive_invoice(
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(require_roles(*UPLOAD_ROLES))],
    filename: Annotated[str | None, Query(max_length=500, description="File name (or header X-Filename).")] = None,
) -> ReceiveResponse:
    """Answers only after the bytes and the ledger entry are committed; validation follows asynchronously."""
    from einvoice.intake.service import submit

    upload = await read_document(request, filename, raw_types=RAW_TYPES)
    if not upload.data:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="the document is empty")
    try:
        outcome = await run_in_threadpool(
            lambda: submit(data=upload.data, channel=Channel.API.value, sender=principal.user_id,
                           filename=upload.filename[:500],
                           content_type=upload.content_type[:200] if upload.content_type else None))
    except DocumentRefused as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(exc)) from None
    if not outcome.created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = str(request.url_for("get_invoice", invoice_id=outcome.invoice_id))
    return ReceiveResponse(id=outcome.invoice_id, status=str(outcome.status), duplicate_of=outcome.duplicate_of)


# --------------------------------------------------------------------------- read


def _load_visible(invoice_id: str, principal: Principal) -> Invoice:
    with UnitOfWork() as uow:
        invoice = get_visible(uow, invoice_id, principal.visibility)
        if invoice is None:
            raise _not_found(invoice_id)
        uow.session.expunge(invoice)
        return invoice


async def visible_invoice(invoice_id: str, principal: CurrentPrincipal) -> Invoice:
    """The invoice if the caller may see it, else 404 (the same answer as for unknown ids)."""
    return await run_in_threadpool(_load_visible, invoice_id, principal)


VisibleInvoice = Annotated[Invoice, Depends(visible_invoice)]


def _detail(invoice_id: str, principal: Principal) -> InvoiceDetailWithWorkflow:
    with UnitOfWork() as uow:
        invoice = get_visible(uow, invoice_id, principal.visibility)
        if invoice is None:
            raise _not_found(invoice_id)
        return with_workflow(uow, detail_of(invoice, history(uow, invoice.id)), principal.role)


@router.get("/invoices/{invoice_id}", response_model=InvoiceDetailWithWorkflow, name="get_invoice",
            summary="One ledger entry with its validation result and journal",
            responses={**AUTH_ERRORS, **NOT_FOUND})
async def get_invoice(invoice_id: str, principal: CurrentPrincipal) -> InvoiceDetailWithWorkflow:
    return await run_in_threadpool(_detail, invoice_id, principal)


@router.get("/invoices", response_model=InvoicePage, summary="Search the ledger (newest first)",
            description="Latest received first; with an issue-date range latest issued first. A cursor "
                        "continues the search it came from (the same filters).",
            responses={**AUTH_ERRORS, 400: {"model": ErrorBody, "description": "Bad cursor."}})
async def list_invoices(
    principal: CurrentPrincipal,
    status_: Annotated[Status | None, Query(alias="status", description="Only this status.")] = None,
    seller: Annotated[str | None, Query(max_length=200, description="Seller name or VAT id.")] = None,
    number: Annotated[str | None, Query(max_length=200, description="Invoice number (BT-1).")] = None,
    received_from: Annotated[datetime | None, Query(description="Received at or after (ISO 8601).")] = None,
    received_to: Annotated[datetime | None, Query(description="Received before (ISO 8601).")] = None,
    issued_from: Annotated[date | None, Query(description="Issue date on or after.")] = None,
    issued_to: Annotated[date | None, Query(description="Issue date on or before.")] = None,
    cursor: Annotated[str | None, Query(max_length=500, description="next_cursor of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> InvoicePage:
    filt = InvoiceFilter(status=status_.value if status_ else None, seller=seller, number=number,
                         received_from=received_from, received_to=received_to,
                         issued_from=issued_from, issued_to=issued_to)

    def run() -> InvoicePage:
        with UnitOfWork() as uow:
            try:
                items, next_cursor = search(uow, filt, principal.visibility, cursor=cursor, limit=limit)
            except ValueError as exc:
                raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=f"bad query: {exc}") from None
            return InvoicePage(items=[summary_of(i) for i in items], next_cursor=next_cursor)

    return await run_in_threadpool(run)


def _content_disposition(filename: str, fallback: str) -> str:
    """``attachment`` with an ASCII name and the exact name as RFC 5987 ``filename*``."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1] or fallback
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("/invoices/{invoice_id}/original", summary="The document exactly as received",
            response_class=Response,
            responses={200: {"content": {"application/xml": {}, "application/pdf": {},
                                         "application/octet-stream": {}}},
                       304: {"description": "Not modified (If-None-Match)."}, **AUTH_ERRORS, **NOT_FOUND})
async def get_original(request: Request, invoice: VisibleInvoice) -> Response:
    etag = f'"{invoice.sha256}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "private, max-age=0, must-revalidate",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    data = await run_in_threadpool(BlobStore.from_settings().get, invoice.sha256)
    media = invoice.content_type if invoice.content_type in SAFE_ORIGINAL_TYPES else "application/octet-stream"
    headers["Content-Disposition"] = _content_disposition(invoice.filename, f"{invoice.id}.{_suffix(data)}")
    return Response(content=data, media_type=media, headers=headers)


def _suffix(data: bytes) -> str:
    return "pdf" if data.startswith(b"%PDF") else "xml"


@router.get("/invoices/{invoice_id}/report", summary="The validation report (json, html, kosit or text)",
            response_class=Response,
            responses={200: {"content": {"application/json": {}, "text/html": {}, "application/xml": {},
                                         "text/plain": {}}},
                       **AUTH_ERRORS, **NOT_FOUND,
                       422: {"model": ErrorBody, "description": "No KoSIT report could be produced."}})
async def get_report(
    invoice: VisibleInvoice,
    validator: Annotated[Validator, Depends(process_validator)],
    format: Annotated[Literal["json", "html", "kosit", "text"], Query()] = "json",
    lang: Annotated[Literal["de", "en"], Query()] = "de",
) -> Response:
    """JSON is the stored result the ledger decided on; html, kosit and text re-validate the stored bytes."""
    if format == "json" and invoice.validation is not None:
        return JSONResponse(invoice.validation)

    def run() -> str:
        from einvoice.validation.reports import KositReportError, render

        data = BlobStore.from_settings().get(invoice.sha256)
        result = validator.validate_bytes(data, invoice.filename)
        report_xsl = validator.store.path("kosit-report:xrechnung-report.xsl") if format == "kosit" else None
        try:
            return render(result, format, scenarios=validator.scenarios, lang=lang, report_xsl=report_xsl)
        except KositReportError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                detail=f"no KoSIT report could be produced: {exc}") from None

    body = await run_in_threadpool(run)
    return Response(content=body, media_type=MEDIA[format], headers={"X-Content-Type-Options": "nosniff"})


@router.get("/invoices/{invoice_id}/view", summary="The invoice for people (KoSIT XRechnung visualisation)",
            response_class=HTMLResponse,
            responses={**AUTH_ERRORS, **NOT_FOUND,
                       422: {"model": ErrorBody, "description": "This document cannot be visualised."}})
async def view_invoice(
    invoice: VisibleInvoice,
    validator: Annotated[Validator, Depends(process_validator)],
    lang: Annotated[Literal["de", "en"], Query()] = "de",
) -> HTMLResponse:
    def run() -> str:
        data = BlobStore.from_settings().get(invoice.sha256)
        try:
            return visualize.render_invoice_html(validator.store, data, invoice.filename, lang)
        except visualize.VisualisationError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                detail=f"this invoice cannot be shown: {exc}") from None

    html = await run_in_threadpool(run)
    return HTMLResponse(html, headers={"Content-Security-Policy": visualize.CONTENT_SECURITY_POLICY,
                                       "X-Content-Type-Options": "nosniff"})
