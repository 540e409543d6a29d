"""What portal and staff pages show of an invoice: the original, the validation report, the KoSIT
visualisation (as a sandboxed document), findings with plain-language hints, and the timeline.

The bytes and reports come from the same places as the JSON API (blob store, process validator,
``einvoice.validation.reports.render``); visibility is decided by the caller before anything here runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi.responses import Response

from einvoice.intake.routes import SAFE_ORIGINAL_TYPES, _content_disposition
from einvoice.ledger.models import Invoice, JournalEntry
from einvoice.ledger.service import payload_of
from einvoice.validation.reports.hints import hint_for
from einvoice.web.ui.i18n import Translator
from einvoice.workflow.people import SYSTEM_ACTOR

# Downloads and the visualisation are documents, never pages: no scripts, no forms, no navigation.
DOCUMENT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; frame-ancestors 'self'"
# The visualisation keeps its own origin (so it can be framed and printed) but never runs a script.
VIEW_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox allow-same-origin; "
            "frame-ancestors 'self'; form-action 'none'; base-uri 'none'")
REJECTING = ("error", "fatal")


@dataclass(frozen=True)
class FindingView:
    rule: str
    level: str
    message: str
    location: str
    hint: str | None


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    event: str
    label: str
    actor: str
    detail: str | None


def findings_of(invoice: Invoice, lang: str) -> list[FindingView]:
    """The stored findings, errors first, each with its plain-language hint where one exists."""
    raw: list[dict[str, Any]] = list((invoice.validation or {}).get("findings") or [])
    views = [FindingView(rule=str(f.get("rule") or ""), level=str(f.get("level") or ""),
                         message=str(f.get("message") or ""), location=str(f.get("location") or ""),
                         hint=hint_for(str(f.get("rule") or ""), lang)) for f in raw]
    return sorted(views, key=lambda f: (f.level not in REJECTING, f.rule))


def reason_of(invoice: Invoice) -> str | None:
    """Why a document was refused as a whole (no scenario, unreadable), if the validator said so."""
    reason = (invoice.validation or {}).get("reason")
    return str(reason) if reason else None


DETAIL_FIELDS = ("reason", "comment", "decision", "error", "unit", "stage_title", "title")


def timeline(entries: list[JournalEntry], t: Translator, names: Any, *, public: bool) -> list[TimelineEvent]:
    """Journal entries as people read them; suppliers see outcomes, not who inside did what."""
    events = []
    for entry in entries:
        if public and entry.event.startswith(("task_", "coding_", "approvals_", "stage_", "skonto_", "notice_")):
            continue
        key = f"events.{entry.event}"
        label = t(key) if t.has(key) else entry.event
        payload = payload_of(entry)
        detail = None
        for name in DETAIL_FIELDS:
            value = payload.get(name)
            if isinstance(value, str) and value:
                detail = value[:500]
                break
        if public and entry.event not in ("workflow_rejected", "rejected", "duplicate_resolved"):
            detail = None
        actor = "" if public else (t("common.system") if entry.actor == SYSTEM_ACTOR else names.actor(entry.actor))
        events.append(TimelineEvent(at=entry.at, event=entry.event, label=label, actor=actor, detail=detail))
    return events


def original_response(invoice: Invoice) -> Response:
    """The stored bytes as a download (the same headers as the API's ``/original``)."""
    from einvoice.intake.service import blobs

    data = blobs().get(invoice.sha256)
    media = invoice.content_type if invoice.content_type in SAFE_ORIGINAL_TYPES else "application/octet-stream"
    suffix = "pdf" if data.startswith(b"%PDF") else "xml"
    return Response(content=data, media_type=media, headers={
        "Content-Disposition": _content_disposition(invoice.filename, f"{invoice.id}.{suffix}"),
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": DOCUMENT_CSP,
        "Cache-Control": "private, no-store"})


def report_response(invoice: Invoice, lang: str) -> Response:
    """The validation report for people (HTML), re-created from the stored bytes, as a download."""
    from einvoice.intake.service import blobs, validator
    from einvoice.validation.reports import render

    checker = validator()
    result = checker.validate_bytes(blobs().get(invoice.sha256), invoice.filename)
    html = render(result, "html", scenarios=checker.scenarios, lang=lang)
    number = "".join(c if c.isalnum() or c in "-_" else "_" for c in (invoice.invoice_number or invoice.id))
    return Response(content=html, media_type="text/html; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="report-{number[:80]}.html"',
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": DOCUMENT_CSP,
        "Cache-Control": "private, no-store"})


def visualisation_response(invoice: Invoice, lang: str) -> Response:
    """KoSIT's visualisation with all its panels, shown inside a sandboxed frame (no scripts)."""
    from einvoice.intake.service import blobs, validator
    from einvoice.web import visualize

    try:
        html = visualize.without_scripts(
            visualize.render_invoice_html(validator().store, blobs().get(invoice.sha256), invoice.filename, lang))
    except visualize.VisualisationError as exc:
        return Response(content=f"<p>{_escape(str(exc))}</p>", media_type="text/html; charset=utf-8",
                        status_code=422, headers={"Content-Security-Policy": DOCUMENT_CSP,
                                                  "X-Content-Type-Options": "nosniff"})
    return Response(content=html, media_type="text/html; charset=utf-8", headers={
        "Content-Security-Policy": VIEW_CSP, "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store"})


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def attachment_response(invoice: Invoice, index: int) -> Response:
    """An embedded attachment (BG-24) as a download, decoded from the stored original on demand."""
    from einvoice.formats.detect import load_document
    from einvoice.formats.xml import InputError
    from einvoice.intake.service import blobs
    from einvoice.invoice.extract import ExtractionError, extract_document

    try:
        data = extract_document(load_document(blobs().get(invoice.sha256), invoice.filename))
        item = data.attachments[index]
        content = item.content()
    except (IndexError, ValueError, InputError, ExtractionError):
        return Response(status_code=404, content="no such attachment", media_type="text/plain")
    if not content:
        return Response(status_code=404, content="no embedded content", media_type="text/plain")
    return Response(content=content, media_type="application/octet-stream", headers={
        "Content-Disposition": _content_disposition(item.filename or "", f"attachment-{index + 1}"),
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": DOCUMENT_CSP,
        "Cache-Control": "private, no-store"})
