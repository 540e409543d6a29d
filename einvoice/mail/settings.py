"""Mailbox configuration: one IMAP URL or a JSON list of mailboxes, with service-wide defaults.

``EINVOICE_MAIL_IMAP_URL=imaps://user:pass@host:993/INBOX`` (or ``imap://…?starttls=1``) configures
one mailbox; ``EINVOICE_MAIL_MAILBOXES`` a JSON list of objects, each with a ``url`` and/or the
fields of :class:`Mailbox` (``name``, ``lang``, ``route_leitweg_id``, ``processed_folder``, …).
Plain IMAP without TLS is refused: invoices and passwords never travel in clear text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from einvoice.config import Settings, get_settings

PROCESSED_KEYWORD = "$EinvoiceProcessed"
_TRUE = {"1", "true", "yes", "on"}
_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,100}$")


class MailSettingsError(ValueError):
    """The mailbox configuration cannot be used; the message says which setting and why."""


class Mailbox(BaseModel):
    """One polled mailbox and the limits that apply to the messages in it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    host: str
    port: int = Field(ge=1, le=65535)
    security: Literal["ssl", "starttls"]
    username: str
    password: str = Field(repr=False)
    folder: str = "INBOX"
    ca_file: Path | None = None
    processed_folder: str | None = None
    keyword: str = PROCESSED_KEYWORD
    lang: Literal["de", "en"] = "de"
    route_leitweg_id: str | None = None  # every invoice of this mailbox goes to the unit with this id
    max_message_bytes: int = Field(25 * 1024 * 1024, gt=0)
    max_attachments: int = Field(20, gt=0)
    zip_max_members: int = Field(50, gt=0)
    zip_max_bytes: int = Field(100 * 1024 * 1024, gt=0)
    max_attempts: int = Field(5, gt=0)  # failed messages are retried this often, then wait for an operator

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("a mailbox name may use letters, digits and . _ @ - (at most 100)")
        return value

    @field_validator("keyword")
    @classmethod
    def _atom(cls, value: str) -> str:
        if not re.fullmatch(r"\$?[A-Za-z0-9_-]{1,60}", value):
            raise ValueError("the IMAP keyword must be a plain atom such as $EinvoiceProcessed")
        return value

    @property
    def connector(self) -> str:
        """The name in the connector bookkeeping and the operations view."""
        return f"mail:{self.name}"


def parse_url(url: str) -> dict[str, Any]:
    """Fields of a mailbox from ``imaps://user:pass@host:993/INBOX?processed=Done&lang=en&name=x``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    if scheme == "imaps":
        security = "ssl"
    elif scheme == "imap" and query.pop("starttls", "").lower() in _TRUE:
        security = "starttls"
    elif scheme == "imap":
        raise MailSettingsError("plain imap:// without TLS is refused; use imaps:// or imap://…?starttls=1")
    else:
        raise MailSettingsError(f"the mailbox URL must start with imaps:// or imap://, not {scheme or '?'}://")
    if not parts.hostname or not parts.username:
        raise MailSettingsError("the mailbox URL needs a user and a host: imaps://user:password@host/INBOX")
    fields: dict[str, Any] = {
        "host": parts.hostname,
        "port": parts.port or (993 if security == "ssl" else 143),
        "security": security,
        "username": unquote(parts.username),
        "password": unquote(parts.password or ""),
        "name": query.pop("name", unquote(parts.username)),
    }
    folder = unquote(parts.path.lstrip("/"))
    if folder:
        fields["folder"] = folder
    renames = {"processed": "processed_folder", "route": "route_leitweg_id"}
    for key, value in query.items():
        fields[renames.get(key, key)] = value
    return fields


def _defaults(settings: Settings) -> dict[str, Any]:
    return {
        "ca_file": settings.mail_ca_file,
        "processed_folder": settings.mail_processed_folder,
        "lang": settings.mail_lang,
        "max_message_bytes": settings.mail_max_message_bytes,
        "max_attachments": settings.mail_max_attachments,
        "zip_max_members": settings.mail_zip_max_members,
        "zip_max_bytes": settings.mail_zip_max_bytes,
    }


def build(entry: dict[str, Any], settings: Settings | None = None) -> Mailbox:
    """One mailbox from a URL and/or explicit fields, on top of the service-wide defaults."""
    settings = settings or get_settings()
    fields = {key: value for key, value in _defaults(settings).items() if value is not None}
    entry = dict(entry)
    if "url" in entry:
        fields.update(parse_url(str(entry.pop("url"))))
    fields.update(entry)
    try:
        return Mailbox(**fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'mailbox'}: {err['msg']}"
                             for err in exc.errors())
        raise MailSettingsError(f"mailbox {fields.get('name', '?')}: {problems}") from None


def mailboxes(settings: Settings | None = None) -> list[Mailbox]:
    """Every configured mailbox (empty when e-mail intake is not configured)."""
    settings = settings or get_settings()
    result: list[Mailbox] = []
    if settings.mail_imap_url:
        result.append(build({"url": settings.mail_imap_url}, settings))
    if settings.mail_mailboxes:
        try:
            entries = json.loads(settings.mail_mailboxes)
        except json.JSONDecodeError as exc:
            raise MailSettingsError(f"EINVOICE_MAIL_MAILBOXES is not valid JSON: {exc}") from None
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise MailSettingsError("EINVOICE_MAIL_MAILBOXES must be a JSON list of objects")
        result.extend(build(entry, settings) for entry in entries)
    names = [box.name for box in result]
    if len(set(names)) != len(names):
        raise MailSettingsError(f"mailbox names must be unique: {names}")
    return result


def by_connector(connector: str, settings: Settings | None = None) -> Mailbox:
    """The mailbox behind a connector name such as ``mail:rechnungen``."""
    for box in mailboxes(settings):
        if box.connector == connector:
            return box
    raise MailSettingsError(f"no configured mailbox for connector {connector!r}")
