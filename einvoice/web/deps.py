"""Request-scoped helpers shared by the routers: settings, the process validator, capped body reading."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from fastapi import HTTPException, Request, status
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from einvoice.config import Settings, get_settings
from einvoice.validation.engine import Validator

# Raw bodies the intake takes as a document (anything else: multipart with a field ``file``).
RAW_TYPES = ("application/xml", "text/xml", "application/pdf", "application/octet-stream")
# Multipart framing (boundaries, part headers) on top of the document itself.
MULTIPART_ALLOWANCE = 64 * 1024


def app_settings(request: Request) -> Settings:
    """The settings the app was built with (``create_app(settings)``), else the process settings."""
    settings = getattr(request.app.state, "settings", None)
    return settings if isinstance(settings, Settings) else get_settings()


async def process_validator() -> Validator:
    """The one validator of this process; the first call compiles the stylesheets (seconds), off the loop."""
    from einvoice.intake.service import validator

    return await run_in_threadpool(validator)


def too_large(limit: int) -> HTTPException:
    return HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                         detail=f"the document is larger than the limit of {limit} bytes")


async def read_body_capped(request: Request, limit: int) -> bytes:
    """The raw body, read chunk by chunk and refused as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise too_large(limit)
    return bytes(body)


@dataclass(frozen=True)
class Upload:
    """One received document as it arrived over HTTP."""

    data: bytes
    filename: str
    content_type: str | None


async def read_document(request: Request, query_filename: str | None = None, *,
                        raw_types: tuple[str, ...] | None = RAW_TYPES) -> Upload:
    """The document from a multipart ``file`` field or the raw body, never more than the size limit.

    The name comes from the header ``X-Filename``, the query ``filename`` or the multipart part.
    ``raw_types=None`` takes any non-multipart body as the document (KoSIT daemon clients do not
    always send a Content-Type); the content, not the label, decides what it is.
    """
    limit = app_settings(request).max_document_bytes
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    # Header values are ASCII: non-ASCII names come percent-encoded (UTF-8) or as ?filename=.
    filename = unquote(request.headers.get("x-filename", "")) or query_filename or ""
    if media == "multipart/form-data":
        async with request.form(max_files=1, max_fields=10) as form:
            part = form.get("file")
            if not isinstance(part, UploadFile):
                raise HTTPException(status.HTTP_400_BAD_REQUEST,
                                    detail="the multipart form has no file field named 'file'")
            data = await part.read(limit + 1)
            if len(data) > limit:
                raise too_large(limit)
            part_type = (part.content_type or "").split(";")[0].strip().lower() or None
            return Upload(data=data, filename=filename or part.filename or "", content_type=part_type)
    if raw_types is not None and media not in raw_types:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail=f"send the invoice as multipart/form-data (field 'file') or as a raw body with one of "
                   f"{', '.join(raw_types)}; got {media or 'no Content-Type'!r}")
    data = await read_body_capped(request, limit)
    return Upload(data=data, filename=filename, content_type=media or None)
