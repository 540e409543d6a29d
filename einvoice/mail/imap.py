"""A small IMAP client on :mod:`imaplib`: TLS always (IMAPS or STARTTLS, certificates verified), UIDs only.

A handled message gets the mailbox's keyword (``$EinvoiceProcessed``) and, if configured, is moved
to the processed folder; "unprocessed" is every message without the keyword, so a crash between
flagging and moving never brings a message back.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from types import TracebackType
from typing import Any

from einvoice.mail.settings import Mailbox

TIMEOUT = 30.0
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class ImapError(RuntimeError):
    """The server refused a command or the connection failed; the message says which."""


def tls_context(box: Mailbox) -> ssl.SSLContext:
    """System trust plus the configured CA file; hostname checks stay on."""
    context = ssl.create_default_context()
    if box.ca_file is not None:
        context.load_verify_locations(cafile=str(box.ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _quote(text: str) -> str:
    if any(ch in text for ch in "\r\n\x00"):
        raise ImapError("a search value must not contain line breaks")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(result: tuple[str, Any], what: str) -> list[Any]:
    typ, data = result
    if typ != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
        raise ImapError(f"{what} failed: {typ} {detail}".strip())
    return data


class ImapMailbox:
    """One logged-in session on the mailbox's folder (a context manager)."""

    def __init__(self, box: Mailbox, *, timeout: float = TIMEOUT) -> None:
        self.box = box
        self.timeout = timeout
        self._conn: imaplib.IMAP4 | None = None
        self.capabilities: set[str] = set()

    @property
    def conn(self) -> imaplib.IMAP4:
        if self._conn is None:
            raise ImapError("not connected")
        return self._conn

    def open(self) -> ImapMailbox:
        box = self.box
        context = tls_context(box)
        try:
            if box.security == "ssl":
                self._conn = imaplib.IMAP4_SSL(box.host, box.port, ssl_context=context, timeout=self.timeout)
            else:
                self._conn = imaplib.IMAP4(box.host, box.port, timeout=self.timeout)
                self._conn.starttls(ssl_context=context)
            self._conn.login(box.username, box.password)
            capability = _check(self._conn.capability(), "CAPABILITY")
            self.capabilities = {c.upper() for c in b" ".join(
                c for c in capability if isinstance(c, bytes)).decode().split()}
            _check(self._conn.select(_quote(box.folder)), f"SELECT {box.folder}")
        except (imaplib.IMAP4.error, OSError, ssl.SSLError) as exc:
            self.close()
            raise ImapError(f"{box.connector}: cannot open {box.host}:{box.port}/{box.folder}: {exc}") from exc
        return self

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # already broken; nothing left to release
                self._conn.logout()
            self._conn = None

    def __enter__(self) -> ImapMailbox:
        return self.open()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _search(self, *criteria: str) -> list[str]:
        data = _check(self.conn.uid("SEARCH", *criteria), "SEARCH")
        first = data[0] if data else b""
        return [uid.decode() for uid in first.split()] if isinstance(first, bytes) else []

    def unprocessed(self) -> list[str]:
        """UIDs of messages without the processed keyword, oldest first."""
        return self._search("UNKEYWORD", self.box.keyword, "UNDELETED")

    def find(self, message_id: str) -> list[str]:
        """UIDs in the selected folder whose Message-ID header is ``message_id``."""
        return self._search("HEADER", "Message-ID", _quote(message_id))

    def size(self, uid: str) -> int | None:
        """RFC822.SIZE, or None when the message is gone."""
        for item in _check(self.conn.uid("FETCH", uid, "(RFC822.SIZE)"), "FETCH SIZE"):
            raw = item[0] if isinstance(item, tuple) else item
            if isinstance(raw, bytes) and (match := _SIZE.search(raw)):
                return int(match.group(1))
        return None

    def _fetch(self, uid: str, section: str) -> bytes | None:
        for item in _check(self.conn.uid("FETCH", uid, f"(BODY.PEEK[{section}])"), "FETCH"):
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                return item[1]
        return None

    def fetch(self, uid: str) -> bytes | None:
        """The whole message, without setting \\Seen (a failed run leaves no trace for people)."""
        return self._fetch(uid, "")

    def header(self, uid: str) -> bytes | None:
        return self._fetch(uid, "HEADER")

    def mark_processed(self, uid: str) -> None:
        """Keyword first (so the message is never handled again), then the move if configured."""
        _check(self.conn.uid("STORE", uid, "+FLAGS.SILENT", f"({self.box.keyword} \\Seen)"), "STORE")
        target = self.box.processed_folder
        if not target:
            return
        self.conn.create(_quote(target))  # "already exists" is fine
        if "MOVE" in self.capabilities:
            _check(self.conn.uid("MOVE", uid, _quote(target)), f"MOVE to {target}")
            return
        _check(self.conn.uid("COPY", uid, _quote(target)), f"COPY to {target}")
        _check(self.conn.uid("STORE", uid, "+FLAGS.SILENT", "(\\Deleted)"), "STORE \\Deleted")
        if "UIDPLUS" in self.capabilities:
            _check(self.conn.uid("EXPUNGE", uid), "UID EXPUNGE")
        else:
            _check(self.conn.expunge(), "EXPUNGE")

    def select(self, folder: str) -> bool:
        typ, _ = self.conn.select(_quote(folder))
        return typ == "OK"

    def count(self) -> int:
        return len(self._search("ALL"))
