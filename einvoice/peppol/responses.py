"""Turn journal events of Peppol-received invoices into Invoice Responses (delivered by :mod:`.delivery`).

No hook in the ledger or workflow code: the journal already records every event (received,
accepted, rejected, workflow_approved/rejected, exported, paid). :func:`emit_pending` reads the
new journal entries of every open exchange and writes one response per (invoice, code) — the
unique constraint makes it exactly once, even with several workers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from einvoice.accounts.models import Unit
from einvoice.db import UnitOfWork
from einvoice.ledger.models import Invoice, JournalEntry, utcnow
from einvoice.peppol.ids import ParticipantId, ParticipantIdError, parse_participant
from einvoice.peppol.models import PeppolExchange, PeppolResponse
from einvoice.peppol.response import InvoiceResponse, Party, Reason, ResponseCode, wrapped

log = logging.getLogger(__name__)

EVENT_CODES: dict[str, ResponseCode] = {
    "accepted": ResponseCode.IN_PROCESS,
    "workflow_approved": ResponseCode.ACCEPTED,
    "exported": ResponseCode.ACCEPTED,
    "rejected": ResponseCode.REJECTED,
    "workflow_rejected": ResponseCode.REJECTED,
    "paid": ResponseCode.PAID,
}
FINAL = frozenset({ResponseCode.REJECTED.value, ResponseCode.PAID.value})
MAX_REASON_TEXT = 1000
PENDING = frozenset({"received", "validating"})


@dataclass(frozen=True)
class Due:
    code: ResponseCode
    seq: int | None
    event: str
    payload: dict[str, Any]


def due_responses(events: Sequence[tuple[int, str, dict[str, Any]]]) -> list[Due]:
    """The responses a journal calls for, in order: AB first, nothing after RE or PD, each code once."""
    due = [Due(ResponseCode.ACKNOWLEDGED, events[0][0] if events else None, "received", {})]
    seen = {ResponseCode.ACKNOWLEDGED}
    for seq, event, payload in events:
        code = code_for(event, payload)
        if code is None or code in seen:
            continue
        if code in (ResponseCode.ACCEPTED, ResponseCode.PAID) and ResponseCode.IN_PROCESS not in seen:
            due.append(Due(ResponseCode.IN_PROCESS, seq, event, {}))  # e.g. approved without an "accepted" seen
            seen.add(ResponseCode.IN_PROCESS)
        due.append(Due(code, seq, event, payload))
        seen.add(code)
        if code.value in FINAL:
            break
    return due


def code_for(event: str, payload: dict[str, Any]) -> ResponseCode | None:
    """The response a journal event calls for; a resolved duplicate suspicion answers either way."""
    if event == "duplicate_resolved":
        return ResponseCode.IN_PROCESS if payload.get("decision") == "not_duplicate" else ResponseCode.REJECTED
    return EVENT_CODES.get(event)


# ------------------------------------------------------------------ reasons

def validation_reasons(invoice: Invoice, payload: dict[str, Any]) -> tuple[Reason, ...]:
    """Clarification codes from the rejecting findings: references (REF), sums (FIN), else legal (LEG)."""
    findings = [f for f in (invoice.validation or {}).get("findings", [])
                if f.get("level") in ("fatal", "error")]
    if not findings:
        text = str(payload.get("reason") or "the document could not be read as an invoice")
        return (Reason("UNR", text[:MAX_REASON_TEXT]),)
    grouped: dict[str, list[str]] = {}
    for finding in findings:
        rule = str(finding.get("rule") or "")
        grouped.setdefault(_reason_code(rule), []).append(f"[{rule}] {finding.get('message', '')}".strip())
    return tuple(Reason(code, "; ".join(lines)[:MAX_REASON_TEXT]) for code, lines in sorted(grouped.items()))


def _reason_code(rule: str) -> str:
    if rule in ("BR-DE-15", "BR-10", "PEPPOL-EN16931-R003") or rule.startswith("BR-DE-15"):
        return "REF"  # buyer reference / Leitweg-ID / order reference
    if rule.startswith("BR-CO-") or rule.startswith("PEPPOL-EN16931-R12"):
        return "FIN"  # calculations and totals
    return "LEG"


def workflow_reasons(payload: dict[str, Any]) -> tuple[Reason, ...]:
    text = str(payload.get("reason") or payload.get("comment") or "rejected in the approval workflow")
    return (Reason("OTH", text[:MAX_REASON_TEXT]),)


# ------------------------------------------------------------------ emitting

def emit_pending(*, limit: int = 500) -> int:
    """Write the responses owed for open exchanges whose invoice has new journal entries.

    Invoices wait in approval for weeks; only exchanges with something new are read, so the cost
    of a run follows the events, not the number of open exchanges.
    """
    news = (select(JournalEntry.seq).where(JournalEntry.invoice_id == PeppolExchange.invoice_id,
                                           JournalEntry.seq > PeppolExchange.checked_seq).exists())
    with UnitOfWork() as uow:
        ids = list(uow.session.execute(select(PeppolExchange.id).where(PeppolExchange.closed.is_(False), news)
                                       .order_by(PeppolExchange.created_at).limit(limit)).scalars())
    written = 0
    for exchange_id in ids:
        try:
            written += _emit_for(exchange_id)
        except IntegrityError:  # another worker wrote the same response first
            log.info("Peppol responses of exchange %s were written concurrently", exchange_id)
    return written


def _emit_for(exchange_id: str) -> int:
    from einvoice.config import get_settings

    country = get_settings().peppol_country_c1
    with UnitOfWork() as uow:
        session = uow.session
        exchange = session.get(PeppolExchange, exchange_id)
        invoice = session.get(Invoice, exchange.invoice_id) if exchange else None
        if exchange is None or invoice is None:
            return 0
        parties = _parties(session, exchange, invoice)
        if parties is None:
            if invoice.status in PENDING:  # a bare document: its addresses are known once it is read
                return 0
            exchange.closed = True
            uow.commit()
            return 0
        existing = set(session.execute(select(PeppolResponse.code)
                                       .where(PeppolResponse.invoice_id == invoice.id)).scalars())
        events = [(seq, event, payload or {}) for seq, event, payload in session.execute(
            select(JournalEntry.seq, JournalEntry.event, JournalEntry.payload)
            .where(JournalEntry.invoice_id == invoice.id).order_by(JournalEntry.seq))]
        written = 0
        for due in due_responses(events):
            if due.code.value in existing:
                continue
            document = _document(invoice, due, parties, country)
            session.add(PeppolResponse(id=document[0], exchange_id=exchange.id, invoice_id=invoice.id,
                                       code=due.code.value, journal_seq=due.seq, document=document[1],
                                       attempts=0))
            existing.add(due.code.value)
            written += 1
        if existing & FINAL:
            exchange.closed = True
        exchange.checked_seq = max((seq for seq, _, _ in events), default=exchange.checked_seq)
        uow.commit()
        return written


def _parties(session: Session, exchange: PeppolExchange, invoice: Invoice) -> tuple[Party, Party] | None:
    """(us, the sender), or None when nobody usable can be answered.

    The SBDH names both; for a bare document the invoice's electronic addresses (BT-49 buyer,
    BT-34 seller) stand in when they are Peppol participant ids (an ICD scheme, not e-mail).
    """
    try:
        us: ParticipantId = parse_participant(exchange.receiver_id or _address(invoice, "buyer"))
        them: ParticipantId = parse_participant(exchange.sender_id or _address(invoice, "seller"))
    except ParticipantIdError:
        return None
    unit = session.get(Unit, invoice.unit_id) if invoice.unit_id else None
    buyer = ((invoice.data or {}).get("buyer") or {}).get("name")
    return (Party(us, unit.name if unit else (buyer or str(us))),
            Party(them, invoice.seller_name or str(them)))


def _address(invoice: Invoice, role: str) -> str:
    address = ((invoice.data or {}).get(role) or {}).get("electronic_address") or {}
    return f"{address.get('scheme') or ''}:{address.get('value') or ''}"


def _document(invoice: Invoice, due: Due, parties: tuple[Party, Party], country: str) -> tuple[str, str]:
    from einvoice.ledger.models import new_id

    if due.code is ResponseCode.REJECTED:
        if due.event == "workflow_rejected":
            reasons = workflow_reasons(due.payload)
        elif due.event == "duplicate_resolved":
            reasons = (Reason("OTH", ("a duplicate of an invoice received before; "
                                      + str(due.payload.get("comment") or ""))[:MAX_REASON_TEXT].strip("; ")),)
        else:
            reasons = validation_reasons(invoice, due.payload)
    else:
        reasons = ()
    response_id = new_id()
    data = invoice.data or {}
    response = InvoiceResponse(
        id=response_id, code=due.code, sender=parties[0], receiver=parties[1],
        invoice_number=invoice.invoice_number or f"ledger:{invoice.id}",
        invoice_type_code=str(data.get("type_code") or "380"),
        invoice_issue_date=invoice.issue_date if isinstance(invoice.issue_date, date) else None,
        reasons=reasons, issued=utcnow())
    return response_id, wrapped(response, country_c1=country).decode("utf-8")
