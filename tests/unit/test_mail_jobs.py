"""The scheduled mail job and the CLI refuse to run without a mailbox, with a clear message."""

from __future__ import annotations

import os

import pytest
from dramatiq.brokers.stub import StubBroker
from typer.testing import CliRunner

from einvoice.cli import app
from einvoice.config import get_settings
from einvoice.mail.jobs import MailScheduler


@pytest.fixture(autouse=True)
def _no_mailboxes(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("EINVOICE_MAIL_")]:
        monkeypatch.delenv(name)
    get_settings.cache_clear()


def test_without_a_mailbox_the_scheduler_stays_idle() -> None:
    scheduler = MailScheduler(interval=5, in_process=True, broker=StubBroker()).start()
    assert scheduler._thread is None
    scheduler.stop()
    with pytest.raises(ValueError, match="positive"):
        MailScheduler(interval=0, in_process=True, broker=StubBroker())


@pytest.mark.parametrize("command", ["poll", "check"])
def test_cli_says_what_to_configure(command: str) -> None:
    result = CliRunner().invoke(app, ["mail", command])
    assert result.exit_code == 2 and "EINVOICE_MAIL_IMAP_URL" in result.output


def test_cli_refuses_plain_imap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EINVOICE_MAIL_IMAP_URL", "imap://a:b@host/INBOX")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["mail", "poll"])
    assert result.exit_code == 2 and "without TLS is refused" in result.output
    get_settings.cache_clear()
