"""Hostile input stays cheap and harmless: entity attacks, network fetches, size, depth, PDF bombs.

Every input here is bounded, so a regression shows up as a failed assertion, never as a hang.
Tests that bypass the DOCTYPE pre-scan prove the second and third lines of defence (the lxml
parser options and the post-parse DOCTYPE check) hold on their own.
"""

from __future__ import annotations

import io
import socket
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lxml import etree
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject, TextStringObject

from einvoice.formats import xml as xml_module
from einvoice.formats.detect import load_document
from einvoice.formats.pdf import extract_invoice_from_pdf
from einvoice.formats.xml import InputError, Prolog, parse_xml_safely

XXE = b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<x>&e;</x>'
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'.encode()
        for i in range(1, 10)
    )
    + b"]>\n<lolz>&lol9;</lolz>"
)
CII = b'<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"/>'


def _refusal(call: Callable[[], object]) -> InputError:
    with pytest.raises(InputError) as caught:
        call()
    return caught.value


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A local TCP port that records whether anything tried to fetch from it."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.3)
    yield server
    server.close()


def _was_contacted(server: socket.socket) -> bool:
    try:
        connection, _ = server.accept()
    except TimeoutError:
        return False
    connection.close()
    return True


@pytest.fixture
def without_prescan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switch off the cheap DOCTYPE scan so only the parser options and post-parse check remain."""
    monkeypatch.setattr(xml_module, "scan_prolog", lambda data: Prolog("root"))


@pytest.mark.parametrize("prescan", [True, False], ids=["prescan", "parser-only"])
def test_xxe_is_refused_and_the_file_never_read(prescan: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not prescan:
        monkeypatch.setattr(xml_module, "scan_prolog", lambda data: Prolog("root"))
    error = _refusal(lambda: parse_xml_safely(XXE))
    assert error.rule == "XML-DOCTYPE"
    assert "DOCTYPE" in error.message
    # The parser itself leaves the entity unresolved: /etc/passwd content never enters the tree.
    tree = xml_module._parse(XXE, xml_module._make_parser())
    assert "root:" not in "".join(tree.getroot().itertext())


@pytest.mark.parametrize("prescan", [True, False], ids=["prescan", "parser-only"])
def test_billion_laughs_is_refused_without_expansion(prescan: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not prescan:
        monkeypatch.setattr(xml_module, "scan_prolog", lambda data: Prolog("root"))
    # Without the scan, libxml2's entity amplification guard may stop the parse first (TOO-LARGE).
    expected = {"XML-DOCTYPE"} if prescan else {"XML-DOCTYPE", "TOO-LARGE"}
    assert _refusal(lambda: parse_xml_safely(BILLION_LAUGHS)).rule in expected
    try:
        tree = xml_module._parse(BILLION_LAUGHS, xml_module._make_parser())
    except etree.XMLSyntaxError as exc:
        assert "amplification" in str(exc)
    else:
        assert len("".join(tree.getroot().itertext())) < 100  # 10^9 "lol"s were never produced


def test_parser_never_reads_a_local_dtd(tmp_path: Path, without_prescan: None) -> None:
    """If libxml2 read this file it would fail on its content; refusal by DOCTYPE proves it did not."""
    dtd = tmp_path / "evil.dtd"
    dtd.write_text("this is not a DTD <<<")
    for data in (
        f'<!DOCTYPE x SYSTEM "{dtd.as_uri()}"><x/>',
        f'<!DOCTYPE x [<!ENTITY % p SYSTEM "{dtd.as_uri()}"> %p;]><x/>',
        f'<!DOCTYPE x [<!ENTITY e SYSTEM "{dtd.as_uri()}">]><x>&e;</x>',
    ):
        error = _refusal(lambda data=data: parse_xml_safely(data.encode()))
        assert error.rule == "XML-DOCTYPE", error.message


@pytest.mark.parametrize(
    "template",
    [
        '<!DOCTYPE x SYSTEM "http://127.0.0.1:{port}/x.dtd"><x/>',
        '<!DOCTYPE x PUBLIC "-//X//DTD X//EN" "http://127.0.0.1:{port}/x.dtd"><x/>',
        '<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p.dtd"> %p;]><x/>',
        '<!DOCTYPE x [<!ENTITY e SYSTEM "http://127.0.0.1:{port}/e.xml">]><x>&e;</x>',
    ],
    ids=["external-dtd", "public-dtd", "parameter-entity", "external-entity"],
)
@pytest.mark.parametrize("prescan", [True, False], ids=["prescan", "parser-only"])
def test_external_references_never_open_a_connection(
    template: str, prescan: bool, listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not prescan:
        monkeypatch.setattr(xml_module, "scan_prolog", lambda data: Prolog("root"))
    data = template.format(port=listener.getsockname()[1]).encode()
    assert _refusal(lambda: parse_xml_safely(data)).rule == "XML-DOCTYPE"
    assert not _was_contacted(listener)


def test_discard_port_dtd_from_the_brief_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_parse(data: bytes, parser: object) -> None:
        raise AssertionError("the parser must not see a document with a DOCTYPE")

    monkeypatch.setattr(xml_module, "_parse", no_parse)
    error = _refusal(lambda: parse_xml_safely(b'<!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd"><x/>'))
    assert error.rule == "XML-DOCTYPE"
    assert "http://127.0.0.1:9/x.dtd" in error.message


def test_xinclude_is_not_processed() -> None:
    data = (b'<x xmlns:xi="http://www.w3.org/2001/XInclude">'
            b'<xi:include href="file:///etc/passwd" parse="text"/></x>')
    tree = parse_xml_safely(data)
    assert "root:" not in "".join(tree.getroot().itertext())
    assert tree.getroot()[0].tag == "{http://www.w3.org/2001/XInclude}include"


def test_oversized_input_is_refused_before_the_parser_sees_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_parse(data: bytes, parser: object) -> None:
        raise AssertionError("oversized input must not reach lxml")

    monkeypatch.setattr(xml_module, "_parse", no_parse)
    data = b"<a>" + b"x" * 10_000 + b"</a>"
    error = _refusal(lambda: parse_xml_safely(data, max_bytes=10_000))
    assert error.rule == "TOO-LARGE"
    assert "10007 bytes" in error.message and "10000 bytes" in error.message
    assert _refusal(lambda: load_document(data, "big.xml", max_bytes=10_000)).rule == "TOO-LARGE"


def test_size_limit_default_comes_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from einvoice.config import get_settings

    monkeypatch.setenv("EINVOICE_MAX_DOCUMENT_BYTES", "2048")
    get_settings.cache_clear()
    try:
        assert parse_xml_safely(b"<a>" + b"x" * 2000 + b"</a>").getroot().tag == "a"
        assert _refusal(lambda: load_document(b"<a>" + b"x" * 2100 + b"</a>")).rule == "TOO-LARGE"
    finally:
        monkeypatch.delenv("EINVOICE_MAX_DOCUMENT_BYTES")
        get_settings.cache_clear()


def test_huge_text_node_hits_the_parser_limit() -> None:
    data = b"<a>" + b"x" * (11 * 1024 * 1024) + b"</a>"
    error = _refusal(lambda: parse_xml_safely(data, max_bytes=len(data)))
    assert error.rule == "TOO-LARGE"


@pytest.mark.parametrize("levels", [257, 100_000])
def test_deep_nesting_is_refused(levels: int) -> None:
    data = b"<e>" * levels + b"</e>" * levels
    error = _refusal(lambda: parse_xml_safely(data))
    assert error.rule == "XML-TOO-DEEP"


def test_depth_limit_default_comes_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from einvoice.config import get_settings

    monkeypatch.setenv("EINVOICE_MAX_XML_DEPTH", "20")
    get_settings.cache_clear()
    try:
        assert _refusal(lambda: load_document(b"<e>" * 21 + b"</e>" * 21)).rule == "XML-TOO-DEEP"
        assert load_document(b"<e>" * 20 + b"</e>" * 20).syntax is None
    finally:
        monkeypatch.delenv("EINVOICE_MAX_XML_DEPTH")
        get_settings.cache_clear()


def test_many_attributes_and_long_names_stay_bounded() -> None:
    attributes = b" ".join(b'a%d="v"' % i for i in range(20_000))
    tree = parse_xml_safely(b"<x " + attributes + b"/>")
    assert len(tree.getroot().attrib) == 20_000
    error = _refusal(lambda: parse_xml_safely(b"<" + b"n" * 60_000 + b"/>"))
    assert error.rule in ("XML-NOT-WELLFORMED", "TOO-LARGE")


# --- PDF ------------------------------------------------------------------------------------------


def _pdf(attachments: dict[str, bytes] | None = None, *, xmp: bytes | None = None,
         mutate: Callable[[PdfWriter], None] | None = None, password: str | None = None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    for name, content in (attachments or {}).items():
        writer.add_attachment(name, content)
    if xmp is not None:
        stream = DecodedStreamObject()
        stream.set_data(xmp)
        stream.update({NameObject("/Type"): NameObject("/Metadata"),
                       NameObject("/Subtype"): NameObject("/XML")})
        writer.root_object[NameObject("/Metadata")] = writer._add_object(stream)
    if mutate is not None:
        mutate(writer)
    if password is not None:
        writer.encrypt(user_password=password, owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _attach_compressed(writer: PdfWriter, name: str, content: bytes) -> None:
    """An embedded file whose stream is Flate-compressed (how a zip bomb would be delivered)."""
    stream = DecodedStreamObject()
    stream.set_data(content)
    encoded = stream.flate_encode()
    spec = DictionaryObject({
        NameObject("/Type"): NameObject("/Filespec"),
        NameObject("/F"): TextStringObject(name),
        NameObject("/UF"): TextStringObject(name),
        NameObject("/EF"): DictionaryObject({NameObject("/F"): writer._add_object(encoded)}),
    })
    writer.root_object[NameObject("/AF")] = ArrayObject([writer._add_object(spec)])


def test_pdf_flate_bomb_in_the_invoice_attachment_is_capped() -> None:
    bomb = b"<a>" + b" " * 5_000_000 + b"</a>"
    data = _pdf(mutate=lambda writer: _attach_compressed(writer, "factur-x.xml", bomb))
    assert len(data) < 50_000
    error = _refusal(lambda: load_document(data, "bomb.pdf", max_bytes=1_000_000))
    assert error.rule == "TOO-LARGE"


def test_pdf_name_tree_cycle_does_not_loop() -> None:
    def cycle(writer: PdfWriter) -> None:
        node = DictionaryObject()
        reference = writer._add_object(node)
        node[NameObject("/Kids")] = ArrayObject([reference])
        writer.root_object[NameObject("/Names")] = DictionaryObject({NameObject("/EmbeddedFiles"): reference})

    error = _refusal(lambda: extract_invoice_from_pdf(_pdf(mutate=cycle)))
    assert error.rule == "PDF-NO-INVOICE"


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n" + b"\x00garbage" * 100,
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
        b"%PDF-",
    ],
    ids=["garbage", "dangling-references", "header-only"],
)
def test_broken_pdfs_are_unreadable_not_crashes(data: bytes) -> None:
    error = _refusal(lambda: load_document(data, "broken.pdf"))
    assert error.rule in ("PDF-UNREADABLE", "PDF-NO-INVOICE")
    assert error.message


def test_truncated_real_pdf_is_refused() -> None:
    complete = _pdf({"factur-x.xml": CII})
    error = _refusal(lambda: load_document(complete[: len(complete) // 3], "cut.pdf"))
    assert error.rule in ("PDF-UNREADABLE", "PDF-NO-INVOICE")


def test_password_protected_pdf_is_refused() -> None:
    data = _pdf({"factur-x.xml": CII}, password="secret")
    error = _refusal(lambda: load_document(data, "secret.pdf"))
    assert error.rule == "PDF-UNREADABLE"
    assert "password" in error.message


def test_pdf_with_empty_user_password_is_read() -> None:
    doc = load_document(_pdf({"factur-x.xml": CII}, password=""), "permissions-only.pdf")
    assert doc.syntax == "CII"


def test_xxe_inside_a_pdf_attachment_is_refused_with_context() -> None:
    error = _refusal(lambda: load_document(_pdf({"factur-x.xml": XXE}), "x.pdf"))
    assert error.rule == "XML-DOCTYPE"
    assert "embedded in the PDF (factur-x.xml)" in error.message


def test_hostile_xmp_is_ignored_not_expanded() -> None:
    doc = load_document(_pdf({"factur-x.xml": CII}, xmp=BILLION_LAUGHS), "x.pdf")
    assert doc.pdf is not None and doc.pdf.xmp_profile is None
    assert [finding.rule for finding in doc.container_findings] == ["FX-XMP-MISSING"]


def test_pdf_attachment_bigger_than_the_limit_is_refused() -> None:
    big = b"<a>" + b"x" * 20_000 + b"</a>"
    data = _pdf({"factur-x.xml": big})
    error = _refusal(lambda: extract_invoice_from_pdf(data, max_bytes=len(data) - 1))
    assert error.rule == "TOO-LARGE"


def test_pdf_stream_length_bomb_stays_cheap() -> None:
    stream_decompress = zlib.compress(b"\x00" * 3_000_000, 9)
    assert len(stream_decompress) < 10_000  # ratio > 300:1, the shape of a decompression bomb
    error = _refusal(lambda: load_document(
        _pdf(mutate=lambda writer: _attach_compressed(writer, "xrechnung.xml", b"\x00" * 3_000_000)),
        "bomb.pdf", max_bytes=500_000))
    assert error.rule == "TOO-LARGE"
