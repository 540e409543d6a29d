"""Polling one mailbox: every new message becomes intake(s), a reply, and only then a flag.

Order per message (a crash at any point neither loses nor doubles an invoice):

1. intake of every invoice attachment (``intake.service.submit``, committed; identical bytes give
   back the existing invoice), related files into the blob store;
2. the reply (receipt, or why nothing was taken) queued once in the e-mail outbox;
3. ``connectors.service.record_done`` — from now on the message is known as handled;
4. the IMAP keyword / move. A crash before it brings the message back next time; step 3 (or, if
   the crash came earlier, the identical bytes) makes that harmless.

Failures are recorded per message (``record_failure``) and retried on later polls up to the
mailbox's ``max_attempts``; after that only an operator's retry brings the message back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from einvoice.connectors import service as connectors
from einvoice.connectors.models import ItemState
from einvoice.ledger.models import Channel
from einvoice.mail import message as mime
from einvoice.mail import replies, texts
from einvoice.mail.imap import ImapMailbox
from einvoice.mail.settings import Mailbox

log = logging.getLogger(__name__)

HANDLED = frozenset({ItemState.DONE.value, ItemState.ANSWERED.value, ItemState.IGNORED.value})


@dataclass
class PollReport:
    connector: str
    processed: int = 0
    failed: int = 0
    skipped: int = 0  # failed too often; waiting for an operator
    invoice_ids: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class Handled:
    state: str
    invoice_ids: list[str]
    detail: str


def _no_hook(key: str) -> None:
    return None


class Poller:
    """Handles the messages of one mailbox; ``after_intake`` is a test seam (crash injection)."""

    def __init__(self, box: Mailbox, *, after_intake: Callable[[str], None] = _no_hook) -> None:
        self.box = box
        self.after_intake = after_intake

    # ------------------------------------------------------------------ polling

    def poll(self) -> PollReport:
        """One pass over the unprocessed messages (plus those an operator asked to retry)."""
        report = PollReport(self.box.connector)
        try:
            with ImapMailbox(self.box) as imap:
                for uid in imap.unprocessed():
                    self._one(imap, uid, report, force=False)
                for item in connectors.retry_requested(self.box.connector):
                    for uid in self._locate(imap, item.external_id):
                        self._one(imap, uid, report, force=True)
        except Exception as exc:
            report.error = f"{type(exc).__name__}: {exc}"
            log.warning("%s: poll failed: %s", self.box.connector, report.error)
        connectors.record_poll(self.box.connector, processed=report.processed, failed=report.failed,
                               error=report.error)
        return report

    def retry(self, external_id: str) -> PollReport:
        """Fetch one message by its Message-ID (also from the processed folder) and handle it again."""
        if external_id.startswith("sha256:"):
            return self.poll()  # no Message-ID to search for: the item (state retry) is taken up by a poll
        report = PollReport(self.box.connector)
        with ImapMailbox(self.box) as imap:
            uids = self._locate(imap, external_id)
            if not uids:
                raise LookupError(f"{self.box.connector}: message {external_id} is no longer in the mailbox")
            self._one(imap, uids[0], report, force=True)
        return report

    def _locate(self, imap: ImapMailbox, external_id: str) -> list[str]:
        if external_id.startswith("sha256:"):
            return []  # no Message-ID: found again by the regular poll (its state is "retry", not handled)
        found = imap.find(external_id)
        if not found and self.box.processed_folder and imap.select(self.box.processed_folder):
            found = imap.find(external_id)
            if not found:
                imap.select(self.box.folder)
        return found

    def _one(self, imap: ImapMailbox, uid: str, report: PollReport, *, force: bool) -> None:
        """One message. IMAP errors end the whole poll (recorded as the poll's error, not against a
        message); errors in handling a message are recorded against it and the next message follows."""
        size = imap.size(uid)
        if size is None:
            return  # expunged meanwhile
        oversized = size > self.box.max_message_bytes
        raw = imap.header(uid) if oversized else imap.fetch(uid)
        if raw is None:
            return
        parsed = mime.parse(raw)
        key, sender = mime.message_key(parsed, raw), mime.sender(parsed)
        try:
            if self._skip(key, force):
                imap.mark_processed(uid)  # handled before; only the flag was missing
                return
            outcome = self._too_large(parsed, key, size) if oversized else self.handle(parsed, key)
            self.after_intake(key)
            connectors.record_done(self.box.connector, key, sender=sender, invoice_ids=outcome.invoice_ids,
                                   state=outcome.state, detail=outcome.detail)
        except _Parked:
            report.skipped += 1
            return
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning("%s: message %s failed: %s", self.box.connector, key, error)
            connectors.record_failure(self.box.connector, key, sender=sender, error=error)
            report.failed += 1
            return
        imap.mark_processed(uid)  # fails: the poll fails; the item is done, so the next poll only flags it
        report.processed += 1
        report.invoice_ids.extend(outcome.invoice_ids)

    def _skip(self, key: str, force: bool) -> bool:
        """True when the message was handled before (flag it only) — or failed too often (leave it)."""
        known = connectors.item(self.box.connector, key)
        if known is None or force:
            return False
        if known.state in HANDLED:
            return True
        if known.state == ItemState.FAILED.value and known.attempts >= self.box.max_attempts:
            raise _Parked(key)
        return False

    # ------------------------------------------------------------------ one message

    def handle(self, parsed: EmailMessage, key: str) -> Handled:
        """Intake and reply for one parsed message; raises when the intake failed (nothing flagged)."""
        box = self.box
        reply_to = mime.reply_address(parsed)
        subject = mime.header(parsed, "Subject")
        parts = mime.attachments(parsed)
        if len(parts) > box.max_attachments:
            self._reply(reply_to, key, *texts.too_many(box.lang, subject, len(parts), box.max_attachments, key))
            return self._answered(reply_to, f"{len(parts)} attachments, limit {box.max_attachments}")
        from einvoice.config import get_settings

        sorted_parts = mime.sort_parts(parts, max_bytes=get_settings().max_document_bytes,
                                       zip_max_members=box.zip_max_members, zip_max_bytes=box.zip_max_bytes)
        if not sorted_parts.invoices:
            self._reply(reply_to, key, *texts.no_invoice(box.lang, subject, [p.name for p in parts],
                                                         sorted_parts.problems, key))
            return self._answered(reply_to, "no invoice attachment" + "".join(
                f"; {p}" for p in sorted_parts.problems))
        received = self._intake(parsed, key, reply_to, sorted_parts)
        ids = list(dict.fromkeys(r.invoice_id for r in received))
        if reply_to:
            subject_ack, body = texts.acknowledgement(box.lang, subject, received, sorted_parts.problems, key)
            replies.queue_once(kind=replies.ACK, recipient=reply_to, subject=subject_ack, body=body, key=key,
                               invoice_id=ids[0])
        detail = f"{len(ids)} invoice(s)" + "".join(f"; {p}" for p in sorted_parts.problems)
        return Handled(ItemState.DONE.value, ids, detail)

    def _intake(self, parsed: EmailMessage, key: str, reply_to: str | None,
                sorted_parts: mime.Sorted) -> list[texts.Received]:
        from einvoice.intake import service as intake

        related = []
        for part in sorted_parts.related:
            sha256 = intake.blobs().put(part.data)
            related.append({"name": part.name, "sha256": sha256, "content_type": part.content_type,
                            "size": len(part.data), **({"container": part.container} if part.container else {})})
        sender = mime.sender(parsed) or "unknown"
        base: dict[str, Any] = {
            "mailbox": self.box.name,
            "message_id": key,
            "from": mime.header(parsed, "From")[:500],
            "reply_to": reply_to,
            "subject": mime.header(parsed, "Subject")[:500],
            "date": mime.header(parsed, "Date")[:100],
            "lang": self.box.lang,
            "attachments": related,
        }
        if self.box.route_leitweg_id:
            base["route_leitweg_id"] = self.box.route_leitweg_id
        received = []
        for part in sorted_parts.invoices:
            meta = {**base, **({"container": part.container} if part.container else {}),
                    "invoices_in_message": len(sorted_parts.invoices)}
            content_type = "application/pdf" if part.data[:5] == b"%PDF-" else "application/xml"
            outcome = intake.submit(data=part.data, channel=Channel.MAIL.value, sender=sender[:200],
                                    filename=part.name, content_type=content_type, meta=meta)
            received.append(texts.Received(part.name, outcome.invoice_id, again=not outcome.created))
        return received

    def _too_large(self, parsed: EmailMessage, key: str, size: int) -> Handled:
        reply_to = mime.reply_address(parsed)
        subject = mime.header(parsed, "Subject")
        self._reply(reply_to, key, *texts.too_large(self.box.lang, subject, size, self.box.max_message_bytes, key))
        return self._answered(reply_to, f"message of {size} bytes, limit {self.box.max_message_bytes}")

    def _reply(self, reply_to: str | None, key: str, subject: str, body: str) -> None:
        if reply_to:
            replies.queue_once(kind=replies.ANSWER, recipient=reply_to, subject=subject, body=body, key=key)

    @staticmethod
    def _answered(reply_to: str | None, detail: str) -> Handled:
        if reply_to:
            return Handled(ItemState.ANSWERED.value, [], detail)
        return Handled(ItemState.IGNORED.value, [], detail + " (automatic message: not answered)")


class _Parked(Exception):
    """The message failed ``max_attempts`` times: left alone until an operator asks for a retry."""


__all__ = ["Handled", "PollReport", "Poller"]
