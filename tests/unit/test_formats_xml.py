"""Hardened XML parsing: encodings, precise errors and decoded text for Saxon."""

from __future__ import annotations

import pytest

from einvoice.formats.xml import InputError, declared_encoding, find_doctype, parse_xml_safely, xml_text

NAME = "Müller & Söhne – 5 € Rabatt"  # ü/ö in Latin-1, € and – only in windows-1252 and Unicode
LATIN1_NAME = "Müller & Söhne Straße"


def _doc(encoding: str | None, name: str) -> str:
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>\n' if encoding else ""
    return f"{declaration}<Invoice><Name>{name.replace('&', '&amp;')}</Name></Invoice>"


def _refusal(data: bytes, **kwargs: int) -> InputError:
    with pytest.raises(InputError) as caught:
        parse_xml_safely(data, **kwargs)
    return caught.value


@pytest.mark.parametrize(
    ("label", "data", "expected"),
    [
        ("utf-8 without declaration", _doc(None, NAME).encode("utf-8"), NAME),
        ("utf-8 declared", _doc("UTF-8", NAME).encode("utf-8"), NAME),
        ("utf-8 with BOM", b"\xef\xbb\xbf" + _doc("UTF-8", NAME).encode("utf-8"), NAME),
        ("utf-8 BOM, no declaration", b"\xef\xbb\xbf" + _doc(None, NAME).encode("utf-8"), NAME),
        ("utf-16 LE with BOM", _doc("UTF-16", NAME).encode("utf-16-le").join([b"\xff\xfe", b""]), NAME),
        ("utf-16 BE with BOM", _doc("UTF-16", NAME).encode("utf-16-be").join([b"\xfe\xff", b""]), NAME),
        ("utf-16 via codec", _doc("UTF-16", NAME).encode("utf-16"), NAME),
        ("iso-8859-1", _doc("ISO-8859-1", LATIN1_NAME).encode("latin-1"), LATIN1_NAME),
        ("iso-8859-15", _doc("ISO-8859-15", "5 € Müller").encode("iso-8859-15"), "5 € Müller"),
        ("windows-1252", _doc("windows-1252", NAME).encode("cp1252"), NAME),
        ("lower-case label", _doc("iso-8859-1", LATIN1_NAME).encode("latin-1"), LATIN1_NAME),
    ],
)
def test_declared_encodings_parse_and_decode_identically(label: str, data: bytes, expected: str) -> None:
    tree = parse_xml_safely(data)
    assert tree.getroot().findtext("Name") == expected, label
    text = xml_text(data, tree)
    assert not text.startswith("\ufeff")
    assert f"<Name>{expected.replace('&', '&amp;')}</Name>" in text


def test_xml_text_keeps_the_declaration_and_saxon_reads_the_str_correctly() -> None:
    from einvoice.saxon import processor

    data = _doc("windows-1252", NAME).encode("cp1252")
    text = xml_text(data, parse_xml_safely(data))
    assert text.startswith('<?xml version="1.0" encoding="windows-1252"?>')
    node = processor().parse_xml(xml_text=text)
    xpath = processor().new_xpath_processor()
    xpath.set_context(xdm_item=node)
    assert xpath.evaluate_single("string(/Invoice/Name)").string_value == NAME


def test_encoding_mismatch_is_reported_with_position() -> None:
    data = _doc("UTF-8", LATIN1_NAME).encode("latin-1")
    error = _refusal(data)
    assert error.rule == "XML-ENCODING"
    assert 'declares encoding "UTF-8"' in error.message
    assert "line 2, column" in error.message


def test_undeclared_latin1_is_an_encoding_error() -> None:
    error = _refusal("<Invoice>Müller</Invoice>".encode("latin-1"))
    assert error.rule == "XML-ENCODING"
    assert "no encoding declaration" in error.message


def test_unknown_encoding_is_an_encoding_error() -> None:
    error = _refusal(b'<?xml version="1.0" encoding="x-klingon-7"?><Invoice/>')
    assert error.rule == "XML-ENCODING"
    assert "x-klingon-7" in error.message


def test_declared_encoding_is_read_from_the_head() -> None:
    assert declared_encoding(b"\xef\xbb\xbf<?xml version='1.0' encoding='ISO-8859-1'?><a/>") == "ISO-8859-1"
    assert declared_encoding(b"<a/>") is None


@pytest.mark.parametrize(
    ("data", "fragment", "line", "column"),
    [
        (b"<Invoice>\n  <ID>1</Id>\n</Invoice>", "Opening and ending tag mismatch", 2, 13),
        (b"<Invoice>\n<Note>Tom & Jerry</Note></Invoice>", "xmlParseEntityRef", 2, 12),
        (b"<Invoice><Note>&nbsp;</Note></Invoice>", "Entity 'nbsp' not defined", 1, 22),
        (b"<Invoice/><Invoice/>", "Extra content at the end of the document", 1, 11),
        (b"<Invoice>", "Premature end of data", 1, 10),
        (b"<Invoice>\x01</Invoice>", "PCDATA invalid Char value 1", 1, 10),
    ],
)
def test_syntax_errors_name_the_cause_and_position(
    data: bytes, fragment: str, line: int, column: int
) -> None:
    error = _refusal(data)
    assert error.rule == "XML-NOT-WELLFORMED"
    assert fragment in error.message
    assert f"(line {line}, column {column})" in error.message
    assert error.message.startswith("The document is not well-formed XML: ")


@pytest.mark.parametrize(
    ("data", "rule", "fragment"),
    [
        (b"", "EMPTY", "0 bytes"),
        (b" \r\n\t ", "EMPTY", "no XML element"),
        (b"\xef\xbb\xbf", "EMPTY", "no XML element"),
        (b'<?xml version="1.0"?>\n<!-- nothing -->', "EMPTY", "no XML element"),
        (b"Rechnung Nr. 4711", "XML-NOT-WELLFORMED", "the text 'Rechnung Nr. 4711'"),
        (b"\x00\x01\x02\xff\xfe\x9c", "XML-NOT-WELLFORMED", "the bytes 00 01 02 FF FE 9C"),
        (b"<![CDATA[x]]>", "XML-NOT-WELLFORMED", "begins with the text '<![CDATA[x]]>'"),
    ],
)
def test_non_xml_input_is_refused_precisely(data: bytes, rule: str, fragment: str) -> None:
    error = _refusal(data)
    assert error.rule == rule
    assert fragment in error.message


def test_doctype_scan_only_looks_at_the_prolog() -> None:
    body_mentions = b"<!-- <!DOCTYPE a> --><a><![CDATA[<!DOCTYPE b>]]><!-- <!DOCTYPE c> --></a>"
    assert find_doctype(body_mentions) is None
    assert parse_xml_safely(body_mentions).getroot().text == "<!DOCTYPE b>"
    prolog = b'<?xml version="1.0"?>\n<?pi x?>\n<!-- c -->\n<!DOCTYPE a SYSTEM "a.dtd">\n<a/>'
    assert find_doctype(prolog) == '<!DOCTYPE a SYSTEM "a.dtd">'


def test_doctype_is_found_in_utf16_and_behind_long_comments() -> None:
    utf16 = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a><a/>'.encode("utf-16")
    assert find_doctype(utf16) == "<!DOCTYPE a>"
    padded = b"<!--" + b"x" * 300_000 + b"-->" + b"<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>"
    assert find_doctype(padded) == "<!DOCTYPE a [<!ENTITY e 'x'>]>"


def test_depth_limit_is_configurable_below_the_libxml2_limit() -> None:
    def nested(levels: int) -> bytes:
        return b"<e>" * levels + b"</e>" * levels

    assert parse_xml_safely(nested(10), max_depth=10).getroot().tag == "e"
    error = _refusal(nested(11), max_depth=10)
    assert error.rule == "XML-TOO-DEEP"
    assert "more than 10 levels" in error.message
    assert parse_xml_safely(nested(256), max_depth=256).getroot().tag == "e"
    assert _refusal(nested(257), max_depth=256).rule == "XML-TOO-DEEP"


def test_size_limit_applies_before_parsing() -> None:
    data = b"<a>" + b"x" * 1000 + b"</a>"
    assert parse_xml_safely(data, max_bytes=len(data)).getroot().tag == "a"
    error = _refusal(data, max_bytes=len(data) - 1)
    assert error.rule == "TOO-LARGE"
    assert f"{len(data)} bytes" in error.message


def test_comments_processing_instructions_and_whitespace_are_kept() -> None:
    data = b"<?xml version='1.0'?>\n<!-- head -->\n<a>\n  <?pi data?>\n  <b> x </b>\n</a>\n"
    tree = parse_xml_safely(data)
    assert tree.getroot()[0].tag is not None and tree.getroot()[1].findtext(".") == " x "
    assert tree.getroot().text == "\n  "
    assert xml_text(data, tree) == data.decode()
