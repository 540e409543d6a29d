"""E-mail notices: texts in German and English, the supplier's address, and the outbox that retries
until a real SMTP server (aiosmtpd on loopback) takes the message."""

from __future__ import annotations

import email
import socket
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from einvoice import db
from einvoice.accounts.models import User
from einvoice.config import get_settings
from einvoice.ledger.models import Invoice, JournalEntry, utcnow
from einvoice.workflow import notify
from einvoice.workflow.models import Notice
from tests.services import fresh_process_state


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Sink:
    def __init__(self) -> None:
        self.received: list[tuple[list[str], email.message.Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"


def invoice(**changes: Any) -> Invoice:
    values: dict[str, Any] = {
        "id": "inv1", "sender": "u1", "invoice_number": "RE-1", "issue_date": date(2026, 3, 2),
        "gross_amount": Decimal("1187.9000"), "currency": "EUR", "seller_name": "Hanse Bürobedarf GmbH",
        "data": {"buyer": {"name": "Stadt Musterhausen"},
                 "seller": {"contact_email": "buchhaltung@hanse.example",
                            "electronic_address": {"value": "xrechnung@hanse.example", "scheme": "EM"}}}}
    values.update(changes)
    return Invoice(**values)


def test_rejection_text_is_german_and_english() -> None:
    subject, body = notify.rejection_text(invoice(), "Bestellnummer fehlt")
    assert subject == "Rechnung RE-1 abgelehnt / Invoice RE-1 rejected"
    german, english = body.split("-- English --")
    assert "Ihre Rechnung RE-1 vom 02.03.2026 über 1187.90 EUR an Stadt Musterhausen wurde abgelehnt" in german
    assert "Grund: Bestellnummer fehlt" in german and "Referenz: inv1" in german
    assert "your invoice RE-1 of 2026-03-02 for 1187.90 EUR to Stadt Musterhausen has been rejected" in english
    assert "Reason: Bestellnummer fehlt" in english


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with fresh_process_state(monkeypatch, tmp_path / "data"):
        yield


def test_supplier_address_prefers_the_supplier_account_then_the_invoice(database: None) -> None:
    with db.UnitOfWork() as uow:
        session = uow.session
        session.add_all([User(id="u1", name="alice", role="supplier", email="alice@supplier.example"),
                         User(id="u2", name="bob", role="supplier"),
                         User(id="c1", name="mailbox", role="connector", email="robot@example.org")])
        session.flush()
        assert notify.supplier_address(session, invoice()) == "alice@supplier.example"
        assert notify.supplier_address(session, invoice(sender="u2")) == "buchhaltung@hanse.example"
        assert notify.supplier_address(session, invoice(sender="c1")) == "buchhaltung@hanse.example"
        no_contact = invoice(sender="u2", data={"seller": {"electronic_address": {"value": "x@hanse.example",
                                                                                  "scheme": "EM"}}})
        assert notify.supplier_address(session, no_contact) == "x@hanse.example"
        peppol = invoice(sender="u2", data={"seller": {"electronic_address": {"value": "4000001", "scheme": "0088"}}})
        assert notify.supplier_address(session, peppol) is None


def test_outbox_retries_until_the_server_takes_the_message(database: None, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("EINVOICE_SMTP_URL", f"smtp://127.0.0.1:{port}")
    get_settings.cache_clear()
    with db.UnitOfWork() as uow:
        notice = notify.queue(uow.session, invoice_id=None, kind="rejection", recipient="alice@supplier.example",
                              subject="Rechnung RE-1 abgelehnt / Invoice RE-1 rejected", body="Grund: – ü")
        assert notice is not None
        uow.commit()
    assert notify.deliver_pending() == 0  # nobody listens on the port yet
    with db.UnitOfWork() as uow:
        row = uow.session.scalars(select(Notice)).one()
        assert (row.attempts, row.sent_at) == (1, None) and row.last_error
        assert notify._aware(row.next_attempt_at) > utcnow()
    assert notify.deliver_pending() == 0  # backing off: not tried again yet
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with db.UnitOfWork() as uow:
            uow.session.execute(update(Notice).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
            uow.commit()
        assert notify.deliver_pending() == 1
        deadline = time.monotonic() + 5
        while not sink.received and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        controller.stop()
    (recipients, message), = sink.received
    assert recipients == ["alice@supplier.example"] and message["Subject"].startswith("Rechnung RE-1 abgelehnt")
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes) and payload.decode("utf-8").strip() == "Grund: – ü"
    with db.UnitOfWork() as uow:
        row = uow.session.scalars(select(Notice)).one()
        assert (row.attempts, row.last_error) == (2, None) and row.sent_at is not None
        assert uow.session.scalars(select(JournalEntry)).all() == []  # no invoice: nothing to journal
    assert notify.deliver_pending() == 0  # sent once


def test_nothing_is_queued_without_smtp(database: None) -> None:
    with db.UnitOfWork() as uow:
        assert notify.queue(uow.session, invoice_id=None, kind="rejection", recipient="a@b.example", subject="s",
                            body="b") is None


def test_bad_smtp_url_is_refused() -> None:
    with pytest.raises(notify.SmtpUrlError, match="smtp://host:port"):
        notify.send_mail("http://example.org", "a@b.example", "c@d.example", "s", "b")
