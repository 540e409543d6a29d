"""Replies: texts in both languages, reasons from a stored verdict, replies queued once, the report attached,
and later workflow notices going to the sender of the message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from einvoice import db
from einvoice.ledger.models import Invoice
from einvoice.mail import replies, report, texts
from einvoice.validation.model import Finding, Level, StepKind, StepResult, ValidationResult
from einvoice.workflow import notify
from einvoice.workflow.models import Notice
from tests.services import fresh_process_state


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # queued only; nothing is sent here
    with fresh_process_state(monkeypatch, tmp_path / "data", EINVOICE_SMTP_URL="smtp://127.0.0.1:9"):
        yield


def verdict() -> ValidationResult:
    return ValidationResult(
        file="bad.xml", sha256="0" * 64, accepted=False, scenario="XRechnung 3.0 UBL", syntax="UBL-Invoice",
        reason="3 errors", steps=[
            StepResult("xsd", StepKind.XSD),
            StepResult("xrechnung-ubl", StepKind.SCHEMATRON, findings=[
                Finding("BR-DE-15", Level.ERROR, "xrechnung-ubl", "[BR-DE-15] buyer reference missing", "/Invoice"),
                Finding("BR-DE-15", Level.ERROR, "xrechnung-ubl", "again", "/Invoice"),
                Finding("PEPPOL-X", Level.WARNING, "xrechnung-ubl", "just a warning"),
                Finding("XYZ-1", Level.FATAL, "xrechnung-ubl", "an unknown rule"),
            ]),
            StepResult("cen-ubl", StepKind.SCHEMATRON, error="the rule pack failed to run"),
        ])


def test_a_stored_verdict_gives_back_its_findings_and_reasons() -> None:
    original = verdict()
    rebuilt = report.result_from_dict(original.to_dict())
    assert rebuilt.to_dict() == original.to_dict()
    reasons, more = report.reasons(rebuilt, "de")
    assert [r.rule for r in reasons] == ["BR-DE-15", "XYZ-1", "cen-ubl"] and more == 0
    assert "Leitweg" in reasons[0].text  # the plain-language hint, not the Schematron message
    assert reasons[1].text == "an unknown rule" and reasons[2].text == "the rule pack failed to run"
    page = report.html_report(rebuilt, "en").decode()
    assert "BR-DE-15" in page and "XYZ-1" in page


def test_texts_in_german_and_english() -> None:
    received = [texts.Received("a.xml", "inv1", again=False), texts.Received("b.xml", "inv2", again=True)]
    subject, body = texts.acknowledgement("de", "Rechnung 4711", received, ["c.zip: damaged"], "<m@x>")
    assert subject == "Eingangsbestätigung Ihrer Rechnung - Re: Rechnung 4711"
    assert "- a.xml: Referenz inv1\n" in body and "b.xml: Referenz inv2 (bereits früher eingegangen)" in body
    assert "Nicht verarbeitet:\n- c.zip: damaged" in body and "<m@x>" in body
    subject, body = texts.acknowledgement("en", "", received, [], "<m@x>")
    assert subject == "Your invoice was received" and "reference inv1" in body
    subject, body = texts.no_invoice("en", "AW: hello", ["scan.pdf"], [], "<m@x>")
    assert subject == "No invoice found in your message - AW: hello" and "found: scan.pdf" in body
    assert "43 KB" in texts.too_large("en", "", 44_000, 10 * 1024 * 1024, "<m>")[1]
    assert "12,5 MB" in texts.too_large("de", "", int(12.5 * 1024 * 1024), 1024, "<m>")[1]
    assert "has 30 attachments, more than our limit of 20" in texts.too_many("en", "", 30, 20, "<m>")[1]
    subject, body = texts.rejection("de", filename="bad.xml", number="RE-1", invoice_id="inv1", summary="s",
                                    reasons=[texts.Reason("BR-DE-15", "Leitweg-ID fehlt")], more=2)
    assert subject == "Rechnung RE-1 abgelehnt" and "- BR-DE-15: Leitweg-ID fehlt\n- … und 2 weitere" in body
    subject, _ = texts.rejection("en", filename="x.xml", number="RE-1\r\nBcc: x@y", invoice_id="i", summary="s",
                                 reasons=[], more=0)
    assert subject == "Invoice RE-1 Bcc: x@y rejected"  # no header injection from the document


def _notices() -> int:
    with db.UnitOfWork() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Notice)) or 0)


def test_a_reply_is_queued_once_per_message(database: None) -> None:
    kwargs = {"kind": replies.ANSWER, "recipient": "a@b.example", "subject": "s", "key": "<1%_@x>"}
    assert replies.queue_once(body="about <1%_@x>", **kwargs) is True
    assert replies.queue_once(body="about <1%_@x> again", **kwargs) is False
    assert replies.queue_once(body="about <1ab@x>", **{**kwargs, "key": "<1ab@x>"}) is True  # no LIKE wildcards
    assert _notices() == 2


def _store(**values: object) -> str:
    with db.UnitOfWork() as uow:
        invoice = Invoice(channel="mail", sender="a@b.example", filename="bad.xml", sha256="1" * 64, size=10,
                          status="rejected", accepted=False, validation=verdict().to_dict(),
                          intake_meta={"reply_to": "a@b.example", "lang": "en", "subject": "Invoice 1"})
        for name, value in values.items():
            setattr(invoice, name, value)
        uow.session.add(invoice)
        uow.commit()
        return invoice.id


def test_verdict_mails_are_queued_once_with_the_report_attached(database: None) -> None:
    rejected = _store()
    _store(sha256="2" * 64, intake_meta={"reply_to": None})  # automatic sender: never answered
    _store(sha256="3" * 64, channel="api")
    _store(sha256="4" * 64, status="in_approval", accepted=True)
    assert replies.queue_verdicts() == 1
    assert replies.queue_verdicts() == 0
    with db.UnitOfWork() as uow:
        [notice] = uow.session.scalars(select(Notice)).all()
    assert notice.invoice_id == rejected and notice.recipient == "a@b.example"
    assert notice.subject == "Invoice bad.xml rejected (Re: Invoice 1)" and "BR-DE-15" in notice.body
    [(name, content_type, page)] = replies.notice_attachments(replies.REJECTION, rejected)
    assert name == f"validation-report-{rejected}.html" and content_type == "text/html" and b"BR-DE-15" in page
    assert replies.notice_attachments(replies.ACK, rejected) == []


def test_workflow_notices_for_mail_invoices_go_to_the_sender_of_the_message(database: None) -> None:
    with db.UnitOfWork() as uow:
        mailed = Invoice(channel="mail", sender="a@b.example", intake_meta={"reply_to": "r@b.example"},
                         data={"seller": {"contact_email": "contact@b.example"}})
        automatic = Invoice(channel="mail", sender="noreply@b.example", intake_meta={"reply_to": None},
                            data={"seller": {"contact_email": "contact@b.example"}})
        assert notify.supplier_address(uow.session, mailed) == "r@b.example"
        assert notify.supplier_address(uow.session, automatic) == "contact@b.example"
