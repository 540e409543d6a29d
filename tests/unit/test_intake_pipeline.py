"""The intake pipeline in embedded mode on a throw-away SQLite ledger, with a stand-in validator.

Real ledger, real in-process broker and worker threads; only the (slow, rule-pack dependent)
validator is replaced, so these run in a second without installed rule packs.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from einvoice import db
from einvoice.intake import actors, broker, service
from einvoice.intake.embedded import EmbeddedWorker
from einvoice.intake.sweeper import Sweeper, sweep_once
from einvoice.ledger.models import Invoice, JournalEntry
from einvoice.samples import make_ubl_invoice
from einvoice.validation.model import ValidationResult
from tests.services import fresh_process_state

FAST = broker.JobPolicy(max_retries=2, min_backoff_ms=10, max_backoff_ms=20, time_limit_ms=30_000)


class StandInValidator:
    """Accepts every document (extraction still runs for real on the bytes)."""

    def __init__(self) -> None:
        self.calls = 0

    def validate_bytes(self, data: bytes, filename: str = "") -> ValidationResult:
        self.calls += 1
        return ValidationResult(file=filename, sha256=hashlib.sha256(data).hexdigest(), accepted=True,
                                scenario="stand-in", syntax="UBL-Invoice",
                                timestamp=datetime.now(UTC).isoformat())


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInValidator]:
    """A fresh SQLite ledger in ``tmp_path``, the in-process broker with fast retries."""
    stand_in = StandInValidator()
    with fresh_process_state(monkeypatch, tmp_path, validator=stand_in):
        broker.configure(policy=FAST)
        yield stand_in


@pytest.fixture
def worker(ledger: StandInValidator) -> Iterator[EmbeddedWorker]:
    running = EmbeddedWorker(threads=2, sweep_interval=0.1, stale_after=0.5, warm_up=False).start()
    try:
        yield running
    finally:
        running.stop()


def submit(number: str) -> Any:
    return service.submit(data=make_ubl_invoice(2, number=number), channel="api", sender="u1",
                          filename=f"{number}.xml", content_type="application/xml")


def row(invoice_id: str) -> Invoice:
    with db.UnitOfWork() as uow:
        invoice = uow.session.get(Invoice, invoice_id)
        assert invoice is not None
        return invoice


def events(invoice_id: str) -> list[str]:
    with db.UnitOfWork() as uow:
        return list(uow.session.scalars(select(JournalEntry.event).where(JournalEntry.invoice_id == invoice_id)
                                        .order_by(JournalEntry.seq)))


def final(invoice_id: str, timeout: float = 20) -> str:
    status = service.wait_until_final([invoice_id], timeout=timeout, poll=0.02)[invoice_id]
    assert status not in service.PENDING, f"{invoice_id} still {status}"
    return status


def test_submit_commits_then_processes(worker: EmbeddedWorker) -> None:
    outcome = submit("U-1")
    assert outcome.created and outcome.status == "received"
    # this ledger has no units: the accepted invoice stays accepted and waits in the clearing queue
    assert final(outcome.invoice_id) == "accepted"
    invoice = row(outcome.invoice_id)
    assert invoice.invoice_number == "U-1" and invoice.gross_amount is not None
    assert invoice.accepted is True and invoice.unit_id is None
    assert events(outcome.invoice_id) == ["received", "validating", "accepted", "clearing_queued"]


def test_enqueue_is_stamped(ledger: StandInValidator, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []
    monkeypatch.setattr(actors, "send", sent.append)
    outcome = submit("U-2")
    assert sent == [outcome.invoice_id]
    assert row(outcome.invoice_id).enqueued_at is not None


def test_same_bytes_twice_give_one_entry_and_one_job(ledger: StandInValidator,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []
    monkeypatch.setattr(actors, "send", sent.append)
    first, second = submit("U-3"), submit("U-3")
    assert first.invoice_id == second.invoice_id and first.created and not second.created
    assert sent == [first.invoice_id]
    with db.UnitOfWork() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Invoice)) == 1


def test_broker_down_after_commit_is_not_the_clients_problem(
        ledger: StandInValidator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def down(invoice_id: str) -> None:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(actors, "send", down)
    outcome = submit("U-4")  # must not raise: the document is committed
    invoice = row(outcome.invoice_id)
    assert invoice.status == "received" and invoice.enqueued_at is None
    assert "the sweeper will retry" in caplog.text
    assert sweep_once(stale_after=0) == 0  # still down: nothing sent, nothing lost

    monkeypatch.undo()
    with EmbeddedWorker(threads=1, sweep_interval=0.1, stale_after=0.3, warm_up=False):
        assert final(outcome.invoice_id) == "accepted"


def test_sweeper_leaves_fresh_work_alone(ledger: StandInValidator, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []
    monkeypatch.setattr(actors, "send", sent.append)
    outcome = submit("U-5")
    sent.clear()
    assert sweep_once(stale_after=3600) == 0 and sent == []
    time.sleep(0.05)
    assert sweep_once(stale_after=0.01) == 1 and sent == [outcome.invoice_id]


def test_sweeper_holds_back_while_jobs_wait_in_the_queue(ledger: StandInValidator) -> None:
    """A pending entry behind a backlog is probably just waiting: re-sending it would double the queue."""
    outcome = submit("U-9")  # really enqueued; no worker runs, so it waits in the queue
    assert broker.backlog() == 1
    time.sleep(0.1)
    assert sweep_once(stale_after=0.05) == 0  # 0.1 s is not 10 x 0.05 s
    time.sleep(0.45)
    assert sweep_once(stale_after=0.05) == 1  # long enough to count as lost even behind a backlog
    broker.get_broker().flush_all()
    assert broker.backlog() == 0
    time.sleep(0.1)
    assert sweep_once(stale_after=0.05) == 1 and outcome.created


def test_transient_failures_are_retried(worker: EmbeddedWorker, monkeypatch: pytest.MonkeyPatch) -> None:
    from einvoice.ledger import service as ledger_service

    real = ledger_service.process
    calls: list[str] = []

    def flaky(*args: Any) -> str:
        calls.append(args[-1])
        if len(calls) <= 2:
            raise OSError("database hiccup")
        return real(*args)

    monkeypatch.setattr(ledger_service, "process", flaky)
    outcome = submit("U-6")
    assert final(outcome.invoice_id) == "accepted"
    assert len(calls) == 3


def test_a_document_that_keeps_failing_ends_visibly_failed(worker: EmbeddedWorker,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from einvoice.ledger import service as ledger_service

    calls: list[str] = []

    def broken(*args: Any) -> str:
        calls.append(args[-1])
        raise RuntimeError("cannot read this")

    monkeypatch.setattr(ledger_service, "process", broken)
    outcome = submit("U-7")
    assert final(outcome.invoice_id) == "failed"
    assert len(calls) == FAST.max_retries + 1
    invoice = row(outcome.invoice_id)
    assert invoice.last_error and "cannot read this" in invoice.last_error
    assert events(outcome.invoice_id)[-1] == "failed"


def test_redelivery_is_harmless(worker: EmbeddedWorker, ledger: StandInValidator) -> None:
    outcome = submit("U-8")
    assert final(outcome.invoice_id) == "accepted"
    calls = ledger.calls
    actors.process_invoice(outcome.invoice_id)  # a duplicate message, e.g. after a worker crash
    actors.send(outcome.invoice_id)
    time.sleep(0.3)
    assert row(outcome.invoice_id).status == "accepted"
    assert events(outcome.invoice_id) == ["received", "validating", "accepted", "clearing_queued"]
    assert ledger.calls == calls


def test_sweeper_thread_survives_errors(ledger: StandInValidator, monkeypatch: pytest.MonkeyPatch) -> None:
    from einvoice.ledger import service as ledger_service

    failures = threading.Event()

    def stale_work(*_args: Any, **_kwargs: Any) -> list[str]:
        failures.set()
        raise OSError("database down")

    monkeypatch.setattr(ledger_service, "stale_work", stale_work)
    sweeper = Sweeper(interval=0.02, stale_after=0).start()
    try:
        deadline = time.monotonic() + 5
        while sweeper.sweeps < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert failures.is_set() and sweeper.sweeps >= 3
    finally:
        sweeper.stop()


def test_sweeper_rejects_nonsense_intervals() -> None:
    with pytest.raises(ValueError):
        Sweeper(interval=0)
