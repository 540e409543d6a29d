"""Receiving and processing documents: the only code that changes ledger rows.

Persist first, acknowledge second, process idempotently:

* ``receive`` stores the bytes durably in the blob store, then adds the ledger row and its
  ``received`` journal entry to the caller's unit of work; the caller commits, and only then
  acknowledges. Identical bytes — from any channel — give back the existing invoice.
* ``process`` is the job body (validation, extraction, duplicate check). Run twice, or after a
  crash, it ends in the same state: it only acts on invoices still ``received``/``validating``
  and re-checks that under the lock before writing the verdict.

Every state change is journalled (``einvoice.ledger.journal.append``) in the same transaction as
the change, and every write path locks the journal head before the invoice row (one lock order).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from einvoice.db import UnitOfWork
from einvoice.ledger import journal
from einvoice.ledger.blobs import BlobStore
from einvoice.ledger.canonical import amount, json_safe
from einvoice.ledger.models import Channel, Invoice, JournalEntry, Status, utcnow
from einvoice.workflow import models as _workflow_tables  # noqa: F401  (their tables on the metadata)

if TYPE_CHECKING:
    from einvoice.invoice.model import InvoiceData
    from einvoice.validation.model import ValidationResult

log = logging.getLogger(__name__)

SYSTEM_ACTOR = "system"
PENDING = (Status.RECEIVED.value, Status.VALIDATING.value)
RECEIVE_ATTEMPTS = 3


class Validator(Protocol):
    """What ``process`` needs of :class:`einvoice.validation.engine.Validator`."""

    def validate_bytes(self, data: bytes, filename: str = "") -> ValidationResult: ...


class LedgerError(ValueError):
    """A request the ledger refuses (unknown invoice, impossible transition, unusable input)."""


class InvoiceNotFound(LedgerError):
    pass


class InvalidTransition(LedgerError):
    pass


class DocumentRefused(LedgerError):
    """Nothing was stored: the upload is empty, too large or names an unknown channel."""


# ------------------------------------------------------------------ receiving


@dataclass
class ReceiveOutcome:
    invoice_id: str
    status: str
    duplicate_of: str | None
    created: bool  # False: identical bytes were already in the ledger


def receive(uow: UnitOfWork, blobs: BlobStore, *, data: bytes, channel: str, sender: str,
            filename: str = "", content_type: str | None = None,
            meta: dict[str, Any] | None = None) -> ReceiveOutcome:
    """Record a received document in ``uow`` (the caller commits, then acknowledges).

    The blob is durable before the row exists, so a committed row always has its bytes. With
    identical bytes already in the ledger, the existing invoice is returned and the re-delivery
    journalled (``received_again``). Two concurrent uploads of the same new bytes race on the
    unique ``sha256`` column: the loser's flush raises ``IntegrityError``; roll back and call
    again (it then finds the winner's row) — :func:`receive_committed` does exactly that.

    ``meta`` is what the channel knows about the arrival (mail message id, Peppol participant ids);
    it is kept on a new invoice and journalled with either event. ``meta["route_leitweg_id"]``
    (a Peppol receiver ``0204:<Leitweg-ID>``) decides the receiving unit instead of BT-10.
    """
    meta = json_safe(meta) if meta else None
    _check_input(data, channel)
    session = uow.session
    sha256 = blobs.put(data)
    existing = session.execute(select(Invoice).where(Invoice.sha256 == sha256)).scalar_one_or_none()
    if existing is not None:
        journal.append(session, event="received_again", actor=sender, invoice_id=existing.id,
                       payload={"channel": channel, "sender": sender, "filename": filename,
                                "content_type": content_type, **({"meta": meta} if meta else {})})
        return ReceiveOutcome(existing.id, existing.status, existing.duplicate_of, created=False)

    invoice = Invoice(received_at=utcnow(), channel=channel, sender=sender, filename=filename,
                      content_type=content_type, sha256=sha256, size=len(data),
                      status=Status.RECEIVED.value, attempts=0, intake_meta=meta)
    session.add(invoice)
    session.flush()  # the unique sha256 decides concurrent identical uploads here
    journal.append(session, event="received", actor=sender, invoice_id=invoice.id, payload={
        "sha256": sha256, "size": len(data), "channel": channel, "sender": sender,
        "filename": filename, "content_type": content_type, **({"meta": meta} if meta else {})})
    return ReceiveOutcome(invoice.id, invoice.status, None, created=True)


def receive_committed(blobs: BlobStore, *, data: bytes, channel: str, sender: str, filename: str = "",
                      content_type: str | None = None, meta: dict[str, Any] | None = None,
                      factory: sessionmaker[Session] | None = None) -> ReceiveOutcome:
    """Receive in its own unit of work and commit: when this returns, the document is durable.

    A concurrent upload of the same bytes that commits first makes our insert fail; the retry
    then finds that row and answers with it (``created=False``), so the sender gets one invoice.
    """
    for attempt in range(1, RECEIVE_ATTEMPTS + 1):
        try:
            with UnitOfWork(factory) as uow:
                outcome = receive(uow, blobs, data=data, channel=channel, sender=sender,
                                  filename=filename, content_type=content_type, meta=meta)
                uow.commit()
                return outcome
        except IntegrityError:
            if attempt == RECEIVE_ATTEMPTS:
                raise
            log.info("concurrent upload of the same document; retrying (attempt %d)", attempt + 1)
    raise AssertionError("unreachable")


def _check_input(data: bytes, channel: str) -> None:
    from einvoice.config import get_settings

    if not data:
        raise DocumentRefused("the upload is empty")
    limit = get_settings().max_document_bytes
    if len(data) > limit:
        raise DocumentRefused(f"the upload has {len(data)} bytes; at most {limit} are accepted")
    if channel not in {c.value for c in Channel}:
        raise DocumentRefused(f"unknown channel {channel!r}")


# ------------------------------------------------------------------ processing


def process(uow: UnitOfWork, blobs: BlobStore, validator: Validator, invoice_id: str) -> str:
    """Validate, extract and classify one invoice; returns the status it ends in.

    Two transactions: the ``validating`` mark is committed here (so a crash leaves visible, stale
    work for the sweeper, and no lock is held while validating); the verdict is left in ``uow``
    for the caller to commit. Any invoice not ``received``/``validating`` is left unchanged.
    """
    session = uow.session
    invoice = _locked(session, invoice_id)
    if invoice.status not in PENDING:
        return invoice.status
    invoice.status = Status.VALIDATING.value
    invoice.attempts = (invoice.attempts or 0) + 1
    journal.append(session, event="validating", actor=SYSTEM_ACTOR, invoice_id=invoice.id,
                   payload={"attempt": invoice.attempts})
    filename, sha256 = invoice.filename, invoice.sha256
    uow.commit()

    data = blobs.get(sha256)  # BlobMissing/BlobCorrupt: the job fails and retries, never guesses
    result = validator.validate_bytes(data, filename)
    extracted, extraction_error = _extract(data, filename)

    invoice = _locked(session, invoice_id)
    if invoice.status not in PENDING:  # another worker finished it meanwhile
        return invoice.status
    _apply_validation(invoice, result)
    _apply_extraction(session, invoice, extracted)
    extra = {"extraction_error": extraction_error} if extraction_error else {}
    if not result.accepted:
        rules = sorted({f.rule for f in result.findings if f.level.rejects})
        invoice.status = Status.REJECTED.value
        journal.append(session, event="rejected", actor=SYSTEM_ACTOR, invoice_id=invoice.id, payload={
            "reason": result.reason, "rules": rules, "scenario": result.scenario, **extra})
        return invoice.status
    original = _find_duplicate(session, invoice)
    if original is not None:
        invoice.status = Status.DUPLICATE_SUSPECTED.value
        invoice.duplicate_of = original.id
        journal.append(session, event="duplicate_suspected", actor=SYSTEM_ACTOR, invoice_id=invoice.id,
                       payload={"duplicate_of": original.id, "seller_key": invoice.seller_key,
                                "invoice_number": invoice.invoice_number, **extra})
        return invoice.status
    invoice.status = Status.ACCEPTED.value
    journal.append(session, event="accepted", actor=SYSTEM_ACTOR, invoice_id=invoice.id, payload={
        "scenario": result.scenario, "invoice_number": invoice.invoice_number,
        "amount_due": invoice.amount_due, "currency": invoice.currency, **extra})
    _start_workflow(uow, invoice)
    return invoice.status


def mark_failed(uow: UnitOfWork, invoice_id: str, error: str) -> None:
    """The job gave up after its retries: make that visible (status ``failed``) and journal it."""
    invoice = _locked(uow.session, invoice_id)
    if invoice.status not in PENDING:
        return  # already decided; a late failure report changes nothing
    invoice.status = Status.FAILED.value
    invoice.last_error = error
    journal.append(uow.session, event="failed", actor=SYSTEM_ACTOR, invoice_id=invoice.id,
                   payload={"error": error[:4000]})


DECISIONS = {"not_duplicate": Status.ACCEPTED.value, "duplicate": Status.REJECTED.value}


def resolve_duplicate(uow: UnitOfWork, invoice_id: str, *, decision: str, actor: str,
                      comment: str = "") -> str:
    """A person's decision on a suspected duplicate: ``not_duplicate`` → accepted, else rejected."""
    if decision not in DECISIONS:
        raise LedgerError(f"decision must be one of {sorted(DECISIONS)}, not {decision!r}")
    invoice = _locked(uow.session, invoice_id)
    if invoice.status != Status.DUPLICATE_SUSPECTED.value:
        raise InvalidTransition(f"invoice {invoice_id} is {invoice.status}, not a suspected duplicate")
    suspected_of = invoice.duplicate_of
    invoice.status = DECISIONS[decision]
    if decision == "not_duplicate":
        invoice.duplicate_of = None
    journal.append(uow.session, event="duplicate_resolved", actor=actor, invoice_id=invoice.id, payload={
        "decision": decision, "comment": comment, "suspected_duplicate_of": suspected_of,
        "status": invoice.status})
    if invoice.status == Status.ACCEPTED.value:
        _start_workflow(uow, invoice)
    return invoice.status


def _start_workflow(uow: UnitOfWork, invoice: Invoice) -> None:
    """Hook: an accepted invoice enters its approval workflow in the same transaction."""
    from einvoice.workflow.service import start_for_accepted

    start_for_accepted(uow, invoice)


def _locked(session: Session, invoice_id: str) -> Invoice:
    """The invoice, fresh from the database and locked (after the journal head: one lock order)."""
    journal.lock_head(session)
    invoice = session.execute(
        select(Invoice).where(Invoice.id == invoice_id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one_or_none()
    if invoice is None:
        raise InvoiceNotFound(f"invoice {invoice_id} does not exist")
    return invoice


def _apply_validation(invoice: Invoice, result: ValidationResult) -> None:
    invoice.container = result.container
    invoice.syntax = result.syntax
    invoice.scenario = result.scenario
    invoice.profile = result.profile
    invoice.accepted = result.accepted
    invoice.validation = json_safe(result.to_dict())
    invoice.validated_at = utcnow()


def _extract(data: bytes, filename: str) -> tuple[InvoiceData | None, str | None]:
    """Business terms of the document, or the reason they could not be read (never raises)."""
    from einvoice.formats.detect import load_document
    from einvoice.formats.xml import InputError
    from einvoice.invoice.extract import ExtractionError, extract_document

    try:
        return extract_document(load_document(data, filename)), None
    except (InputError, ExtractionError) as exc:
        return None, exc.message
    except Exception as exc:  # extraction must never stop the ledger from recording a verdict
        log.exception("extraction failed")
        return None, f"{type(exc).__name__}: {exc}"


def _apply_extraction(session: Session, invoice: Invoice, data: InvoiceData | None) -> None:
    if data is None:
        return
    invoice.invoice_number = _clip(data.number, 200)
    invoice.issue_date = data.issue_date
    invoice.seller_name = _clip(data.seller.name, 500)
    invoice.seller_key = _clip(seller_key(data.seller.vat_id, data.seller.name), 200)
    invoice.buyer_reference = _clip(data.buyer_reference, 200)
    invoice.currency = data.currency if data.currency and len(data.currency) <= 3 else None
    invoice.gross_amount = _amount(data.totals.gross)
    invoice.amount_due = _amount(data.totals.amount_due)
    invoice.due_date = data.due_date
    invoice.data = json_safe(data.to_dict())
    routed = (invoice.intake_meta or {}).get("route_leitweg_id")
    invoice.unit_id = _unit_for(session, routed if routed else invoice.buyer_reference)


_VAT_NOISE = re.compile(r"[\s.\-/]")


def seller_key(vat_id: str | None, name: str | None) -> str | None:
    """Who the seller is, for duplicate detection: the VAT id without spacing, else the name."""
    if vat_id and (key := _VAT_NOISE.sub("", vat_id).upper()):
        return key
    if name and (key := " ".join(name.split()).casefold()):
        return key
    return None


def _amount(value: Decimal | None) -> Decimal | None:
    """Amounts the column can hold exactly (19 digits, 4 decimals); others stay in ``data`` only."""
    if value is None or not value.is_finite():
        return None
    quantized = amount(value)
    return quantized if quantized is not None and abs(quantized) < Decimal(10) ** 15 else None


def _clip(value: str | None, size: int) -> str | None:
    value = value.strip() if value else None
    return value[:size] if value else None


def _unit_for(session: Session, buyer_reference: str | None) -> str | None:
    from einvoice.accounts.models import Unit

    if not buyer_reference:
        return None
    return session.execute(
        select(Unit.id).where(func.lower(Unit.leitweg_id) == buyer_reference.lower())).scalar()


def _find_duplicate(session: Session, invoice: Invoice) -> Invoice | None:
    """The earliest other invoice with the same seller and number and the same buyer reference or
    issue date; rejected invoices do not count (they never entered the normal flow)."""
    if not invoice.seller_key or not invoice.invoice_number:
        return None
    same_buyer_or_date = [cond for cond in (
        Invoice.buyer_reference == invoice.buyer_reference if invoice.buyer_reference else None,
        Invoice.issue_date == invoice.issue_date if invoice.issue_date else None) if cond is not None]
    if not same_buyer_or_date:
        return None
    stmt = (select(Invoice)
            .where(Invoice.id != invoice.id, Invoice.sha256 != invoice.sha256,
                   Invoice.seller_key == invoice.seller_key,
                   Invoice.invoice_number == invoice.invoice_number,
                   Invoice.status != Status.REJECTED.value,
                   or_(*same_buyer_or_date))
            .order_by(Invoice.received_at, Invoice.id).limit(1))
    return session.execute(stmt).scalar_one_or_none()


# ------------------------------------------------------------------ reading


@dataclass
class Visibility:
    """Who may see which invoices; nothing set means nothing visible (fail closed)."""

    everything: bool = False  # admin
    sender: str | None = None  # supplier/connector: what they sent
    unit_ids: frozenset[str] = frozenset()  # staff: the invoices of their units


@dataclass
class InvoiceFilter:
    status: str | None = None
    seller: str | None = None  # substring of seller name or key, case-insensitive
    number: str | None = None  # the invoice number exactly
    received_from: datetime | None = None  # inclusive
    received_to: datetime | None = None  # inclusive
    issued_from: date | None = None  # inclusive
    issued_to: date | None = None  # inclusive


def _visible(visibility: Visibility) -> ColumnElement[bool]:
    if visibility.everything:
        return true()
    allowed: list[ColumnElement[bool]] = []
    if visibility.sender is not None:
        allowed.append(Invoice.sender == visibility.sender)
    if visibility.unit_ids:
        allowed.append(Invoice.unit_id.in_(sorted(visibility.unit_ids)))
    return or_(*allowed) if allowed else false()


def get(uow: UnitOfWork, invoice_id: str) -> Invoice | None:
    return uow.session.get(Invoice, invoice_id)


def get_visible(uow: UnitOfWork, invoice_id: str, visibility: Visibility) -> Invoice | None:
    """The invoice if it exists and ``visibility`` allows it; None otherwise (the API answers 404)."""
    return uow.session.execute(
        select(Invoice).where(Invoice.id == invoice_id, _visible(visibility))).scalar_one_or_none()


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search(uow: UnitOfWork, filt: InvoiceFilter, visibility: Visibility, *, cursor: str | None = None,
           limit: int = 50) -> tuple[list[Invoice], str | None]:
    """Visible invoices matching ``filt``, newest first; the cursor continues after the last one.

    Newest means latest received — or, when an issue-date range is asked for, latest issued (then
    received): the order a person searching by issue date expects, and the one the ``issue_date``
    index delivers (newest-received first made PostgreSQL walk the whole received-at index
    backwards past every invoice outside the range: 0.3–0.7 s at 1M invoices).
    """
    limit = max(1, min(limit, 500))
    conditions: list[ColumnElement[bool]] = [_visible(visibility)]
    if filt.status:
        conditions.append(Invoice.status == filt.status)
    if filt.seller:
        pattern = _like(filt.seller.strip())
        conditions.append(or_(Invoice.seller_name.ilike(pattern, escape="\\"),
                              Invoice.seller_key.ilike(pattern, escape="\\")))
    if filt.number:
        conditions.append(Invoice.invoice_number == filt.number.strip())
    if filt.received_from:
        conditions.append(Invoice.received_at >= _utc(filt.received_from))
    if filt.received_to:
        conditions.append(Invoice.received_at <= _utc(filt.received_to))
    if filt.issued_from:
        conditions.append(Invoice.issue_date >= filt.issued_from)
    if filt.issued_to:
        conditions.append(Invoice.issue_date <= filt.issued_to)
    by_issue_date = filt.issued_from is not None or filt.issued_to is not None
    if cursor:
        position = decode_cursor(cursor)
        if (position.issue_date is not None) != by_issue_date:
            raise LedgerError("this cursor belongs to a search with other filters")
        after_received = or_(Invoice.received_at < position.received_at,
                             and_(Invoice.received_at == position.received_at, Invoice.id < position.id))
        conditions.append(after_received if position.issue_date is None else or_(
            Invoice.issue_date < position.issue_date, and_(Invoice.issue_date == position.issue_date, after_received)))
    order: list[ColumnElement[Any]] = [Invoice.received_at.desc(), Invoice.id.desc()]
    if by_issue_date:
        order.insert(0, Invoice.issue_date.desc())
    rows = list(uow.session.execute(select(Invoice).where(*conditions).order_by(*order).limit(limit + 1)).scalars())
    page = rows[:limit]
    more = len(rows) > limit
    return page, (encode_cursor(page[-1], by_issue_date=by_issue_date) if more and page else None)


@dataclass(frozen=True)
class Position:
    """Where a search page ended: (issue date when ordered by it,) received time, id."""

    issue_date: date | None
    received_at: datetime
    id: str


def encode_cursor(invoice: Invoice, *, by_issue_date: bool = False) -> str:
    key: list[str] = [_utc(invoice.received_at).isoformat(), invoice.id]
    if by_issue_date and invoice.issue_date is not None:
        key.insert(0, invoice.issue_date.isoformat())
    raw = json.dumps(key, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    """Where the previous page ended; ``LedgerError`` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
        if not isinstance(key, list) or len(key) not in (2, 3):
            raise ValueError("not a cursor")
        issue_date = date.fromisoformat(key[0]) if len(key) == 3 else None
        at_text, invoice_id = key[-2:]
        return Position(issue_date, _utc(datetime.fromisoformat(at_text)), str(invoice_id))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise LedgerError(f"invalid cursor: {cursor!r}") from exc


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def history(uow: UnitOfWork, invoice_id: str) -> list[JournalEntry]:
    """The invoice's journal entries in order."""
    return list(uow.session.execute(
        select(JournalEntry).where(JournalEntry.invoice_id == invoice_id)
        .order_by(JournalEntry.seq)).scalars())


def stale_work(uow: UnitOfWork, *, older_than: timedelta) -> list[str]:
    """Invoices still ``received``/``validating`` with no change for ``older_than``: lost jobs."""
    cutoff = utcnow() - older_than
    return list(uow.session.execute(
        select(Invoice.id).where(Invoice.status.in_(PENDING), Invoice.updated_at < cutoff)
        .order_by(Invoice.updated_at)).scalars())


def payload_of(entry: JournalEntry) -> dict[str, Any]:
    """An entry's payload without the internal row digests (for display)."""
    return {k: v for k, v in entry.payload.items() if k not in journal.INTERNAL_KEYS}
