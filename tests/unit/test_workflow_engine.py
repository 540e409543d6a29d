"""The approval engine on a real SQLite ledger with real extraction (validation stubbed): routing,
clearing, snapshots, return/forward/claim, data and coding changes, deadlines and escalation."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from einvoice import db
from einvoice.accounts import service as accounts
from einvoice.invoice.leitweg import make_leitweg_id
from einvoice.ledger import journal
from einvoice.ledger import service as ledger
from einvoice.ledger.blobs import BlobStore
from einvoice.ledger.models import Invoice
from einvoice.samples import DEFAULT_LEITWEG_ID, make_ubl_invoice
from einvoice.validation.model import ValidationResult
from einvoice.workflow import clock as wf_clock
from einvoice.workflow import errors, people, queries
from einvoice.workflow import service as wf
from einvoice.workflow.coding import CodingLine
from einvoice.workflow.models import Notice, WorkflowTask
from tests.services import fresh_process_state

ROOT = Path(__file__).resolve().parents[2]
START = date(2026, 3, 3)  # the samples are issued 2026-03-02: Skonto until 03-16, due 04-01
PUBLIC_CODING = [{"account": "5431000", "cost_center": "KST-100", "budget_line": "1.1.1.01.5431", "tax_key": "9"}]
COMPANY_CODING = [{"account": "4930", "cost_center": "200", "tax_key": "9"}]
EINKAUF_LEITWEG = make_leitweg_id("05315000-EINKAUF")


class AcceptAll:
    def validate_bytes(self, data: bytes, filename: str = "") -> ValidationResult:
        return ValidationResult(file=filename, sha256=hashlib.sha256(data).hexdigest(), accepted=True,
                                scenario="xrechnung-3.0-ubl", syntax="UBL-Invoice", steps=[], reason="")


@dataclass
class Desk:
    ids: dict[str, str]
    blobs: BlobStore
    clock: wf_clock.FixedClock
    workflows: Path

    def submit(self, number: str, lines: int = 3, buyer_reference: str | None = DEFAULT_LEITWEG_ID,
               sender: str = "supplier-1", issue_date: date = date(2026, 3, 2)) -> str:
        data = make_ubl_invoice(lines, number=number, buyer_reference=buyer_reference, issue_date=issue_date)
        outcome = ledger.receive_committed(self.blobs, data=data, channel="api", sender=sender,
                                           filename=f"{number}.xml")
        with db.UnitOfWork() as uow:
            ledger.process(uow, self.blobs, AcceptAll(), outcome.invoice_id)
            uow.commit()
        return outcome.invoice_id

    def task(self, invoice_id: str) -> WorkflowTask:
        with db.UnitOfWork() as uow:
            instance = queries.instance_for(uow, invoice_id)
            assert instance is not None
            active = wf.active_tasks(uow.session, instance.id)
            assert len(active) == 1, [(t.stage, t.status) for t in active]
            return active[0]

    def act(self, action: str, who: str, invoice_id: str, *args: Any, **kwargs: Any) -> Any:
        """Run a service call for the current task as ``who`` in its own transaction."""
        task_id = self.task(invoice_id).id
        return self.run(getattr(wf, action), task_id, self.ids[who], *args, **kwargs)

    def run(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        with db.UnitOfWork() as uow:
            try:
                result = function(uow, *args, **kwargs)
            except errors.WorkflowError as exc:
                if exc.commit:
                    uow.commit()
                raise
            uow.commit()
            return result

    def approve(self, who: str, invoice_id: str, **kwargs: Any) -> wf.DecisionResult:
        return self.act("decide", who, invoice_id, "approve", **kwargs)  # type: ignore[no-any-return]

    def status(self, invoice_id: str) -> str:
        with db.UnitOfWork() as uow:
            return uow.session.get_one(Invoice, invoice_id).status

    def events(self, invoice_id: str) -> list[str]:
        with db.UnitOfWork() as uow:
            return [e.event for e in queries.history(uow, invoice_id)]

    def payloads(self, invoice_id: str, event: str) -> list[dict[str, Any]]:
        with db.UnitOfWork() as uow:
            return [ledger.payload_of(e) for e in queries.history(uow, invoice_id) if e.event == event]

    def verify(self) -> journal.VerifyReport:
        with db.UnitOfWork() as uow:
            return journal.verify(uow.session, self.blobs)


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    workflows = tmp_path / "workflows"
    shutil.copytree(ROOT / "workflows", workflows)
    with fresh_process_state(monkeypatch, tmp_path / "data", EINVOICE_WORKFLOWS_DIR=str(workflows)) as data:
        with db.UnitOfWork() as uow:
            accounts.create_unit(uow, "Bauamt", DEFAULT_LEITWEG_ID)
            accounts.create_unit(uow, "Einkauf", EINKAUF_LEITWEG)
            staff = [("carl", "clerk", "Bauamt"), ("clara", "clerk", "Bauamt"), ("anna", "approver", "Bauamt"),
                     ("kaemmerer", "approver", "Bauamt"), ("ben", "approver", "Bauamt"),
                     ("erik", "clerk", "Einkauf"), ("eva", "approver", "Einkauf"), ("cfo", "approver", "Einkauf"),
                     ("root", "admin", None)]
            ids = {name: accounts.create_user(uow, name, role, unit=unit, email=f"{name}@example.org").id
                   for name, role, unit in staff}
            people.configure_unit(uow, "Einkauf", workflow="company", buyer_reference="PO-4711")
            uow.commit()
        clock = wf_clock.FixedClock(START)
        with wf_clock.use(clock):
            desk = Desk(ids, BlobStore(data / "blobs"), clock, workflows)
            yield desk
            if not getattr(desk, "tampered", False):  # whatever a scenario did, the ledger still verifies
                report = desk.verify()
                assert report.ok, report.problems


def full_public_run(desk: Desk, invoice_id: str) -> None:
    desk.approve("carl", invoice_id, coding=PUBLIC_CODING)
    desk.approve("clara", invoice_id)
    desk.approve("kaemmerer", invoice_id)


# --------------------------------------------------------------------------- routing and clearing


def test_accepted_invoice_starts_its_workflow_in_the_same_transaction(desk: Desk) -> None:
    invoice_id = desk.submit("E-1")
    assert desk.status(invoice_id) == "in_approval"
    assert desk.events(invoice_id) == ["received", "validating", "accepted", "workflow_started", "task_created"]
    started = desk.payloads(invoice_id, "workflow_started")[0]
    assert (started["definition"], started["version"], started["unit"]) == ("public-sector", 1, "Bauamt")
    assert (started["due_date"], started["skonto_date"], started["skonto_amount"]) == (
        "2026-04-01", "2026-03-16", "9.47")
    task = desk.task(invoice_id)
    assert (task.stage, task.roles, task.deadline, task.state) == ("factual", "clerk,approver", date(2026, 3, 16),
                                                                   "open")
    with db.UnitOfWork() as uow:  # calling the hook again changes nothing
        invoice = uow.session.get_one(Invoice, invoice_id)
        first = queries.instance_for(uow, invoice_id)
        assert wf.start_for_accepted(uow, invoice).id == first.id  # type: ignore[union-attr]


def test_unknown_leitweg_id_goes_to_clearing_then_to_a_unit(desk: Desk) -> None:
    unknown = make_leitweg_id("991-NIEMAND")
    invoice_id = desk.submit("E-2", buyer_reference=unknown)
    assert desk.status(invoice_id) == "accepted"
    assert desk.events(invoice_id)[-1] == "clearing_queued"
    assert unknown in desk.payloads(invoice_id, "clearing_queued")[0]["reason"]
    with db.UnitOfWork() as uow:
        queue = queries.clearing_queue(uow)
        assert [(t.stage, t.unit_id, i.id) for t, i, _ in queue] == [("clearing", None, invoice_id)]
    with pytest.raises(errors.Forbidden, match="only admin may work the clearing queue"):
        desk.run(wf.assign_from_clearing, invoice_id, "Bauamt", desk.ids["anna"])
    with pytest.raises(errors.Conflict, match="clearing queue"):
        desk.act("decide", "root", invoice_id, "approve")
    desk.run(wf.assign_from_clearing, invoice_id, "Bauamt", desk.ids["root"])
    assert desk.status(invoice_id) == "in_approval"
    assert desk.events(invoice_id)[-3:] == ["clearing_assigned", "workflow_started", "task_created"]
    assert desk.task(invoice_id).stage == "factual"
    with db.UnitOfWork() as uow:
        assert uow.session.get_one(Invoice, invoice_id).unit_id is not None
        assert queries.clearing_queue(uow) == []


def test_clearing_rejection_without_smtp_records_that_no_mail_was_sent(desk: Desk) -> None:
    invoice_id = desk.submit("E-3", buyer_reference=make_leitweg_id("991-NIEMAND"))
    with pytest.raises(errors.Invalid, match="needs a reason"):
        desk.run(wf.reject_from_clearing, invoice_id, "  ", desk.ids["root"])
    desk.run(wf.reject_from_clearing, invoice_id, "Leitweg-ID unbekannt", desk.ids["root"])
    assert desk.status(invoice_id) == "rejected"
    rejected = desk.payloads(invoice_id, "workflow_rejected")[0]
    assert rejected["reason"] == "Leitweg-ID unbekannt"
    assert rejected["notice"] == "not sent: EINVOICE_SMTP_URL is not set"
    with db.UnitOfWork() as uow:
        assert uow.session.scalars(select(Notice)).all() == []


def test_buyer_reference_alias_routes_to_a_company_unit(desk: Desk) -> None:
    invoice_id = desk.submit("E-4", buyer_reference="PO-4711")
    started = desk.payloads(invoice_id, "workflow_started")[0]
    assert (started["definition"], started["unit"], started["routed_by"]) == ("company", "Einkauf", "buyer_reference")
    assert desk.task(invoice_id).stage == "cost_center"


def test_a_definition_change_never_alters_invoices_in_flight(desk: Desk) -> None:
    before = desk.submit("E-5")
    path = desk.workflows / "public-sector.yaml"
    text = path.read_text()
    arithmetic = text[text.index("  - id: arithmetic"):text.index("  - id: payment_order")]
    path.write_text(text.replace(arithmetic, "").replace("version: 1", "version: 2"))
    after = desk.submit("E-6")
    for invoice_id in (before, after):
        desk.approve("carl", invoice_id, coding=PUBLIC_CODING)
    assert desk.task(before).stage == "arithmetic"  # still version 1
    assert desk.task(after).stage == "payment_order"  # version 2 has no arithmetic check
    assert [desk.payloads(i, "workflow_started")[0]["version"] for i in (before, after)] == [1, 2]


# --------------------------------------------------------------------------- decisions


def test_claim_release_and_forward(desk: Desk) -> None:
    invoice_id = desk.submit("E-7")
    desk.act("claim", "carl", invoice_id)
    with pytest.raises(errors.Conflict, match="held by carl"):
        desk.act("claim", "clara", invoice_id)
    with pytest.raises(errors.Conflict, match="held by carl"):
        desk.approve("anna", invoice_id, coding=PUBLIC_CODING)
    with pytest.raises(errors.Invalid, match=r"erik .* may not act on this task"):
        desk.act("decide", "carl", invoice_id, "forward", forward_to="erik")
    desk.act("decide", "carl", invoice_id, "forward", forward_to="clara", comment="Bitte du, ich bin im Urlaub")
    task = desk.task(invoice_id)
    assert (task.assignee_id, task.state) == (desk.ids["clara"], "claimed")
    with pytest.raises(errors.Conflict, match=r"only they .* may release it"):
        desk.act("release", "carl", invoice_id)
    desk.act("release", "clara", invoice_id)
    assert desk.task(invoice_id).state == "open"
    with pytest.raises(errors.Forbidden, match=r"erik \(clerk\) may not act on this task: it needs the role clerk or "
                                           r"approver in Bauamt"):
        desk.act("claim", "erik", invoice_id)
    assert desk.events(invoice_id)[-3:] == ["task_claimed", "task_forwarded", "task_released"]
    forwarded = desk.payloads(invoice_id, "task_forwarded")[0]
    assert (forwarded["by"], forwarded["to"], forwarded["previous_holder"]) == ("carl", "clara", "carl")


def test_approval_needs_coding_and_checks_it(desk: Desk) -> None:
    invoice_id = desk.submit("E-8")
    with pytest.raises(errors.Invalid, match="needs the account coding"):
        desk.approve("carl", invoice_id)
    with pytest.raises(errors.Invalid, match="budget_line, tax_key required"):
        desk.approve("carl", invoice_id, coding=[{"account": "5431000", "cost_center": "KST-100"}])
    split = [dict(PUBLIC_CODING[0], amount="300.00"), dict(PUBLIC_CODING[0], cost_center="KST-200", amount="100")]
    with pytest.raises(errors.Invalid, match=r"add up to 400.00, but the invoice's net total \(BT-109\) is 406.10"):
        desk.approve("carl", invoice_id, coding=split)
    with pytest.raises(errors.Invalid, match="needs an amount on every line"):
        desk.approve("carl", invoice_id, coding=[PUBLIC_CODING[0], PUBLIC_CODING[0]])
    split[1]["amount"] = "106.10"
    desk.approve("carl", invoice_id, coding=split)
    with db.UnitOfWork() as uow:
        assert wf.coding_for(uow, invoice_id) == [
            CodingLine("5431000", "KST-100", "1.1.1.01.5431", "9", Decimal("300.00")),
            CodingLine("5431000", "KST-200", "1.1.1.01.5431", "9", Decimal("106.10"))]


def test_return_goes_back_to_the_previous_step_and_its_approver(desk: Desk) -> None:
    invoice_id = desk.submit("E-9")
    with pytest.raises(errors.Conflict, match="no previous step"):
        desk.act("decide", "carl", invoice_id, "return", comment="?")
    desk.approve("carl", invoice_id, coding=PUBLIC_CODING)
    with pytest.raises(errors.Invalid, match="needs a comment"):
        desk.act("decide", "clara", invoice_id, "return")
    desk.act("decide", "clara", invoice_id, "return", comment="Kostenstelle prüfen")
    task = desk.task(invoice_id)
    assert (task.stage, task.assignee_id, task.state) == ("factual", desk.ids["carl"], "claimed")
    assert desk.payloads(invoice_id, "task_returned")[0]["to"] == "carl"
    desk.approve("carl", invoice_id)  # the coding is kept; carl's discarded approval no longer counts
    assert desk.task(invoice_id).stage == "arithmetic"


def test_reject_needs_a_reason_and_ends_the_workflow(desk: Desk) -> None:
    invoice_id = desk.submit("E-10")
    with pytest.raises(errors.Invalid, match="needs a reason"):
        desk.act("decide", "carl", invoice_id, "reject")
    desk.act("decide", "carl", invoice_id, "reject", comment="Leistung nicht erbracht")
    assert desk.status(invoice_id) == "rejected"
    with db.UnitOfWork() as uow:
        instance = queries.instance_for(uow, invoice_id)
        assert instance is not None and (instance.status, instance.rejection_reason) == (
            "rejected", "Leistung nicht erbracht")
        assert wf.active_tasks(uow.session, instance.id) == []


def test_changed_invoice_data_discards_the_approvals(desk: Desk) -> None:
    invoice_id = desk.submit("E-11")
    desk.approve("carl", invoice_id, coding=PUBLIC_CODING)
    desk.approve("clara", invoice_id)
    with db.UnitOfWork() as uow:  # a correction of the extracted data, journalled like every change
        journal.lock_head(uow.session)
        invoice = uow.session.get_one(Invoice, invoice_id)
        invoice.data = {**(invoice.data or {}), "order_reference": "BE-2026-0999"}
        journal.append(uow.session, event="data_corrected", actor="root", invoice_id=invoice_id, payload={})
        uow.commit()
    with pytest.raises(errors.Restarted, match="invoice data changed"):
        desk.approve("kaemmerer", invoice_id)
    assert desk.task(invoice_id).stage == "factual"
    discarded = desk.payloads(invoice_id, "approvals_discarded")[-1]
    assert (discarded["reason"], sorted(a["by"] for a in discarded["approvals"])) == (
        "invoice data changed", ["carl", "clara"])
    full_public_run(desk, invoice_id)
    assert desk.status(invoice_id) == "approved"


# --------------------------------------------------------------------------- queue, deadlines, escalation


def test_queue_sorted_by_deadline_with_filters_and_pages(desk: Desk) -> None:
    early = desk.submit("E-12")  # Skonto 2026-03-16
    no_skonto = desk.submit("E-13", lines=2)  # also Skonto: the samples always offer it
    with db.UnitOfWork() as uow:  # give one invoice a later deadline by moving its Skonto offer on
        uow.session.execute(WorkflowTask.__table__.update().where(WorkflowTask.invoice_id == no_skonto)
                            .values(deadline=date(2026, 3, 20), skonto_date=None))
        uow.commit()
    company = desk.submit("E-14", buyer_reference="PO-4711", issue_date=date(2026, 3, 3))  # Skonto 03-17
    with db.UnitOfWork() as uow:
        page1, cursor = queries.list_tasks(uow, desk.ids["anna"], queries.TaskFilter(), limit=1)
        page2, end = queries.list_tasks(uow, desk.ids["anna"], queries.TaskFilter(), cursor=cursor, limit=1)
        assert [t.invoice_id for t in page1 + page2] == [early, no_skonto] and end is None
        assert [t.invoice_id for t in queries.list_tasks(uow, desk.ids["root"], queries.TaskFilter())[0]] == [
            early, company, no_skonto]
        soon = queries.list_tasks(uow, desk.ids["anna"], queries.TaskFilter(skonto_within_days=13))[0]
        assert [t.invoice_id for t in soon] == [early]
        assert queries.list_tasks(uow, desk.ids["anna"], queries.TaskFilter(skonto_within_days=12))[0] == []
        assert queries.list_tasks(uow, desk.ids["anna"], queries.TaskFilter(mine=True))[0] == []
        assert queries.list_tasks(uow, desk.ids["anna"], queries.TaskFilter(overdue=True))[0] == []
        units = queries.list_tasks(uow, desk.ids["eva"], queries.TaskFilter(my_units=True))[0]
        assert [t.invoice_id for t in units] == [company]
        with pytest.raises(errors.Invalid, match="invalid cursor"):
            queries.list_tasks(uow, desk.ids["anna"], queries.TaskFilter(), cursor="###")


def test_reminder_before_skonto_then_escalation_to_the_lead_after_the_due_date(desk: Desk) -> None:
    invoice_id = desk.submit("E-15")
    einkauf = desk.submit("E-16", buyer_reference="PO-4711")
    with db.UnitOfWork() as uow:
        people.configure_unit(uow, "Bauamt", lead="ben")
        uow.commit()

    def run() -> wf.DeadlineReport:
        with db.UnitOfWork() as uow:
            report = wf.check_deadlines(uow)
            uow.commit()
            return report

    assert run().changes == 0  # 2026-03-03: Skonto on 03-16 is more than three days away
    desk.clock.set(date(2026, 3, 13))
    first = run()
    assert len(first.reminded) == 2 and not first.escalated
    assert run().changes == 0  # reminded once
    reminder = desk.payloads(invoice_id, "skonto_reminder")[0]
    assert reminder["to"] == ["anna", "ben", "carl", "clara", "kaemmerer"] and reminder["skonto_date"] == "2026-03-16"
    desk.clock.set(date(2026, 3, 17))
    moved = run()
    assert set(moved.skonto_updated) == {invoice_id, einkauf}
    assert desk.task(invoice_id).deadline == date(2026, 4, 1)
    desk.clock.set(date(2026, 4, 2))
    late = run()
    assert len(late.escalated) == 2
    assert run().changes == 0  # escalated once
    assert desk.payloads(invoice_id, "task_escalated")[0]["to"] == "ben"  # the flagged lead
    assert desk.payloads(einkauf, "task_escalated")[0]["to"] == "root"  # no lead, no unit admin: an admin
    assert desk.payloads(invoice_id, "task_escalated")[0]["days_overdue"] == 1
    with db.UnitOfWork() as uow:
        mine = queries.list_tasks(uow, desk.ids["ben"], queries.TaskFilter(mine=True))[0]
        assert [t.invoice_id for t in mine] == [invoice_id] and mine[0].escalated_to == desk.ids["ben"]
        assert len(queries.list_tasks(uow, desk.ids["anna"], queries.TaskFilter(overdue=True))[0]) == 1
    assert desk.verify().ok


def test_the_journal_stays_intact_through_a_whole_run(desk: Desk) -> None:
    invoice_id = desk.submit("E-17")
    full_public_run(desk, invoice_id)
    assert desk.status(invoice_id) == "approved"
    events = desk.events(invoice_id)
    assert events[3:] == ["workflow_started", "task_created", "coding_changed", "task_approved", "task_created",
                          "task_approved", "task_created", "task_approved", "workflow_approved"]
    report = desk.verify()
    assert report.ok, report.problems


def test_the_workqueue_is_sorted_in_the_database_over_the_whole_queue(desk: Desk) -> None:
    """The first page of another order holds the top of the whole queue, not a re-sorted deadline page."""
    amounts = {}
    for lines, number in ((1, "S-1"), (7, "S-7"), (3, "S-3"), (5, "S-5")):
        invoice_id = desk.submit(number, lines=lines, issue_date=date(2026, 3, lines))
        with db.UnitOfWork() as uow:
            amounts[invoice_id] = uow.session.get_one(Invoice, invoice_id).gross_amount
    assert len(set(amounts.values())) == 4

    def first_two(**order: Any) -> list[str]:
        with db.UnitOfWork() as uow:
            tasks, cursor = queries.list_tasks(uow, desk.ids["carl"], queries.TaskFilter(), limit=2, **order)
            assert cursor is None or order == {}
            return [t.invoice_id for t in tasks]

    by_amount = sorted(amounts, key=lambda i: amounts[i])
    assert first_two(sort="amount", descending=True) == by_amount[::-1][:2]
    assert first_two(sort="amount") == by_amount[:2]
    with db.UnitOfWork() as uow:
        deadlines = {t.invoice_id: (t.deadline, t.id) for t in queries.list_tasks(
            uow, desk.ids["carl"], queries.TaskFilter(), limit=10)[0]}
    assert first_two(sort="deadline", descending=True) == sorted(deadlines, key=deadlines.get, reverse=True)[:2]
    with pytest.raises(errors.Invalid, match="unknown sort"):
        first_two(sort="drop table")
    with db.UnitOfWork() as uow, pytest.raises(errors.Invalid, match="cursor"):
        queries.list_tasks(uow, desk.ids["carl"], queries.TaskFilter(), cursor="x", sort="amount")


@pytest.mark.parametrize("tamper", ["approver", "valid", "coding", "status", "deleted decision", "deleted workflow"])
def test_verify_names_a_workflow_changed_outside_the_ledger(desk: Desk, tamper: str) -> None:
    """Who certified what is evidence (GoBD): a changed, revived or deleted approval is found."""
    invoice_id = desk.submit("E-19")
    desk.approve("carl", invoice_id, coding=PUBLIC_CODING)
    desk.approve("clara", invoice_id)
    assert desk.verify().ok
    desk.tampered = True  # type: ignore[attr-defined]
    with db.UnitOfWork() as uow:
        session = uow.session
        instance = queries.instance_for(uow, invoice_id)
        assert instance is not None
        decided = list(session.scalars(select(WorkflowTask).where(WorkflowTask.invoice_id == invoice_id,
                                                                  WorkflowTask.decision.is_not(None))))
        if tamper == "approver":
            decided[0].decided_by = desk.ids["kaemmerer"]
        elif tamper == "valid":
            decided[0].valid = False
        elif tamper == "coding":
            instance.coding = [dict(PUBLIC_CODING[0], account="9999999")]
        elif tamper == "status":
            instance.stage_index += 1
        elif tamper == "deleted decision":
            session.delete(decided[-1])
        else:
            for task in session.scalars(select(WorkflowTask).where(WorkflowTask.invoice_id == invoice_id)):
                session.delete(task)
            session.flush()
            session.delete(instance)
        uow.commit()
    report = desk.verify()
    assert not report.ok
    assert report.first_broken == f"invoice {invoice_id}"
    assert "workflow of invoice" in report.problems[0], report.problems


def test_the_deadline_job_runs_as_a_scheduled_dramatiq_actor(desk: Desk) -> None:
    """Redis mode in miniature: the scheduler sends the actor, a Dramatiq worker on the 'workflow' queue runs it."""
    import time

    import dramatiq

    from einvoice.intake import broker as jobs
    from einvoice.workflow import actors

    invoice_id = desk.submit("E-18")
    desk.clock.set(date(2026, 4, 2))
    stub = jobs.configure()
    actors.actor(stub)
    jobs.boot(stub)
    worker = dramatiq.Worker(stub, queues={actors.QUEUE}, worker_threads=1)
    worker.start()
    scheduler = actors.DeadlineScheduler(interval=0.2, in_process=False, broker=stub).start()
    try:
        deadline = time.monotonic() + 20
        while "task_escalated" not in desk.events(invoice_id):
            assert time.monotonic() < deadline, "the actor never escalated the overdue task"
            time.sleep(0.05)
        time.sleep(0.5)  # a few more scheduled runs: nothing is escalated twice
        assert scheduler.runs >= 2
    finally:
        scheduler.stop()
        worker.stop()
        jobs.reset()
    assert desk.events(invoice_id).count("task_escalated") == 1
    assert desk.payloads(invoice_id, "task_escalated")[0]["to"] == "root"
