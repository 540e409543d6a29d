"""The e-mail connector against a real Dovecot (IMAP, STARTTLS and IMAPS) and a real SMTP sink.

Messages are delivered by IMAP APPEND; the ledger is a fresh SQLite installation in tmp_path with
the embedded worker (real validator), so verdicts arrive asynchronously as in production. Without
Dovecot (Debian package ``dovecot-imapd``) the tests are skipped, unless ``CI`` is set.
"""

from __future__ import annotations

import io
import os
import shutil
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from einvoice import db
from einvoice.cli import app as cli_app
from einvoice.config import get_settings
from einvoice.connectors import service as connectors
from einvoice.connectors.operations import retry_now
from einvoice.intake import broker
from einvoice.intake import service as intake
from einvoice.intake.embedded import EmbeddedWorker
from einvoice.ledger.models import Invoice, JournalEntry
from einvoice.mail import jobs
from einvoice.mail.poller import Poller
from einvoice.mail.settings import PROCESSED_KEYWORD, Mailbox, mailboxes
from einvoice.samples import DEFAULT_LEITWEG_ID, make_cii_invoice, make_invalid_ubl_invoice, make_ubl_invoice
from tests.conftest import ROOT
from tests.integration.dovecot import DOVECOT, Dovecot, server_folder, start_dovecot
from tests.integration.test_ledger_pipeline import postgres_url  # noqa: F401  (the throw-away server)
from tests.services import SmtpSink, create_database, fresh_process_state, smtp_sink

pytestmark = pytest.mark.integration

SUPPLIER = "buchhaltung@lieferant.example"
PASSWORD = "geheim-123"
USERS = 20  # one fresh mailbox per test, created before the first login


@pytest.fixture(scope="module")
def dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dovecot]:
    if not DOVECOT.exists():
        message = f"Dovecot not installed ({DOVECOT}; Debian package dovecot-imapd)"
        if os.environ.get("CI"):
            pytest.fail(message + " — required in CI")
        pytest.skip(message)
    base = tmp_path_factory.mktemp("imap")
    root = server_folder(base)
    server = start_dovecot(root)
    for number in range(1, USERS + 1):
        server.add_user(f"rechnungen{number}", PASSWORD)
    try:
        yield server
    finally:
        server.stop()
        if not root.is_relative_to(base):
            shutil.rmtree(root, ignore_errors=True)


@dataclass
class MailEnv:
    server: Dovecot
    sink: SmtpSink
    user: str
    password: str

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        self.server.append(self.user, self.password, raw, folder)

    def unprocessed(self, folder: str = "INBOX") -> list[bytes]:
        return self.server.folder_uids(self.user, self.password, folder, f"UNKEYWORD {PROCESSED_KEYWORD}")

    def all(self, folder: str = "INBOX") -> list[bytes]:
        return self.server.folder_uids(self.user, self.password, folder)

    @property
    def box(self) -> Mailbox:
        return mailboxes()[0]


_users = iter(range(1, USERS + 1))


def _mail_env(tmp_path: Path, validator: Any, server: Dovecot, **env: str) -> Iterator[MailEnv]:
    user, password = f"rechnungen{next(_users)}", PASSWORD
    # a MonkeyPatch of its own: some tests call this directly (``for env in _mail_env(...)``)
    with pytest.MonkeyPatch.context() as monkeypatch, smtp_sink() as sink:
        settings = {
            "EINVOICE_SMTP_URL": f"smtp://127.0.0.1:{sink.port}",
            "EINVOICE_SMTP_FROM": "rechnungseingang@stadt.example",
            "EINVOICE_MAIL_IMAP_URL": f"imap://{user}:{password}@127.0.0.1:{server.imap_port}/INBOX"
                                      "?starttls=1&name=rechnungen",
            "EINVOICE_MAIL_CA_FILE": str(server.ca_file),
            **env,
        }
        with fresh_process_state(monkeypatch, tmp_path, validator=validator, **settings):
            broker.configure()
            worker = EmbeddedWorker(threads=1, sweep_interval=0.2, stale_after=1.0, warm_up=False,
                                    periodic_jobs=False).start()  # the tests poll themselves
            try:
                yield MailEnv(server, sink, user, password)
            finally:
                worker.stop()


@pytest.fixture
def mail_env(tmp_path: Path, validator: Any, dovecot: Dovecot) -> Iterator[MailEnv]:
    yield from _mail_env(tmp_path, validator, dovecot)


def message(*attachments: tuple[str, str, bytes], sender: str = SUPPLIER, subject: str = "Rechnung",
            headers: dict[str, str] | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Lieferant GmbH <{sender}>"
    msg["To"] = "rechnungen@stadt.example"
    msg["Subject"] = subject
    msg["Date"] = formatdate()
    msg["Message-ID"] = make_msgid(domain="lieferant.example")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content("Sehr geehrte Damen und Herren,\nanbei unsere Rechnung.\n")
    for name, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes(policy=policy.SMTP)


def xml(name: str, data: bytes) -> tuple[str, str, bytes]:
    return name, "application/xml", data


def ledger_rows() -> list[Invoice]:
    with db.UnitOfWork() as uow:
        return list(uow.session.scalars(select(Invoice).order_by(Invoice.received_at)))


def invoice_count() -> int:
    with db.UnitOfWork() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Invoice)) or 0)


def zip_of(*files: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return buffer.getvalue()


def test_xml_pdf_and_zip_invoices_reach_the_ledger_and_are_acknowledged(mail_env: MailEnv) -> None:
    pdf = (ROOT / "samples" / "zugferd-xrechnung.pdf").read_bytes()
    mail_env.deliver(message(xml("RE-MAIL-1.xml", make_ubl_invoice(number="RE-MAIL-1")),
                             ("lieferschein.txt", "text/plain", b"Lieferschein 4711\n"), subject="Rechnung RE-MAIL-1"))
    mail_env.deliver(message(("rechnung.pdf", "application/pdf", pdf), subject="ZUGFeRD"))
    mail_env.deliver(message(("rechnungen.zip", "application/zip", zip_of(
        ("a/RE-ZIP-1.xml", make_ubl_invoice(number="RE-ZIP-1")), ("RE-ZIP-2.xml", make_cii_invoice(number="RE-ZIP-2")),
        ("anschreiben.txt", b"Hallo"))), subject="Zwei Rechnungen"))

    result = CliRunner().invoke(cli_app, ["mail", "poll"])
    assert result.exit_code == 0, result.output

    rows = ledger_rows()
    assert len(rows) == 4
    assert {r.channel for r in rows} == {"mail"} and {r.sender for r in rows} == {SUPPLIER}
    by_name = {r.filename: r for r in rows}
    assert set(by_name) == {"RE-MAIL-1.xml", "rechnung.pdf", "RE-ZIP-1.xml", "RE-ZIP-2.xml"}
    first = by_name["RE-MAIL-1.xml"].intake_meta or {}
    assert first["message_id"].endswith("@lieferant.example>") and first["reply_to"] == SUPPLIER
    assert first["subject"] == "Rechnung RE-MAIL-1" and first["from"].endswith(f"<{SUPPLIER}>")
    [related] = first["attachments"]
    assert related["name"] == "lieferschein.txt"
    assert intake.blobs().get(related["sha256"]) == b"Lieferschein 4711\n"
    zipped = by_name["RE-ZIP-1.xml"].intake_meta or {}
    assert zipped["container"] == "rechnungen.zip" and zipped["message_id"] == \
        (by_name["RE-ZIP-2.xml"].intake_meta or {})["message_id"]
    assert [a["name"] for a in zipped["attachments"]] == ["anschreiben.txt"]

    acks = mail_env.sink.wait(3)
    assert all(rcpts == [SUPPLIER] for rcpts, _ in acks)
    bodies = " ".join(m.get_content() for _, m in acks)
    for row in rows:
        assert row.id in bodies
    assert mail_env.unprocessed() == [] and len(mail_env.all()) == 3
    items = connectors.items("mail:rechnungen")
    assert sorted(i.state for i in items) == ["done"] * 3

    statuses = intake.wait_until_final([r.id for r in rows], timeout=120)
    assert set(statuses.values()) <= {"accepted", "in_approval"}, statuses
    again = jobs.poll_all()
    assert again[0].processed == 0 and again[0].error is None
    assert len(mail_env.sink.messages) == 3  # accepted invoices: no verdict mail

    check = CliRunner().invoke(cli_app, ["mail", "check"])
    assert check.exit_code == 0 and "3 message(s), 0 unprocessed" in check.output, check.output


def test_no_invoice_oversized_and_automatic_messages(tmp_path: Path, validator: Any, dovecot: Dovecot) -> None:
    for env in _mail_env(tmp_path, validator, dovecot, EINVOICE_MAIL_MAX_MESSAGE_BYTES="60000",
                         EINVOICE_MAIL_MAX_ATTACHMENTS="3"):
        env.deliver(message(subject="Frage zur Bestellung"))
        env.deliver(message(("scan.pdf", "application/pdf", b"%PDF-1.4\n%%EOF\n"), sender="scan@lieferant.example"))
        env.deliver(message(("gross.xml", "application/xml", b"<a>" + b"x" * 100_000 + b"</a>"),
                            sender="gross@lieferant.example", subject="Riesig"))
        env.deliver(message(subject="Abwesend", sender="urlaub@lieferant.example",
                            headers={"Auto-Submitted": "auto-replied"}))
        env.deliver(message(subject="Undeliverable", sender="mailer-daemon@lieferant.example"))
        env.deliver(message(*[xml(f"RE-{n}.xml", make_ubl_invoice(number=f"RE-{n}")) for n in range(4)],
                            sender="viele@lieferant.example"))

        [report] = jobs.poll_all()
        assert report.processed == 6 and report.failed == 0
        assert invoice_count() == 0
        env.sink.wait(4)
        plain = env.sink.to(SUPPLIER)
        assert len(plain) == 1 and "Wir nehmen an: XRechnung" in plain[0].get_content()
        assert plain[0]["Subject"] == "Keine Rechnung in Ihrer Nachricht - Re: Frage zur Bestellung"
        [scan] = env.sink.to("scan@lieferant.example")
        assert "scan.pdf" in scan.get_content() and "keine elektronische Rechnung" in scan.get_content()
        [large] = env.sink.to("gross@lieferant.example")
        assert "Grenze von 59 KB" in " ".join(large.get_content().split()) and "zu groß" in large["Subject"]
        assert env.sink.to("urlaub@lieferant.example") == []
        assert env.sink.to("mailer-daemon@lieferant.example") == []
        [crowd] = env.sink.to("viele@lieferant.example")
        assert crowd["Subject"].startswith("Zu viele Anhänge") and "4 Anhänge, mehr als unsere Grenze von 3" in \
            " ".join(crowd.get_content().split())
        states = sorted(i.state for i in connectors.items("mail:rechnungen"))
        assert states == ["answered", "answered", "answered", "answered", "ignored", "ignored"]
        assert env.unprocessed() == []
        jobs.poll_all()
        assert len(env.sink.messages) == 4


def test_invalid_invoice_gets_a_rejection_with_reasons_and_the_html_report(
        tmp_path: Path, validator: Any, dovecot: Dovecot) -> None:
    for env in _mail_env(tmp_path, validator, dovecot):
        os.environ["EINVOICE_MAIL_IMAP_URL"] += "&lang=en"
        get_settings.cache_clear()
        env.deliver(message(xml("bad.xml", make_invalid_ubl_invoice()), subject="Invoice 816"))
        [report] = jobs.poll_all()
        [invoice_id] = report.invoice_ids
        assert intake.wait_until_final([invoice_id], timeout=120)[invoice_id] == "rejected"
        jobs.poll_all()  # (the first poll may have mailed the verdict already, if validation was quick)
        env.sink.wait(2)
        ack = env.sink.messages[0][1].get_content()
        assert invoice_id in ack and "we have received 1 invoice file" in ack
        rejection = env.sink.messages[1][1]
        assert env.sink.messages[1][0] == [SUPPLIER]
        assert rejection["Subject"].startswith("Invoice RE-2026-00816 rejected")
        body = rejection.get_body(preferencelist=("plain",))
        assert body is not None
        text = body.get_content()
        for rule in ("BR-CO-10", "BR-CO-15", "BR-DE-15"):
            assert rule in text
        assert invoice_id in text
        [html] = [p for p in rejection.iter_attachments() if p.get_content_type() == "text/html"]
        assert html.get_filename() == f"validation-report-{invoice_id}.html"
        page = html.get_content()
        assert "BR-CO-10" in page and "<html" in page.lower()

        jobs.poll_all()  # the verdict is mailed once
        assert len(env.sink.messages) == 2


def test_crash_between_commit_and_flag_creates_no_second_invoice(mail_env: MailEnv) -> None:
    mail_env.deliver(message(xml("RE-CRASH.xml", make_ubl_invoice(number="RE-CRASH")),
                             xml("RE-CRASH-2.xml", make_ubl_invoice(number="RE-CRASH-2"))))

    def crash(key: str) -> None:
        raise RuntimeError("power cut after the intake commit")

    first = Poller(mail_env.box, after_intake=crash).poll()
    assert first.failed == 1 and first.processed == 0
    assert invoice_count() == 2  # committed before the crash
    assert len(mail_env.unprocessed()) == 1  # but the message was not flagged
    [item] = connectors.items("mail:rechnungen")
    assert item.state == "failed" and "power cut" in item.detail

    second = Poller(mail_env.box).poll()
    assert second.processed == 1 and second.failed == 0
    assert invoice_count() == 2
    assert mail_env.unprocessed() == []
    [item] = connectors.items("mail:rechnungen")
    assert item.state == "done" and sorted(item.invoice_ids) == sorted({r.id for r in ledger_rows()})
    jobs.poll_all()
    assert len(mail_env.sink.wait(1)) == 1  # one acknowledgement, not two


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_mail_env(request: pytest.FixtureRequest, tmp_path: Path, validator: Any,
                    dovecot: Dovecot) -> Iterator[MailEnv]:
    """The mail set-up on the embedded SQLite file and on a real PostgreSQL (read committed: where a
    check-then-insert race would show)."""
    env = {}
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres_url")
        port = int(server.rsplit(":", 1)[1])
        env["EINVOICE_DATABASE_URL"] = create_database(port, f"mail_{uuid.uuid4().hex[:12]}")
    yield from _mail_env(tmp_path, validator, dovecot, **env)


def test_two_workers_polling_one_mailbox_give_one_invoice_and_one_acknowledgement(any_db_mail_env: MailEnv) -> None:
    """Run one mail worker per mailbox, but if two poll at the same moment nothing is doubled: identical
    bytes are one ledger entry and the outbox's unique key lets one acknowledgement through."""
    mail_env = any_db_mail_env
    mail_env.deliver(message(xml("RE-TWICE.xml", make_ubl_invoice(number="RE-TWICE"))))
    barrier = threading.Barrier(2)
    reports: list[Any] = []

    def meet(key: str) -> None:
        barrier.wait(30)  # both have taken the invoice in before either records or flags the message

    def work() -> None:
        reports.append(Poller(mail_env.box, after_intake=meet).poll())

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(reports) == 2 and all(r.error is None for r in reports), reports
    assert invoice_count() == 1
    assert mail_env.unprocessed() == []
    [item] = connectors.items("mail:rechnungen")
    assert item.state == "done"
    jobs.poll_all()
    assert len(mail_env.sink.wait(1)) == 1
    time.sleep(1)
    assert len(mail_env.sink.messages) == 1  # not a second one later


def test_same_invoice_by_upload_and_by_mail_is_one_ledger_entry(mail_env: MailEnv) -> None:
    data = make_ubl_invoice(number="RE-BOTH")
    uploaded = intake.submit(data=data, channel="api", sender="portal-user", filename="RE-BOTH.xml",
                             content_type="application/xml")
    mail_env.deliver(message(xml("RE-BOTH.xml", data)))
    [report] = jobs.poll_all()
    assert report.invoice_ids == [uploaded.invoice_id]
    rows = ledger_rows()
    assert len(rows) == 1 and rows[0].channel == "api"
    [(_, ack)] = mail_env.sink.wait(1)
    assert uploaded.invoice_id in ack.get_content() and "bereits früher eingegangen" in ack.get_content()


def test_same_invoice_by_upload_mail_and_peppol_is_one_ledger_entry(mail_env: MailEnv) -> None:
    from einvoice.peppol import inbound
    from einvoice.peppol.samples import wrap_invoice

    data = make_ubl_invoice(number="RE-THREE")
    uploaded = intake.submit(data=data, channel="api", sender="portal-user", filename="RE-THREE.xml",
                             content_type="application/xml")
    mail_env.deliver(message(xml("RE-THREE.xml", data)))
    [report] = jobs.poll_all()
    envelope = wrap_invoice(data, sender="9930:DE123456789", receiver=f"0204:{DEFAULT_LEITWEG_ID}")
    by_peppol = inbound.receive(envelope, connector="peppol:http")
    assert report.invoice_ids == [uploaded.invoice_id] == [by_peppol.invoice_id]
    assert not by_peppol.created and len(ledger_rows()) == 1
    with db.UnitOfWork() as uow:
        channels = [e.payload.get("channel") for e in uow.session.scalars(
            select(JournalEntry).where(JournalEntry.invoice_id == uploaded.invoice_id)
            .where(JournalEntry.event.in_(["received", "received_again"])).order_by(JournalEntry.seq))]
    assert channels == ["api", "mail", "peppol"]


def test_imaps_with_processed_folder_and_operator_retry(tmp_path: Path, validator: Any, dovecot: Dovecot) -> None:
    for env in _mail_env(tmp_path, validator, dovecot, EINVOICE_MAIL_PROCESSED_FOLDER="Erledigt"):
        os.environ["EINVOICE_MAIL_IMAP_URL"] = (
            f"imaps://{env.user}:{env.password}@127.0.0.1:{dovecot.imaps_port}/INBOX?name=rechnungen&route=04011000-1234512345-06")
        get_settings.cache_clear()
        env.deliver(message(xml("RE-MOVE.xml", make_ubl_invoice(number="RE-MOVE"))))
        env.deliver(message(xml("RE-RETRY.xml", make_ubl_invoice(number="RE-RETRY"))))

        def fail_retry_message(key: str) -> None:
            item = connectors.item("mail:rechnungen", key)
            if any(r.filename == "RE-RETRY.xml" and (r.intake_meta or {}).get("message_id") == key
                   for r in ledger_rows()) and item is None:
                raise RuntimeError("IMAP connection lost")

        box = env.box
        report = Poller(box.model_copy(update={"max_attempts": 1}), after_intake=fail_retry_message).poll()
        assert report.processed == 1 and report.failed == 1
        assert len(env.all("Erledigt")) == 1 and len(env.all("INBOX")) == 1
        [failed] = connectors.items("mail:rechnungen", "failed")

        parked = Poller(box.model_copy(update={"max_attempts": 1})).poll()
        assert parked.skipped == 1 and parked.processed == 0  # failed too often: waits for an operator

        assert retry_now(failed.id).state == "done"  # the operations view's retry calls einvoice.mail.retry
        assert env.all("INBOX") == [] and len(env.all("Erledigt")) == 2
        assert invoice_count() == 2
        assert {(r.intake_meta or {}).get("route_leitweg_id") for r in ledger_rows()} == {"04011000-1234512345-06"}
        assert len(env.sink.wait(2)) == 2


def test_an_untrusted_server_certificate_stops_the_poll(mail_env: MailEnv) -> None:
    os.environ.pop("EINVOICE_MAIL_CA_FILE")  # system trust only: the test server's self-signed cert fails
    get_settings.cache_clear()
    mail_env.deliver(message(xml("RE-TLS.xml", make_ubl_invoice(number="RE-TLS"))))
    [report] = jobs.poll_all()
    assert report.error is not None and "CERTIFICATE_VERIFY_FAILED" in report.error
    assert invoice_count() == 0 and len(mail_env.unprocessed()) == 1
    [status] = connectors.overview()
    assert status.connector == "mail:rechnungen" and status.last_error == report.error


def test_crash_between_record_and_flag_only_flags_the_message_next_time(mail_env: MailEnv) -> None:
    raw = message(xml("RE-FLAG.xml", make_ubl_invoice(number="RE-FLAG")))
    mail_env.deliver(raw)
    first = Poller(mail_env.box).poll()
    [invoice_id] = first.invoice_ids
    key = (ledger_rows()[0].intake_meta or {})["message_id"]
    mail_env.server.append(mail_env.user, mail_env.password, raw)  # as if the flag had never been set
    assert len(mail_env.unprocessed()) == 1

    second = Poller(mail_env.box).poll()
    assert second.processed == 0 and second.failed == 0 and second.invoice_ids == []
    assert mail_env.unprocessed() == [] and invoice_count() == 1
    [item] = connectors.items("mail:rechnungen")
    assert item.external_id == key and item.invoice_ids == [invoice_id] and item.state == "done"
    with db.UnitOfWork() as uow:  # the re-delivery was not even journalled again: nothing was submitted
        query = select(JournalEntry.event).where(JournalEntry.invoice_id == invoice_id)
        events = list(uow.session.scalars(query))
    assert "received_again" not in events


def test_the_embedded_schedule_polls_on_its_own(tmp_path: Path, validator: Any, dovecot: Dovecot) -> None:
    """What ``einvoice serve`` runs: the mail job on its schedule, without anyone calling it."""
    from einvoice.intake.embedded import _periodic_jobs
    from einvoice.scheduling import Scheduler

    assert jobs.MAIL_POLL in [scheduler.job for scheduler in _periodic_jobs()]
    for env in _mail_env(tmp_path, validator, dovecot):
        scheduler = Scheduler(jobs.MAIL_POLL, interval=0.5, in_process=True).start()
        try:
            env.deliver(message(xml("RE-77.xml", make_ubl_invoice(number="RE-77"))))
            deadline = time.monotonic() + 60
            while (invoice_count() == 0 or env.unprocessed()) and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            scheduler.stop()  # waits for a running pass to end
        assert invoice_count() == 1 and env.unprocessed() == [] and scheduler.runs >= 1
