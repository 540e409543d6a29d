"""The building blocks of a page router: CSRF protection of every state-changing request, the language
switch (``?lang=en``), the submitted form, and redirects after a POST."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData, UploadFile

from einvoice.web.ui import sessions
from einvoice.web.ui.auth import PageError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_FILES = 50
MAX_FIELDS = 2000  # the entry form with its 200 lines of 7 fields each, plus header, allowances, Skonto


async def page_guard(request: Request) -> None:
    """Runs first on every page route: ``?lang=`` switches the language; unsafe methods need the token.

    The token comes from the form field ``csrf_token`` (or the header ``X-CSRF-Token`` for scripts);
    without a matching one the request stops here with the 403 page, before any other work.
    """
    lang = request.query_params.get("lang")
    if lang:
        sessions.set_language(request, lang)
    if request.method in SAFE_METHODS:
        return
    presented = request.headers.get(CSRF_HEADER)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not presented and media in FORM_TYPES:
        form = await request.form(max_files=MAX_FILES, max_fields=MAX_FIELDS)
        value = form.get(CSRF_FIELD)
        presented = value if isinstance(value, str) else None
    if not sessions.csrf_matches(request, presented):
        raise PageError(403, "errors.csrf")


async def page_form(request: Request) -> FormData:
    """The submitted form (parsed once; ``page_guard`` has already read it)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in FORM_TYPES:
        raise PageError(400, "errors.bad_form")
    return await request.form(max_files=MAX_FILES, max_fields=MAX_FIELDS)


Form = Annotated[FormData, Depends(page_form)]


def page_router(**kwargs: Any) -> APIRouter:
    """An APIRouter for HTML pages: guarded (CSRF, language) and left out of the API documentation."""
    dependencies = [Depends(page_guard), *kwargs.pop("dependencies", [])]
    return APIRouter(dependencies=dependencies, include_in_schema=False, **kwargs)


def field(form: FormData, name: str, limit: int = 2000) -> str:
    """A text field, stripped and capped (absent → empty)."""
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def files(form: FormData, name: str) -> list[UploadFile]:
    return [item for item in form.getlist(name) if isinstance(item, UploadFile) and (item.filename or item.size)]


def redirect(url: str) -> RedirectResponse:
    """303 See Other: after a POST the browser GETs the next page."""
    return RedirectResponse(url, status_code=303)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only local paths, so a login link cannot send people to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
