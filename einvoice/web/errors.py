"""Exception handlers: every error leaves the API as JSON ``{"detail": ...}``, never as a stack trace."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from einvoice.ledger.blobs import BlobError
from einvoice.rules.store import RulePackError

log = logging.getLogger("einvoice.web")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    async def request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                  for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    async def rules_missing(request: Request, exc: RulePackError) -> JSONResponse:
        log.error("rule packs unusable: %s", exc)
        return JSONResponse({"detail": f"validation rules are not available: {exc}"}, status_code=503)

    async def blob_broken(request: Request, exc: BlobError) -> JSONResponse:
        log.error("blob store integrity problem: %s", exc)
        return JSONResponse(
            {"detail": "the stored original of this invoice is missing or changed; the operators have "
                       "been told (einvoice ledger verify names the damage)"}, status_code=500)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        reference = uuid.uuid4().hex[:12]
        log.exception("unhandled error (reference %s) on %s %s", reference, request.method, request.url.path)
        return JSONResponse({"detail": f"internal error (reference {reference})"}, status_code=500)

    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, request_invalid)  # type: ignore[arg-type]
    app.add_exception_handler(RulePackError, rules_missing)  # type: ignore[arg-type]
    app.add_exception_handler(BlobError, blob_broken)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, unexpected)
