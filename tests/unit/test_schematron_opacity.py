"""The attachment-opacity analysis: what counts as reading the content of embedded attachments."""

from __future__ import annotations

import pytest
from lxml import etree

from einvoice.schematron.opacity import attachment_reasons

NS = {"cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
      "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
      "ubl": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
      "u": "urn:example:functions"}


def schema(context: str, test: str, *, lets: str = "", extra: str = "") -> etree._Element:
    ns = "".join(f'<ns prefix="{p}" uri="{u}"/>' for p, u in NS.items())
    return etree.fromstring(
        f'<schema xmlns="http://purl.oclc.org/dsdl/schematron" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"'
        f' xmlns:u="{NS["u"]}">{ns}{extra}<pattern>{lets}<rule context="{context}">'
        f'<assert test="{test}" id="T">x</assert></rule></pattern></schema>')


@pytest.mark.parametrize("context,test", [
    ("cac:AdditionalDocumentReference", "normalize-space(.) != ''"),
    ("cac:Attachment", "string-length(cbc:EmbeddedDocumentBinaryObject) &lt; 10"),
    ("/", "contains(string(/), 'x')"),
    ("cbc:ID", "string(../..) = 'x'"),
    ("cbc:ID", "ancestor::*[1] = 'x'"),
    ("cbc:ID", "string(root()) = ''"),
    ("ubl:Invoice", "some $t in //text() satisfies contains($t, 'x')"),
    ("ubl:Invoice", "for $n in //cbc:EmbeddedDocumentBinaryObject return string-length($n) &gt; 0"),
    ("ubl:Invoice", "cac:Attachment ! string() = 'x'"),
    ("ubl:Invoice", "sum(//*) &gt; 0"),
    ("ubl:Invoice", "deep-equal(cac:AdditionalDocumentReference[1], cac:AdditionalDocumentReference[2])"),
    ("cbc:EmbeddedDocumentBinaryObject", "matches(., '^[A-Z]')"),
    ("//*[not(*)]", "string-length(.) &gt; 1"),
    ("//*[ends-with(name(), 'Object')]", "string-length(.) &gt; 1"),
    ("cbc:ID", "key('k', .)/x = 'y'"),  # unknown node-returning function
    ("cbc:ID", "u:unknown(.)"),  # a function the schema does not declare plainly
])
def test_reading_attachment_content_is_found(context: str, test: str) -> None:
    assert attachment_reasons(schema(context, test), NS), (context, test)


def test_a_variable_carries_its_nodes() -> None:
    found = attachment_reasons(schema("ubl:Invoice", "$a = 'x'", lets='<let name="a" value="cac:Attachment"/>'), NS)
    assert found and "Attachment" in found[0]


def test_a_user_function_body_is_followed() -> None:
    function = ('<xsl:function name="u:up"><xsl:param name="n"/>'
                '<xsl:sequence select="string($n/..)"/></xsl:function>')
    assert attachment_reasons(schema("cbc:ID", "u:up(.) = 'x'", extra=function), NS)
    plain = ('<xsl:function name="u:slack"><xsl:param name="a"/><xsl:param name="b"/>'
             '<xsl:sequence select="$a + 1 &gt;= $b"/></xsl:function>')
    assert attachment_reasons(schema("cbc:Amount", "u:slack(., ../cbc:Other)", extra=plain), NS) == []


def test_diagnostics_are_checked_in_any_context() -> None:
    diagnostic = '<diagnostics><diagnostic id="d"><value-of select="."/></diagnostic></diagnostics>'
    assert attachment_reasons(schema("cbc:ID", "true()", extra=diagnostic), NS)


@pytest.mark.parametrize("context,test", [
    ("//*[not(*) and not(normalize-space())]", "false()"),  # emptiness only: the placeholder keeps it
    ("cac:AdditionalDocumentReference", "not(normalize-space(cac:Attachment))"),
    ("cac:Attachment", "cbc:EmbeddedDocumentBinaryObject/@mimeCode = 'application/pdf'"),
    ("ubl:Invoice", "count(cac:AdditionalDocumentReference[cac:Attachment]) &lt;= 3"),
    ("ubl:Invoice", "cbc:ID/text() = 'x' and exists(//cbc:EmbeddedDocumentBinaryObject)"),
    ("//*[ends-with(name(), 'Amount')]", "string-length(substring-after(., '.')) &lt;= 2"),
    ("cbc:EmbeddedDocumentBinaryObject[@mimeCode]", "@filename and name() = 'cbc:EmbeddedDocumentBinaryObject'"),
    ("cac:AdditionalDocumentReference", "not(./cac:Attachment/cbc:EmbeddedDocumentBinaryObject/@filename = "
                                        "preceding-sibling::cac:AdditionalDocumentReference/cac:Attachment/"
                                        "cbc:EmbeddedDocumentBinaryObject/@filename)"),
])
def test_looking_at_structure_names_and_attributes_is_safe(context: str, test: str) -> None:
    assert attachment_reasons(schema(context, test), NS) == []


def test_what_it_cannot_parse_counts_as_reading() -> None:
    assert attachment_reasons(schema("cbc:ID", "this is not ) xpath"), NS)[0].startswith("not analysable")
