"""The outbox on PostgreSQL (row locks, SKIP LOCKED, ON CONFLICT): concurrent exporters and webhook
drainers still deliver every invoice exactly once; a crash between file and commit is recovered."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import text

from einvoice.db import UnitOfWork, make_engine
from einvoice.export import outbox
from einvoice.export.datev_check import check_file, split_line
from einvoice.export.webhook import IDEMPOTENCY_HEADER
from tests.integration.test_ledger_pipeline import postgres_url as pg_server  # noqa: F401  (fixture)
from tests.unit.test_export_support import DATEV, SECRET, Clock, Ledger, make_ledger

pytestmark = pytest.mark.integration


@pytest.fixture
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    server = request.getfixturevalue("pg_server")  # the session's throw-away PostgreSQL server
    name = f"export_{uuid.uuid4().hex[:12]}"
    admin = make_engine(f"{server}/postgres").execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    ledger = make_ledger(tmp_path, f"{server}/{name}")
    ledger.unit("Bauamt")
    yield ledger
    ledger.engine.dispose()


def together(count: int, work: Callable[[int], object]) -> list[object]:
    results: list[object] = [None] * count
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(index: int) -> None:
        try:
            start.wait()
            results[index] = work(index)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    return results


def test_concurrent_exporters_write_each_invoice_once(ledger: Ledger, tmp_path: Path) -> None:
    ledger.configure("Bauamt", "datev", **DATEV)
    ids = [ledger.approved(f"RE-{n}") for n in range(12)]
    together(4, lambda i: ledger.approve(ids[i]))  # repeated enqueues race on ON CONFLICT: no error, no row
    assert len(ledger.entries()) == 12
    out = tmp_path / "out"
    reports = together(4, lambda i: outbox.run_file_exports(exporter="datev", out_dir=out, factory=ledger.factory))
    exported = Counter(i for report in reports for batch in report.batches for i in batch.invoices)  # type: ignore[attr-defined]
    assert exported == Counter(ids)
    numbers: Counter[str] = Counter()
    for path in out.glob("EXTF_*.csv"):
        result = check_file(path)
        assert result.ok, result.problems
        for line in path.read_bytes().decode("cp1252").split("\r\n")[2:-1]:
            numbers[split_line(line)[10].value] += 1
    assert numbers == Counter({f"RE-{n}": 2 for n in range(12)})  # two VAT rates each, in exactly one file
    assert all(ledger.status(i) == "exported" and len(ledger.events(i, "exported")) == 1 for i in ids)
    assert ledger.verify().ok


def test_crash_between_file_and_commit_on_postgres(ledger: Ledger, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    ledger.configure("Bauamt", "json")
    invoice_id = ledger.approved("RE-1")
    out = tmp_path / "out"
    real = outbox.complete_batch
    monkeypatch.setattr(outbox, "complete_batch", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("killed")))
    with pytest.raises(RuntimeError):
        outbox.run_file_exports(exporter="json", out_dir=out, factory=ledger.factory)
    monkeypatch.setattr(outbox, "complete_batch", real)
    report = outbox.run_file_exports(exporter="json", out_dir=out, factory=ledger.factory)
    assert [b.invoices for b in report.batches] == [[invoice_id]]
    assert len(list(out.glob("*.json"))) == 1 and len(ledger.events(invoice_id, "exported")) == 1


def test_concurrent_webhook_drainers_deliver_once(ledger: Ledger) -> None:
    received: list[str] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                received.append(self.headers[IDEMPOTENCY_HEADER])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        ledger.configure("Bauamt", "webhook", url=f"http://127.0.0.1:{server.server_address[1]}/in", secret=SECRET)
        ids = [ledger.approved(f"RE-{n}") for n in range(10)]
        clock = Clock()
        together(4, lambda i: outbox.drain_webhooks(factory=ledger.factory, clock=clock))
    finally:
        server.shutdown()
        server.server_close()
    keys = {e.invoice_id: e.idempotency_key for e in ledger.entries()}
    assert Counter(received) == Counter(keys[i] for i in ids)  # every invoice posted exactly once
    assert all(ledger.status(i) == "exported" for i in ids)
    with UnitOfWork(ledger.factory) as uow:
        assert len(outbox.deliveries(uow, status="done")) == 10
