"""Operations API for the intake connectors (admins): status per connector, failed items, retry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from einvoice.connectors import operations, service
from einvoice.connectors.service import ConnectorOverview, ItemView
from einvoice.security import Principal, require_roles

router = APIRouter(prefix="/api/v1/connectors", tags=["operations"])
Admin = Annotated[Principal, Depends(require_roles("admin"))]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid token."},
    403: {"description": "Only admins see and retry connector items."},
}


class OperationsOut(BaseModel):
    connectors: list[ConnectorOverview]
    failed: list[ItemView]


def operations_view() -> OperationsOut:
    failed = service.items(state="failed") + service.items(state="retry")
    return OperationsOut(connectors=service.overview(), failed=failed)


@router.get("", response_model=OperationsOut, summary="Connector status and failed items", responses=ERRORS)
async def get_operations(principal: Admin) -> OperationsOut:
    return await run_in_threadpool(operations_view)


@router.post("/items/{item_id}/retry", response_model=ItemView, summary="Handle a failed item again now",
             responses={**ERRORS, 404: {"description": "No such item."},
                        409: {"description": "The item is not failed."}})
async def retry_item(item_id: str, principal: Admin) -> ItemView:
    try:
        item = await run_in_threadpool(operations.retry_now, item_id)
    except service.UnknownItem as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    return item
