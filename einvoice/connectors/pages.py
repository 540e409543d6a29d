"""The operations page (admins): per connector its last poll, totals, failures with reasons, retry."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response

from einvoice.connectors import operations, service
from einvoice.security import Principal
from einvoice.web.ui import sessions
from einvoice.web.ui.auth import require_page_user
from einvoice.web.ui.pages import Form, page_router, redirect
from einvoice.web.ui.templating import register_nav, render

router = page_router(prefix="/operations")
Admin = Annotated[Principal, Depends(require_page_user(roles=("admin",)))]
register_nav("operations.nav", "/operations", roles=("admin",), order=90)


@router.get("", response_class=HTMLResponse)
def operations_page(request: Request, principal: Admin) -> Response:
    failed = service.items(state="failed") + service.items(state="retry")
    recent = service.items(limit=50)
    return render(request, "connectors/operations.html", connectors=service.overview(), failed=failed,
                  recent=recent)


@router.post("/items/{item_id}/retry")
def retry(request: Request, item_id: str, principal: Admin, form: Form) -> Response:
    try:
        item = operations.retry_now(item_id[:32])
    except (service.UnknownItem, ValueError):
        sessions.flash(request, "operations.retry_refused", "error")
        return redirect("/operations")
    if item.state == "failed":
        sessions.flash(request, "operations.retry_failed", "error", detail=item.detail)
    elif item.state == "retry":
        sessions.flash(request, "operations.retry_queued", "info")
    else:
        sessions.flash(request, "operations.retry_done", "success")
    return redirect("/operations")
