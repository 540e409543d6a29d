"""Mailbox configuration: URLs, JSON lists, defaults from the settings, refusals with clear messages."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from einvoice.config import Settings
from einvoice.mail.settings import MailSettingsError, by_connector, mailboxes, parse_url


@pytest.fixture(autouse=True)
def _no_mail_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("EINVOICE_MAIL_")]:
        monkeypatch.delenv(name)


def settings(**values: object) -> Settings:
    return Settings(**values)  # type: ignore[arg-type]


def test_one_imaps_url_with_folder_and_options() -> None:
    [box] = mailboxes(settings(mail_imap_url="imaps://rechnung%40stadt.example:p%40ss@mail.example/Rechnungen"
                                             "?processed=Erledigt&lang=en&route=991-12345-67",
                               mail_ca_file=Path("/etc/ca.pem")))
    assert (box.host, box.port, box.security, box.folder) == ("mail.example", 993, "ssl", "Rechnungen")
    assert (box.username, box.password) == ("rechnung@stadt.example", "p@ss")
    assert box.processed_folder == "Erledigt" and box.lang == "en" and box.route_leitweg_id == "991-12345-67"
    assert box.ca_file == Path("/etc/ca.pem") and box.connector == "mail:rechnung@stadt.example"
    assert "p@ss" not in repr(box)


def test_starttls_and_json_list_with_overrides() -> None:
    entries = [{"url": "imap://a:x@h1?starttls=1", "name": "eingang", "max_attachments": 5},
               {"name": "bau", "host": "h2", "port": 993, "security": "ssl", "username": "b", "password": "y"}]
    boxes = mailboxes(settings(mail_mailboxes=json.dumps(entries), mail_lang="en", mail_max_message_bytes=1000))
    assert [(b.name, b.security, b.port, b.max_attachments, b.lang, b.max_message_bytes) for b in boxes] == [
        ("eingang", "starttls", 143, 5, "en", 1000), ("bau", "ssl", 993, 20, "en", 1000)]
    assert by_connector("mail:bau", settings(mail_mailboxes=json.dumps(entries))).host == "h2"


@pytest.mark.parametrize(("url", "message"), [
    ("imap://a:b@host/INBOX", "without TLS is refused"),
    ("pop3://a:b@host", "must start with imaps://"),
    ("imaps://host/INBOX", "needs a user and a host"),
])
def test_unusable_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(MailSettingsError, match=message):
        parse_url(url)


def test_bad_lists_and_values_say_what_is_wrong() -> None:
    with pytest.raises(MailSettingsError, match="not valid JSON"):
        mailboxes(settings(mail_mailboxes="[{"))
    with pytest.raises(MailSettingsError, match="JSON list of objects"):
        mailboxes(settings(mail_mailboxes='{"url": "imaps://a:b@h"}'))
    with pytest.raises(MailSettingsError, match="lang"):
        mailboxes(settings(mail_imap_url="imaps://a:b@h/INBOX?lang=fr"))
    with pytest.raises(MailSettingsError, match="unique"):
        mailboxes(settings(mail_imap_url="imaps://a:b@h", mail_mailboxes='[{"url": "imaps://a:c@h2"}]'))
    with pytest.raises(MailSettingsError, match="no configured mailbox"):
        by_connector("mail:nope", settings())
    assert mailboxes(settings()) == []
