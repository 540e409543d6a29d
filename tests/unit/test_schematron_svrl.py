"""SVRL parsing, for our output and for the shape official skeleton-compiled stylesheets produce."""

from __future__ import annotations

from einvoice.schematron.svrl import FiredAssert, parse_svrl

OFFICIAL_STYLE = """<?xml version="1.0" encoding="UTF-8"?>
<svrl:schematron-output xmlns:svrl="http://purl.oclc.org/dsdl/svrl" title="t">
  <svrl:active-pattern id="p" name="p"/>
  <svrl:fired-rule context="/x"/>
  <svrl:failed-assert test="exists(a)" flag="fatal" location="/*:x[namespace-uri()=''][1]">
    <svrl:text>[BR-01]-An Invoice shall have a Specification identifier (BT-24).</svrl:text>
  </svrl:failed-assert>
  <svrl:successful-report id="R-1" test="b" role="info" location="/x[1]/b[1]">
    <svrl:diagnostic-reference diagnostic="d"><svrl:text>diag</svrl:text></svrl:diagnostic-reference>
    <svrl:text>report <b>text</b></svrl:text>
  </svrl:successful-report>
  <svrl:failed-assert test="c" location="/x[1]"><svrl:text>no id at all</svrl:text></svrl:failed-assert>
</svrl:schematron-output>"""


def test_parse_official_style_svrl() -> None:
    fired = parse_svrl(OFFICIAL_STYLE)
    assert fired == [
        FiredAssert(
            id="BR-01",
            flag="fatal",
            location="/*:x[namespace-uri()=''][1]",
            text="[BR-01]-An Invoice shall have a Specification identifier (BT-24).",
            test="exists(a)",
            role="",
            kind="assert",
        ),
        FiredAssert(
            id="R-1", flag="", location="/x[1]/b[1]", text="report text", test="b", role="info", kind="report"
        ),
        FiredAssert(id="", flag="", location="/x[1]", text="no id at all", test="c", role="", kind="assert"),
    ]


def test_parse_bytes_and_empty_output() -> None:
    assert parse_svrl(b'<svrl:schematron-output xmlns:svrl="http://purl.oclc.org/dsdl/svrl"/>') == []
