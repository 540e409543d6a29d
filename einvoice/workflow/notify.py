"""E-mail notices: rejection notices to suppliers, Skonto reminders and escalations to staff.

Notices are written to an outbox (``workflow_notices``) in the transaction that decides, and sent
by :func:`deliver_pending` after the commit — by the request that decided (at once) and by the
scheduled deadline job (retries with back-off). A rolled-back decision therefore never sends mail;
a crash between sending and marking may send a notice twice (at least once, never silently lost).
Nothing is queued while ``EINVOICE_SMTP_URL`` is unset.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import UTC, timedelta
from decimal import Decimal
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from einvoice.config import get_settings
from einvoice.db import UnitOfWork
from einvoice.ledger import journal
from einvoice.ledger.models import Invoice, utcnow
from einvoice.workflow.models import Notice

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
SYSTEM_ACTOR = "system"


class SmtpUrlError(ValueError):
    pass


def configured() -> bool:
    return bool(get_settings().smtp_url)


def queue(session: Session, *, invoice_id: str | None, kind: str, recipient: str, subject: str,
          body: str, dedupe_key: str | None = None) -> Notice | None:
    """Add a notice to the outbox of this transaction (None when e-mail is not configured).

    ``dedupe_key`` (unique in the outbox) makes a second notice with the same key fail at commit."""
    if not configured():
        return None
    notice = Notice(invoice_id=invoice_id, kind=kind, recipient=recipient, subject=subject[:500], body=body,
                    created_at=utcnow(), next_attempt_at=utcnow(), attempts=0, dedupe_key=dedupe_key)
    session.add(notice)
    return notice


# ------------------------------------------------------------------ addresses and texts


def supplier_address(session: Session, invoice: Invoice) -> str | None:
    """Where the supplier hears from us: the uploading supplier account's e-mail, else (received by
    e-mail) the message's sender, else the seller contact e-mail (BT-43) of the invoice, else the
    seller's electronic address if it is e-mail (EM)."""
    from einvoice.accounts.models import User

    user = session.get(User, invoice.sender)
    if user is not None and user.role == "supplier" and user.email:
        return user.email
    if invoice.channel == "mail" and (invoice.intake_meta or {}).get("reply_to"):
        return str((invoice.intake_meta or {})["reply_to"])  # the sender of the message (never an auto-mailer)
    seller = (invoice.data or {}).get("seller") or {}
    if seller.get("contact_email"):
        return str(seller["contact_email"])
    address = seller.get("electronic_address") or {}
    if isinstance(address, dict) and (address.get("scheme") or "").upper() == "EM" and address.get("value"):
        return str(address["value"])
    return None


def _amount_text(invoice: Invoice) -> str:
    if invoice.gross_amount is None:
        return "?"
    return f"{invoice.gross_amount.quantize(Decimal('0.01'))} {invoice.currency or ''}".strip()


def rejection_text(invoice: Invoice, reason: str) -> tuple[str, str]:
    """Subject and body in German and English."""
    number = invoice.invoice_number or invoice.id
    issued = invoice.issue_date.strftime("%d.%m.%Y") if invoice.issue_date else "?"
    issued_en = invoice.issue_date.isoformat() if invoice.issue_date else "?"
    buyer = ((invoice.data or {}).get("buyer") or {}).get("name") or "uns"
    buyer_en = ((invoice.data or {}).get("buyer") or {}).get("name") or "us"
    amount = _amount_text(invoice)
    subject = f"Rechnung {number} abgelehnt / Invoice {number} rejected"
    body = (
        "Guten Tag,\n\n"
        f"Ihre Rechnung {number} vom {issued} über {amount} an {buyer} wurde abgelehnt "
        "und wird nicht bezahlt.\n\n"
        f"Grund: {reason}\n\n"
        "Bitte stellen Sie bei Bedarf eine korrigierte Rechnung neu aus.\n"
        f"Referenz: {invoice.id}\n\n"
        "-- English --\n\n"
        "Hello,\n\n"
        f"your invoice {number} of {issued_en} for {amount} to {buyer_en} has been rejected "
        "and will not be paid.\n\n"
        f"Reason: {reason}\n\n"
        "If appropriate, please issue a corrected invoice.\n"
        f"Reference: {invoice.id}\n"
    )
    return subject, body


def reminder_text(invoice: Invoice, stage_title: str, skonto_until: str, skonto_amount: str) -> tuple[str, str]:
    number = invoice.invoice_number or invoice.id
    subject = f"Skonto-Frist läuft ab / Cash discount expires: {number}"
    body = (f"Rechnung {number} ({invoice.seller_name or '?'}) wartet auf: {stage_title}.\n"
            f"Skonto von {skonto_amount} nur bei Zahlung bis {skonto_until}.\n\n"
            f"Invoice {number} ({invoice.seller_name or '?'}) waits for: {stage_title}.\n"
            f"A cash discount of {skonto_amount} applies only if paid by {skonto_until}.\n")
    return subject, body


def escalation_text(invoice: Invoice, stage_title: str, due: str, holder: str) -> tuple[str, str]:
    number = invoice.invoice_number or invoice.id
    subject = f"Überfällig / Overdue: Rechnung {number}"
    body = (f"Die Rechnung {number} ({invoice.seller_name or '?'}) war am {due} fällig und wartet noch auf: "
            f"{stage_title} ({holder}).\n\n"
            f"Invoice {number} ({invoice.seller_name or '?'}) was due on {due} and still waits for: "
            f"{stage_title} ({holder}).\n")
    return subject, body


# ------------------------------------------------------------------ sending


def send_mail(url: str, sender: str, recipient: str, subject: str, body: str, *, timeout: float = 15.0,
              message_id: str | None = None, attachments: list[tuple[str, str, bytes]] | None = None) -> None:
    """Send one plain-text UTF-8 message over ``smtp://``, ``smtp+starttls://`` or ``smtps://``.

    ``attachments``: (file name, content type, bytes), e.g. the HTML validation report of a rejection."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps", "smtp+starttls") or not parts.hostname:
        raise SmtpUrlError(f"EINVOICE_SMTP_URL must look like smtp://host:port or smtps://host:port, not {url!r}")
    port = parts.port or {"smtp": 25, "smtps": 465, "smtp+starttls": 587}[scheme]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id or make_msgid(domain="einvoice")
    message.set_content(body, charset="utf-8")
    for name, content_type, data in attachments or []:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream", filename=name)
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if scheme == "smtps":
        client = smtplib.SMTP_SSL(parts.hostname, port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(parts.hostname, port, timeout=timeout)
    with client:
        if scheme == "smtp+starttls":
            client.starttls(context=context)
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)


def _attachments(kind: str, invoice_id: str | None) -> list[tuple[str, str, bytes]]:
    """Files made at send time for a notice: the e-mail connector attaches the HTML validation report."""
    if kind.startswith("mail_") and invoice_id:
        from einvoice.mail.replies import notice_attachments

        return notice_attachments(kind, invoice_id)
    return []


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def deliver_pending(factory: sessionmaker[Session] | None = None, *, limit: int = 100) -> int:
    """Send due notices; returns how many were sent. Never raises for a single failed message."""
    settings = get_settings()
    if not settings.smtp_url:
        return 0
    now = utcnow()
    with UnitOfWork(factory) as uow:
        ids = list(uow.session.scalars(
            select(Notice.id).where(Notice.sent_at.is_(None), Notice.attempts < MAX_ATTEMPTS,
                                    Notice.next_attempt_at <= now)
            .order_by(Notice.created_at).limit(limit)))
    sent = 0
    for notice_id in ids:
        claimed = _claim(factory, notice_id)
        if claimed is None:
            continue
        try:
            send_mail(settings.smtp_url, settings.smtp_from, claimed["recipient"], claimed["subject"],
                      claimed["body"], message_id=f"<{notice_id}@einvoice>",
                      attachments=_attachments(claimed["kind"], claimed["invoice_id"]))
        except Exception as exc:
            log.warning("notice %s to %s not sent (attempt %d): %s", notice_id, claimed["recipient"],
                        claimed["attempts"], exc)
            _record_failure(factory, notice_id, f"{type(exc).__name__}: {exc}")
            continue
        _record_sent(factory, notice_id)
        sent += 1
    return sent


def _claim(factory: sessionmaker[Session] | None, notice_id: str) -> dict[str, Any] | None:
    """Take the notice for one attempt (committed before sending, so parallel senders skip it)."""
    with UnitOfWork(factory) as uow:
        notice = uow.session.execute(select(Notice).where(Notice.id == notice_id).with_for_update()
                                     .execution_options(populate_existing=True)).scalar_one_or_none()
        now = utcnow()
        if notice is None or notice.sent_at is not None or _aware(notice.next_attempt_at) > now:
            return None
        notice.attempts += 1
        notice.next_attempt_at = now + _backoff(notice.attempts)
        claimed = {"recipient": notice.recipient, "subject": notice.subject, "body": notice.body,
                   "attempts": notice.attempts, "kind": notice.kind, "invoice_id": notice.invoice_id}
        uow.commit()
        return claimed


def _record_failure(factory: sessionmaker[Session] | None, notice_id: str, error: str) -> None:
    with UnitOfWork(factory) as uow:
        notice = uow.session.get(Notice, notice_id)
        if notice is not None:
            notice.last_error = error[:2000]
            uow.commit()


def _record_sent(factory: sessionmaker[Session] | None, notice_id: str) -> None:
    with UnitOfWork(factory) as uow:
        journal.lock_head(uow.session)
        notice = uow.session.get(Notice, notice_id)
        if notice is None or notice.sent_at is not None:
            return
        notice.sent_at = utcnow()
        notice.last_error = None
        if notice.invoice_id:
            journal.append(uow.session, event="notice_sent", actor=SYSTEM_ACTOR, invoice_id=notice.invoice_id,
                           payload={"kind": notice.kind, "recipient": notice.recipient, "subject": notice.subject,
                                    "attempts": notice.attempts})
        uow.commit()


def _aware(value: Any) -> Any:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
