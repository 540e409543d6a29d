"""From upload to ``paid`` through the HTTP API with real users, rule packs and the approval workflow:
the final approval queues the export in its own transaction; a crash between the DATEV file and the
commit still exports exactly once; the webhook reaches a real receiver once; bookkeeping marks it paid.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from einvoice import db
from einvoice.accounts import service as accounts
from einvoice.export import outbox
from einvoice.export.datev_check import check_file, split_line
from einvoice.export.settings import configure
from einvoice.export.webhook import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify
from einvoice.intake import service as intake
from einvoice.ledger import journal
from einvoice.samples import render_ubl, sample_invoice_data
from einvoice.validation.engine import Validator
from tests.integration.test_api_intake import Service, running_service
from tests.unit.test_export_support import Clock

pytestmark = pytest.mark.integration

SECRET = "integration-webhook-secret"
DATEV = {"consultant": 29098, "client": 55003, "creditor_account": "70000", "default_account": "4930"}
CODING = [{"account": "6815", "cost_center": "KST-4711", "budget_line": "1.1.1.01.54110", "tax_key": "9",
           "amount": "326.30", "vat_rate": "19", "text": "Büromaterial"},
          {"account": "6820", "cost_center": "KST-4711", "budget_line": "1.1.1.01.54120", "tax_key": "8",
           "amount": "79.80", "vat_rate": "7", "text": "Fachliteratur"}]


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A bookkeeping endpoint on loopback that fails twice, then acknowledges."""
    calls: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            calls.append((dict(self.headers.items()), body))
            self.send_response(500 if len(calls) <= 2 else 202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", calls
    server.shutdown()
    server.server_close()


@pytest.fixture
def service(tmp_path: Path, validator: Validator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    with running_service(tmp_path / "data", validator, monkeypatch) as running:
        with db.UnitOfWork() as uow:
            for name, role in (("dora", "clerk"), ("anna", "approver"), ("fibu", "clerk")):
                accounts.create_user(uow, name, role, unit="Bauamt")
                running.tokens[name] = accounts.create_token(uow, name).token
            uow.commit()
        yield running


def task_for(service: Service, user: str, invoice_id: str) -> dict[str, Any]:
    response = service.client.get("/api/v1/tasks", headers=service.auth(user))
    assert response.status_code == 200, response.text
    tasks = [t for t in response.json()["items"] if t["invoice_id"] == invoice_id and t["status"] != "done"]
    assert tasks, f"{user} sees no task for {invoice_id}: {response.json()}"
    return tasks[0]


def decide(service: Service, user: str, invoice_id: str, **body: Any) -> dict[str, Any]:
    task = task_for(service, user, invoice_id)
    claimed = service.client.post(f"/api/v1/tasks/{task['id']}/claim", headers=service.auth(user))
    assert claimed.status_code == 200, claimed.text
    response = service.client.post(f"/api/v1/tasks/{task['id']}/decision", headers=service.auth(user),
                                   json={"decision": "approve", **body})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_full_run_to_paid_with_a_crash_before_the_export_commit(
        service: Service, receiver: tuple[str, list[tuple[dict[str, str], bytes]]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    url, calls = receiver
    with db.UnitOfWork() as uow:
        configure(uow, unit="Bauamt", exporter="datev", **DATEV)  # type: ignore[arg-type]
        configure(uow, unit="Bauamt", exporter="webhook", url=url, secret=SECRET)
        uow.commit()
    invoice_id = service.upload(render_ubl(sample_invoice_data(number="RE-2026-04711")))["id"]
    assert service.wait(invoice_id)["status"] == "in_approval"

    decide(service, "carl", invoice_id, coding=CODING)  # sachlich richtig, with the coding
    decide(service, "dora", invoice_id)  # rechnerisch richtig
    final = decide(service, "anna", invoice_id)  # Anordnung
    assert final["invoice_status"] == "approved"
    with db.UnitOfWork() as uow:
        rows = outbox.deliveries(uow, invoice_id=invoice_id)
        assert sorted(entry.exporter for entry, _ in rows) == ["datev", "webhook"]  # queued with the approval

    # The process dies after writing the DATEV file and before committing the export.
    out = tmp_path / "datev"
    real_complete = outbox.complete_batch
    monkeypatch.setattr(outbox, "complete_batch",
                        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("killed")))
    with pytest.raises(RuntimeError):
        outbox.run_file_exports(exporter="datev", out_dir=out)
    monkeypatch.setattr(outbox, "complete_batch", real_complete)
    report = outbox.run_file_exports(exporter="datev", out_dir=out)
    assert [b.invoices for b in report.batches] == [[invoice_id]] and report.batches[0].resumed
    (path,) = out.glob("EXTF_*.csv")
    assert outbox.run_file_exports(exporter="datev", out_dir=out).batches == []
    assert list(out.glob("EXTF_*.csv")) == [path]
    result = check_file(path)
    assert result.ok, result.problems
    rows = [[f.value for f in split_line(line)] for line in path.read_bytes().decode("cp1252").split("\r\n")[2:-1]]
    assert sorted((r[0], r[6], r[7], r[8], r[36], r[37]) for r in rows) == [
        ("388,30", "6815", "70000", "9", "KST-4711", "1.1.1.01.54110"),
        ("85,39", "6820", "70000", "8", "KST-4711", "1.1.1.01.54120")]
    assert all(r[10] == "RE-2026-04711" and r[19].endswith(f"/api/v1/invoices/{invoice_id}/original") for r in rows)
    assert {r[13] for r in rows} == {"Hanse Bürobedarf GmbH RE-2026-04711, Büromaterial",
                                     "Hanse Bürobedarf GmbH RE-2026-04711, Fachliteratur"}
    assert service.client.get(f"/api/v1/invoices/{invoice_id}", headers=service.auth("carl")).json()["status"] \
        == "approved"  # the webhook is still owed

    # The webhook: two failures, then acknowledged (the clock moves; no sleeping).
    clock = Clock()
    for _ in range(3):
        outbox.drain_webhooks(clock=clock)
        clock.advance(minutes=10)
    acknowledged = outbox.drain_webhooks(clock=clock)
    assert acknowledged.delivered == []  # nothing left to send
    assert len(calls) == 3 and len({h[IDEMPOTENCY_HEADER] for h, _ in calls}) == 1
    headers, body = calls[-1]
    assert verify(body, SECRET, headers[SIGNATURE_HEADER])
    record = json.loads(body)
    assert record["invoice_id"] == invoice_id and [c["account"] for c in record["coding"]] == ["6815", "6820"]

    detail = service.client.get(f"/api/v1/invoices/{invoice_id}", headers=service.auth("carl")).json()
    assert detail["status"] == "exported"

    # Bookkeeping reports the payment (callback with the unit's clerk token).
    paid = service.client.post(f"/api/v1/invoices/{invoice_id}/paid", headers=service.auth("fibu"),
                               json={"paid_on": "2026-03-14", "amount": "464.22", "reference": "ZA-1"})
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    assert service.client.post(f"/api/v1/invoices/{invoice_id}/paid",
                               headers=service.auth("fibu")).status_code == 409
    detail = service.client.get(f"/api/v1/invoices/{invoice_id}", headers=service.auth("carl")).json()
    events = [e["event"] for e in detail["events"]]
    assert events.count("workflow_approved") == 1 and events.count("exported") == 2  # one per exporter
    assert events.index("workflow_approved") < events.index("exported") < events.index("paid")
    with db.UnitOfWork() as uow:
        assert journal.verify(uow.session, intake.blobs()).ok
