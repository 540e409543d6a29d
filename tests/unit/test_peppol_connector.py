"""The Peppol connector without rule packs: HTTP endpoint, spool folder, Invoice Responses, retry.

Real app, real SQLite ledger (migrations), real blob store and spool folders in tmp_path; no worker
runs, so invoices stay ``received`` unless a test writes the journal events a workflow would.
Only the access point's HTTP receiver is a fake (httpx.MockTransport).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree
from sqlalchemy import func, select
from starlette.exceptions import StarletteDeprecationWarning

from einvoice import db
from einvoice.accounts import service as accounts
from einvoice.config import get_settings
from einvoice.connectors import service as connectors
from einvoice.connectors.operations import retry_now
from einvoice.invoice.leitweg import make_leitweg_id
from einvoice.ledger import journal
from einvoice.ledger.models import Invoice, Status
from einvoice.peppol import delivery, responses, spool
from einvoice.peppol.models import PeppolExchange, PeppolResponse
from einvoice.peppol.operations import retry, tick
from einvoice.peppol.samples import wrap_invoice
from einvoice.samples import DEFAULT_LEITWEG_ID, render_ubl, sample_invoice_data
from tests.services import fresh_process_state

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from einvoice.web.app import create_app

SENDER = "9930:DE123456789"
RECEIVER = f"0204:{DEFAULT_LEITWEG_ID}"
S = "{http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader}"


@dataclass
class World:
    client: TestClient
    tokens: dict[str, str]
    spool: Path

    def post(self, data: bytes, name: str = "ap") -> httpx.Response:
        return self.client.post("/api/v1/peppol/inbound", content=data,
                                headers={"Authorization": f"Bearer {self.tokens[name]}",
                                         "Content-Type": "application/xml"})

    @property
    def outbound(self) -> Path:
        return self.spool / "outbound"


def invoice(number: str = "RE-2026-00815") -> bytes:
    return render_ubl(sample_invoice_data(number=number))


def envelope(document: bytes, instance_id: str, receiver: str = RECEIVER) -> bytes:
    return wrap_invoice(document, sender=SENDER, receiver=receiver, instance_id=instance_id)


def ledger_count() -> int:
    with db.UnitOfWork() as uow:
        return int(uow.session.execute(select(func.count()).select_from(Invoice)).scalar_one())


def load(invoice_id: str) -> Invoice:
    with db.UnitOfWork() as uow:
        row = uow.session.get(Invoice, invoice_id)
        assert row is not None
        return row


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with fresh_process_state(monkeypatch, tmp_path / "data", EINVOICE_PEPPOL_SPOOL_DIR=str(tmp_path / "spool")):
        tokens = {}
        with db.UnitOfWork() as uow:
            accounts.create_unit(uow, "Bauamt", DEFAULT_LEITWEG_ID)
            for name, role in (("ap", "connector"), ("alice", "supplier")):
                accounts.create_user(uow, name, role)
                tokens[name] = accounts.create_token(uow, name).token
            uow.commit()
        with TestClient(create_app()) as client:
            yield World(client, tokens, tmp_path / "spool")


# ------------------------------------------------------------------ HTTP endpoint


def test_inbound_envelope_is_committed_with_its_routing(world: World) -> None:
    answer = world.post(envelope(invoice(), "inst-1"))
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["instance_id"] == "inst-1" and body["status"] == "received" and body["duplicate_of"] is None
    row = load(body["id"])
    assert (row.channel, row.sender) == ("peppol", SENDER)
    assert row.intake_meta == {"connector": "peppol:http", "sender_id": SENDER, "receiver_id": RECEIVER,
                               "document_type": row.intake_meta["document_type"], "instance_id": "inst-1",
                               "process": "cenbii-procid-ubl::urn:fdc:peppol.eu:2017:poacc:billing:01:1.0",
                               "route_leitweg_id": DEFAULT_LEITWEG_ID}
    item = connectors.item("peppol:http", "inst-1")
    assert item is not None and item.state == "done" and item.invoice_ids == [body["id"]]


def test_same_instance_id_is_the_same_answer_even_in_another_envelope(world: World) -> None:
    first = world.post(envelope(invoice(), "inst-2"))
    again = world.post(envelope(invoice(), "inst-2"))  # a new CreationDateAndTime: other envelope bytes
    assert again.status_code == 202 and again.json() == first.json()
    assert ledger_count() == 1


def test_other_document_under_a_used_instance_id_is_a_conflict(world: World) -> None:
    world.post(envelope(invoice(), "inst-3"))
    answer = world.post(envelope(invoice("RE-OTHER"), "inst-3"))
    assert answer.status_code == 409
    assert "instance identifier 'inst-3' was already used for another document" in answer.json()["detail"]
    assert ledger_count() == 1
    failed = connectors.items("peppol:http", "failed")
    assert len(failed) == 1 and "kept as blob" in failed[0].detail


def test_9930_and_unknown_receivers(world: World) -> None:
    vat = world.post(envelope(invoice("RE-9930"), "inst-4", receiver="9930:DE987654321")).json()
    assert "route_leitweg_id" not in (load(vat["id"]).intake_meta or {})  # the ledger routes by BT-10
    unknown_id = make_leitweg_id("05315000-NIEMAND")
    unknown = world.post(envelope(invoice("RE-UNKNOWN"), "inst-5", receiver=f"0204:{unknown_id}")).json()
    assert (load(unknown["id"]).intake_meta or {})["route_leitweg_id"] == unknown_id


@pytest.mark.parametrize(("data", "status", "fragment"), [
    (b"", 400, "empty"),
    (b'<!DOCTYPE x [<!ENTITY e "x">]><x/>', 400, "DOCTYPE"),
    (b"<Invoice", 400, "not well-formed"),
    (b"<Order xmlns='urn:x'/>", 422, "neither an SBDH"),
])
def test_bad_bodies_get_precise_errors(world: World, data: bytes, status: int, fragment: str) -> None:
    answer = world.post(data)
    assert answer.status_code == status and fragment in answer.json()["detail"]
    assert ledger_count() == 0


def test_missing_instance_id_is_422(world: World) -> None:
    root = etree.fromstring(envelope(invoice(), "x"))
    ident = root.find(f"{S}StandardBusinessDocumentHeader/{S}DocumentIdentification")
    ident.remove(ident.find(f"{S}InstanceIdentifier"))
    answer = world.post(etree.tostring(root))
    assert answer.status_code == 422 and "InstanceIdentifier" in answer.json()["detail"]


def test_only_connectors_may_deliver(world: World) -> None:
    assert world.post(envelope(invoice(), "i"), name="alice").status_code == 403
    assert world.client.post("/api/v1/peppol/inbound", content=b"<x/>").status_code == 401


def test_upload_and_peppol_are_one_ledger_entry(world: World) -> None:
    uploaded = world.client.post("/api/v1/invoices", content=invoice(),
                                 headers={"Authorization": f"Bearer {world.tokens['alice']}",
                                          "Content-Type": "application/xml"}).json()
    wrapped = world.post(envelope(invoice(), "inst-6")).json()
    bare = world.post(invoice()).json()
    assert wrapped["id"] == bare["id"] == uploaded["id"]
    assert ledger_count() == 1
    assert responses.emit_pending() == 1  # the Peppol sender still gets its acknowledgement


# ------------------------------------------------------------------ spool folder


def test_spool_moves_files_only_after_commit(world: World) -> None:
    box = spool.configured_spool()
    (box.inbox / "a.xml").write_bytes(envelope(invoice("RE-A"), "sp-a"))
    (box.inbox / "junk.xml").write_bytes(b"not xml at all")
    (box.inbox / "b.xml.part").write_bytes(b"still being written")
    report = spool.run_once()
    assert (report.done, report.failed, report.left) == (1, 1, 0)
    assert (box.done / "a.xml").is_file() and (box.failed / "junk.xml").is_file()
    assert "not XML" in (box.failed / "junk.xml.reason.txt").read_text()
    assert sorted(p.name for p in box.inbox.iterdir()) == ["b.xml.part"]
    assert connectors.item("peppol:spool", "file:junk.xml").state == "failed"  # type: ignore[union-attr]
    status = next(o for o in connectors.overview() if o.connector == "peppol:spool")
    assert (status.processed_total, status.failed_total, status.open_failures) == (1, 1, 1)


def test_spool_crash_between_commit_and_move(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    box = spool.configured_spool()
    (box.inbox / "c.xml").write_bytes(envelope(invoice("RE-C"), "sp-c"))
    real_replace = os.replace

    def crash(src: Any, dst: Any) -> None:
        if Path(dst).parent == box.done:
            raise OSError("disk gone")
        real_replace(src, dst)

    monkeypatch.setattr(spool.os, "replace", crash)
    assert spool.run_once().left == 1
    assert ledger_count() == 1 and (box.inbox / "c.xml").is_file()
    monkeypatch.setattr(spool.os, "replace", real_replace)
    assert spool.run_once().done == 1
    assert ledger_count() == 1 and (box.done / "c.xml").is_file()


def test_retry_of_a_failed_spool_file(world: World) -> None:
    box = spool.configured_spool()
    (box.inbox / "d.xml").write_bytes(b"<broken")
    spool.run_once()
    item = connectors.item("peppol:spool", "file:d.xml")
    assert item is not None and item.state == "failed"
    (box.failed / "d.xml").write_bytes(envelope(invoice("RE-D"), "sp-d"))  # the operator fixed the file
    retry(item)
    assert connectors.get_item(item.id).state == "done" and (box.done / "d.xml").is_file()
    assert not (box.failed / "d.xml.reason.txt").exists()
    # the same through the operations view: request_retry, then the next scheduled run
    (box.inbox / "e.xml").write_bytes(b"<broken")
    spool.run_once()
    failed = connectors.item("peppol:spool", "file:e.xml")
    assert failed is not None
    (box.failed / "e.xml").write_bytes(envelope(invoice("RE-E"), "sp-e"))
    connectors.request_retry(failed.id)
    assert spool.run_once().done == 1
    assert connectors.get_item(failed.id).state == "done" and ledger_count() == 2


def test_oversized_spool_file_and_a_retry_without_file(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    box = spool.configured_spool()
    (box.inbox / "big.xml").write_bytes(envelope(invoice(), "sp-big"))
    monkeypatch.setenv("EINVOICE_MAX_DOCUMENT_BYTES", "1000")
    get_settings.cache_clear()
    assert spool.run_once().failed == 1
    assert "more than the limit of 1000" in (box.failed / "big.xml.reason.txt").read_text()
    item = connectors.item("peppol:spool", "file:big.xml")
    assert item is not None
    (box.failed / "big.xml").unlink()  # the operator removed it, then pressed retry anyway
    connectors.request_retry(item.id)
    spool.run_once()
    after = connectors.get_item(item.id)
    assert after.state == "failed" and "no longer in failed/" in after.detail and ledger_count() == 0


def test_retry_of_a_refused_http_envelope(world: World) -> None:
    world.post(envelope(invoice(), "inst-7"))
    world.post(envelope(invoice("RE-LATE"), "inst-7"))  # conflict: kept as blob
    (item,) = connectors.items("peppol:http", "failed")
    with db.UnitOfWork() as uow:  # the operator resolved it: the first delivery was a mistake
        uow.session.execute(PeppolExchange.__table__.delete())
        uow.commit()
    assert retry_now(item.id).state == "done"  # the operations view's retry finds einvoice.peppol.retry
    assert ledger_count() == 2


# ------------------------------------------------------------------ Invoice Responses


def _journal(invoice_id: str, *events: str, **payload: Any) -> None:
    with db.UnitOfWork() as uow:
        for event in events:
            journal.append(uow.session, event=event, actor="test", invoice_id=invoice_id, payload=payload)
        uow.commit()


def _codes_in(folder: Path) -> list[str]:
    ns = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}
    return sorted(etree.parse(str(p)).xpath("string(//cbc:ResponseCode)", namespaces=ns)
                  for p in folder.glob("*.xml"))


def test_each_status_is_answered_exactly_once(world: World) -> None:
    invoice_id = world.post(envelope(invoice(), "inst-8")).json()["id"]
    tick()
    tick()
    assert _codes_in(world.outbound) == ["AB"]
    _journal(invoice_id, "accepted", "workflow_started")
    _journal(invoice_id, "workflow_approved", "exported", "paid")
    report = tick()
    assert report.responses_written == 3 and report.delivered.delivered == 3
    tick()
    assert _codes_in(world.outbound) == ["AB", "AP", "IP", "PD"]
    with db.UnitOfWork() as uow:
        exchange = uow.session.execute(select(PeppolExchange)).scalar_one()
        assert exchange.closed
        rows = uow.session.execute(select(PeppolResponse).order_by(PeppolResponse.journal_seq)).scalars().all()
        assert [r.code for r in rows] == ["AB", "IP", "AP", "PD"] and all(r.delivered_at for r in rows)
    for path in world.outbound.glob("*.xml"):  # addressed back to the sender
        header = etree.parse(str(path)).getroot()[0]
        assert header.findtext(f"{S}Receiver/{S}Identifier") == SENDER


def test_workflow_rejection_carries_the_comment(world: World) -> None:
    invoice_id = world.post(envelope(invoice(), "inst-9")).json()["id"]
    with db.UnitOfWork() as uow:
        uow.session.get(Invoice, invoice_id).status = Status.ACCEPTED.value  # type: ignore[union-attr]
        uow.commit()
    _journal(invoice_id, "accepted")
    _journal(invoice_id, "workflow_rejected", reason="Leistung nicht erbracht")
    tick()
    (rejection,) = [p for p in world.outbound.glob("*.xml") if b">RE<" in p.read_bytes()]
    text = rejection.read_text()
    assert "<cbc:StatusReasonCode listID=\"OPStatusReason\">OTH</cbc:StatusReasonCode>" in text
    assert "Leistung nicht erbracht" in text


def test_http_delivery_retries_then_reports(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EINVOICE_PEPPOL_OUTBOUND_URL", "https://ap.example/outbound")
    monkeypatch.setenv("EINVOICE_PEPPOL_OUTBOUND_TOKEN", "ap-secret")
    monkeypatch.setenv("EINVOICE_PEPPOL_OUTBOUND_MAX_ATTEMPTS", "2")
    get_settings.cache_clear()
    seen: list[httpx.Request] = []
    up = {"ok": False}

    def access_point(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200 if up["ok"] else 503, text="busy")

    client = httpx.Client(transport=httpx.MockTransport(access_point))
    world.post(envelope(invoice(), "inst-10"))
    responses.emit_pending()
    assert delivery.deliver_pending(client=client).failed == 1
    assert delivery.deliver_pending(client=client).failed == 0  # backing off: not due yet
    with db.UnitOfWork() as uow:
        row = uow.session.execute(select(PeppolResponse)).scalar_one()
        row.next_attempt_at = None  # the back-off has passed
        uow.commit()
    assert delivery.deliver_pending(client=client).failed == 1
    (item,) = connectors.items("peppol:outbound", "failed")
    assert "HTTP 503" in item.detail
    assert len(seen) == 2 and seen[0].headers["Authorization"] == "Bearer ap-secret"
    assert seen[0].headers["X-Einvoice-Idempotency-Key"] == seen[1].headers["X-Einvoice-Idempotency-Key"]
    up["ok"] = True
    monkeypatch.setattr(delivery.httpx, "Client", lambda **_: client)
    retry(item)
    assert connectors.get_item(item.id).state == "done" and len(seen) == 3
    assert b"ApplicationResponse" in seen[2].content


def test_scheduled_job_runs_the_spool_and_the_responses(world: World) -> None:
    from dramatiq.brokers.stub import StubBroker

    from einvoice.peppol.operations import PEPPOL_TICK
    from einvoice.scheduling import Scheduler

    box = spool.configured_spool()
    (box.inbox / "s.xml").write_bytes(envelope(invoice("RE-S"), "sp-s"))
    job = PEPPOL_TICK.actor(StubBroker())
    assert (job.actor_name, job.queue_name) == ("peppol_tick", "peppol")
    job.fn()  # what a worker consuming the queue runs
    assert (box.done / "s.xml").is_file() and _codes_in(world.outbound) == ["AB"]
    (box.inbox / "t.xml").write_bytes(envelope(invoice("RE-T"), "sp-t"))
    Scheduler(PEPPOL_TICK, in_process=True).tick()  # what the embedded scheduler thread runs
    assert (box.done / "t.xml").is_file() and _codes_in(world.outbound) == ["AB", "AB"]
