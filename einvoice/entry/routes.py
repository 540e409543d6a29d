"""Entry form pages (Weberfassung) for suppliers: type, calculate, save, reuse, download and submit.

Everything works without JavaScript: every button is a submit button with an ``action`` value (add or
remove a line, calculate, save, download, submit) and the server re-renders the form. The script
``/static/entry.js`` only adds conveniences (Leitweg-ID check while typing, instant totals, adding
and removing rows without a round trip); the server's totals and checks are authoritative.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from einvoice.db import UnitOfWork
from einvoice.entry import codes, service
from einvoice.entry.document import Totals
from einvoice.entry.form import MAX_ADJUSTMENTS, MAX_LINES, MAX_SKONTO, InvoiceForm, flatten_fields, nest_fields
from einvoice.entry.models import DraftStatus
from einvoice.rules.store import RulePackError
from einvoice.security import Principal
from einvoice.validation.reports.hints import hint_for
from einvoice.web.ui import sessions
from einvoice.web.ui.auth import PageError, require_page_user
from einvoice.web.ui.documents import FindingView
from einvoice.web.ui.i18n import Translator
from einvoice.web.ui.pages import Form, page_router, redirect
from einvoice.web.ui.templating import register_nav, render

router = page_router(prefix="/entry")
Supplier = Annotated[Principal, Depends(require_page_user(roles=("supplier",)))]

register_nav("entry.nav", "/entry", roles=("supplier",), order=30)
register_nav("entry.nav_drafts", "/entry/drafts", roles=("supplier",), order=31)

_ID = re.compile(r"^[0-9a-f]{32}$")
_ACTION = re.compile(r"^(add|remove)_(lines|adjustments|skonto)(?::([0-9]{1,3}))?$")
_LIMITS = {"lines": MAX_LINES, "adjustments": MAX_ADJUSTMENTS, "skonto": MAX_SKONTO}
# The fields that make a row worth keeping; a row with none of them filled in is dropped.
_ROW_CONTENT = {"lines": ("name", "quantity", "price", "item_id"), "adjustments": ("amount", "reason"),
                "skonto": ("days", "percent")}
# Errors of a whole (sub)form are shown at the field a person would correct, relative to that form.
_MODEL_ERROR_FIELD = {
    "due_before_issue": "due_date", "period_incomplete": "period_start", "period_order": "period_end",
    "seller_identifier": "vat_id", "seller_tax_id": "seller.vat_id", "seller_vat_id": "seller.vat_id",
    "buyer_vat_id": "buyer.vat_id", "category_o_mixed": "lines.0.vat_category",
    "category_o_registration": "seller.registration_id", "delivery_date": "delivery_date",
    "delivery_address": "delivery_city", "negative_total": "adjustments.0.amount", "skonto_syntax": "skonto.0.days",
    "electronic_address": "electronic_address", "vat_rate_standard": "vat_rate", "vat_rate_zero": "vat_rate",
    "vat_category": "vat_category", "reason_code": "reason_code",
}


@dataclass(frozen=True)
class FieldError:
    field: str  # the form field name, e.g. "buyer.leitweg_id"
    anchor: str  # the element id to jump to
    message: str


def field_id(name: str) -> str:
    return "f-" + name.replace(".", "-")


# --------------------------------------------------------------------------- form data


def _raw_from_form(form: FormData) -> dict[str, Any]:
    fields = {key: value.strip()[:2000] for key, value in form.multi_items()
              if isinstance(value, str) and key not in ("csrf_token", "action", "draft_id")}
    return _drop_empty_rows(nest_fields(fields))


def _drop_empty_rows(raw: dict[str, Any]) -> dict[str, Any]:
    for name, keys in _ROW_CONTENT.items():
        rows = raw.get(name)
        if not isinstance(rows, list):
            raw[name] = []
            continue
        raw[name] = [row for row in rows if isinstance(row, dict) and any(str(row.get(k) or "") for k in keys)]
    return raw


def _blank_row(kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    if kind == "lines":
        return {"name": "", "quantity": "1", "unit": "C62", "price": "", "vat_category": "S", "vat_rate": "19"}
    if kind == "adjustments":
        return {"charge": "false", "reason_code": "95", "amount": "", "vat_category": "S", "vat_rate": "19"}
    return {"days": "", "percent": ""}


def _apply_row_action(raw: dict[str, Any], action: str) -> bool:
    """``add_lines`` / ``remove_lines:3`` and the same for allowances and Skonto; False if not one."""
    match = _ACTION.match(action)
    if match is None:
        return False
    verb, kind, index = match.group(1), match.group(2), match.group(3)
    rows: list[Any] = raw.setdefault(kind, [])
    if verb == "add" and len(rows) < _LIMITS[kind]:
        rows.append(_blank_row(kind, raw))
    elif verb == "remove" and index is not None and int(index) < len(rows):
        rows.pop(int(index))
    return True


def _errors(exc: ValidationError, t: Translator) -> list[FieldError]:
    result: list[FieldError] = []
    for error in exc.errors():
        kind = str(error["type"])
        loc = ".".join(str(part) for part in error["loc"])
        name = loc or "number"
        if kind in _MODEL_ERROR_FIELD and not loc.endswith(_MODEL_ERROR_FIELD[kind].rsplit(".", 1)[-1]):
            name = f"{loc}.{_MODEL_ERROR_FIELD[kind]}" if loc else _MODEL_ERROR_FIELD[kind]
        key = f"entry.errors.{kind}"
        message = t(key) if t.has(key) else t("entry.errors.invalid")
        label_key = "entry.field." + re.sub(r"\.[0-9]+\.", ".", name)
        label = t(label_key) if t.has(label_key) else name
        row = re.search(r"\.([0-9]+)(?:\.|$)", name)
        if row:
            label += " " + t("entry.row", n=str(int(row.group(1)) + 1))
        result.append(FieldError(field=name, anchor=field_id(name), message=f"{label}: {message}"))
    return result


def _findings(result_findings: list[Any], lang: str) -> list[FindingView]:
    return [FindingView(rule=f.rule, level=f.level.value, message=f.message, location=f.location,
                        hint=hint_for(f.rule, lang)) for f in result_findings]


def _page(request: Request, raw: dict[str, Any], *, draft_id: str | None = None, status_code: int = 200,
          errors: list[FieldError] | None = None, totals: Totals | None = None,
          findings: list[FindingView] | None = None) -> Response:
    raw = dict(raw)
    for kind in ("lines", "adjustments", "skonto"):
        raw.setdefault(kind, [])
    if not raw["lines"]:
        raw["lines"] = [_blank_row("lines", raw)]
    values = flatten_fields(raw)
    return render(request, "entry/form.html", status_code=status_code, raw=raw, v=values, draft_id=draft_id,
                  errors=errors or [], error_for={e.field: e for e in (errors or [])}, totals=totals,
                  findings=findings, codes=codes, field_id=field_id, limits=_LIMITS)


def _draft_id(form: FormData) -> str | None:
    value = form.get("draft_id")
    return value if isinstance(value, str) and _ID.match(value) else None


# --------------------------------------------------------------------------- pages


@router.get("", response_class=HTMLResponse)
def entry_page(request: Request, principal: Supplier, draft: str = "") -> Response:
    """A new invoice (seller data remembered from the last one), or the draft ``?draft=ID``."""
    with UnitOfWork() as uow:
        if draft:
            if not _ID.match(draft):
                raise PageError(404, "errors.not_found")
            try:
                row = service.get_draft(uow, principal.user_id, draft)
            except service.EntryError:
                raise PageError(404, "errors.not_found") from None
            if row.status != DraftStatus.DRAFT.value:
                raise PageError(404, "errors.not_found")
            return _page(request, dict(row.data), draft_id=row.id)
        seller = service.remembered_seller(uow, principal.user_id)
    return _page(request, {"seller": seller or {}, "buyer": {"country": "DE"}})


@router.post("", response_class=HTMLResponse)
def entry_post(request: Request, principal: Supplier, form: Form) -> Response:
    action = form.get("action")
    action = action if isinstance(action, str) else "calculate"
    raw = _raw_from_form(form)
    draft_id = _draft_id(form)
    t = Translator(sessions.language(request))
    if _apply_row_action(raw, action):
        return _page(request, raw, draft_id=draft_id)
    if action == "save":
        with UnitOfWork() as uow:
            try:
                saved = service.save_draft(uow, principal.user_id, raw, draft_id)
            except service.EntryError:
                raise PageError(404, "errors.not_found") from None
            saved_id = saved.id
            uow.commit()
        sessions.flash(request, "entry.saved", "success")
        return redirect(f"/entry?draft={saved_id}")
    try:
        invoice = InvoiceForm.model_validate(raw)
    except ValidationError as exc:
        return _page(request, raw, draft_id=draft_id, status_code=422, errors=_errors(exc, t))
    if action == "download":
        return Response(service.build_xml(invoice), media_type="application/xml", headers={
            "Content-Disposition": f'attachment; filename="{service.xml_filename(invoice)}"',
            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
    if action != "submit":  # calculate: the server's totals next to the page's preview
        return _page(request, raw, draft_id=draft_id, totals=invoice.totals())
    try:
        outcome = service.submit(invoice, raw, user_id=principal.user_id, draft_id=draft_id)
    except service.EntryError:
        raise PageError(404, "errors.not_found") from None
    except RulePackError:  # no rules, no check: nothing is submitted unchecked
        raise PageError(503, "entry.validator_unavailable") from None
    if not outcome.accepted:
        return _page(request, raw, draft_id=draft_id, status_code=422, totals=invoice.totals(),
                     findings=_findings(outcome.findings, t.lang))
    sessions.flash(request, "entry.submitted", "success", number=invoice.number)
    return redirect(f"/portal/invoices/{outcome.invoice_id}")


@router.get("/drafts", response_class=HTMLResponse)
def drafts_page(request: Request, principal: Supplier) -> Response:
    with UnitOfWork() as uow:
        rows = service.list_drafts(uow, principal.user_id)
    return render(request, "entry/drafts.html", drafts=[r for r in rows if r.status == DraftStatus.DRAFT.value],
                  submitted=[r for r in rows if r.status == DraftStatus.SUBMITTED.value])


@router.post("/drafts/{draft_id}/copy")
def copy_draft(request: Request, draft_id: str, principal: Supplier) -> Response:
    """Reuse a draft or a submitted invoice for the next (recurring) one."""
    if not _ID.match(draft_id):
        raise PageError(404, "errors.not_found")
    with UnitOfWork() as uow:
        try:
            copy = service.copy_draft(uow, principal.user_id, draft_id)
        except service.EntryError:
            raise PageError(404, "errors.not_found") from None
        copy_id = copy.id
        uow.commit()
    sessions.flash(request, "entry.copied", "success")
    return redirect(f"/entry?draft={copy_id}")


@router.post("/drafts/{draft_id}/delete")
def delete_draft(request: Request, draft_id: str, principal: Supplier) -> Response:
    if not _ID.match(draft_id):
        raise PageError(404, "errors.not_found")
    with UnitOfWork() as uow:
        try:
            service.delete_draft(uow, principal.user_id, draft_id)
        except service.EntryError:
            raise PageError(404, "errors.not_found") from None
        uow.commit()
    sessions.flash(request, "entry.deleted", "success")
    return redirect("/entry/drafts")
