"""Reading one e-mail: who sent it, may we answer, and which attachments are invoices.

An attachment is an invoice when it is XML whose root is an invoice (UBL Invoice/CreditNote, CII,
ZUGFeRD 1) or XML we cannot even parse (the validation report then tells the sender why), or a PDF
with an embedded invoice (ZUGFeRD/Factur-X). ZIP attachments are opened with limits on member
count and uncompressed size (zip bombs). Everything else is a related file, kept with the invoice.
"""

from __future__ import annotations

import email
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr
from pathlib import PurePosixPath

from einvoice.formats.pdf import INVOICE_ROOTS, extract_invoice_from_pdf, is_pdf
from einvoice.formats.xml import InputError, parse_xml_safely, scan_prolog

_CHUNK = 64 * 1024
_AUTOMATIC_SENDERS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|bounces?)([+@.-]|$)", re.IGNORECASE)


@dataclass(frozen=True)
class Part:
    """One attached file (or ZIP member): its name, declared type and bytes."""

    name: str
    content_type: str
    data: bytes
    container: str | None = None  # the ZIP it came from

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class Sorted:
    """The attachments of a message split into invoices and related files, plus what was refused."""

    invoices: list[Part] = field(default_factory=list)
    related: list[Part] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # plain sentences for the reply


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def header(message: Message, name: str) -> str:
    """A header as text, "" when absent or unreadable (a malformed header must not stop the intake)."""
    try:
        value = message.get(name)
    except Exception:  # a malformed header must not stop the intake
        return ""
    return str(value).strip() if value is not None else ""


def message_key(message: Message, raw: bytes) -> str:
    """The connector item key: the Message-ID, else a hash of the raw message."""
    message_id = re.sub(r"\s+", "", header(message, "Message-ID"))
    if message_id and len(message_id) <= 490:
        return message_id
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def address(value: str) -> str:
    """The bare address (lower-case) of a From/Reply-To header, or "" when there is none."""
    _, addr = parseaddr(value)
    return addr.strip().lower() if "@" in addr else ""


def sender(message: Message) -> str:
    return address(header(message, "From"))


def is_automatic(message: Message) -> bool:
    """Bounces, auto-replies and bulk mail: never answered (no mail loops)."""
    auto = header(message, "Auto-Submitted").lower()
    if auto and auto != "no":
        return True
    if header(message, "Precedence").lower() in {"bulk", "junk", "list", "auto_reply"}:
        return True
    if header(message, "X-Autoreply") or header(message, "X-Autorespond"):
        return True
    if "Return-Path" in message and header(message, "Return-Path").strip("<> ") == "":
        return True
    from_addr = sender(message)
    return not from_addr or bool(_AUTOMATIC_SENDERS.match(from_addr))


def reply_address(message: Message) -> str | None:
    """Where replies go (Reply-To, else From), or None when the message must not be answered."""
    if is_automatic(message):
        return None
    reply_to = [addr for _, addr in getaddresses([header(message, "Reply-To")]) if "@" in addr]
    return reply_to[0].lower() if reply_to else sender(message) or None


def attachments(message: EmailMessage) -> list[Part]:
    """Every attached file, also inside forwarded messages; body text and inline pictures are not files."""
    found: list[Part] = []
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() == "message":
            continue
        disposition = part.get_content_disposition()
        name = part.get_filename()
        content_type = part.get_content_type()
        if disposition != "attachment" and not name and not _invoice_type(content_type):
            continue  # body text, inline HTML
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        found.append(Part(_safe_name(name or f"attachment-{len(found) + 1}{_extension(content_type)}"),
                          content_type, data))
    return found


def _invoice_type(content_type: str) -> bool:
    return content_type in {"application/xml", "text/xml", "application/pdf", "application/zip",
                            "application/x-zip-compressed"}


def _extension(content_type: str) -> str:
    return {"application/pdf": ".pdf", "application/zip": ".zip"}.get(content_type,
                                                                      ".xml" if "xml" in content_type else "")


def _safe_name(name: str) -> str:
    """The last path segment, without control characters, at most 200 characters."""
    base = PurePosixPath(name.replace("\\", "/")).name
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip()
    return (cleaned or "attachment")[:200]


def is_zip(part: Part) -> bool:
    return part.data[:4] == b"PK\x03\x04" or part.name.lower().endswith(".zip")


def is_invoice(part: Part, max_bytes: int) -> bool:
    """XML with an invoice root or unparseable XML; a PDF with an embedded invoice."""
    if is_pdf(part.data):
        try:
            extract_invoice_from_pdf(part.data, max_bytes=max_bytes)
        except InputError:
            return False
        return True
    looks_xml = part.name.lower().endswith(".xml") or "xml" in part.content_type
    try:
        kind = scan_prolog(part.data).kind
    except Exception:
        kind = "other"
    if kind not in ("root", "doctype") and not looks_xml:
        return False
    try:
        tree = parse_xml_safely(part.data, max_bytes=max_bytes, max_depth=256)
    except InputError:
        return looks_xml  # an XML file we cannot read: let validation explain it to the sender
    return tree.getroot().tag in INVOICE_ROOTS


def unzip(part: Part, *, max_members: int, max_total: int, max_member: int) -> tuple[list[Part], str | None]:
    """The files in a ZIP, or none and a reason: too many members, too large, encrypted, damaged.

    Sizes are counted while decompressing, never taken from the (forgeable) central directory.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(part.data))
        infos = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        return [], f"{part.name}: the ZIP archive cannot be opened ({exc})."
    if len(infos) > max_members:
        return [], f"{part.name}: the ZIP archive has {len(infos)} files, more than the limit of {max_members}."
    members: list[Part] = []
    total = 0
    with archive:
        for info in infos:
            if info.flag_bits & 0x1:
                return [], f"{part.name}: the ZIP archive is password-protected."
            chunks: list[bytes] = []
            size = 0
            try:
                with archive.open(info) as handle:
                    while chunk := handle.read(_CHUNK):
                        size += len(chunk)
                        total += len(chunk)
                        if size > max_member or total > max_total:
                            return [], (f"{part.name}: the ZIP archive unpacks to more than "
                                        f"{min(max_member, max_total) // (1024 * 1024)} MB; it was not opened.")
                        chunks.append(chunk)
            except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, RuntimeError) as exc:
                return [], f"{part.name}: the ZIP archive is damaged ({exc})."
            name = _safe_name(info.filename)
            members.append(Part(name, _guess_type(name), b"".join(chunks), container=part.name))
    return members, None


def _guess_type(name: str) -> str:
    lower = name.lower()
    if lower.endswith(".xml"):
        return "application/xml"
    if lower.endswith(".pdf"):
        return "application/pdf"
    return "application/octet-stream"


def sort_parts(parts: list[Part], *, max_bytes: int, zip_max_members: int, zip_max_bytes: int) -> Sorted:
    """Invoices and related files; ZIPs are opened one level deep (a ZIP in a ZIP stays a related file)."""
    result = Sorted()
    for part in parts:
        if not part.data:
            continue
        if is_zip(part) and part.container is None:
            members, problem = unzip(part, max_members=zip_max_members, max_total=zip_max_bytes,
                                     max_member=max_bytes)
            if problem:
                result.problems.append(problem)
                result.related.append(part)
                continue
            inner = sort_parts(members, max_bytes=max_bytes, zip_max_members=0, zip_max_bytes=0)
            result.invoices.extend(inner.invoices)
            result.related.extend(inner.related)
            if not inner.invoices:
                result.related.append(part)
            continue
        if len(part.data) > max_bytes and (is_pdf(part.data) or part.name.lower().endswith(".xml")):
            result.problems.append(f"{part.name}: the file is larger than the limit of "
                                   f"{max_bytes // (1024 * 1024)} MB and was not processed.")
            result.related.append(part)
        elif len(part.data) <= max_bytes and not is_zip(part) and is_invoice(part, max_bytes):
            result.invoices.append(part)
        else:
            result.related.append(part)
    return result
