"""The workflow on a real PostgreSQL (migrated with Alembic): concurrent decisions on one task are
serialised by the journal-head and invoice locks — exactly one wins, the other is told why — and the
journal stays one unbroken chain."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from einvoice import db
from einvoice.accounts import service as accounts
from einvoice.ledger import journal
from einvoice.ledger import service as ledger
from einvoice.ledger.blobs import BlobStore
from einvoice.samples import DEFAULT_LEITWEG_ID, make_ubl_invoice
from einvoice.workflow import clock as wf_clock
from einvoice.workflow import errors, queries
from einvoice.workflow import service as wf
from tests.integration.test_ledger_pipeline import postgres_url  # noqa: F401  (the throw-away server)
from tests.services import fresh_process_state
from tests.unit.test_workflow_engine import PUBLIC_CODING, AcceptAll

pytestmark = pytest.mark.integration

ROUNDS = 6


@pytest.fixture
def pg(postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:  # noqa: F811
    name = f"workflow_{uuid.uuid4().hex[:12]}"
    admin = db.make_engine(f"{postgres_url}/postgres").execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    # the Alembic migrations, 0002_workflow included, on PostgreSQL
    with fresh_process_state(monkeypatch, tmp_path / "data", EINVOICE_DATABASE_URL=f"{postgres_url}/{name}"):
        with db.UnitOfWork() as uow:
            accounts.create_unit(uow, "Bauamt", DEFAULT_LEITWEG_ID)
            ids = {n: accounts.create_user(uow, n, r, unit="Bauamt").id
                   for n, r in (("carl", "clerk"), ("clara", "clerk"), ("kaemmerer", "approver"))}
            uow.commit()
        with wf_clock.use(wf_clock.FixedClock(date(2026, 3, 3))):
            yield ids


def _race(*calls: Any) -> list[Any]:
    """Run the calls at the same moment in threads; each result is the value or the exception."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        with db.UnitOfWork() as uow:
            try:
                results[index] = calls[index](uow)
                uow.commit()
            except Exception as exc:
                results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_concurrent_decisions_on_one_task_one_wins(pg: dict[str, str], tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    wins: Counter[str] = Counter()
    for round_no in range(ROUNDS):
        outcome = ledger.receive_committed(blobs, data=make_ubl_invoice(3, number=f"PG-{round_no}"), channel="api",
                                           sender="supplier")
        with db.UnitOfWork() as uow:
            assert ledger.process(uow, blobs, AcceptAll(), outcome.invoice_id) == "in_approval"
            uow.commit()
        with db.UnitOfWork() as uow:
            instance = queries.instance_for(uow, outcome.invoice_id)
            assert instance is not None
            task_id = wf.active_tasks(uow.session, instance.id)[0].id
        results = _race(
            lambda uow, t=task_id: wf.decide(uow, t, pg["carl"], "approve", coding=PUBLIC_CODING),
            lambda uow, t=task_id: wf.decide(uow, t, pg["clara"], "approve", coding=PUBLIC_CODING),
            lambda uow, t=task_id: wf.claim(uow, t, pg["kaemmerer"]))
        winners = [r for r in results if not isinstance(r, Exception)]
        refused = [r for r in results if isinstance(r, Exception)]
        assert len(winners) == 1 and len(refused) == 2, results
        assert all(isinstance(r, errors.Conflict) for r in refused), refused
        with db.UnitOfWork() as uow:
            instance = queries.instance_for(uow, outcome.invoice_id)
            assert instance is not None
            approvals = wf.valid_approvals(uow.session, instance.id)
            active = wf.active_tasks(uow.session, instance.id)
            if isinstance(winners[0], wf.DecisionResult):  # an approval won: the claim came too late
                assert [a.stage for a in approvals] == ["factual"]
                assert [t.stage for t in active] == ["arithmetic"]
                assert "already done" in refused[-1].message or "held by" in refused[-1].message
            else:  # the claim won: both approvals were refused, the task is kaemmerer's
                assert approvals == [] and [(t.stage, t.assignee_id) for t in active] == [
                    ("factual", pg["kaemmerer"])]
                assert all("held by kaemmerer" in r.message for r in refused)
            wins[type(winners[0]).__name__] += 1
    with db.UnitOfWork() as uow:
        report = journal.verify(uow.session, blobs)
    assert report.ok, report.problems
    assert sum(wins.values()) == ROUNDS


def test_seller_substring_search_has_its_trigram_indexes(pg: dict[str, str]) -> None:
    """Migration 0009 (PostgreSQL only): GIN trigram indexes serve `seller ILIKE '%…%'`."""
    with db.UnitOfWork() as uow:
        names = set(uow.session.execute(text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'invoices' AND indexdef LIKE '%gin_trgm_ops%'"))
            .scalars())
    assert names == {"ix_invoices_seller_name_trgm", "ix_invoices_seller_key_trgm"}
