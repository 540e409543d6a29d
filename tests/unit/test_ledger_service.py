"""Receive/process on SQLite with a stand-in validator: idempotency, duplicates, visibility, paging.

Accepting an invoice starts its approval workflow in the same transaction (issue 4): with a unit
for its buyer reference it goes on to ``in_approval``; without one it stays ``accepted`` and waits
in the clearing queue. The workflow definitions are the project's own (``workflows/``).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from einvoice.accounts.models import Unit
from einvoice.db import UnitOfWork
from einvoice.ledger import journal, service
from einvoice.ledger.blobs import BlobStore
from einvoice.ledger.models import Invoice, JournalEntry
from einvoice.ledger.service import InvoiceFilter, Visibility
from einvoice.samples import DEFAULT_LEITWEG_ID, make_cii_invoice, make_ubl_invoice
from einvoice.validation.model import Finding, Level, StepKind, StepResult, ValidationResult
from einvoice.workflow.models import InstanceStatus, WorkflowInstance, WorkflowTask

# What the journal says after a valid invoice was processed
ACCEPTED_TO_CLEARING = ["accepted", "clearing_queued"]  # no unit for its buyer reference
ACCEPTED_INTO_APPROVAL = ["accepted", "workflow_started", "task_created"]  # its unit's workflow runs


class FakeValidator:
    """Accepts everything except the bytes it was told to reject; counts its calls."""

    def __init__(self, reject: tuple[bytes, ...] = ()) -> None:
        self.reject = set(reject)
        self.calls = 0

    def validate_bytes(self, data: bytes, filename: str = "") -> ValidationResult:
        self.calls += 1
        bad = data in self.reject
        steps = [StepResult("xrechnung-ubl", StepKind.SCHEMATRON, findings=[
            Finding("BR-DE-15", Level.ERROR, "xrechnung-ubl", "Leitweg-ID missing")])] if bad else []
        return ValidationResult(file=filename, sha256=hashlib.sha256(data).hexdigest(), accepted=not bad,
                                scenario="xrechnung-3.0-ubl", syntax="UBL-Invoice", steps=steps,
                                reason="1 error" if bad else "")


def _receive(factory: sessionmaker[Session], blobs: BlobStore, data: bytes, sender: str = "supplier-1",
             channel: str = "api") -> service.ReceiveOutcome:
    return service.receive_committed(blobs, data=data, channel=channel, sender=sender,
                                     filename="invoice.xml", content_type="application/xml",
                                     factory=factory)


def _process(factory: sessionmaker[Session], blobs: BlobStore, validator: FakeValidator,
             invoice_id: str) -> str:
    with UnitOfWork(factory) as uow:
        status = service.process(uow, blobs, validator, invoice_id)
        uow.commit()
    return status


def _events(factory: sessionmaker[Session], invoice_id: str) -> list[str]:
    with UnitOfWork(factory) as uow:
        return [e.event for e in service.history(uow, invoice_id)]


def _verify(factory: sessionmaker[Session], blobs: BlobStore) -> journal.VerifyReport:
    with UnitOfWork(factory) as uow:
        return journal.verify(uow.session, blobs)


def _workflow(factory: sessionmaker[Session], invoice_id: str) -> tuple[WorkflowInstance, list[WorkflowTask]]:
    """The invoice's workflow instance and its tasks (oldest first)."""
    with UnitOfWork(factory) as uow:
        instance = uow.session.scalar(select(WorkflowInstance).where(WorkflowInstance.invoice_id == invoice_id))
        assert instance is not None, f"no workflow for {invoice_id}"
        tasks = list(uow.session.scalars(select(WorkflowTask).where(WorkflowTask.invoice_id == invoice_id)
                                         .order_by(WorkflowTask.created_at, WorkflowTask.id)))
        uow.session.expunge_all()
        return instance, tasks


def _assert_in_clearing(factory: sessionmaker[Session], invoice_id: str) -> None:
    """Accepted, no unit: one open clearing task, journalled right after the acceptance."""
    instance, tasks = _workflow(factory, invoice_id)
    assert instance.status == InstanceStatus.CLEARING.value and instance.unit_id is None
    assert [(t.kind, t.status) for t in tasks] == [("clearing", "active")]
    with UnitOfWork(factory) as uow:
        queued = service.history(uow, invoice_id)[-1]
        assert queued.event == "clearing_queued" and queued.payload["task_id"] == tasks[0].id


def test_receive_stores_blob_row_and_entry(factory: sessionmaker[Session], blobs: BlobStore) -> None:
    data = make_ubl_invoice()
    outcome = _receive(factory, blobs, data)
    assert outcome.created and outcome.status == "received" and outcome.duplicate_of is None
    with UnitOfWork(factory) as uow:
        invoice = uow.session.get(Invoice, outcome.invoice_id)
        assert invoice is not None
        assert invoice.sha256 == hashlib.sha256(data).hexdigest() and invoice.size == len(data)
        assert (invoice.channel, invoice.sender, invoice.filename) == ("api", "supplier-1", "invoice.xml")
        (entry,) = service.history(uow, outcome.invoice_id)
        assert entry.event == "received" and entry.actor == "supplier-1"
        assert service.payload_of(entry) == {
            "sha256": invoice.sha256, "size": len(data), "channel": "api", "sender": "supplier-1",
            "filename": "invoice.xml", "content_type": "application/xml"}
        assert blobs.get(invoice.sha256) == data


def test_uncommitted_receive_leaves_no_row(factory: sessionmaker[Session], blobs: BlobStore) -> None:
    with UnitOfWork(factory) as uow:
        service.receive(uow, blobs, data=b"<x/>", channel="api", sender="s")
    with UnitOfWork(factory) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Invoice)) == 0
    assert _verify(factory, blobs).ok


def test_same_bytes_from_any_channel_give_one_invoice(factory: sessionmaker[Session],
                                                      blobs: BlobStore) -> None:
    data = make_ubl_invoice()
    first = _receive(factory, blobs, data)
    again = _receive(factory, blobs, data, sender="mail-connector", channel="mail")
    assert not again.created and again.invoice_id == first.invoice_id
    assert _events(factory, first.invoice_id) == ["received", "received_again"]
    with UnitOfWork(factory) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Invoice)) == 1
        entry = service.history(uow, first.invoice_id)[-1]
        assert entry.payload["channel"] == "mail" and entry.actor == "mail-connector"


@pytest.mark.parametrize("data,channel,message", [
    (b"", "api", "empty"), (b"<x/>", "carrier-pigeon", "unknown channel")])
def test_refused_uploads_store_nothing(factory: sessionmaker[Session], blobs: BlobStore, data: bytes,
                                       channel: str, message: str) -> None:
    with pytest.raises(service.DocumentRefused, match=message):
        _receive(factory, blobs, data, channel=channel)
    assert not blobs.root.exists()


def test_process_accepts_and_extracts(factory: sessionmaker[Session], blobs: BlobStore) -> None:
    with UnitOfWork(factory) as uow:
        unit = Unit(name="Beschaffung", leitweg_id=DEFAULT_LEITWEG_ID.lower())
        uow.session.add(unit)
        uow.commit()
    outcome = _receive(factory, blobs, make_ubl_invoice(number="RE-1"))
    # accepted, then handed to the unit's approval workflow in the same transaction
    assert _process(factory, blobs, FakeValidator(), outcome.invoice_id) == "in_approval"
    with UnitOfWork(factory) as uow:
        invoice = uow.session.get(Invoice, outcome.invoice_id)
        assert invoice is not None and invoice.status == "in_approval"
        assert invoice.invoice_number == "RE-1" and invoice.issue_date == date(2026, 3, 2)
        assert invoice.currency == "EUR" and invoice.amount_due and invoice.amount_due > 0
        assert invoice.gross_amount == invoice.amount_due
        assert invoice.seller_name == "Hanse Bürobedarf GmbH"
        assert invoice.seller_key and invoice.seller_key.startswith("DE")
        assert invoice.buyer_reference == DEFAULT_LEITWEG_ID and invoice.unit_id == unit.id
        assert invoice.validation and invoice.validation["accepted"] is True and invoice.accepted
        assert invoice.data and invoice.data["number"] == "RE-1" and invoice.attempts == 1
        entries = service.history(uow, outcome.invoice_id)
        assert [e.event for e in entries] == ["received", "validating", *ACCEPTED_INTO_APPROVAL]
        accepted, started, created = (service.payload_of(e) for e in entries[2:])
    assert (accepted["invoice_number"], accepted["currency"]) == ("RE-1", "EUR")
    assert (started["unit"], started["unit_id"], started["routed_by"]) == ("Beschaffung", unit.id, "leitweg_id")
    instance, tasks = _workflow(factory, outcome.invoice_id)
    assert instance.status == InstanceStatus.RUNNING.value and instance.unit_id == unit.id
    assert [(t.kind, t.status, t.unit_id) for t in tasks] == [("approval", "active", unit.id)]
    assert created["task_id"] == tasks[0].id and created["stage"] == instance.stage
    assert _verify(factory, blobs).ok


def test_peppol_receiver_decides_the_unit_and_arrival_metadata_is_kept(factory: sessionmaker[Session],
                                                                      blobs: BlobStore) -> None:
    """A Peppol receiver ``0204:<Leitweg-ID>`` routes instead of BT-10; an unknown one goes to clearing."""
    other_leitweg = "991-33333-78"
    with UnitOfWork(factory) as uow:
        uow.session.add_all([Unit(name="Beschaffung", leitweg_id=DEFAULT_LEITWEG_ID),
                             Unit(name="Poststelle", leitweg_id=other_leitweg)])
        uow.commit()
        post = uow.session.execute(select(Unit.id).where(Unit.name == "Poststelle")).scalar_one()
    meta = {"receiver_id": f"0204:{other_leitweg}", "instance_id": "i-1", "route_leitweg_id": other_leitweg}
    routed = service.receive_committed(blobs, data=make_ubl_invoice(number="P-1"), channel="peppol",
                                       sender="9930:DE123456789", meta=meta, factory=factory)
    unknown = service.receive_committed(blobs, data=make_ubl_invoice(number="P-2"), channel="peppol",
                                        sender="9930:DE123456789", factory=factory,
                                        meta={**meta, "route_leitweg_id": "991-00000-00"})
    assert _process(factory, blobs, FakeValidator(), routed.invoice_id) == "in_approval"
    assert _process(factory, blobs, FakeValidator(), unknown.invoice_id) == "accepted"
    with UnitOfWork(factory) as uow:
        invoice = service.get(uow, routed.invoice_id)
        assert invoice is not None and invoice.unit_id == post and invoice.intake_meta == meta
        assert service.history(uow, routed.invoice_id)[0].payload["meta"] == meta
    _assert_in_clearing(factory, unknown.invoice_id)
    assert _verify(factory, blobs).ok


def test_accepted_invoice_without_a_unit_waits_in_clearing(factory: sessionmaker[Session],
                                                           blobs: BlobStore) -> None:
    outcome = _receive(factory, blobs, make_ubl_invoice(number="RE-2"))  # no unit has its Leitweg-ID
    assert _process(factory, blobs, FakeValidator(), outcome.invoice_id) == "accepted"
    with UnitOfWork(factory) as uow:
        invoice = service.get(uow, outcome.invoice_id)
        assert invoice is not None and (invoice.status, invoice.unit_id) == ("accepted", None)
        assert invoice.invoice_number == "RE-2" and invoice.accepted
    assert _events(factory, outcome.invoice_id) == ["received", "validating", *ACCEPTED_TO_CLEARING]
    _assert_in_clearing(factory, outcome.invoice_id)
    assert _verify(factory, blobs).ok


def test_process_is_idempotent(factory: sessionmaker[Session], blobs: BlobStore) -> None:
    validator = FakeValidator()
    outcome = _receive(factory, blobs, make_ubl_invoice())
    assert _process(factory, blobs, validator, outcome.invoice_id) == "accepted"
    assert _process(factory, blobs, validator, outcome.invoice_id) == "accepted"
    assert validator.calls == 1
    assert _events(factory, outcome.invoice_id) == ["received", "validating", *ACCEPTED_TO_CLEARING]
    _assert_in_clearing(factory, outcome.invoice_id)  # still exactly one clearing task


def test_process_is_idempotent_once_in_approval(factory: sessionmaker[Session], blobs: BlobStore) -> None:
    with UnitOfWork(factory) as uow:
        uow.session.add(Unit(name="Beschaffung", leitweg_id=DEFAULT_LEITWEG_ID))
        uow.commit()
    validator = FakeValidator()
    outcome = _receive(factory, blobs, make_ubl_invoice())
    assert _process(factory, blobs, validator, outcome.invoice_id) == "in_approval"
    assert _process(factory, blobs, validator, outcome.invoice_id) == "in_approval"
    assert validator.calls == 1
    assert _events(factory, outcome.invoice_id) == ["received", "validating", *ACCEPTED_INTO_APPROVAL]
    assert len(_workflow(factory, outcome.invoice_id)[1]) == 1  # no second task


def test_process_resumes_an_interrupted_run(factory: sessionmaker[Session], blobs: BlobStore) -> None:
    """A worker died after committing 'validating': the next delivery finishes the job."""
    outcome = _receive(factory, blobs, make_ubl_invoice())

    class Crash(Exception):
        pass

    class CrashingValidator(FakeValidator):
        def validate_bytes(self, data: bytes, filename: str = "") -> ValidationResult:
            raise Crash

    with pytest.raises(Crash):
        _process(factory, blobs, CrashingValidator(), outcome.invoice_id)
    with UnitOfWork(factory) as uow:
        assert service.get(uow, outcome.invoice_id).status == "validating"  # type: ignore[union-attr]
        assert service.stale_work(uow, older_than=timedelta(0)) == [outcome.invoice_id]
        assert service.stale_work(uow, older_than=timedelta(minutes=5)) == []
    assert _process(factory, blobs, FakeValidator(), outcome.invoice_id) == "accepted"
    assert _events(factory, outcome.invoice_id) == ["received", "validating", "validating",
                                                    *ACCEPTED_TO_CLEARING]
    _assert_in_clearing(factory, outcome.invoice_id)
    assert _verify(factory, blobs).ok


def test_invalid_document_is_rejected_with_rules(factory: sessionmaker[Session], blobs: BlobStore) -> None:
    data = make_ubl_invoice(buyer_reference=None)
    outcome = _receive(factory, blobs, data)
    assert _process(factory, blobs, FakeValidator(reject=(data,)), outcome.invoice_id) == "rejected"
    with UnitOfWork(factory) as uow:
        entry = service.history(uow, outcome.invoice_id)[-1]
        assert entry.event == "rejected" and entry.payload["rules"] == ["BR-DE-15"]
        assert service.get(uow, outcome.invoice_id).accepted is False  # type: ignore[union-attr]


def test_unreadable_document_is_rejected_and_extraction_error_recorded(
        factory: sessionmaker[Session], blobs: BlobStore) -> None:
    data = b"not xml at all"
    outcome = _receive(factory, blobs, data)
    assert _process(factory, blobs, FakeValidator(reject=(data,)), outcome.invoice_id) == "rejected"
    with UnitOfWork(factory) as uow:
        entry = service.history(uow, outcome.invoice_id)[-1]
        assert entry.payload["extraction_error"]
        assert service.get(uow, outcome.invoice_id).invoice_number is None  # type: ignore[union-attr]


def test_changed_copy_is_a_suspected_duplicate(factory: sessionmaker[Session], blobs: BlobStore) -> None:
    validator = FakeValidator()
    original = _receive(factory, blobs, make_ubl_invoice(number="RE-7", lines=3))
    assert _process(factory, blobs, validator, original.invoice_id) == "accepted"
    copy = _receive(factory, blobs, make_cii_invoice(number="RE-7", lines=4))  # other syntax, same key
    assert _process(factory, blobs, validator, copy.invoice_id) == "duplicate_suspected"
    third = _receive(factory, blobs, make_ubl_invoice(number="RE-7", lines=5))
    assert _process(factory, blobs, validator, third.invoice_id) == "duplicate_suspected"
    other = _receive(factory, blobs, make_ubl_invoice(number="RE-8"))
    assert _process(factory, blobs, validator, other.invoice_id) == "accepted"
    with UnitOfWork(factory) as uow:
        assert service.get(uow, copy.invoice_id).duplicate_of == original.invoice_id  # type: ignore[union-attr]
        assert service.get(uow, third.invoice_id).duplicate_of == original.invoice_id  # type: ignore[union-attr]
        entry = service.history(uow, copy.invoice_id)[-1]
        assert entry.event == "duplicate_suspected" and entry.payload["duplicate_of"] == original.invoice_id

    with UnitOfWork(factory) as uow:
        assert service.resolve_duplicate(uow, copy.invoice_id, decision="not_duplicate", actor="clerk",
                                         comment="second delivery") == "accepted"
        assert service.resolve_duplicate(uow, third.invoice_id, decision="duplicate",
                                         actor="clerk") == "rejected"
        uow.commit()
    with UnitOfWork(factory) as uow:
        resolved = service.get(uow, copy.invoice_id)
        assert resolved is not None and resolved.duplicate_of is None and resolved.status == "accepted"
        entries = service.history(uow, copy.invoice_id)
        assert [e.event for e in entries] == ["received", "validating", "duplicate_suspected",
                                              "duplicate_resolved", "clearing_queued"]
        entry = entries[-2]  # accepted by a person: its workflow starts (here: clearing, no unit)
        assert (entry.event, entry.actor, entry.payload["decision"], entry.payload["status"]) == (
            "duplicate_resolved", "clerk", "not_duplicate", "accepted")
        assert [e.event for e in service.history(uow, third.invoice_id)] == [
            "received", "validating", "duplicate_suspected", "duplicate_resolved"]  # rejected: no workflow
        assert uow.session.scalar(select(func.count()).select_from(WorkflowInstance).where(
            WorkflowInstance.invoice_id == third.invoice_id)) == 0
        with pytest.raises(service.InvalidTransition):
            service.resolve_duplicate(uow, copy.invoice_id, decision="duplicate", actor="clerk")
        with pytest.raises(service.LedgerError):
            service.resolve_duplicate(uow, third.invoice_id, decision="maybe", actor="clerk")
    _assert_in_clearing(factory, copy.invoice_id)
    assert _verify(factory, blobs).ok


def test_same_number_for_another_buyer_and_date_is_no_duplicate(factory: sessionmaker[Session],
                                                                blobs: BlobStore) -> None:
    validator = FakeValidator()
    first = _receive(factory, blobs, make_ubl_invoice(number="RE-9"))
    _process(factory, blobs, validator, first.invoice_id)
    other = _receive(factory, blobs, make_ubl_invoice(number="RE-9", issue_date=date(2026, 4, 1),
                                                      buyer_reference="991-12345-06"))
    assert _process(factory, blobs, validator, other.invoice_id) == "accepted"


def test_rejected_invoice_is_no_duplicate_original(factory: sessionmaker[Session], blobs: BlobStore) -> None:
    bad = make_ubl_invoice(number="RE-5", lines=2)
    validator = FakeValidator(reject=(bad,))
    first = _receive(factory, blobs, bad)
    assert _process(factory, blobs, validator, first.invoice_id) == "rejected"
    fixed = _receive(factory, blobs, make_ubl_invoice(number="RE-5", lines=3))
    assert _process(factory, blobs, validator, fixed.invoice_id) == "accepted"


def test_mark_failed(factory: sessionmaker[Session], blobs: BlobStore) -> None:
    outcome = _receive(factory, blobs, make_ubl_invoice())
    with UnitOfWork(factory) as uow:
        service.mark_failed(uow, outcome.invoice_id, "blob unreadable")
        uow.commit()
    with UnitOfWork(factory) as uow:
        invoice = service.get(uow, outcome.invoice_id)
        assert invoice is not None and (invoice.status, invoice.last_error) == ("failed", "blob unreadable")
        service.mark_failed(uow, outcome.invoice_id, "again")  # already decided: no change
        uow.commit()
    assert _events(factory, outcome.invoice_id) == ["received", "failed"]
    assert _process(factory, blobs, FakeValidator(), outcome.invoice_id) == "failed"
    with UnitOfWork(factory) as uow, pytest.raises(service.InvoiceNotFound):
        service.process(uow, blobs, FakeValidator(), "missing")


def test_visibility(factory: sessionmaker[Session], blobs: BlobStore) -> None:
    with UnitOfWork(factory) as uow:
        unit = Unit(name="Beschaffung", leitweg_id=DEFAULT_LEITWEG_ID)
        uow.session.add(unit)
        uow.commit()
    mine = _receive(factory, blobs, make_ubl_invoice(number="A"), sender="s1")
    theirs = _receive(factory, blobs, make_ubl_invoice(number="B", buyer_reference="991-12345-06"),
                      sender="s2")
    for outcome in (mine, theirs):
        _process(factory, blobs, FakeValidator(), outcome.invoice_id)
    with UnitOfWork(factory) as uow:
        supplier = Visibility(sender="s1")
        assert service.get_visible(uow, mine.invoice_id, supplier) is not None
        assert service.get_visible(uow, theirs.invoice_id, supplier) is None
        staff = Visibility(unit_ids=frozenset({unit.id}))
        assert service.get_visible(uow, mine.invoice_id, staff) is not None
        assert service.get_visible(uow, theirs.invoice_id, staff) is None
        assert service.get_visible(uow, theirs.invoice_id, Visibility()) is None  # fail closed
        assert service.get_visible(uow, theirs.invoice_id, Visibility(everything=True)) is not None
        assert service.get_visible(uow, "missing", Visibility(everything=True)) is None
        found, _ = service.search(uow, InvoiceFilter(), Visibility(sender="s2"), cursor=None)
        assert [i.id for i in found] == [theirs.invoice_id]
        found, _ = service.search(uow, InvoiceFilter(), Visibility(), cursor=None)
        assert found == []


def test_search_filters_and_pages(factory: sessionmaker[Session], blobs: BlobStore, db: Engine) -> None:
    received = [_receive(factory, blobs, make_ubl_invoice(number=f"N-{i}", lines=1 + i % 3,
                                                          issue_date=date(2026, 1, 1 + i)))
                for i in range(7)]
    for outcome in received:
        _process(factory, blobs, FakeValidator(), outcome.invoice_id)
    # two invoices received at the very same instant: the id breaks the tie
    same = datetime(2026, 1, 1, tzinfo=UTC)
    with db.begin() as conn:
        conn.execute(update(Invoice).where(Invoice.id.in_([received[2].invoice_id, received[3].invoice_id]))
                     .values(received_at=same))
    everyone = Visibility(everything=True)
    with UnitOfWork(factory) as uow:
        seen: list[str] = []
        cursor: str | None = None
        while True:
            page, cursor = service.search(uow, InvoiceFilter(), everyone, cursor=cursor, limit=3)
            seen += [i.id for i in page]
            if cursor is None:
                break
        assert sorted(seen) == sorted(o.invoice_id for o in received) and len(seen) == 7
        rows = uow.session.execute(select(Invoice.received_at, Invoice.id)).all()
        expected = [i for _, i in sorted(((service._utc(at), i) for at, i in rows), reverse=True)]
        assert seen == expected

        def numbers(filt: InvoiceFilter) -> set[str]:
            return {i.invoice_number or "" for i in service.search(uow, filt, everyone, cursor=None)[0]}

        assert numbers(InvoiceFilter(number="N-4")) == {"N-4"}
        assert numbers(InvoiceFilter(seller="bürobedarf")) == {f"N-{i}" for i in range(7)}
        assert numbers(InvoiceFilter(seller="nobody")) == set()
        assert numbers(InvoiceFilter(seller="50%")) == set()  # LIKE wildcards are literal
        assert numbers(InvoiceFilter(issued_from=date(2026, 1, 3), issued_to=date(2026, 1, 4))) == {"N-2", "N-3"}
        assert numbers(InvoiceFilter(status="rejected")) == set()
        assert numbers(InvoiceFilter(received_to=same)) == {"N-2", "N-3"}
        assert len(numbers(InvoiceFilter(received_from=same + timedelta(seconds=1)))) == 5
        with pytest.raises(service.LedgerError):
            service.search(uow, InvoiceFilter(), everyone, cursor="garbage!")

        # an issue-date range: latest issued first (the issue_date index's order), pages without gaps
        dated = InvoiceFilter(issued_from=date(2026, 1, 2), issued_to=date(2026, 1, 7))
        seen, cursor = [], None
        while True:
            page, cursor = service.search(uow, dated, everyone, cursor=cursor, limit=2)
            seen += [i.invoice_number for i in page]
            if cursor is None:
                break
        assert seen == ["N-6", "N-5", "N-4", "N-3", "N-2", "N-1"]
        _, dated_cursor = service.search(uow, dated, everyone, limit=2)
        assert dated_cursor is not None
        with pytest.raises(service.LedgerError, match="other filters"):
            service.search(uow, InvoiceFilter(), everyone, cursor=dated_cursor)


def test_changed_row_is_caught(factory: sessionmaker[Session], blobs: BlobStore, db: Engine) -> None:
    outcome = _receive(factory, blobs, make_ubl_invoice())
    _process(factory, blobs, FakeValidator(), outcome.invoice_id)
    assert _verify(factory, blobs).ok
    with db.begin() as conn:  # bookkeeping columns may change without a journal entry
        conn.execute(text("UPDATE invoices SET attempts = 7, last_error = 'x'"))
    assert _verify(factory, blobs).ok
    with db.begin() as conn:
        conn.execute(text("UPDATE invoices SET amount_due = 1"))
    report = _verify(factory, blobs)
    assert report.first_broken == f"invoice {outcome.invoice_id}"
    assert "changed outside the ledger" in report.problems[0]


def test_journal_entries_have_digest_of_current_row(factory: sessionmaker[Session], blobs: BlobStore) -> None:
    outcome = _receive(factory, blobs, make_ubl_invoice())
    _process(factory, blobs, FakeValidator(), outcome.invoice_id)
    with UnitOfWork(factory) as uow:
        entries = uow.session.execute(select(JournalEntry).order_by(JournalEntry.seq)).scalars().all()
        assert [e.event for e in entries] == ["received", "validating", *ACCEPTED_TO_CLEARING]
        digests = [e.payload[journal.DIGEST_KEY] for e in entries]
        # received, validating, accepted: three states of the row; queueing for clearing leaves it as is
        assert len(set(digests)) == 3 and digests[2] == digests[3]


def test_amounts_beyond_the_column_stay_out_of_it() -> None:
    assert service._amount(Decimal("1e20")) is None
    assert service._amount(Decimal("NaN")) is None
    assert service._amount(Decimal("12.345678")) == Decimal("12.3457")


@pytest.mark.parametrize("vat,name,key", [
    ("DE 123.456-789", "X", "DE123456789"), (None, "  Hanse   Bürobedarf GMBH ", "hanse bürobedarf gmbh"),
    ("", None, None)])
def test_seller_key(vat: str | None, name: str | None, key: str | None) -> None:
    assert service.seller_key(vat, name) == key
