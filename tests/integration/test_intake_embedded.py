"""Acceptance in embedded mode: SQLite ledger, in-process broker and worker threads, real validator."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from einvoice import db
from einvoice.config import get_settings
from einvoice.intake import actors, broker, service
from einvoice.intake.embedded import EmbeddedWorker
from einvoice.ledger.models import Invoice, JournalEntry
from tests.conftest import ROOT, STANDARDS
from tests.services import fresh_process_state

pytestmark = pytest.mark.integration

SUITE = sorted((STANDARDS / "xrechnung-testsuite" / "src" / "test").rglob("*.xml"))
SAMPLES = ROOT / "samples"


@pytest.fixture
def embedded(tmp_path: Path, validator: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddedWorker]:
    """A fresh embedded installation in ``tmp_path`` sharing the session's compiled validator."""
    with fresh_process_state(monkeypatch, tmp_path, validator=validator):
        broker.configure()
        running = EmbeddedWorker(threads=2, sweep_interval=0.2, stale_after=1.0, warm_up=False).start()
        try:
            yield running
        finally:
            running.stop()


def submit_file(path: Path, sender: str = "tester") -> Any:
    return service.submit(data=path.read_bytes(), channel="api", sender=sender, filename=path.name,
                          content_type="application/pdf" if path.suffix == ".pdf" else "application/xml")


def rows(ids: list[str]) -> dict[str, Invoice]:
    with db.UnitOfWork() as uow:
        return {i.id: i for i in uow.session.scalars(select(Invoice).where(Invoice.id.in_(ids)))}


def test_every_kosit_suite_document_is_accepted_with_its_data(embedded: EmbeddedWorker) -> None:
    assert len(SUITE) == 86
    ids = [submit_file(path).invoice_id for path in SUITE]
    assert len(set(ids)) == 86
    statuses = service.wait_until_final(ids, timeout=300)
    assert not [i for i, s in statuses.items() if s in service.PENDING]
    found = rows(ids)
    problems = []
    for path, invoice_id in zip(SUITE, ids, strict=True):
        inv = found[invoice_id]
        if inv.accepted is not True or not inv.invoice_number or inv.gross_amount is None \
                or inv.amount_due is None or not inv.currency:
            reason = inv.validation and inv.validation["reason"]
            problems.append(f"{path.name}: verdict={inv.accepted} number={inv.invoice_number} "
                            f"gross={inv.gross_amount} due={inv.amount_due} {reason}")
    assert not problems, "\n".join(problems)

    # The suite re-uses invoice numbers of the same seller across its files. Such a document is by
    # definition a suspected duplicate of the one recorded first; every other one is accepted.
    by_key: dict[tuple[str | None, str | None], list[Invoice]] = defaultdict(list)
    for inv in found.values():
        by_key[(inv.seller_key, inv.invoice_number)].append(inv)
    for group in by_key.values():
        if len(group) == 1:
            assert group[0].status == "accepted", group[0].filename
        for inv in group:
            assert inv.status in ("accepted", "duplicate_suspected"), (inv.filename, inv.status)
            if inv.status == "duplicate_suspected":
                original = found.get(inv.duplicate_of or "")
                assert original is not None and original.invoice_number == inv.invoice_number
    accepted = sum(inv.status == "accepted" for inv in found.values())
    print(f"\nKoSIT suite through intake: {accepted} accepted, {86 - accepted} suspected duplicates "
          f"(validation verdict accepted for all 86)")


def test_invalid_sample_is_rejected_with_findings(embedded: EmbeddedWorker) -> None:
    from einvoice.samples import INVALID_SAMPLE_RULES

    invoice_id = submit_file(SAMPLES / "xrechnung-ubl-invalid.xml").invoice_id
    assert service.wait_until_final([invoice_id], timeout=60)[invoice_id] == "rejected"
    inv = rows([invoice_id])[invoice_id]
    assert inv.validation is not None and inv.validation["accepted"] is False
    fired = {f["rule"] for f in inv.validation["findings"]}
    assert set(INVALID_SAMPLE_RULES) <= fired


def test_same_bytes_twice_give_one_entry(embedded: EmbeddedWorker) -> None:
    path = SAMPLES / "xrechnung-cii-invoice.xml"
    first = submit_file(path, sender="a")
    second = submit_file(path, sender="b")  # another channel or sender: still the same document
    assert second.invoice_id == first.invoice_id and not second.created
    assert service.wait_until_final([first.invoice_id], timeout=60)[first.invoice_id] == "accepted"
    with db.UnitOfWork() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Invoice)) == 1
        verdicts = uow.session.scalar(select(func.count()).select_from(JournalEntry).where(
            JournalEntry.invoice_id == first.invoice_id, JournalEntry.event == "accepted"))
    assert verdicts == 1


def test_crash_between_commit_and_enqueue_is_recovered_by_the_sweeper(
        embedded: EmbeddedWorker, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(invoice_id: str) -> None:
        raise ConnectionError("the process died before the job was enqueued")

    monkeypatch.setattr(actors, "send", crash)
    outcome = submit_file(SAMPLES / "xrechnung-ubl-invoice.xml")
    inv = rows([outcome.invoice_id])[outcome.invoice_id]
    assert inv.status == "received" and inv.enqueued_at is None  # committed, but no job exists
    monkeypatch.undo()
    # No new submission, no manual step: only the embedded sweeper can get it processed.
    assert service.wait_until_final([outcome.invoice_id], timeout=60)[outcome.invoice_id] == "accepted"
    assert embedded.sweeper.sweeps > 0


def test_demo_fills_the_ledger(embedded: EmbeddedWorker) -> None:
    from einvoice.server import app

    embedded.stop()  # the demo brings its own embedded worker, as on a fresh machine
    result = CliRunner().invoke(app, ["demo", "--timeout", "120"])
    assert result.exit_code == 0, result.output
    with db.UnitOfWork() as uow:
        statuses = dict(uow.session.execute(select(Invoice.filename, Invoice.status)).all())
    sample_files = {p.name for p in SAMPLES.iterdir() if p.suffix in (".xml", ".pdf")}
    assert set(statuses) == sample_files
    assert not set(statuses.values()) & service.PENDING
    assert statuses["xrechnung-ubl-invalid.xml"] == "rejected"
    for name in ("xrechnung-ubl-creditnote.xml", "xrechnung-cii-invoice.xml", "zugferd-xrechnung.pdf"):
        assert statuses[name] == "accepted", name
    # The resent copy carries the UBL invoice's number: whichever is decided first is accepted,
    # the other one a suspected duplicate.
    assert sorted([statuses["xrechnung-ubl-invoice.xml"], statuses["xrechnung-ubl-resent-invoice.xml"]]) \
        == ["accepted", "duplicate_suspected"]
    assert "rejected" in result.output and "accepted" in result.output


def test_demo_in_development_sets_up_an_office_to_log_into(embedded: EmbeddedWorker,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """On a fresh machine (development) the demo's valid invoices reach the workqueue of a demo unit."""
    from einvoice.accounts import service as accounts
    from einvoice.server import DEMO_PASSWORD, DEMO_STAFF, app
    from einvoice.workflow.models import WorkflowTask

    embedded.stop()
    monkeypatch.setenv("EINVOICE_ENV", "development")
    get_settings.cache_clear()
    first = CliRunner().invoke(app, ["demo", "--timeout", "120"])
    again = CliRunner().invoke(app, ["demo", "--timeout", "120"])  # idempotent: same people, same unit
    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    assert "demo logins" in first.output and DEMO_PASSWORD in first.output
    with db.UnitOfWork() as uow:
        for name, _role in (("demo-supplier", "supplier"), *DEMO_STAFF):
            assert accounts.authenticate_password(uow, name, DEMO_PASSWORD) is not None, name
        assert len(accounts.list_units(uow)) == 1
        statuses = dict(uow.session.execute(select(Invoice.filename, Invoice.status)).all())
        tasks = uow.session.scalar(select(func.count()).select_from(WorkflowTask))
    assert statuses["xrechnung-cii-invoice.xml"] == "in_approval" and tasks
