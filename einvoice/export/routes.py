"""Export API: mark an exported invoice paid (people or a bookkeeping callback); see and retry deliveries."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from einvoice.db import UnitOfWork
from einvoice.export.models import EntryStatus
from einvoice.ledger.service import InvalidTransition, InvoiceNotFound
from einvoice.security import Principal, require_roles

router = APIRouter(prefix="/api/v1", tags=["export"])

PAY_ROLES = ("admin", "approver", "clerk")
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid token."},
    403: {"description": "The caller's role may not do this."},
    404: {"description": "No such invoice (or delivery), or not visible to the caller."},
}


class PaidRequest(BaseModel):
    paid_on: date | None = Field(None, description="Payment date (value date); default: not stated.")
    reference: str | None = Field(None, max_length=200, description="Payment reference of the bookkeeping system.")
    amount: Decimal | None = Field(None, description="Amount paid (e.g. after Skonto).")


class PaidResponse(BaseModel):
    id: str
    status: str


class Delivery(BaseModel):
    id: str
    invoice_id: str
    exporter: str
    unit_id: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    batch_id: str | None
    idempotency_key: str
    created_at: datetime
    done_at: datetime | None


def _paid(invoice_id: str, request: PaidRequest, principal: Principal) -> PaidResponse:
    from einvoice.export.service import mark_paid

    with UnitOfWork() as uow:
        try:
            invoice = mark_paid(uow, invoice_id, actor=principal.user_id, visibility=principal.visibility,
                                paid_on=request.paid_on, reference=request.reference, amount=request.amount)
        except InvoiceNotFound:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no invoice {invoice_id!r}") from None
        except InvalidTransition as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
        uow.commit()
        return PaidResponse(id=invoice.id, status=invoice.status)


@router.post("/invoices/{invoice_id}/paid", response_model=PaidResponse, summary="Mark an exported invoice paid",
             responses={**ERRORS, 409: {"description": "The invoice is not exported (or is paid already)."}})
async def invoice_paid(
    invoice_id: str,
    principal: Annotated[Principal, Depends(require_roles(*PAY_ROLES))],
    request: Annotated[PaidRequest | None, Body()] = None,
) -> PaidResponse:
    """For staff of the invoice's unit and for the bookkeeping system's callback (with a clerk token)."""
    return await run_in_threadpool(_paid, invoice_id, request or PaidRequest(), principal)


def _deliveries(principal: Principal, status_: str | None, invoice_id: str | None, limit: int) -> list[Delivery]:
    from einvoice.export.outbox import deliveries

    units = None if principal.visibility.everything else sorted(principal.visibility.unit_ids)
    with UnitOfWork() as uow:
        rows = deliveries(uow, status=status_, invoice_id=invoice_id, unit_ids=units, limit=limit)
        return [Delivery(id=e.id, invoice_id=e.invoice_id, exporter=e.exporter, unit_id=c.unit_id, status=e.status,
                         attempts=e.attempts, next_attempt_at=e.next_attempt_at, last_error=e.last_error,
                         batch_id=e.batch_id, idempotency_key=e.idempotency_key, created_at=e.created_at,
                         done_at=e.done_at) for e, c in rows]


@router.get("/exports", response_model=list[Delivery], summary="Export deliveries (outbox), newest first",
            responses=ERRORS)
async def list_deliveries(
    principal: Annotated[Principal, Depends(require_roles(*PAY_ROLES))],
    status_: Annotated[EntryStatus | None, Query(alias="status")] = None,
    invoice_id: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[Delivery]:
    return await run_in_threadpool(_deliveries, principal, status_.value if status_ else None, invoice_id, limit)


def _retry(entry_id: str, principal: Principal) -> Delivery:
    from einvoice.export.models import ExportConfig
    from einvoice.export.outbox import ExportError, retry

    with UnitOfWork() as uow:
        try:
            entry = retry(uow, entry_id, actor=principal.user_id)
        except ExportError as exc:
            code = status.HTTP_404_NOT_FOUND if "no export delivery" in str(exc) else status.HTTP_409_CONFLICT
            raise HTTPException(code, detail=str(exc)) from None
        uow.commit()
        config = uow.session.get(ExportConfig, entry.config_id)
        return Delivery(id=entry.id, invoice_id=entry.invoice_id, exporter=entry.exporter,
                        unit_id=config.unit_id if config else "", status=entry.status, attempts=entry.attempts,
                        next_attempt_at=entry.next_attempt_at, last_error=entry.last_error, batch_id=entry.batch_id,
                        idempotency_key=entry.idempotency_key, created_at=entry.created_at, done_at=entry.done_at)


@router.post("/exports/{entry_id}/retry", response_model=Delivery, summary="Send a failed delivery again",
             responses={**ERRORS, 409: {"description": "The delivery has not failed."}})
async def retry_delivery(entry_id: str,
                         principal: Annotated[Principal, Depends(require_roles("admin"))]) -> Delivery:
    return await run_in_threadpool(_retry, entry_id, principal)
