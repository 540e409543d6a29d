"""Replies to senders through the workflow's e-mail outbox (``einvoice.workflow.notify``).

Every reply is queued once: a message handled again after a crash (between intake commit and
IMAP flag), or by two workers at once, finds its reply already in the outbox — the outbox's unique
``dedupe_key`` (kind, recipient, message id) lets one insert win. The
rejection verdict comes later (validation runs asynchronously): :func:`queue_verdicts` finds mail
invoices rejected by validation without a rejection mail yet and queues one each — idempotent, so
every poll may run it. The HTML report is attached at send time (:func:`notice_attachments`).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from einvoice.db import UnitOfWork
from einvoice.ledger.canonical import sha256_hex
from einvoice.ledger.models import Channel, Invoice, Status, utcnow
from einvoice.mail import report, texts
from einvoice.workflow import notify
from einvoice.workflow.models import Notice

log = logging.getLogger(__name__)

ACK = "mail_ack"
ANSWER = "mail_answer"
REJECTION = "mail_rejection"
VERDICT_WINDOW = timedelta(days=14)  # older rejections (e.g. before e-mail was configured) are not mailed
VERDICT_BATCH = 500


def dedupe_key(*parts: str) -> str:
    """The outbox key of a reply that must go out once (a SHA-256, so any message id fits)."""
    return sha256_hex("\x1f".join(parts))


def queue_once(*, kind: str, recipient: str, subject: str, body: str, key: str,
               invoice_id: str | None = None) -> bool:
    """Queue a reply unless one of this kind to this recipient for message ``key`` is already queued.

    The outbox's unique key decides, so two workers handling the same message (or one handling it
    again after a crash) queue it once between them."""
    if not notify.configured():
        return False
    with UnitOfWork() as uow:
        notify.queue(uow.session, invoice_id=invoice_id, kind=kind, recipient=recipient, subject=subject,
                     body=body, dedupe_key=dedupe_key(kind, recipient, key))
        try:
            uow.commit()
        except IntegrityError:
            return False  # already queued (the unit of work rolls back)
        return True


def _lang(invoice: Invoice) -> str:
    lang = str((invoice.intake_meta or {}).get("lang") or "de")
    return lang if lang in ("de", "en") else "de"


def queue_verdicts() -> int:
    """One rejection mail per mail-received invoice that validation rejected; returns how many were queued."""
    if not notify.configured():
        return 0
    mailed = select(Notice.invoice_id).where(Notice.kind == REJECTION, Notice.invoice_id.is_not(None))
    queued = 0
    with UnitOfWork() as uow:
        candidates = uow.session.scalars(
            select(Invoice).where(Invoice.channel == Channel.MAIL.value, Invoice.status == Status.REJECTED.value,
                                  Invoice.accepted.is_(False), Invoice.received_at >= utcnow() - VERDICT_WINDOW,
                                  Invoice.id.not_in(mailed))
            .order_by(Invoice.received_at.desc()).limit(VERDICT_BATCH)).all()
        for invoice in candidates:
            recipient = (invoice.intake_meta or {}).get("reply_to")
            if not recipient or not invoice.validation:
                continue  # automatic sender (never answered) or no stored verdict
            lang = _lang(invoice)
            result = report.result_from_dict(invoice.validation)
            reasons, more = report.reasons(result, lang)
            subject, body = texts.rejection(lang, filename=invoice.filename, number=invoice.invoice_number,
                                            invoice_id=invoice.id, summary=result.reason or "-",
                                            reasons=reasons, more=more)
            original = (invoice.intake_meta or {}).get("subject")
            if original:
                subject = f"{subject} (Re: {' '.join(str(original).split())[:150]})"
            notify.queue(uow.session, invoice_id=invoice.id, kind=REJECTION, recipient=str(recipient),
                         subject=subject, body=body, dedupe_key=dedupe_key(REJECTION, invoice.id))
            queued += 1
        try:
            uow.commit()
        except IntegrityError:  # another worker queued them at the same moment: its batch stands
            return 0
    if queued:
        log.info("queued %d rejection mail(s)", queued)
    return queued


def notice_attachments(kind: str, invoice_id: str) -> list[tuple[str, str, bytes]]:
    """Files mailed with a notice: the HTML validation report with a rejection (made at send time)."""
    if kind != REJECTION:
        return []
    with UnitOfWork() as uow:
        invoice = uow.session.get(Invoice, invoice_id)
        if invoice is None or not invoice.validation:
            return []
        lang = _lang(invoice)
        result = report.result_from_dict(invoice.validation)
    name = f"pruefbericht-{invoice_id}.html" if lang == "de" else f"validation-report-{invoice_id}.html"
    return [(name, "text/html", report.html_report(result, lang))]
