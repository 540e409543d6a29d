"""The hash-chained journal: every ledger event, each entry covering its predecessor's hash.

Appends are serialised by locking the single ``journal_head`` row (``SELECT … FOR UPDATE`` on
PostgreSQL; SQLite transactions already start with ``BEGIN IMMEDIATE``), so sequence numbers are
contiguous and the chain never forks, however many API and worker processes write at once.

An entry about an invoice also carries the digest of the invoice row as it is at that moment
(``record_digest``) and of its workflow record (who approved what, the coding: ``workflow.record``),
so ``verify`` can tell a row that was changed behind the ledger's back.
Rule for callers: change the rows first, then append — the entry records the new state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from einvoice.ledger.blobs import BlobStore
from einvoice.ledger.canonical import canonical_json, json_safe, record_digest, sha256_hex, utc_iso
from einvoice.ledger.models import GENESIS_HASH, HEAD_ID, Invoice, JournalEntry, JournalHead, utcnow
from einvoice.workflow.record import DIGEST_KEY as WORKFLOW_KEY
from einvoice.workflow.record import all_workflow_digests, workflow_digest

DIGEST_KEY = "record_digest"
INTERNAL_KEYS = frozenset({DIGEST_KEY, WORKFLOW_KEY})  # for verify, not for display


def entry_hash(*, seq: int, at: datetime, invoice_id: str | None, event: str, actor: str,
               payload: dict[str, Any], prev_hash: str) -> str:
    """SHA-256 of the canonical JSON of everything an entry says, including the previous hash."""
    return sha256_hex(canonical_json({
        "seq": seq,
        "at": utc_iso(at),
        "invoice_id": invoice_id,
        "event": event,
        "actor": actor,
        "payload": payload,
        "prev_hash": prev_hash,
    }))


def hash_of(entry: JournalEntry) -> str:
    return entry_hash(seq=entry.seq, at=entry.at, invoice_id=entry.invoice_id, event=entry.event,
                      actor=entry.actor, payload=entry.payload, prev_hash=entry.prev_hash)


def lock_head(session: Session) -> JournalHead:
    """Take the journal's write lock for this transaction and return the current head.

    Ledger changes lock the head before the invoice row they change; one lock order everywhere
    means concurrent workers cannot deadlock, and it serialises duplicate detection.
    """
    stmt = (select(JournalHead).where(JournalHead.id == HEAD_ID)
            .with_for_update().execution_options(populate_existing=True))
    head = session.execute(stmt).scalar_one_or_none()
    if head is None:
        _create_head(session)
        head = session.execute(stmt).scalar_one()
    return head


def _create_head(session: Session) -> None:
    """Insert the genesis head if it is missing; a concurrent insert wins quietly."""
    values = {"id": HEAD_ID, "seq": 0, "hash": GENESIS_HASH}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(JournalHead).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(JournalHead).values(**values).on_conflict_do_nothing())
    else:
        session.add(JournalHead(**values))
        session.flush()


def append(session: Session, *, event: str, actor: str, invoice_id: str | None = None,
           payload: dict[str, Any] | None = None) -> JournalEntry:
    """Append one event to the chain in the caller's transaction (the caller commits)."""
    body = dict(payload or {})
    if invoice_id is not None:
        session.flush()  # the invoice row as it will be committed
        invoice = session.get(Invoice, invoice_id)
        if invoice is None:
            raise ValueError(f"cannot journal {event!r}: invoice {invoice_id} does not exist")
        body[DIGEST_KEY] = record_digest(invoice)
        body[WORKFLOW_KEY] = workflow_digest(session, invoice_id)
    body = json_safe(body)  # exactly what the JSON column gives back, so the hash survives storage
    head = lock_head(session)
    at = utcnow()
    seq = head.seq + 1
    entry = JournalEntry(seq=seq, at=at, invoice_id=invoice_id, event=event, actor=actor,
                         payload=body, prev_hash=head.hash)
    entry.hash = hash_of(entry)
    head.seq, head.hash = seq, entry.hash
    session.add(entry)
    session.flush()
    return entry


@dataclass
class VerifyReport:
    ok: bool
    entries: int
    invoices: int
    blobs: int
    problems: list[str] = field(default_factory=list)
    first_broken: str | None = None  # the first broken item in plain words, e.g. "journal entry 17"

    def summary(self) -> str:
        counts = f"{self.entries} journal entries, {self.invoices} invoices, {self.blobs} blobs"
        if self.ok:
            return f"Ledger intact: {counts} verified."
        return (f"Ledger verification FAILED ({len(self.problems)} problem(s); checked {counts}). "
                f"First broken: {self.first_broken}.")


class _Problems:
    """Problems in the order found, remembering which item broke first."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.first: str | None = None

    def add(self, item: str, text: str) -> None:
        if self.first is None:
            self.first = item
        self.items.append(text)


def _begin_snapshot(session: Session) -> None:
    """Read the journal and the invoices from one snapshot, so concurrent commits are no false alarm."""
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def verify(session: Session, blobs: BlobStore) -> VerifyReport:
    """Recompute the chain, compare every invoice row with its last journalled state, check blobs.

    The database part runs in one snapshot; the transaction is then ended (rolled back: this only
    reads) before the blobs are hashed, so a long blob check does not hold database locks.
    """
    problems = _Problems()
    _begin_snapshot(session)
    last: dict[str, _Last] = {}  # invoice id → what its last entry recorded
    received: set[str] = set()
    entries = _check_chain(session, problems, last, received)
    _check_workflows(session, problems, last)

    invoices = 0
    hashes: list[str] = []
    seen: set[str] = set()
    rows = session.execute(select(Invoice).order_by(Invoice.received_at, Invoice.id)
                           .execution_options(yield_per=500)).scalars()
    for invoice in rows:
        invoices += 1
        seen.add(invoice.id)
        hashes.append(invoice.sha256)
        _check_invoice(invoice, last.get(invoice.id), invoice.id in received, problems)
        session.expunge(invoice)  # constant memory, however large the ledger
    for invoice_id in sorted(set(last) - seen, key=lambda i: last[i].seq):
        problems.add(f"invoice {invoice_id}",
                     f"invoice {invoice_id} is in the journal (last entry {last[invoice_id].seq}) "
                     "but its ledger row was deleted")
    session.rollback()

    for sha in hashes:
        problem = blobs.verify(sha)
        if problem:
            problems.add(f"blob {sha}", problem)
    return VerifyReport(ok=not problems.items, entries=entries, invoices=invoices, blobs=len(hashes),
                        problems=problems.items, first_broken=problems.first)


@dataclass(frozen=True)
class _Last:
    """What the last journal entry about an invoice recorded of its rows."""

    seq: int
    digest: str | None
    workflow: str | None
    has_workflow_key: bool  # entries written before workflow digests existed do not carry one


def _check_chain(session: Session, problems: _Problems, last: dict[str, _Last], received: set[str]) -> int:
    """Walk the entries in order: own hash, link to the predecessor, no gaps, head at the end."""
    entries = 0
    expected_seq, prev_hash = 1, GENESIS_HASH
    rows: Iterable[JournalEntry] = session.execute(
        select(JournalEntry).order_by(JournalEntry.seq).execution_options(yield_per=1000)).scalars()
    for entry in rows:
        entries += 1
        item = f"journal entry {entry.seq}"
        if entry.seq != expected_seq:
            missing = (f"entry {expected_seq}" if entry.seq == expected_seq + 1
                       else f"entries {expected_seq}–{entry.seq - 1}")
            problems.add(f"journal entry {expected_seq}",
                         f"journal {missing} deleted: the sequence jumps from {expected_seq - 1} to {entry.seq}")
        try:
            actual = hash_of(entry)
        except (TypeError, ValueError) as exc:
            actual = f"unhashable ({exc})"
        if actual != entry.hash:
            problems.add(item, f"{item} ({entry.event}) was altered: its content no longer matches "
                               "its stored hash")
        if entry.prev_hash != prev_hash:
            problems.add(item, f"{item} ({entry.event}) does not link to the entry before it: the "
                               "previous entry was removed or replaced")
        if entry.invoice_id is not None:
            payload = entry.payload if isinstance(entry.payload, dict) else {}
            last[entry.invoice_id] = _Last(entry.seq, payload.get(DIGEST_KEY), payload.get(WORKFLOW_KEY),
                                           WORKFLOW_KEY in payload)
            if entry.event == "received":
                received.add(entry.invoice_id)
        expected_seq, prev_hash = entry.seq + 1, entry.hash
        session.expunge(entry)

    head = session.get(JournalHead, HEAD_ID)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    if head_seq != expected_seq - 1 or head_hash != prev_hash:
        if head_seq > expected_seq - 1:
            text = (f"journal entries after {expected_seq - 1} were deleted: the journal head names "
                    f"entry {head_seq} as the last one")
            problems.add(f"journal entry {expected_seq}", text)
        else:
            problems.add("journal head", f"the journal head (entry {head_seq}) does not match the "
                                         f"last entry {expected_seq - 1}: the head or the last entry "
                                         "was changed")
    return entries


def _check_workflows(session: Session, problems: _Problems, last: dict[str, _Last]) -> None:
    """Every workflow record (approvals, coding, state) as its invoice's last entry recorded it."""
    seen: set[str] = set()
    for invoice_id, actual in all_workflow_digests(session):
        seen.add(invoice_id)
        recorded = last.get(invoice_id)
        if recorded is None or not recorded.has_workflow_key or recorded.workflow == actual:
            continue
        item = f"invoice {invoice_id}"
        what = ("was added outside the ledger" if recorded.workflow is None
                else "was changed outside the ledger")
        problems.add(item, f"the workflow of {item} (approvals, account coding or state) {what}: it no longer "
                           f"matches the state journalled in entry {recorded.seq}")
    for invoice_id, recorded in last.items():
        if recorded.workflow is not None and invoice_id not in seen:
            problems.add(f"invoice {invoice_id}", f"the workflow of invoice {invoice_id} was deleted: entry "
                                                  f"{recorded.seq} journalled one")


def _check_invoice(invoice: Invoice, last: _Last | None, has_received: bool, problems: _Problems) -> None:
    item = f"invoice {invoice.id}"
    if not has_received:
        problems.add(item, f"{item} has no 'received' entry in the journal: it was added or its "
                           "entry removed outside the ledger")
    if last is None:
        return
    seq, digest = last.seq, last.digest
    try:
        actual: str | None = record_digest(invoice)
    except (TypeError, ValueError, ArithmeticError) as exc:
        actual = f"unreadable ({exc})"
    if digest != actual:
        problems.add(item, f"{item} was changed outside the ledger: its row no longer matches the "
                           f"state journalled in entry {seq}")
