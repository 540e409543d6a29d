"""Acceptance scenarios of the approval workflow through the HTTP API with real users and tokens.

Real app (TestClient), real SQLite ledger in tmp_path, real rule packs and validator: invoices are
submitted through ``einvoice.intake.service.submit`` and processed with ``einvoice.ledger.service.process``
(the job body), which starts the workflow. The business clock is a FixedClock the tests move.
E-mail goes to a real SMTP server on loopback (aiosmtpd), whose received messages the tests read.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning
from typer.testing import CliRunner

from einvoice import db
from einvoice.accounts import service as accounts
from einvoice.intake import service as intake
from einvoice.invoice.leitweg import make_leitweg_id
from einvoice.ledger import journal
from einvoice.ledger import service as ledger
from einvoice.samples import DEFAULT_LEITWEG_ID, make_ubl_invoice
from einvoice.validation.engine import Validator
from einvoice.workflow import actors, people
from einvoice.workflow import clock as wf_clock

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from einvoice.web.app import create_app
from tests.services import SmtpSink, fresh_process_state, smtp_sink

pytestmark = pytest.mark.integration

START = date(2026, 3, 3)  # samples: issued 2026-03-02, Skonto (2 %) until 03-16, due 04-01
EINKAUF = make_leitweg_id("05315000-EINKAUF")
PUBLIC_CODING = [{"account": "5431000", "cost_center": "KST-100", "budget_line": "1.1.1.01.5431", "tax_key": "9"}]
OTHER_CODING = [{"account": "5431000", "cost_center": "KST-300", "budget_line": "1.1.1.01.5431", "tax_key": "9"}]
COMPANY_CODING = [{"account": "4930", "cost_center": "200", "tax_key": "9"}]
# amounts of make_ubl_invoice(lines): 1 → 68.78, 3 → 473.69, 40 → 9,802.32, 60 → 16,292.18, 100 → 27,225.05
STAFF = [("carl", "clerk", "Bauamt"), ("clara", "clerk", "Bauamt"), ("anna", "approver", "Bauamt"),
         ("kaemmerer", "approver", "Bauamt"), ("ben", "approver", "Bauamt"),
         ("erik", "clerk", "Einkauf"), ("eva", "approver", "Einkauf"), ("emil", "approver", "Einkauf"),
         ("cfo", "approver", "Einkauf"), ("root", "admin", None), ("alice", "supplier", None),
         ("mallory", "supplier", None)]


@dataclass
class Office:
    client: TestClient
    tokens: dict[str, str]
    ids: dict[str, str]
    validator: Validator
    clock: wf_clock.FixedClock
    tmp: Path
    sink: SmtpSink | None = None
    numbers: list[str] = field(default_factory=list)

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def submit(self, lines: int = 3, *, buyer_reference: str | None = DEFAULT_LEITWEG_ID, sender: str = "alice",
               issue_date: date = date(2026, 3, 2)) -> str:
        number = f"RE-WF-{len(self.numbers) + 1:03d}"
        self.numbers.append(number)
        data = make_ubl_invoice(lines, number=number, buyer_reference=buyer_reference, issue_date=issue_date)
        outcome = intake.submit(data=data, channel="api", sender=self.ids[sender], filename=f"{number}.xml",
                                content_type="application/xml")
        with db.UnitOfWork() as uow:
            status = ledger.process(uow, intake.blobs(), self.validator, outcome.invoice_id)
            uow.commit()
        assert status in ("in_approval", "accepted"), status
        return outcome.invoice_id

    def get(self, path: str, who: str = "root", **params: Any) -> Any:
        response = self.client.get(path, headers=self.auth(who), params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def workflow(self, invoice_id: str, who: str = "root") -> dict[str, Any]:
        return self.get(f"/api/v1/invoices/{invoice_id}/workflow", who)  # type: ignore[no-any-return]

    def task_id(self, invoice_id: str) -> str:
        current = self.workflow(invoice_id)["current_task"]
        assert current is not None, "no open task"
        return str(current["id"])

    def decide(self, who: str, invoice_id: str, decision: str = "approve", **body: Any) -> Any:
        return self.client.post(f"/api/v1/tasks/{self.task_id(invoice_id)}/decision", headers=self.auth(who),
                                json={"decision": decision, **body})

    def approve(self, who: str, invoice_id: str, **body: Any) -> dict[str, Any]:
        response = self.decide(who, invoice_id, **body)
        assert response.status_code == 200, (who, response.text)
        return response.json()  # type: ignore[no-any-return]

    def refused(self, code: int, who: str, invoice_id: str, decision: str = "approve", **body: Any) -> str:
        response = self.decide(who, invoice_id, decision, **body)
        assert response.status_code == code, (who, response.status_code, response.text)
        return str(response.json()["detail"])

    def status(self, invoice_id: str, who: str = "root") -> str:
        return str(self.get(f"/api/v1/invoices/{invoice_id}", who)["status"])

    def events(self, invoice_id: str) -> list[str]:
        return [e["event"] for e in self.workflow(invoice_id)["history"]]


@contextmanager
def office_at(tmp_path: Path, validator: Validator, monkeypatch: pytest.MonkeyPatch, *,
              smtp: bool = False) -> Iterator[Office]:
    with ExitStack() as stack:
        sink = stack.enter_context(smtp_sink()) if smtp else None
        smtp_env = {"EINVOICE_SMTP_URL": sink.url,
                    "EINVOICE_SMTP_FROM": "rechnungseingang@musterhausen.example"} if sink else {}
        stack.enter_context(fresh_process_state(monkeypatch, tmp_path / "data", validator=validator, **smtp_env))
        tokens, ids = {}, {}
        with db.UnitOfWork() as uow:
            accounts.create_unit(uow, "Bauamt", DEFAULT_LEITWEG_ID)
            accounts.create_unit(uow, "Einkauf", EINKAUF)
            for name, role, unit in STAFF:
                mail = "alice@supplier.example" if name == "alice" else (None if name == "mallory" else
                                                                         f"{name}@musterhausen.example")
                ids[name] = accounts.create_user(uow, name, role, unit=unit, email=mail).id
                tokens[name] = accounts.create_token(uow, name).token
            people.configure_unit(uow, "Einkauf", workflow="company")
            people.configure_unit(uow, "Bauamt", lead="ben")
            uow.commit()
        clock = wf_clock.FixedClock(START)
        with wf_clock.use(clock), TestClient(create_app(), raise_server_exceptions=False) as client:
            yield Office(client, tokens, ids, validator, clock, tmp_path, sink)
            with db.UnitOfWork() as uow:  # every scenario leaves a ledger that verifies, workflows included
                report = journal.verify(uow.session, intake.blobs())
            assert report.ok, report.problems


@pytest.fixture
def office(tmp_path: Path, validator: Validator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Office]:
    with office_at(tmp_path, validator, monkeypatch) as running:
        yield running


@pytest.fixture
def mail_office(tmp_path: Path, validator: Validator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Office]:
    with office_at(tmp_path, validator, monkeypatch, smtp=True) as running:
        yield running


def body_text(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(message.get_content_charset() or "utf-8")


# --------------------------------------------------------------------------- public sector


def test_public_sector_full_run_to_exported(office: Office) -> None:
    runner = CliRunner()
    from einvoice.cli import app as cli

    out = office.tmp / "export"
    configured = runner.invoke(cli, ["export", "configure", "--unit", "Bauamt", "--exporter", "json",
                                     "--out", str(out)])
    assert configured.exit_code == 0, configured.output
    invoice_id = office.submit()
    assert office.status(invoice_id) == "in_approval"
    queue = office.get("/api/v1/tasks", "carl")["items"]
    assert [(t["invoice_id"], t["stage"], t["deadline"], t["skonto_amount"]) for t in queue] == [
        (invoice_id, "factual", "2026-03-16", "9.47")]
    task_id = queue[0]["id"]
    claimed = office.client.post(f"/api/v1/tasks/{task_id}/claim", headers=office.auth("carl"))
    assert claimed.status_code == 200 and claimed.json()["assignee"] == "carl"
    assert office.get("/api/v1/tasks", "clara", mine="true")["items"] == []
    factual = office.approve("carl", invoice_id, coding=PUBLIC_CODING, comment="Lieferung vollständig")
    assert (factual["task"]["decision"], factual["next_task"]["stage"]) == ("approve", "arithmetic")
    office.approve("clara", invoice_id)
    order = office.approve("kaemmerer", invoice_id)
    assert (order["workflow_status"], order["invoice_status"], order["next_task"]) == ("approved", "approved", None)

    detail = office.get(f"/api/v1/invoices/{invoice_id}", "anna")
    assert detail["status"] == "approved" and detail["workflow"]["status"] == "approved"
    flow = office.workflow(invoice_id, "anna")
    assert flow["definition"]["name"] == "public-sector" and flow["definition"]["version"] == 1
    assert flow["coding"][0]["cost_center"] == "KST-100"
    approvals = [(e["payload"]["stage"], e["actor"], e["at"]) for e in flow["history"] if e["event"] == "task_approved"]
    assert [(stage, who) for stage, who, _ in approvals] == [
        ("factual", "carl"), ("arithmetic", "clara"), ("payment_order", "kaemmerer")]
    assert all(at for _, _, at in approvals)

    exported = runner.invoke(cli, ["export", "run", "--exporter", "json", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert office.status(invoice_id) == "exported"
    assert any(out.rglob("*.json")), list(out.rglob("*"))


def test_public_sector_four_eyes_and_amount_limits(office: Office) -> None:
    invoice_id = office.submit(60)  # 16,292.18 EUR
    office.approve("anna", invoice_id, coding=PUBLIC_CODING)
    twice = office.refused(409, "anna", invoice_id)
    assert "anna has already approved this invoice" in twice and "nobody may approve the same invoice twice" in twice
    office.approve("clara", invoice_id)
    four_eyes = office.refused(409, "anna", invoice_id)
    assert four_eyes.startswith("four-eyes principle: anna certified 'Sachlich richtig")
    assert "may not give 'Anordnung (Auszahlungsanordnung)'" in four_eyes
    limit = office.refused(403, "ben", invoice_id)
    assert limit == ("amount limit exceeded: ben may approve 'Anordnung (Auszahlungsanordnung)' up to 10,000.00 EUR; "
                     "this invoice is 16,292.18 EUR")
    role = office.refused(403, "carl", invoice_id)
    assert role == "carl (clerk) may not act on this task: it needs the role approver in Bauamt"
    outsider = office.refused(403, "eva", invoice_id)
    assert "eva (approver) may not act on this task" in outsider
    assert office.approve("kaemmerer", invoice_id)["invoice_status"] == "approved"


def test_substitute_acts_only_within_the_date_range(office: Office) -> None:
    invoice_id = office.submit(60)
    office.approve("carl", invoice_id, coding=PUBLIC_CODING)
    office.approve("clara", invoice_id)
    denied = office.client.post("/api/v1/substitutes", headers=office.auth("carl"),
                                json={"absent": "kaemmerer", "substitute": "eva", "valid_from": "2026-03-10",
                                      "valid_to": "2026-03-20"})
    assert denied.status_code == 403
    created = office.client.post("/api/v1/substitutes", headers=office.auth("kaemmerer"),
                                 json={"absent": "kaemmerer", "substitute": "eva", "valid_from": "2026-03-10",
                                       "valid_to": "2026-03-20"})
    assert created.status_code == 201, created.text
    assert invoice_id not in [t["invoice_id"] for t in office.get("/api/v1/tasks", "eva")["items"]]
    hidden = office.client.get(f"/api/v1/invoices/{invoice_id}/workflow", headers=office.auth("eva"))
    assert hidden.status_code == 404  # not yet her substitution
    early = office.refused(403, "eva", invoice_id)
    assert early == "eva substitutes kaemmerer only from 2026-03-10 to 2026-03-20; today is 2026-03-03"
    office.clock.set(date(2026, 3, 21))
    assert office.refused(403, "eva", invoice_id).endswith("today is 2026-03-21")
    office.clock.set(date(2026, 3, 12))
    visible = [t["invoice_id"] for t in office.get("/api/v1/tasks", "eva", my_units="true")["items"]]
    assert invoice_id in visible
    assert office.workflow(invoice_id, "eva")["current_task"]["stage"] == "payment_order"
    done = office.approve("eva", invoice_id)  # with kaemmerer's authority (unlimited), as a different person
    assert done["invoice_status"] == "approved"
    assert (done["task"]["decided_by"], done["task"]["on_behalf_of"]) == ("eva", "kaemmerer")


def test_reapproval_after_a_coding_change(office: Office) -> None:
    invoice_id = office.submit()
    office.approve("carl", invoice_id, coding=PUBLIC_CODING)
    office.approve("clara", invoice_id)
    assert office.workflow(invoice_id)["current_task"]["stage"] == "payment_order"
    changed = office.client.put(f"/api/v1/invoices/{invoice_id}/coding", headers=office.auth("anna"),
                                json={"lines": OTHER_CODING})
    assert changed.status_code == 200, changed.text
    flow = changed.json()
    assert (flow["coding_version"], flow["current_task"]["stage"]) == (2, "factual")
    assert [t["valid"] for t in flow["tasks"] if t["decision"] == "approve"] == [False, False]
    discarded = [e for e in flow["history"] if e["event"] == "approvals_discarded"][-1]
    assert discarded["actor"] == "anna" and discarded["payload"]["reason"] == "account coding changed"
    supplier = office.client.put(f"/api/v1/invoices/{invoice_id}/coding", headers=office.auth("alice"),
                                 json={"lines": PUBLIC_CODING})
    assert supplier.status_code == 403
    office.approve("carl", invoice_id)  # carl certifies again (his old approval no longer counts)
    office.approve("clara", invoice_id)
    assert office.approve("kaemmerer", invoice_id)["invoice_status"] == "approved"
    assert office.workflow(invoice_id)["coding"][0]["cost_center"] == "KST-300"


def test_escalation_after_the_clock_passes_the_due_date(office: Office) -> None:
    invoice_id = office.submit()
    claimed = office.client.post(f"/api/v1/tasks/{office.task_id(invoice_id)}/claim", headers=office.auth("carl"))
    assert claimed.status_code == 200
    assert actors.check_deadlines()["escalated"] == 0
    assert office.get("/api/v1/tasks", "carl", overdue="true")["items"] == []
    office.clock.set(date(2026, 4, 2))  # due 2026-04-01
    assert actors.check_deadlines()["escalated"] == 1
    overdue = office.get("/api/v1/tasks", "carl", overdue="true")["items"]
    assert [(t["invoice_id"], t["overdue"], t["escalated_to"]) for t in overdue] == [(invoice_id, True, "ben")]
    lead = office.get("/api/v1/tasks", "ben", mine="true")["items"]
    assert [t["invoice_id"] for t in lead] == [invoice_id]
    escalated = [e for e in office.workflow(invoice_id)["history"] if e["event"] == "task_escalated"]
    assert [(e["payload"]["to"], e["payload"]["holder"], e["payload"]["days_overdue"]) for e in escalated] == [
        ("ben", "carl", 1)]
    assert actors.check_deadlines()["escalated"] == 0  # once only


# --------------------------------------------------------------------------- company


def test_company_small_amount_skips_the_release(office: Office) -> None:
    invoice_id = office.submit(1, buyer_reference=EINKAUF)  # 68.78 EUR < 250
    flow = office.workflow(invoice_id)
    assert flow["definition"]["name"] == "company" and flow["current_task"]["stage"] == "cost_center"
    result = office.approve("erik", invoice_id, coding=COMPANY_CODING)
    assert result["invoice_status"] == "approved"
    skipped = [e["payload"] for e in office.workflow(invoice_id)["history"] if e["event"] == "stage_skipped"]
    assert skipped == [{"stage": "release", "title": "Zahlungsfreigabe", "amount": "68.78", "skip_below": "250.00"}]


def test_company_release_by_one_approver_below_the_threshold(office: Office) -> None:
    invoice_id = office.submit(3, buyer_reference=EINKAUF)  # 473.69 EUR
    office.approve("eva", invoice_id, coding=COMPANY_CODING)
    four_eyes = office.refused(409, "eva", invoice_id)
    assert four_eyes.startswith("four-eyes principle: eva certified 'Kostenstellenfreigabe'")
    assert office.refused(403, "erik", invoice_id).startswith("erik (clerk) may not act on this task")
    assert office.approve("emil", invoice_id)["invoice_status"] == "approved"


def test_company_second_approver_above_the_threshold(office: Office) -> None:
    invoice_id = office.submit(40, buyer_reference=EINKAUF)  # 9,802.32 EUR > 5,000
    office.approve("erik", invoice_id, coding=COMPANY_CODING)
    first = office.approve("eva", invoice_id)
    assert (first["invoice_status"], first["next_task"]["stage"], first["next_task"]["approval_no"]) == (
        "in_approval", "release", 2)
    assert first["next_task"]["title"] == "Zahlungsfreigabe (2/2)"
    assert "nobody may approve the same invoice twice" in office.refused(409, "eva", invoice_id)
    assert office.approve("emil", invoice_id)["invoice_status"] == "approved"


def test_company_amount_limit(office: Office) -> None:
    invoice_id = office.submit(100, buyer_reference=EINKAUF)  # 27,225.05 EUR > 25,000
    office.approve("erik", invoice_id, coding=COMPANY_CODING)
    assert office.refused(403, "eva", invoice_id) == (
        "amount limit exceeded: eva may approve 'Zahlungsfreigabe' up to 25,000.00 EUR; this invoice is "
        "27,225.05 EUR")
    assert office.approve("cfo", invoice_id)["next_task"]["approval_no"] == 2
    assert office.refused(403, "emil", invoice_id).startswith("amount limit exceeded: emil")


# --------------------------------------------------------------------------- rejection and clearing


def test_rejection_is_mailed_to_the_supplier_in_german_and_english(mail_office: Office) -> None:
    office = mail_office
    invoice_id = office.submit()
    no_reason = office.refused(422, "carl", invoice_id, "reject")
    assert no_reason == "a rejection needs a reason (comment); the supplier is told"
    rejected = office.approve("carl", invoice_id, decision="reject",
                              comment="Bestellnummer fehlt / order number missing")
    assert rejected["invoice_status"] == "rejected"
    (recipients, message), = office.sink.wait(1)  # type: ignore[union-attr]
    assert recipients == ["alice@supplier.example"]
    assert message["From"] == "rechnungseingang@musterhausen.example"
    assert message["Subject"] == f"Rechnung {office.numbers[0]} abgelehnt / Invoice {office.numbers[0]} rejected"
    text = body_text(message)
    assert "wurde abgelehnt" in text and "has been rejected" in text
    assert "Grund: Bestellnummer fehlt / order number missing" in text and "473.69 EUR" in text
    assert invoice_id in text
    seen = office.get(f"/api/v1/invoices/{invoice_id}", "alice")
    assert seen["status"] == "rejected"
    assert seen["workflow"] == {"status": "rejected", "stage": None, "stage_title": None, "current_task": None,
                                "due_date": None, "skonto_date": None, "skonto_amount": None,
                                "rejection_reason": "Bestellnummer fehlt / order number missing"}
    public = office.workflow(invoice_id, "alice")
    assert public["history"] == [] and public["tasks"] == [] and public["rejection_reason"]
    deadline = time.monotonic() + 10
    while "notice_sent" not in office.events(invoice_id) and time.monotonic() < deadline:
        time.sleep(0.05)
    sent = [e["payload"] for e in office.workflow(invoice_id)["history"] if e["event"] == "notice_sent"]
    assert sent and sent[0]["recipient"] == "alice@supplier.example"
    other = office.client.get(f"/api/v1/invoices/{invoice_id}/workflow", headers=office.auth("mallory"))
    assert other.status_code == 404


def test_unknown_receiver_clearing_assign_or_reject_with_notice(mail_office: Office) -> None:
    office = mail_office
    unknown = make_leitweg_id("991-NIEMAND")
    first = office.submit(buyer_reference=unknown)
    second = office.submit(buyer_reference=unknown, sender="mallory",  # no e-mail: the seller contact is used
                           issue_date=date(2026, 3, 3))  # one day later: the queue's second
    assert office.status(first) == "accepted"
    assert office.client.get("/api/v1/clearing", headers=office.auth("anna")).status_code == 403
    queue = office.get("/api/v1/clearing")
    assert [item["invoice"]["id"] for item in queue] == [first, second]
    assert unknown in queue[0]["reason"]
    assert [t["invoice_id"] for t in office.get("/api/v1/tasks", "root", kind="clearing")["items"]] == [first, second]
    assigned = office.client.post(f"/api/v1/clearing/{first}/assign", headers=office.auth("root"),
                                  json={"unit": "Bauamt"})
    assert assigned.status_code == 200, assigned.text
    assert (assigned.json()["invoice_status"], assigned.json()["current_task"]["stage"]) == ("in_approval", "factual")
    assert office.get("/api/v1/tasks", "carl")["items"][0]["invoice_id"] == first
    refused = office.client.post(f"/api/v1/clearing/{second}/reject", headers=office.auth("root"),
                                 json={"reason": "Empfänger unbekannt / unknown recipient"})
    assert refused.status_code == 200 and refused.json()["invoice_status"] == "rejected"
    (recipients, message), = office.sink.wait(1)  # type: ignore[union-attr]
    assert recipients == ["buchhaltung@hanse-buerobedarf.example"]  # BT-43 of the sample seller
    assert "Empfänger unbekannt / unknown recipient" in body_text(message)
    assert office.get("/api/v1/clearing") == []
