"""``POST /api/v1/peppol/inbound``: where an access point (phase4, Oxalis, ...) hands over what it received.

Authentication: the bearer token of a user with role ``connector`` (``einvoice users create
ap --role connector``, ``einvoice tokens create --user ap``). Mutual TLS is an alternative in
front of it: terminate TLS with client certificates at the reverse proxy (nginx
``ssl_verify_client on``), let only the access point's certificate through to this path, and
have the proxy add the connector's bearer token; the service itself always checks the token.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from einvoice.connectors import service as connectors
from einvoice.formats.xml import InputError
from einvoice.ledger.service import DocumentRefused
from einvoice.peppol import inbound
from einvoice.peppol.sbdh import EnvelopeError
from einvoice.security import Principal, require_roles
from einvoice.web.deps import app_settings, read_body_capped
from einvoice.web.schemas import ErrorBody

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/peppol", tags=["peppol"])

INBOUND_ROLES = ("connector",)


class InboundResponse(BaseModel):
    id: str
    status: str
    duplicate_of: str | None = None
    instance_id: str | None = None


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Not XML, unsafe XML (DOCTYPE) or empty."},
    401: {"model": ErrorBody, "description": "Missing or invalid token."},
    403: {"model": ErrorBody, "description": "The caller is not a connector."},
    409: {"model": ErrorBody, "description": "The InstanceIdentifier was already used for another document."},
    413: {"model": ErrorBody, "description": "Larger than EINVOICE_MAX_DOCUMENT_BYTES."},
    422: {"model": ErrorBody, "description": "XML, but no usable SBDH envelope or UBL/CII invoice."},
}


@router.post("/inbound", status_code=status.HTTP_202_ACCEPTED, response_model=InboundResponse,
             summary="Hand over an SBDH envelope (or a bare UBL/CII invoice) received by the access point",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/xml": {"schema": {"type": "string", "format": "binary"}}}}},
             responses=ERRORS)
async def peppol_inbound(
    request: Request,
    principal: Annotated[Principal, Depends(require_roles(*INBOUND_ROLES))],
) -> InboundResponse:
    """Answers 202 only after the invoice is committed; the same InstanceIdentifier gives the same entry."""
    data = await read_body_capped(request, app_settings(request).max_document_bytes)
    if not data:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="the body is empty; send the SBDH envelope")
    try:
        result = await run_in_threadpool(inbound.receive, data, connector=inbound.CONNECTOR_HTTP,
                                         fallback_sender=principal.user_id)
    except InputError as exc:
        await run_in_threadpool(_record_failure, data, exc.message)
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=exc.message) from None
    except (EnvelopeError, DocumentRefused) as exc:
        await run_in_threadpool(_record_failure, data, str(exc))
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None
    except inbound.Conflict as exc:
        await run_in_threadpool(_record_failure, data, str(exc))
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    return InboundResponse(id=result.invoice_id, status=result.status, duplicate_of=result.duplicate_of,
                           instance_id=result.instance_id)


def _record_failure(data: bytes, error: str) -> None:
    """Visible in the operations view; the envelope is kept in the blob store so ``retry`` can re-run it."""
    from einvoice.intake.service import blobs

    try:
        digest = blobs().put(data)
        # Keyed by the envelope's hash: a refused envelope must not overwrite the item of the
        # accepted one that first used its instance identifier.
        connectors.record_failure(inbound.CONNECTOR_HTTP, f"envelope:{digest}", sender="",
                                  error=f"{error} (envelope kept as blob {digest})")
    except Exception:  # bookkeeping must not turn a 4xx into a 500
        log.warning("could not record the failed Peppol delivery", exc_info=True)

