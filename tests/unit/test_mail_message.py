"""Reading messages: keys, who may be answered, which attachments are invoices, ZIP limits."""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage

import pytest

from einvoice.mail.message import (
    Part,
    attachments,
    is_automatic,
    message_key,
    parse,
    reply_address,
    sort_parts,
    unzip,
)
from einvoice.samples import make_cii_invoice, make_facturx_pdf, make_invalid_ubl_invoice, make_ubl_invoice

MB = 1024 * 1024


def raw_message(headers: dict[str, str], *files: tuple[str, str, bytes]) -> bytes:
    msg = EmailMessage()
    for name, value in headers.items():
        msg[name] = value
    msg.set_content("Anbei.")
    for name, content_type, data in files:
        main, _, sub = content_type.partition("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return msg.as_bytes()


def zip_of(*files: tuple[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return buffer.getvalue()


def sort(*parts: Part, members: int = 10, total: int = 10 * MB):  # type: ignore[no-untyped-def]
    return sort_parts(list(parts), max_bytes=5 * MB, zip_max_members=members, zip_max_bytes=total)


def test_key_is_the_message_id_else_a_hash_of_the_bytes() -> None:
    raw = raw_message({"From": "a@b.example", "Message-ID": "<42@b.example>"})
    assert message_key(parse(raw), raw) == "<42@b.example>"
    bare = raw_message({"From": "a@b.example"})
    assert message_key(parse(bare), bare).startswith("sha256:")


@pytest.mark.parametrize("headers", [
    {"From": "a@b.example", "Auto-Submitted": "auto-replied"},
    {"From": "a@b.example", "Precedence": "bulk"},
    {"From": "a@b.example", "Return-Path": "<>"},
    {"From": "MAILER-DAEMON@b.example"},
    {"From": "Postmaster <postmaster@b.example>"},
    {"From": "no-reply@b.example"},
    {"Subject": "no sender"},
])
def test_automatic_messages_are_never_answered(headers: dict[str, str]) -> None:
    message = parse(raw_message(headers))
    assert is_automatic(message) and reply_address(message) is None


def test_replies_go_to_reply_to_else_from() -> None:
    assert reply_address(parse(raw_message({"From": "Lieferant <A@B.example>", "Auto-Submitted": "no"}))) \
        == "a@b.example"
    assert reply_address(parse(raw_message({"From": "a@b.example", "Reply-To": "Buchhaltung <r@b.example>"}))) \
        == "r@b.example"


def test_attachments_and_their_kinds() -> None:
    raw = raw_message({"From": "a@b.example"},
                      ("re.xml", "application/xml", make_ubl_invoice()),
                      ("cii.xml", "text/xml", make_cii_invoice(number="C-1")),
                      ("zugferd.pdf", "application/pdf", make_facturx_pdf()),
                      ("broken.xml", "application/xml", b"<Invoice><oops"),
                      ("agb.pdf", "application/pdf", b"%PDF-1.4\n%%EOF\n"),
                      ("other.xml", "application/xml", b"<config/>"),
                      ("../../etc/passwd.txt", "text/plain", b"x"))
    parts = attachments(parse(raw))
    assert [p.name for p in parts] == ["re.xml", "cii.xml", "zugferd.pdf", "broken.xml", "agb.pdf", "other.xml",
                                       "passwd.txt"]
    result = sort(*parts)
    assert [p.name for p in result.invoices] == ["re.xml", "cii.xml", "zugferd.pdf", "broken.xml"]
    assert [p.name for p in result.related] == ["agb.pdf", "other.xml", "passwd.txt"]
    assert result.problems == []


def test_invalid_invoices_are_still_invoices() -> None:
    result = sort(Part("bad.xml", "application/xml", make_invalid_ubl_invoice()))
    assert [p.name for p in result.invoices] == ["bad.xml"]


def test_zip_members_are_sorted_and_a_zip_in_a_zip_is_kept_as_a_file() -> None:
    inner = zip_of(("deep.xml", make_ubl_invoice(number="DEEP")))
    archive = zip_of(("x/a.xml", make_ubl_invoice(number="A")), ("b.xml", make_cii_invoice(number="B")),
                     ("note.txt", b"hi"), ("inner.zip", inner))
    result = sort(Part("r.zip", "application/zip", archive))
    assert [(p.name, p.container) for p in result.invoices] == [("a.xml", "r.zip"), ("b.xml", "r.zip")]
    assert [p.name for p in result.related] == ["note.txt", "inner.zip"]


def test_zip_bombs_and_crowds_are_refused() -> None:
    bomb = zip_of(("huge.xml", b"<a>" + b" " * (20 * MB) + b"</a>"))
    assert len(bomb) < 100_000
    members, problem = unzip(Part("bomb.zip", "application/zip", bomb), max_members=10, max_total=10 * MB,
                             max_member=5 * MB)
    assert members == [] and problem is not None and "unpacks to more than 5 MB" in problem
    crowd = zip_of(*[(f"{i}.xml", b"<a/>") for i in range(11)])
    result = sort(Part("crowd.zip", "application/zip", crowd))
    assert result.invoices == [] and "11 files, more than the limit of 10" in result.problems[0]
    assert [p.name for p in result.related] == ["crowd.zip"]  # kept, not opened
    many_small = zip_of(*[(f"{i}.xml", b"<a>" + b" " * (3 * MB) + b"</a>") for i in range(4)])
    _, problem = unzip(Part("m.zip", "application/zip", many_small), max_members=10, max_total=10 * MB,
                       max_member=5 * MB)
    assert problem is not None and "unpacks to more than" in problem
    _, problem = unzip(Part("x.zip", "application/zip", b"PK\x03\x04garbage"), max_members=10,
                       max_total=MB, max_member=MB)
    assert problem is not None and "cannot be opened" in problem


def test_an_oversized_invoice_file_is_named_in_the_problems() -> None:
    big = Part("big.xml", "application/xml", b"<a>" + b" " * (6 * MB) + b"</a>")
    result = sort(big)
    assert result.invoices == [] and "big.xml: the file is larger than the limit of 5 MB" in result.problems[0]
