"""Stateless validation over HTTP, compatible with the KoSIT validator's daemon mode.

Clients of the KoSIT daemon POST the raw XML and read the HTTP status: 200 acceptable, 406 not
acceptable, 422 the document could not be processed completely; the body is the KoSIT report XML
(``rep:report``). Nothing is stored. The same exchange works on ``POST /`` (the daemon's path) and
on ``POST /api/v1/validate``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool

from einvoice.security import Principal, authenticate, bearer_scheme
from einvoice.validation.engine import Validator
from einvoice.validation.model import ValidationResult
from einvoice.web.deps import app_settings, process_validator, read_document
from einvoice.web.schemas import ErrorBody

router = APIRouter(tags=["validation"])

REPORT_MEDIA = "application/xml"
ACCEPTED_MEDIA = ("application/xml", "text/xml", "application/pdf", "application/octet-stream")

VALIDATE_DOC: dict[str, Any] = {
    "openapi_extra": {"requestBody": {"required": True, "description": "The invoice (XML or hybrid PDF).",
                                      "content": {m: {"schema": {"type": "string", "format": "binary"}}
                                                  for m in ACCEPTED_MEDIA}}},
    "response_class": Response,
    "responses": {
        200: {"description": "Acceptable; body: KoSIT report XML.", "content": {REPORT_MEDIA: {}}},
        400: {"model": ErrorBody, "description": "Empty body or malformed form."},
        401: {"model": ErrorBody, "description": "Token required (unless validation is public)."},
        406: {"description": "Not acceptable; body: KoSIT report XML.", "content": {REPORT_MEDIA: {}}},
        413: {"model": ErrorBody, "description": "Larger than EINVOICE_MAX_DOCUMENT_BYTES."},
        422: {"description": "Processing error; body: KoSIT report XML where one could be made, "
                             "else JSON {detail}.", "content": {REPORT_MEDIA: {}, "application/json": {}}},
    },
}


async def validation_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal | None:
    """Anyone when ``validate_public`` is set (like KoSIT's daemon); otherwise a valid token."""
    if app_settings(request).validate_public:
        return None
    return await authenticate(credentials)


def processing_failed(result: ValidationResult) -> bool:
    """A step that could not run means no complete verdict: KoSIT's 'processing error'."""
    return any(step.error for step in result.steps)


def kosit_exchange(validator: Validator, data: bytes, filename: str) -> tuple[int, str | None, str]:
    """(HTTP status, report XML or None, reason) for one document."""
    from einvoice.validation.reports import KositReportError, render

    result = validator.validate_bytes(data, filename)
    try:
        report = render(result, "kosit", scenarios=validator.scenarios,
                        report_xsl=validator.store.path("kosit-report:xrechnung-report.xsl"))
    except KositReportError as exc:
        return status.HTTP_422_UNPROCESSABLE_CONTENT, None, f"no KoSIT report could be produced: {exc}"
    if processing_failed(result):
        return status.HTTP_422_UNPROCESSABLE_CONTENT, report, result.reason
    if result.accepted:
        return status.HTTP_200_OK, report, ""
    return status.HTTP_406_NOT_ACCEPTABLE, report, result.reason


async def _validate(request: Request, filename: str | None) -> Response:
    upload = await read_document(request, filename, raw_types=None)
    if not upload.data:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="the request body is empty; POST the invoice")
    validator = await process_validator()  # after the cheap checks: building it takes seconds once
    code, report, reason = await run_in_threadpool(kosit_exchange, validator, upload.data, upload.filename)
    if report is None:
        raise HTTPException(code, detail=reason)
    return Response(content=report, status_code=code, media_type=REPORT_MEDIA,
                    headers={"X-Content-Type-Options": "nosniff"})


@router.post("/api/v1/validate", summary="Validate a document without storing it (KoSIT daemon compatible)",
             **VALIDATE_DOC)
async def validate_document(
    request: Request,
    _caller: Annotated[Principal | None, Depends(validation_caller)],
    filename: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    return await _validate(request, filename)


@router.post("/", summary="KoSIT daemon path: same as POST /api/v1/validate", include_in_schema=True,
             **VALIDATE_DOC)
async def validate_document_daemon_path(
    request: Request,
    _caller: Annotated[Principal | None, Depends(validation_caller)],
) -> Response:
    return await _validate(request, None)
