"""Operations API for the intake connectors (admins): status per connector, failed items, retry."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from einvoice.connectors import operations, service
from einvoice.security import Principal, require_roles

router = APIRouter(prefix="/api/v1/connectors", tags=["operations"])
Admin = Annotated[Principal, Depends(require_roles("admin"))]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid token."},
    403: {"description": "Only admins see and retry connector items."},
}


class ConnectorOut(BaseModel):
    connector: str
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    processed_total: int
    failed_total: int
    open_failures: int


class ItemOut(BaseModel):
    id: str
    connector: str
    external_id: str
    state: str
    sender: str
    invoice_ids: list[str]
    attempts: int
    detail: str
    first_seen_at: datetime
    updated_at: datetime


class OperationsOut(BaseModel):
    connectors: list[ConnectorOut]
    failed: list[ItemOut]


def operations_view() -> OperationsOut:
    failed = service.items(state="failed") + service.items(state="retry")
    return OperationsOut(connectors=[ConnectorOut(**asdict(o)) for o in service.overview()],
                         failed=[ItemOut(**asdict(i)) for i in failed])


@router.get("", response_model=OperationsOut, summary="Connector status and failed items", responses=ERRORS)
async def get_operations(principal: Admin) -> OperationsOut:
    return await run_in_threadpool(operations_view)


@router.post("/items/{item_id}/retry", response_model=ItemOut, summary="Handle a failed item again now",
             responses={**ERRORS, 404: {"description": "No such item."},
                        409: {"description": "The item is not failed."}})
async def retry_item(item_id: str, principal: Admin) -> ItemOut:
    try:
        item = await run_in_threadpool(operations.retry_now, item_id)
    except service.UnknownItem as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    return ItemOut(**asdict(item))
