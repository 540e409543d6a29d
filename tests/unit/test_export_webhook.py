"""Webhook delivery to a real HTTP receiver on loopback: retries with back-off on a moved clock,
exactly one acknowledged delivery, verifiable signatures, giving up visibly, expired leases."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from einvoice.db import UnitOfWork
from einvoice.export import outbox
from einvoice.export.webhook import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign, verify
from tests.unit.test_export_support import SECRET, Clock, Ledger, make_ledger


@dataclass
class Receiver:
    """A bookkeeping endpoint that fails a number of times, then acknowledges; it remembers everything."""

    failures: int = 0
    requests: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)
    acknowledged: dict[str, bytes] = field(default_factory=dict)  # idempotency key → body (deduplicated)
    url: str = ""

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        code = 503 if len(self.requests) < self.failures else 200
        self.requests.append((headers, body, code))
        if code == 200:
            self.acknowledged.setdefault(headers[IDEMPOTENCY_HEADER], body)
        return code


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            code = state.answer({k: v for k, v in self.headers.items()}, body)
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/bookkeeping/invoices"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    ledger = make_ledger(tmp_path)
    ledger.unit("Bauamt")
    yield ledger
    ledger.engine.dispose()


def drain(ledger: Ledger, clock: Clock, **options: object) -> outbox.DrainReport:
    return outbox.drain_webhooks(factory=ledger.factory, clock=clock, **options)  # type: ignore[arg-type]


def test_fails_twice_then_delivered_exactly_once(ledger: Ledger, receiver: Receiver) -> None:
    receiver.failures = 2
    ledger.configure("Bauamt", "webhook", url=receiver.url, secret=SECRET)
    invoice_id = ledger.approved("RE-1")
    clock = Clock()

    assert drain(ledger, clock).retrying == [invoice_id]  # attempt 1: 503
    (entry,) = ledger.entries(invoice_id)
    assert entry.status == "pending" and entry.attempts == 1 and "HTTP 503" in (entry.last_error or "")
    assert outbox._utc(entry.next_attempt_at) == clock.now + timedelta(seconds=10)

    clock.advance(seconds=9)
    assert drain(ledger, clock).retrying == [] and len(receiver.requests) == 1  # not due yet
    clock.advance(seconds=1)
    assert drain(ledger, clock).retrying == [invoice_id]  # attempt 2: 503, back-off doubles
    (entry,) = ledger.entries(invoice_id)
    assert outbox._utc(entry.next_attempt_at) == clock.now + timedelta(seconds=20)
    clock.advance(seconds=20)
    assert drain(ledger, clock).delivered == [invoice_id]  # attempt 3: acknowledged

    clock.advance(hours=5)
    assert drain(ledger, clock).delivered == []  # nothing is sent again
    assert [code for _, _, code in receiver.requests] == [503, 503, 200]
    assert len(receiver.acknowledged) == 1

    bodies = {body for _, body, _ in receiver.requests}
    keys = {headers[IDEMPOTENCY_HEADER] for headers, _, _ in receiver.requests}
    assert len(bodies) == 1 and keys == {entry.idempotency_key}  # every retry is the same delivery
    headers, body, _ = receiver.requests[-1]
    assert verify(body, SECRET, headers[SIGNATURE_HEADER])
    assert headers[SIGNATURE_HEADER] == sign(body, SECRET)
    assert not verify(body.replace(b"RE-1", b"RE-9"), SECRET, headers[SIGNATURE_HEADER])
    assert not verify(body, "another-secret-of-16-chars", headers[SIGNATURE_HEADER])
    record = json.loads(body)
    assert record["event"] == "invoice.approved" and record["invoice_id"] == invoice_id
    assert record["invoice_number"] == "RE-1" and record["amounts"]["gross"] == "473.69"
    assert record["original"]["url"] == f"/api/v1/invoices/{invoice_id}/original"
    assert record["idempotency_key"] == entry.idempotency_key

    assert ledger.status(invoice_id) == "exported"
    (exported,) = ledger.events(invoice_id, "exported")
    assert exported.payload["exporter"] == "webhook" and exported.payload["attempts"] == 3
    assert exported.payload["http_status"] == 200
    assert ledger.verify().ok


def test_gives_up_visibly_and_can_be_retried(ledger: Ledger, receiver: Receiver) -> None:
    receiver.failures = 1000
    ledger.configure("Bauamt", "webhook", url=receiver.url, secret=SECRET, max_attempts=3)
    invoice_id = ledger.approved("RE-1")
    clock = Clock()
    for _ in range(3):
        drain(ledger, clock)
        clock.advance(hours=1)
    assert len(receiver.requests) == 3
    (entry,) = ledger.entries(invoice_id)
    assert entry.status == "failed" and "after 3 attempt(s)" in (entry.last_error or "")
    assert ledger.status(invoice_id) == "approved"
    (failed,) = ledger.events(invoice_id, "export_failed")
    assert failed.payload["attempts"] == 3
    clock.advance(days=3)
    drain(ledger, clock)
    assert len(receiver.requests) == 3  # failed stays failed

    receiver.failures = 0
    with UnitOfWork(ledger.factory) as uow:
        outbox.retry(uow, entry.id, actor="admin", now=clock.now)
        uow.commit()
    assert drain(ledger, clock).delivered == [invoice_id]
    assert ledger.status(invoice_id) == "exported" and len(receiver.acknowledged) == 1


def test_unreachable_receiver_is_retried(ledger: Ledger) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ledger.configure("Bauamt", "webhook", url=f"http://127.0.0.1:{port}/x", secret=SECRET)
    invoice_id = ledger.approved("RE-1")
    report = drain(ledger, Clock())
    assert report.retrying == [invoice_id]
    (entry,) = ledger.entries(invoice_id)
    assert entry.status == "pending" and "ConnectError" in (entry.last_error or "")


def test_sender_dying_mid_attempt_is_resent_after_the_lease(ledger: Ledger, receiver: Receiver,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    ledger.configure("Bauamt", "webhook", url=receiver.url, secret=SECRET)
    invoice_id = ledger.approved("RE-1")
    clock = Clock()
    import einvoice.export.webhook as webhook

    real_post = webhook.post

    def killed(*args: object, **kwargs: object) -> webhook.Delivery:
        real_post(*args, **kwargs)  # type: ignore[arg-type]  # the request arrives ...
        raise KeyboardInterrupt("worker killed before recording the answer")  # ... the answer is lost

    monkeypatch.setattr(webhook, "post", killed)
    with pytest.raises(KeyboardInterrupt):
        drain(ledger, clock)
    monkeypatch.setattr(webhook, "post", real_post)
    (entry,) = ledger.entries(invoice_id)
    assert entry.status == "sending" and len(receiver.requests) == 1

    clock.advance(minutes=4)
    assert drain(ledger, clock).delivered == []  # the lease still holds
    clock.advance(minutes=2)
    assert drain(ledger, clock).delivered == [invoice_id]
    assert len(receiver.requests) == 2
    assert len({h[IDEMPOTENCY_HEADER] for h, _, _ in receiver.requests}) == 1  # the receiver sees a repeat
    assert len(receiver.acknowledged) == 1
    assert len(ledger.events(invoice_id, "exported")) == 1


def test_webhook_and_file_exporter_for_one_unit(ledger: Ledger, receiver: Receiver, tmp_path: Path) -> None:
    ledger.configure("Bauamt", "webhook", url=receiver.url, secret=SECRET)
    ledger.configure("Bauamt", "csv")
    invoice_id = ledger.approved("RE-1")
    outbox.run_file_exports(exporter="csv", out_dir=tmp_path / "out", factory=ledger.factory)
    assert ledger.status(invoice_id) == "approved"  # the webhook is still owed
    drain(ledger, Clock())
    assert ledger.status(invoice_id) == "exported"
    assert sorted(e.payload["exporter"] for e in ledger.events(invoice_id, "exported")) == ["csv", "webhook"]
