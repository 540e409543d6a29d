"""Helpers for the export tests (no tests here): a real SQLite ledger with approved invoices.

Invoices go through the real intake path (receive, process with a stand-in validator, real
extraction), then are approved the way the workflow engine does it: status ``approved``, the
journal entry and ``enqueue_export`` in one transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

import einvoice.export.models  # noqa: F401  (register the export tables)
from einvoice.accounts.models import Unit
from einvoice.db import Base, UnitOfWork, make_engine
from einvoice.export.models import OutboxEntry
from einvoice.export.outbox import enqueue_export
from einvoice.export.settings import configure
from einvoice.ledger import journal, service
from einvoice.ledger.blobs import BlobStore
from einvoice.ledger.models import Invoice, JournalEntry, Status
from einvoice.samples import DEFAULT_LEITWEG_ID, render_ubl, sample_invoice_data
from einvoice.validation.model import ValidationResult

DATEV = {"consultant": 29098, "client": 55003, "creditor_account": "70000", "default_account": "4930",
         "chart": "03"}
SECRET = "a-shared-webhook-secret-of-some-length"


class AcceptAll:
    """Stand-in validator: every document is accepted (validation is tested elsewhere)."""

    def validate_bytes(self, data: bytes, filename: str = "") -> ValidationResult:
        return ValidationResult(file=filename, sha256=hashlib.sha256(data).hexdigest(), accepted=True,
                                scenario="xrechnung-3.0-ubl", syntax="UBL-Invoice", steps=[], reason="")


class Clock:
    """A clock the tests move instead of sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)  # rows are stamped with the real time when created

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Ledger:
    engine: Engine
    factory: sessionmaker[Session]
    blobs: BlobStore
    root: Path
    units: dict[str, str] = field(default_factory=dict)

    def unit(self, name: str, leitweg_id: str | None = DEFAULT_LEITWEG_ID) -> str:
        with UnitOfWork(self.factory) as uow:
            unit = Unit(name=name, leitweg_id=leitweg_id)
            uow.session.add(unit)
            uow.commit()
            self.units[name] = unit.id
            return unit.id

    def configure(self, unit: str, exporter: str, **settings: Any) -> str:
        with UnitOfWork(self.factory) as uow:
            row = configure(uow, unit=unit, exporter=exporter, **settings)
            uow.commit()
            return row.id

    def accepted(self, number: str, **sample: Any) -> str:
        """A sample invoice received and processed (real extraction): accepted (or already handed to its
        approval workflow, which the tests then short-cut with :meth:`approve`)."""
        data = render_ubl(sample_invoice_data(number=number, **sample))
        outcome = service.receive_committed(self.blobs, data=data, channel="api", sender="supplier-1",
                                            filename=f"{number}.xml", content_type="application/xml",
                                            factory=self.factory)
        with UnitOfWork(self.factory) as uow:
            status = service.process(uow, self.blobs, AcceptAll(), outcome.invoice_id)
            assert status in ("accepted", "in_approval"), status
            uow.commit()
        return outcome.invoice_id

    def approve(self, invoice_id: str, *, enqueue: bool = True, commit: bool = True) -> None:
        """What the workflow engine does on the final approval, in one transaction."""
        with UnitOfWork(self.factory) as uow:
            journal.lock_head(uow.session)
            invoice = uow.session.get(Invoice, invoice_id)
            assert invoice is not None
            invoice.status = Status.APPROVED.value
            journal.append(uow.session, event="approved", actor="approver-1", invoice_id=invoice_id)
            if enqueue:
                enqueue_export(uow, invoice_id)
            if commit:
                uow.commit()

    def approved(self, number: str, **sample: Any) -> str:
        invoice_id = self.accepted(number, **sample)
        self.approve(invoice_id)
        return invoice_id

    def status(self, invoice_id: str) -> str:
        with UnitOfWork(self.factory) as uow:
            invoice = uow.session.get(Invoice, invoice_id)
            assert invoice is not None
            return invoice.status

    def events(self, invoice_id: str, event: str | None = None) -> list[JournalEntry]:
        with UnitOfWork(self.factory) as uow:
            entries = service.history(uow, invoice_id)
            return [e for e in entries if event is None or e.event == event]

    def entries(self, invoice_id: str | None = None) -> list[OutboxEntry]:
        with UnitOfWork(self.factory) as uow:
            query = select(OutboxEntry).order_by(OutboxEntry.created_at, OutboxEntry.id)
            if invoice_id:
                query = query.where(OutboxEntry.invoice_id == invoice_id)
            return list(uow.session.scalars(query))

    def verify(self) -> journal.VerifyReport:
        with UnitOfWork(self.factory) as uow:
            return journal.verify(uow.session, self.blobs)


def make_ledger(root: Path, url: str | None = None) -> Ledger:
    """A new ledger in ``root`` (SQLite) or on the empty database ``url``."""
    engine = make_engine(url or f"sqlite:///{root / 'ledger.db'}")
    Base.metadata.create_all(engine)
    return Ledger(engine=engine, factory=sessionmaker(bind=engine, expire_on_commit=False),
                  blobs=BlobStore(root / "blobs"), root=root)
