"""ISO Schematron semantics of the compiled stylesheets, checked by running them on small documents."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from einvoice.schematron.compiler import CompileOptions, compile_expanded, compile_file, write_stylesheet
from einvoice.schematron.expand import SchematronCompileError, expand_schema
from einvoice.schematron.runner import SchematronError, SchematronRunner
from einvoice.schematron.svrl import FiredAssert

SCHEMA = '<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2" {attrs}>{body}</schema>'
SVRL = "{http://purl.oclc.org/dsdl/svrl}"
_counter = itertools.count()


def compile_to(tmp_path: Path, body: str, *, attrs: str = "", **options: object) -> Path:
    """Write the schema and compile it to a fresh file (compiled stylesheets are cached by path)."""
    n = next(_counter)
    sch = tmp_path / f"s{n}.sch"
    sch.write_text(SCHEMA.format(attrs=attrs, body=body), encoding="utf-8")
    text = compile_expanded(expand_schema(sch), CompileOptions(**options))  # type: ignore[arg-type]
    return write_stylesheet(tmp_path / f"s{n}.xsl", text)


def run(tmp_path: Path, body: str, xml: str, *, attrs: str = "", **options: object) -> list[FiredAssert]:
    return SchematronRunner(compile_to(tmp_path, body, attrs=attrs, **options)).run_bytes(xml.encode())


def ids(fired: list[FiredAssert]) -> Counter[str]:
    return Counter(f.id for f in fired)


STRATEGIES = [
    {"strategy": "dispatch"},
    {"strategy": "next-match"},
    {"full_svrl": True},
]

FIRST_MATCH = """
  <pattern id="p1">
    <rule context="item[@special]"><report test="true()" id="P1-special">special</report></rule>
    <rule context="item"><report test="true()" id="P1-item">item</report></rule>
    <rule context="*"><report test="true()" id="P1-any">any</report></rule>
  </pattern>
  <pattern id="p2">
    <rule context="item"><report test="true()" id="P2-item">item</report></rule>
    <rule context="item[@special]"><report test="true()" id="P2-never">shadowed</report></rule>
  </pattern>
  <pattern id="p3">
    <rule context="/doc | /other"><report test="true()" id="P3-root">root once</report></rule>
    <rule context="@special"><report test="true()" id="P3-attr">attribute</report></rule>
    <rule context="text()"><report test="true()" id="P3-text">text nodes are not visited</report></rule>
  </pattern>
"""
FIRST_MATCH_DOC = '<doc><item special="1">t</item><item/><other/></doc>'


@pytest.mark.parametrize("options", STRATEGIES, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_only_the_first_matching_rule_of_each_pattern_fires(
    tmp_path: Path, options: dict[str, object]
) -> None:
    fired = run(tmp_path, FIRST_MATCH, FIRST_MATCH_DOC, **options)
    assert ids(fired) == Counter(
        {"P1-special": 1, "P1-item": 1, "P1-any": 2, "P2-item": 2, "P3-root": 1, "P3-attr": 1}
    )


def test_findings_come_in_document_order(tmp_path: Path) -> None:
    fired = run(tmp_path, FIRST_MATCH, FIRST_MATCH_DOC)
    assert [f.location for f in fired] == [
        "/doc[1]", "/doc[1]", "/doc[1]/item[1]", "/doc[1]/item[1]", "1",
        "/doc[1]/item[2]", "/doc[1]/item[2]", "/doc[1]/other[1]",
    ]  # fmt: skip
    assert [f.id for f in fired][:4] == ["P1-any", "P3-root", "P1-special", "P2-item"]


def test_assert_fires_when_false_and_report_when_true(tmp_path: Path) -> None:
    body = """<pattern><rule context="item">
        <assert test="@ok = 'yes'" id="A" flag="fatal" role="error">assert</assert>
        <report test="@ok = 'yes'" id="R" flag="warning" role="info">report</report>
      </rule></pattern>"""
    fired = run(tmp_path, body, '<doc><item ok="yes"/><item ok="no"/></doc>')
    assert [(f.id, f.kind, f.flag, f.role, f.location) for f in fired] == [
        ("R", "report", "warning", "info", "/doc[1]/item[1]"),
        ("A", "assert", "fatal", "error", "/doc[1]/item[2]"),
    ]
    assert fired[1].test == "@ok = 'yes'"


def test_messages_evaluate_name_and_value_of_and_flatten_markup(tmp_path: Path) -> None:
    body = """<pattern><rule context="item">
        <report test="true()" id="M"><name/>/<name path="@code"/> has <emph>value</emph>
          <value-of select="@code"/> and <span class="x"><dir value="ltr">
          <value-of select="count(../item)"/></dir></span> items {literal}</report>
      </rule></pattern>"""
    fired = run(tmp_path, body, '<doc><item code="X1"/><item code="X2"/></doc>')
    assert [" ".join(f.text.split()) for f in fired] == [
        "item/code has value X1 and 2 items {literal}",
        "item/code has value X2 and 2 items {literal}",
    ]


def test_braces_in_tests_are_not_attribute_value_templates(tmp_path: Path) -> None:
    body = """<pattern><rule context="item">
        <assert test="matches(., '^a{2}$')" id="B">two a</assert></rule></pattern>"""
    fired = run(tmp_path, body, "<doc><item>aa</item><item>aaa</item></doc>")
    assert [(f.id, f.location, f.test) for f in fired] == [("B", "/doc[1]/item[2]", "matches(., '^a{2}$')")]


LETS = """
  <let name="total" value="count(//item)"/>
  <phase id="checks"><let name="limit" value="2"/><active pattern="p"/></phase>
  <phase id="other"><let name="limit" value="99"/><active pattern="q"/></phase>
  <pattern id="p">
    <let name="first" value="string(/doc/item[1]/@n)"/>
    <rule context="item">
      <let name="n" value="xs:integer(@n)"/>
      <let name="pair"><value>x</value><value>y</value></let>
      <report test="$n gt $limit" id="OVER">item <value-of select="$n"/> of <value-of select="$total"/>
        over <value-of select="$limit"/> (first <value-of select="$first"/>,
        <value-of select="count($pair/*)"/> values)</report>
      <let name="late" value="$n * 10"/>
      <report test="$late = 30" id="LATE">late let</report>
    </rule>
  </pattern>
  <pattern id="q"><rule context="doc"><report test="true()" id="Q">q</report></rule></pattern>
"""
LET_ATTRS = 'defaultPhase="checks"'


def test_lets_at_schema_phase_pattern_and_rule_level(tmp_path: Path) -> None:
    body = '<ns prefix="xs" uri="http://www.w3.org/2001/XMLSchema"/>' + LETS
    fired = run(tmp_path, body, '<doc><item n="1"/><item n="3"/><item n="5"/></doc>', attrs=LET_ATTRS)
    assert [(f.id, " ".join(f.text.split())) for f in fired] == [
        ("OVER", "item 3 of 3 over 2 (first 1, 2 values)"),
        ("LATE", "late let"),
        ("OVER", "item 5 of 3 over 2 (first 1, 2 values)"),
    ]


def test_phases_select_patterns(tmp_path: Path) -> None:
    body = '<ns prefix="xs" uri="http://www.w3.org/2001/XMLSchema"/>' + LETS
    doc = '<doc><item n="3"/></doc>'
    assert ids(run(tmp_path, body, doc, attrs=LET_ATTRS)) == Counter({"OVER": 1, "LATE": 1})
    assert ids(run(tmp_path, body, doc, attrs=LET_ATTRS, phase="other")) == Counter({"Q": 1})
    # #ALL: both patterns, and no phase-level lets (so $limit must not be used): drop pattern p.
    all_body = body.replace('<report test="$n gt $limit"', '<report test="$n gt 2"').replace(
        'over <value-of select="$limit"/>', ""
    )
    assert ids(run(tmp_path, all_body, doc, attrs=LET_ATTRS, phase="#ALL")) == Counter(
        {"OVER": 1, "LATE": 1, "Q": 1}
    )
    with pytest.raises(SchematronCompileError, match="unknown phase"):
        compile_to(tmp_path, body, attrs=LET_ATTRS, phase="nope")


def test_diagnostics_are_referenced_and_evaluated(tmp_path: Path) -> None:
    body = """<pattern><rule context="item">
        <assert test="@ok" id="D" diagnostics="d1 d2">missing ok</assert></rule></pattern>
      <diagnostics>
        <diagnostic id="d1">code is <value-of select="@code"/></diagnostic>
        <diagnostic id="d2">in <name/></diagnostic>
      </diagnostics>"""
    xslt = compile_to(tmp_path, body)
    from einvoice.schematron.runner import parse_document

    svrl = SchematronRunner(xslt).run_svrl(parse_document(b'<doc><item code="C7"/></doc>'))
    root = etree.fromstring(svrl.encode())
    refs = root.findall(f".//{SVRL}failed-assert/{SVRL}diagnostic-reference")
    assert [(r.get("diagnostic"), "".join(r.itertext())) for r in refs] == [
        ("d1", "code is C7"),
        ("d2", "in item"),
    ]
    assert root.find(f".//{SVRL}failed-assert/{SVRL}text").text == "missing ok"


def test_unknown_diagnostic_is_a_compile_error(tmp_path: Path) -> None:
    body = '<pattern><rule context="a"><assert test="1" diagnostics="nope">x</assert></rule></pattern>'
    with pytest.raises(SchematronCompileError, match="unknown diagnostic"):
        compile_to(tmp_path, body)


def test_dynamic_errors_raise(tmp_path: Path) -> None:
    body = """<ns prefix="xs" uri="http://www.w3.org/2001/XMLSchema"/>
      <pattern><rule context="item">
        <assert test="xs:decimal(@amount) ge 0" id="E">x</assert>
      </rule></pattern>"""
    runner = SchematronRunner(compile_to(tmp_path, body))
    assert runner.run_bytes(b'<doc><item amount="1.5"/></doc>') == []
    with pytest.raises(SchematronError, match="abc"):
        runner.run_bytes(b'<doc><item amount="abc"/></doc>')


def test_doctype_is_refused(tmp_path: Path) -> None:
    runner = SchematronRunner(
        compile_to(tmp_path, '<pattern><rule context="a"><assert test="1"/></rule></pattern>')
    )
    with pytest.raises(SchematronError, match="DOCTYPE"):
        runner.run_bytes(b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>')


def test_foreign_xslt_functions_and_namespaces(tmp_path: Path) -> None:
    body = """<ns prefix="u" uri="urn:utils"/><ns prefix="n" uri="urn:doc"/>
      <xsl:function xmlns:xsl="http://www.w3.org/1999/XSL/Transform" name="u:double" as="xs:integer"
                    xmlns:xs="http://www.w3.org/2001/XMLSchema">
        <xsl:param name="v" as="xs:integer"/>
        <xsl:sequence select="$v * 2"/>
      </xsl:function>
      <pattern><rule context="n:item"><assert test="u:double(xs:integer(@v)) lt 10" id="F">big</assert></rule>
      </pattern>"""
    fired = run(tmp_path, body, '<d xmlns="urn:doc"><item v="2"/><item v="7"/></d>')
    assert [(f.id, f.location) for f in fired] == [
        ("F", "/*:d[namespace-uri()='urn:doc'][1]/*:item[namespace-uri()='urn:doc'][2]")
    ]


@pytest.mark.parametrize(
    ("style", "element", "attribute"),
    [
        ("skeleton", "/*:d[namespace-uri()='urn:doc'][1]/*:item[namespace-uri()='urn:doc'][2]", "v2"),
        ("skeleton-2", "/p:d/p:item[2]", "/p:d/p:item[2]/@code"),
        ("skeleton-3", "/p:d/p:item[2]", "/p:d/p:item[2]/@code"),
        ("xpath", "/Q{urn:doc}d[1]/Q{urn:doc}item[2]", "/Q{urn:doc}d[1]/Q{urn:doc}item[2]/@code"),
    ],
)
def test_location_styles(tmp_path: Path, style: str, element: str, attribute: str) -> None:
    body = """<ns prefix="n" uri="urn:doc"/><pattern>
      <rule context="n:item[2]"><report test="true()" id="E">e</report></rule>
      <rule context="n:item[2]/@code"><report test="true()" id="A">a</report></rule></pattern>"""
    fired = run(
        tmp_path, body, '<p:d xmlns:p="urn:doc"><p:item/><p:item code="v2"/></p:d>', location_style=style
    )
    assert [(f.id, f.location) for f in fired] == [("E", element), ("A", attribute)]


def test_full_svrl_reports_active_patterns_and_fired_rules(tmp_path: Path) -> None:
    from einvoice.schematron.runner import parse_document

    doc = parse_document(FIRST_MATCH_DOC.encode())
    plain = SchematronRunner(compile_to(tmp_path, FIRST_MATCH)).run_svrl(doc)
    full = SchematronRunner(compile_to(tmp_path, FIRST_MATCH, full_svrl=True)).run_svrl(doc)
    plain_root, full_root = etree.fromstring(plain.encode()), etree.fromstring(full.encode())
    assert plain_root.find(f"{SVRL}active-pattern") is None
    assert plain_root.find(f"{SVRL}fired-rule") is None
    assert [p.get("id") for p in full_root.iter(f"{SVRL}active-pattern")] == ["p1", "p2", "p3"]
    assert len(list(full_root.iter(f"{SVRL}fired-rule"))) == 4 + 2 + 2


def test_compile_file_writes_xslt(tmp_path: Path) -> None:
    sch = tmp_path / "x.sch"
    sch.write_text(
        SCHEMA.format(attrs="", body='<pattern><rule context="a"><assert test="b"/></rule></pattern>')
    )
    out = compile_file(sch, tmp_path / "sub" / "x.xsl")
    root = etree.parse(str(out)).getroot()
    assert root.tag == "{http://www.w3.org/1999/XSL/Transform}stylesheet"
    assert root.get("version") == "3.0"


def test_unsupported_query_binding_is_refused(tmp_path: Path) -> None:
    sch = tmp_path / "q.sch"
    sch.write_text('<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xquery"/>')
    with pytest.raises(SchematronCompileError, match="queryBinding"):
        compile_expanded(expand_schema(sch))


def test_runner_is_usable_from_several_threads(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    runner = SchematronRunner(compile_to(tmp_path, FIRST_MATCH))
    expected = ids(runner.run_bytes(FIRST_MATCH_DOC.encode()))
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: ids(runner.run_bytes(FIRST_MATCH_DOC.encode())), range(40)))
    assert all(r == expected for r in results)
