"""The export outbox: every approved invoice reaches each configured exporter exactly once.

* ``enqueue_export`` runs inside the transaction that approves the invoice and adds one row per
  exporter configured for the invoice's unit, keyed by a unique idempotency key; calling it again
  adds nothing. A crash before that commit loses the approval and the rows together; after it,
  the rows wait until an exporter takes them.
* File exporters (DATEV, CSV, JSON) work in two transactions. *Plan*: lock the pending rows, render
  the batch and store its bytes with the rows assigned to it (``batched``). *Complete*: write the
  file atomically (temp file, fsync, rename), then, in one transaction, mark the rows ``done``,
  move the invoices to ``exported`` and journal ``exported``. A crash between the two leaves an
  ``open`` batch; the next run writes the same bytes under the same name again (or finds them
  there) and completes it. A row belongs to one batch only, so no invoice is in two files.
* Webhooks: a row is claimed (``sending``, with a lease) in a short transaction, posted outside
  any transaction, and the answer recorded in a third: done (journalled, invoice ``exported``),
  a retry at ``next_attempt_at`` with exponential back-off, or — after ``max_attempts`` —
  ``failed``, journalled and visible until an administrator retries it. A worker that dies while
  posting leaves a ``sending`` row whose lease expires; it is posted again with the same
  idempotency key, which is how the receiver recognises the repeat.

Lock order everywhere: journal head, then batch/invoice, then outbox rows (as in the ledger).
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from einvoice.db import UnitOfWork
from einvoice.export import record as record_module
from einvoice.export.models import BatchStatus, EntryStatus, ExportBatch, ExportConfig, OutboxEntry
from einvoice.export.record import ExportRecord, build_record
from einvoice.export.settings import FILE_EXPORTERS, ExporterSettings, configs_for_unit, settings_of
from einvoice.ledger import journal
from einvoice.ledger.models import Invoice, Status, utcnow

log = logging.getLogger(__name__)

SYSTEM_ACTOR = "system:export"
Clock = Callable[[], datetime]
# Invoices whose rows may be delivered: approved (first delivery) or already exported/paid (a second
# exporter). An invoice sent back into approval keeps its rows waiting until it is approved again.
DELIVERABLE = (Status.APPROVED.value, Status.EXPORTED.value, Status.PAID.value)
IN_FLIGHT = (EntryStatus.PENDING.value, EntryStatus.BATCHED.value, EntryStatus.SENDING.value)


class ExportError(RuntimeError):
    """An export that cannot run as asked (no output folder, unknown exporter, ...)."""


def idempotency_key(invoice_id: str, exporter: str, config_id: str) -> str:
    return hashlib.sha256(f"{invoice_id}\n{exporter}\n{config_id}".encode()).hexdigest()


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --------------------------------------------------------------------------- enqueue


def enqueue_export(uow: UnitOfWork, invoice_id: str) -> None:
    """Owe ``invoice_id`` to every exporter configured for its unit (call in the approving transaction).

    Idempotent: the rows' idempotency keys are unique, so a second call — or a concurrent one —
    adds nothing and never fails the caller's transaction.
    """
    session = uow.session
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise ValueError(f"cannot export invoice {invoice_id}: it does not exist")
    if invoice.unit_id is None:
        log.warning("invoice %s has no unit; nothing to export to", invoice_id)
        return
    for config in configs_for_unit(session, invoice.unit_id):
        _insert_entry(session, invoice_id, config)


def _insert_entry(session: Session, invoice_id: str, config: ExportConfig) -> None:
    values = {"id": uuid.uuid4().hex, "idempotency_key": idempotency_key(invoice_id, config.exporter, config.id),
              "invoice_id": invoice_id, "config_id": config.id, "exporter": config.exporter,
              "status": EntryStatus.PENDING.value, "attempts": 0, "next_attempt_at": utcnow(),
              "created_at": utcnow()}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(OutboxEntry).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(OutboxEntry).values(**values).on_conflict_do_nothing())
    else:  # pragma: no cover - the project runs on PostgreSQL and SQLite
        key = values["idempotency_key"]
        if session.scalar(select(OutboxEntry.id).where(OutboxEntry.idempotency_key == key)) is None:
            session.add(OutboxEntry(**values))
            session.flush()


def enqueue_missing(uow: UnitOfWork) -> int:
    """Rows for approved invoices of units whose exporter was configured after the approval."""
    session = uow.session
    missing = session.execute(
        select(Invoice.id, ExportConfig)
        .join(ExportConfig, and_(ExportConfig.unit_id == Invoice.unit_id, ExportConfig.active.is_(True)))
        .where(Invoice.status == Status.APPROVED.value,
               ~exists().where(OutboxEntry.invoice_id == Invoice.id, OutboxEntry.config_id == ExportConfig.id))
    ).all()
    for invoice_id, config in missing:
        _insert_entry(session, invoice_id, config)
    return len(missing)


# --------------------------------------------------------------------------- delivery bookkeeping


def _locked_invoice(session: Session, invoice_id: str) -> Invoice:
    invoice = session.execute(select(Invoice).where(Invoice.id == invoice_id).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one()
    return invoice


def _mark_delivered(session: Session, entry: OutboxEntry, *, actor: str, now: datetime,
                    details: dict[str, Any]) -> None:
    """Row done, invoice ``exported`` once nothing else is owed, and the journal entry — one transaction."""
    invoice = _locked_invoice(session, entry.invoice_id)
    entry.status = EntryStatus.DONE.value
    entry.done_at = now
    entry.last_error = None
    session.flush()
    still_owed = session.scalar(select(func.count()).select_from(OutboxEntry).where(
        OutboxEntry.invoice_id == invoice.id, OutboxEntry.status.in_(IN_FLIGHT)))
    if invoice.status == Status.APPROVED.value and not still_owed:
        invoice.status = Status.EXPORTED.value
    journal.append(session, event="exported", actor=actor, invoice_id=invoice.id, payload={
        "exporter": entry.exporter, "config_id": entry.config_id, "idempotency_key": entry.idempotency_key,
        "status": invoice.status, **details})


def _mark_failed(session: Session, entry: OutboxEntry, *, actor: str, error: str) -> None:
    """The delivery gave up: visible on the row and in the invoice's journal; the invoice stays approved."""
    _locked_invoice(session, entry.invoice_id)
    entry.status = EntryStatus.FAILED.value
    entry.last_error = error[:4000]
    entry.batch_id = None
    journal.append(session, event="export_failed", actor=actor, invoice_id=entry.invoice_id, payload={
        "exporter": entry.exporter, "config_id": entry.config_id, "idempotency_key": entry.idempotency_key,
        "attempts": entry.attempts, "error": error[:4000]})


def retry(uow: UnitOfWork, entry_id: str, *, actor: str, now: datetime | None = None) -> OutboxEntry:
    """An administrator sends a failed delivery again (after fixing the receiver or the coding)."""
    session = uow.session
    journal.lock_head(session)
    entry = session.execute(select(OutboxEntry).where(OutboxEntry.id == entry_id).with_for_update()
                            .execution_options(populate_existing=True)).scalar_one_or_none()
    if entry is None:
        raise ExportError(f"no export delivery {entry_id!r}")
    if entry.status != EntryStatus.FAILED.value:
        raise ExportError(f"delivery {entry_id} is {entry.status}; only failed deliveries can be retried")
    _locked_invoice(session, entry.invoice_id)
    entry.status = EntryStatus.PENDING.value
    entry.attempts = 0
    entry.next_attempt_at = now or utcnow()
    journal.append(session, event="export_retried", actor=actor, invoice_id=entry.invoice_id, payload={
        "exporter": entry.exporter, "idempotency_key": entry.idempotency_key, "previous_error": entry.last_error})
    return entry


# --------------------------------------------------------------------------- file batches


@dataclass
class BatchOutcome:
    batch_id: str
    exporter: str
    config_id: str
    path: Path
    invoices: list[str]
    resumed: bool  # True: a batch an earlier, interrupted run had planned


@dataclass
class RunReport:
    batches: list[BatchOutcome] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (invoice id, reason)
    unconfigured: int = 0  # approved invoices whose unit has no exporter at all

    @property
    def exported(self) -> int:
        return sum(len(b.invoices) for b in self.batches)


def write_atomically(directory: Path, name: str, content: bytes) -> Path:
    """Write ``content`` to ``directory/name`` so readers see all of it or nothing.

    The same bytes already there are left alone (a re-run after a crash); different bytes under a
    batch's name are refused rather than overwritten.
    """
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    if target.exists():
        if hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(content).digest():
            return target
        raise ExportError(f"{target} exists with different content; refusing to overwrite an export file")
    temporary = directory / f".{name}.{uuid.uuid4().hex}.tmp"  # dot file: import watchers skip it
    with open(temporary, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    _fsync_directory(directory)
    return target


def _fsync_directory(directory: Path) -> None:
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(descriptor)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(descriptor)


def run_file_exports(*, exporter: str | None = None, unit_id: str | None = None, out_dir: Path | None = None,
                     actor: str = SYSTEM_ACTOR, only_auto: bool = False,
                     factory: sessionmaker[Session] | None = None, clock: Clock = utcnow) -> RunReport:
    """Export every pending row of the matching file exporters: finish interrupted batches, then new ones."""
    if exporter is not None and exporter not in FILE_EXPORTERS:
        raise ExportError(f"{exporter!r} is not a file exporter; choose one of {', '.join(FILE_EXPORTERS)}")
    report = RunReport()
    with UnitOfWork(factory) as uow:
        if enqueue_missing(uow):
            uow.commit()
        configs = _file_configs(uow.session, exporter, unit_id, only_auto)
        report.unconfigured = _unconfigured(uow.session, unit_id)
        open_batches = [b.id for b in uow.session.scalars(
            select(ExportBatch).where(ExportBatch.status == BatchStatus.OPEN.value,
                                      ExportBatch.config_id.in_([c.id for c in configs]))
            .order_by(ExportBatch.created_at))]
    for batch_id in open_batches:
        outcome = _write_and_complete(batch_id, actor=actor, factory=factory, clock=clock, resumed=True)
        if outcome:
            report.batches.append(outcome)
    for config in configs:
        planned = plan_batches(config.id, out_dir=out_dir, actor=actor, factory=factory, clock=clock,
                               report=report)
        for batch_id in planned:
            outcome = _write_and_complete(batch_id, actor=actor, factory=factory, clock=clock, resumed=False)
            if outcome:
                report.batches.append(outcome)
    return report


def _unconfigured(session: Session, unit_id: str | None) -> int:
    """Approved invoices nothing is owed for: their unit has no active exporter."""
    query = select(func.count()).select_from(Invoice).where(
        Invoice.status == Status.APPROVED.value,
        ~exists().where(OutboxEntry.invoice_id == Invoice.id))
    if unit_id:
        query = query.where(Invoice.unit_id == unit_id)
    return int(session.scalar(query) or 0)


def _file_configs(session: Session, exporter: str | None, unit_id: str | None, only_auto: bool) -> list[ExportConfig]:
    query = select(ExportConfig).where(ExportConfig.exporter.in_(FILE_EXPORTERS), ExportConfig.active.is_(True))
    if exporter:
        query = query.where(ExportConfig.exporter == exporter)
    if unit_id:
        query = query.where(ExportConfig.unit_id == unit_id)
    configs = list(session.scalars(query.order_by(ExportConfig.exporter, ExportConfig.id)))
    if only_auto:
        configs = [c for c in configs if settings_of(c).auto and settings_of(c).out_dir]
    return configs


def plan_batches(config_id: str, *, out_dir: Path | None, actor: str, factory: sessionmaker[Session] | None,
                 clock: Clock, report: RunReport) -> list[str]:
    """Transaction 1: claim the config's pending rows, render their batches, store them ``open``."""
    from einvoice.export.registry import file_exporter

    with UnitOfWork(factory) as uow:
        session = uow.session
        journal.lock_head(session)  # head before outbox rows: the lock order of every writer
        config = session.get(ExportConfig, config_id)
        if config is None:
            return []
        settings = settings_of(config)
        directory = out_dir or (Path(settings.out_dir) if settings.out_dir else None)
        writer = file_exporter(config.exporter)
        rows = list(session.execute(
            select(OutboxEntry, Invoice).join(Invoice, Invoice.id == OutboxEntry.invoice_id)
            .where(OutboxEntry.config_id == config.id, OutboxEntry.status == EntryStatus.PENDING.value,
                   Invoice.status.in_(DELIVERABLE))
            .order_by(OutboxEntry.created_at, OutboxEntry.id)
            .with_for_update(of=OutboxEntry, skip_locked=True)).all())
        if not rows:
            return []
        if directory is None:
            raise ExportError(f"no output folder for the {config.exporter} export of unit {config.unit_id}: "
                              "pass --out or configure one (einvoice export configure ... --out DIR)")
        records: list[ExportRecord] = []
        entries: dict[str, OutboxEntry] = {}
        failed = False
        for entry, invoice in rows:
            record = _record(uow, invoice, settings, entry.idempotency_key)
            problems = record_problems(config.exporter, record, settings)
            if problems:
                _mark_failed(session, entry, actor=actor, error="; ".join(problems))
                report.failed.append((invoice.id, "; ".join(problems)))
                failed = True
                continue
            records.append(record)
            entries[record.invoice_id] = entry
        created = _utc(clock())
        batch_ids = []
        for group in writer.partition(records, settings):
            keys = sorted(entries[r.invoice_id].idempotency_key for r in group)
            batch_key = hashlib.sha256("\n".join(keys).encode()).hexdigest()
            batch = ExportBatch(id=uuid.uuid4().hex, batch_key=batch_key, config_id=config.id,
                                exporter=config.exporter, status=BatchStatus.OPEN.value, out_dir=str(directory),
                                file_name=writer.file_name(batch_key, created), entries=len(group),
                                created_by=actor, created_at=created, content=b"", sha256="")
            batch.content = writer.render(group, settings, batch_id=batch.id, created_at=created)
            batch.sha256 = hashlib.sha256(batch.content).hexdigest()
            session.add(batch)
            session.flush()
            for record in group:
                entry = entries[record.invoice_id]
                entry.status = EntryStatus.BATCHED.value
                entry.batch_id = batch.id
                entry.attempts += 1
                entry.claimed_at = created
            batch_ids.append(batch.id)
        if batch_ids or failed:
            uow.commit()
        return batch_ids


def _record(uow: UnitOfWork, invoice: Invoice, settings: ExporterSettings, key: str) -> ExportRecord:
    from einvoice.accounts.models import Unit

    unit = uow.session.get(Unit, invoice.unit_id) if invoice.unit_id else None
    return build_record(invoice, unit, record_module.coding_of(uow, invoice.id), settings, key)


def record_problems(exporter: str, record: ExportRecord, settings: ExporterSettings) -> list[str]:
    """Why ``record`` cannot go into a file of ``exporter`` (fail closed: that invoice, not the batch)."""
    if exporter != "datev":
        return []
    from einvoice.export.datev import DatevExporter
    from einvoice.export.datev_check import check_bytes

    if record.currency != "EUR":
        return [f"currency {record.currency}: the DATEV export books EUR only (no exchange rate in the invoice)"]
    if not record.bookings or all(b.gross == 0 for b in record.bookings):
        return ["the invoice has no amount to book"]
    content = DatevExporter().render([record], settings, batch_id="check", created_at=utcnow())
    result = check_bytes(content)
    return [f"DATEV format check: {p}" for p in result.problems]


def write_batch_file(batch: ExportBatch) -> Path:
    """Step 2: the file, atomically (module-level so tests can inject a crash here)."""
    return write_atomically(Path(batch.out_dir), batch.file_name, batch.content)


def complete_batch(batch_id: str, *, actor: str, factory: sessionmaker[Session] | None, clock: Clock) -> bool:
    """Transaction 2: rows done, invoices exported, journal — or nothing if the batch was completed already."""
    with UnitOfWork(factory) as uow:
        session = uow.session
        journal.lock_head(session)
        batch = session.execute(select(ExportBatch).where(ExportBatch.id == batch_id).with_for_update()
                                .execution_options(populate_existing=True)).scalar_one()
        if batch.status == BatchStatus.DONE.value:
            return False
        now = _utc(clock())
        entries = list(session.scalars(select(OutboxEntry).where(OutboxEntry.batch_id == batch.id)
                                       .order_by(OutboxEntry.created_at, OutboxEntry.id)))
        for entry in entries:
            _mark_delivered(session, entry, actor=actor, now=now, details={
                "batch_id": batch.id, "file": batch.file_name, "sha256": batch.sha256})
        batch.status = BatchStatus.DONE.value
        batch.done_at = now
        uow.commit()
        return True


def _write_and_complete(batch_id: str, *, actor: str, factory: sessionmaker[Session] | None, clock: Clock,
                        resumed: bool) -> BatchOutcome | None:
    with UnitOfWork(factory) as uow:
        batch = uow.session.get(ExportBatch, batch_id)
        if batch is None or batch.status == BatchStatus.DONE.value:
            return None
        uow.session.expunge(batch)
        invoices = list(uow.session.scalars(select(OutboxEntry.invoice_id).where(OutboxEntry.batch_id == batch_id)
                                            .order_by(OutboxEntry.created_at, OutboxEntry.id)))
    path = write_batch_file(batch)
    if not complete_batch(batch_id, actor=actor, factory=factory, clock=clock):
        return None
    log.info("export batch %s: %d invoice(s) to %s", batch_id, len(invoices), path)
    return BatchOutcome(batch_id=batch_id, exporter=batch.exporter, config_id=batch.config_id, path=path,
                        invoices=invoices, resumed=resumed)


# --------------------------------------------------------------------------- webhooks


@dataclass(frozen=True)
class Backoff:
    """Exponential back-off between webhook attempts: first, first*2, first*4 ... capped."""

    first: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(hours=1)

    def after(self, attempt: int) -> timedelta:
        return min(self.cap, self.first * (2 ** max(0, attempt - 1)))


@dataclass
class DrainReport:
    delivered: list[str] = field(default_factory=list)  # invoice ids
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def due_webhooks(session: Session, now: datetime, lease: timedelta, limit: int) -> list[str]:
    stale = now - lease
    return list(session.scalars(
        select(OutboxEntry.id).join(Invoice, Invoice.id == OutboxEntry.invoice_id)
        .where(OutboxEntry.exporter == "webhook", Invoice.status.in_(DELIVERABLE),
               or_(and_(OutboxEntry.status == EntryStatus.PENDING.value, OutboxEntry.next_attempt_at <= now),
                   and_(OutboxEntry.status == EntryStatus.SENDING.value, OutboxEntry.claimed_at < stale)))
        .order_by(OutboxEntry.next_attempt_at, OutboxEntry.id).limit(limit)))


def drain_webhooks(*, factory: sessionmaker[Session] | None = None, clock: Clock = utcnow,
                   client: httpx.Client | None = None, backoff: Backoff = Backoff(),
                   lease: timedelta = timedelta(minutes=5), limit: int = 100,
                   actor: str = SYSTEM_ACTOR) -> DrainReport:
    """Attempt every webhook delivery that is due (and every one whose sender died mid-attempt)."""
    report = DrainReport()
    now = _utc(clock())
    with UnitOfWork(factory) as uow:
        ids = due_webhooks(uow.session, now, lease, limit)
    for entry_id in ids:
        _attempt(entry_id, factory=factory, clock=clock, client=client, backoff=backoff, lease=lease,
                 actor=actor, report=report)
    return report


@dataclass(frozen=True)
class _Claim:
    invoice_id: str
    attempt: int
    url: str
    secret: str
    key: str
    body: str
    max_attempts: int


def _claim(entry_id: str, *, factory: sessionmaker[Session] | None, now: datetime,
           lease: timedelta) -> _Claim | None:
    with UnitOfWork(factory) as uow:
        session = uow.session
        entry = session.execute(select(OutboxEntry).where(OutboxEntry.id == entry_id)
                                .with_for_update(skip_locked=True)
                                .execution_options(populate_existing=True)).scalar_one_or_none()
        if entry is None:
            return None
        due = (entry.status == EntryStatus.PENDING.value and _utc(entry.next_attempt_at) <= now) or (
            entry.status == EntryStatus.SENDING.value and entry.claimed_at is not None
            and _utc(entry.claimed_at) < now - lease)
        if not due:
            return None
        config = session.get(ExportConfig, entry.config_id)
        invoice = session.get(Invoice, entry.invoice_id)
        if config is None or invoice is None or invoice.status not in DELIVERABLE:
            return None
        settings = settings_of(config)
        if entry.body is None:
            from einvoice.export.webhook import body_of

            entry.body = body_of(_record(uow, invoice, settings, entry.idempotency_key).to_dict())
        entry.status = EntryStatus.SENDING.value
        entry.attempts += 1
        entry.claimed_at = now
        claim = _Claim(invoice_id=entry.invoice_id, attempt=entry.attempts, url=settings.url or "",
                       secret=settings.secret or "", key=entry.idempotency_key, body=entry.body,
                       max_attempts=settings.max_attempts)
        uow.commit()
        return claim


def _attempt(entry_id: str, *, factory: sessionmaker[Session] | None, clock: Clock, client: httpx.Client | None,
             backoff: Backoff, lease: timedelta, actor: str, report: DrainReport) -> None:
    from einvoice.export.webhook import post

    claim = _claim(entry_id, factory=factory, now=_utc(clock()), lease=lease)
    if claim is None:
        return
    delivery = post(claim.url, claim.body, secret=claim.secret, idempotency_key=claim.key,
                    attempt=claim.attempt, client=client)
    now = _utc(clock())
    with UnitOfWork(factory) as uow:
        session = uow.session
        journal.lock_head(session)
        entry = session.execute(select(OutboxEntry).where(OutboxEntry.id == entry_id).with_for_update()
                                .execution_options(populate_existing=True)).scalar_one()
        if entry.status != EntryStatus.SENDING.value or entry.attempts != claim.attempt:
            return  # the lease ran out and another worker owns this delivery now
        if delivery.acknowledged:
            _mark_delivered(session, entry, actor=actor, now=now, details={
                "url": claim.url, "http_status": delivery.status_code, "attempts": claim.attempt})
            report.delivered.append(claim.invoice_id)
        elif claim.attempt >= claim.max_attempts:
            _mark_failed(session, entry, actor=actor,
                         error=f"no acknowledgement after {claim.attempt} attempt(s): {delivery.error}")
            report.failed.append(claim.invoice_id)
        else:
            entry.status = EntryStatus.PENDING.value
            entry.next_attempt_at = now + backoff.after(claim.attempt)
            entry.last_error = delivery.error
            report.retrying.append(claim.invoice_id)
        uow.commit()


# --------------------------------------------------------------------------- reading


def deliveries(uow: UnitOfWork, *, status: str | None = None, invoice_id: str | None = None,
               unit_ids: Sequence[str] | None = None, limit: int = 200) -> list[tuple[OutboxEntry, ExportConfig]]:
    """Outbox rows with their configuration, newest first (for the CLI and the admin API)."""
    query = select(OutboxEntry, ExportConfig).join(ExportConfig, ExportConfig.id == OutboxEntry.config_id)
    if status:
        query = query.where(OutboxEntry.status == status)
    if invoice_id:
        query = query.where(OutboxEntry.invoice_id == invoice_id)
    if unit_ids is not None:
        query = query.where(ExportConfig.unit_id.in_(list(unit_ids)))
    rows = uow.session.execute(query.order_by(OutboxEntry.created_at.desc(), OutboxEntry.id).limit(limit))
    return [(entry, config) for entry, config in rows.all()]
