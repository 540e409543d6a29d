"""The compiler's optimisations change cost, never findings: optimised and plain stylesheets agree.

Each test compiles one schema twice (``optimize`` on and off) and checks that both report the same
findings, in the same order, on documents chosen to hit the edge cases of the rewrite at hand;
where it matters it also checks that the rewrite really happened.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from einvoice import saxon
from einvoice.schematron.compiler import CompileOptions, compile_expanded, write_stylesheet
from einvoice.schematron.expand import expand_schema
from einvoice.schematron.patterns import pattern_targets
from einvoice.schematron.rewrite import (
    absence_guard,
    absence_paths,
    any_path_exists,
    code_list_tokens,
    hoist_absolute_paths,
    rewrite_name_suffixes,
)
from einvoice.schematron.runner import SchematronError, SchematronRunner
from einvoice.schematron.xpath import tokenize

SCHEMA = (
    '<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">'
    '<ns prefix="a" uri="urn:a"/><ns prefix="b" uri="urn:b"/>{body}</schema>'
)
_counter = itertools.count()


def compile_both(tmp_path: Path, body: str) -> tuple[Path, Path]:
    """(optimised, plain) stylesheets of one schema."""
    n = next(_counter)
    sch = tmp_path / f"o{n}.sch"
    sch.write_text(SCHEMA.format(body=body), encoding="utf-8")
    out = []
    for optimize in (True, False):
        text = compile_expanded(expand_schema(sch), CompileOptions(optimize=optimize))
        out.append(write_stylesheet(tmp_path / f"o{n}-{optimize}.xsl", text))
    return out[0], out[1]


def findings(xslt: Path, xml: str) -> list[tuple[str, str, str]]:
    return [(f.id, f.location, " ".join(f.text.split())) for f in SchematronRunner(xslt).run_bytes(xml.encode())]


def assert_same(tmp_path: Path, body: str, docs: list[str]) -> list[list[tuple[str, str, str]]]:
    fast, plain = compile_both(tmp_path, body)
    results = []
    for doc in docs:
        expected = findings(plain, doc)
        assert findings(fast, doc) == expected, doc
        results.append(expected)
    return results


# ------------------------------------------------------------------ code lists

CODE_LIST = """<pattern><rule context="a:item">
  <assert test="contains(' AA BB CC ', concat(' ', normalize-space(@code), ' '))" id="CL">code</assert>
  <assert test="contains($LIST, concat(' ', ., ' '))" id="CLV">value</assert>
</rule></pattern>
<let name="PART" value="' AA BB '"/><let name="LIST" value="concat($PART, ' CC ')"/>"""


def test_code_lists_become_map_lookups_with_the_same_results(tmp_path: Path) -> None:
    docs = [
        '<r xmlns="urn:a"><item code="AA">BB</item></r>',
        '<r xmlns="urn:a"><item code=" CC ">CC</item></r>',  # normalize-space, and the variable's list
        '<r xmlns="urn:a"><item code="DD">A</item></r>',  # not in the list, and a prefix of a token
        '<r xmlns="urn:a"><item>AA BB</item></r>',  # no attribute; a value with a space spans tokens
        '<r xmlns="urn:a"><item code="aa">BB  CC</item></r>',  # case counts; double space in the list
        '<r xmlns="urn:a"><item code="">CC </item></r>',
    ]
    results = assert_same(tmp_path, CODE_LIST, docs)
    assert results[0] == []
    assert [f[0] for f in results[2]] == ["CL", "CLV"]
    assert [f[0] for f in results[3]] == ["CL"]  # 'AA BB' occurs in ' AA BB  CC ' as the original says
    fast, _ = compile_both(tmp_path, CODE_LIST)
    text = fast.read_text(encoding="utf-8")
    assert text.count("xpath-functions/map}contains") == 2  # the literal and the constant variable


def test_code_list_keeps_dynamic_errors(tmp_path: Path) -> None:
    body = """<pattern><rule context="a:item">
      <assert test="contains(' AA BB ', concat(' ', a:v, ' '))" id="CL">code</assert>
    </rule></pattern>"""
    fast, plain = compile_both(tmp_path, body)
    doc = b'<r xmlns="urn:a"><item><v>AA</v><v>BB</v></item></r>'  # two values: concat() must fail
    for xslt in (fast, plain):
        with pytest.raises(SchematronError):
            SchematronRunner(xslt).run_bytes(doc)


def test_code_list_tokens_are_the_pieces_between_two_spaces() -> None:
    assert code_list_tokens(" A B  C ") == frozenset({"A", "B", "C"})
    assert code_list_tokens("A B C ") == frozenset({"B", "C"})  # "A" has no space before it
    assert code_list_tokens(" A ") is None  # one code: not worth a map


# ------------------------------------------------------------------ absence tests

ABSENCE = """<pattern><rule context="a:r">
  <assert test="not(a:x)" id="X">x</assert>
  <assert test="not(a:p/a:q)" id="PQ">p/q</assert>
  <assert test="not((a:l|a:m)/a:n/@k)" id="LMN">l|m/n/@k</assert>
  <assert test="not(a:p/a:s)" id="PS">p/s</assert>
  <assert test="count(a:p) le 1" id="P1">one p</assert>
  <assert test="not(//@z)" id="Z">@z</assert>
  <assert test="not(//@y)" id="Y">@y</assert>
  <assert test="not(//a:deep/a:er)" id="DEEP">deep</assert>
  <assert test="not(a:lonely)" id="LONE">lonely</assert>
</rule></pattern>"""


def test_absence_runs_report_what_single_asserts_report(tmp_path: Path) -> None:
    docs = [
        '<r xmlns="urn:a"><p/><l/><o/></r>',
        '<r xmlns="urn:a"><x/><p><q/><s/></p><p/><m><n k="1"/></m><lonely/></r>',
        '<r xmlns="urn:a" z="1"><l><n/></l><t y="2"><deep><er/></deep></t></r>',
        '<r xmlns="urn:a"><b:x xmlns:b="urn:b"/><p><b:q xmlns:b="urn:b"/></p></r>',  # other namespace
        '<r xmlns="urn:a"><x/></r>',  # only the first path of the run
        '<r xmlns="urn:a"><p><s/></p></r>',  # only the last
    ]
    results = assert_same(tmp_path, ABSENCE, docs)
    assert results[0] == []
    assert [f[0] for f in results[1]] == ["X", "PQ", "LMN", "PS", "P1", "LONE"]
    assert [f[0] for f in results[2]] == ["Z", "Y", "DEEP"]
    assert results[3] == []
    assert [f[0] for f in results[4]] == ["X"]
    assert [f[0] for f in results[5]] == ["PS"]


def test_absence_runs_share_one_guard(tmp_path: Path) -> None:
    fast, plain = compile_both(tmp_path, ABSENCE)
    text = fast.read_text(encoding="utf-8")
    assert "exists(a:p/(a:q | a:s))" in text
    assert "exists(//(@z | @y))" in text
    assert "exists(root(.)//" not in plain.read_text(encoding="utf-8")


def test_absence_paths_accept_plain_paths_only() -> None:
    assert absence_paths("not(a:p/a:q/@k)") == [("a:p", "a:q", "@k")]
    assert absence_paths("(not((a:l|a:m)/a:n))") == [("a:l", "a:n"), ("a:m", "a:n")]
    assert absence_paths("not(//@z)") == [("//", "@z")]
    for test in ("not(a:p[1])", "not(a:p) or x", "not(../a:p)", "not(a:p//a:q)", "not($v/a:p)",
                 "not(a:f())", "count(a:p) = 0", "not(@k/a:p)", "not(child::a:p)"):
        assert absence_paths(test) is None, test


def test_absence_guard_and_shared_prefixes() -> None:
    assert absence_guard("not(a:p/a:q/@k)") == "exists(root(.)//a:q[parent::a:p][@k])"
    assert absence_guard("not(//a:p)") is None  # //a:p already uses the element index
    assert any_path_exists([("a", "b"), ("a", "c", "d"), ("a", "c", "e"), ("x",), ("x", "y")]) == (
        "exists(a/(b | c/(d | e))) or exists(x)"
    )


# ------------------------------------------------------------------ walk dispatch

WALK = """<pattern><rule context="b:*[ends-with(local-name(), 'ID') and not(self::b:NoID)]">
    <report test="true()" id="W">wild <name/></report></rule>
  <rule context="b:SomeID"><report test="true()" id="SHADOWED">never: the wildcard rule comes first</report></rule>
  <rule context="a:x"><report test="exists(//b:TaxAmount)" id="AX">x</report></rule>
</pattern>
<pattern><rule context="*[ends-with(name(), 'Amount')]"><report test="true()" id="AMT">amount</report></rule>
  <rule context="@currency"><report test="true()" id="CUR">attribute</report></rule>
  <rule context="/"><report test="true()" id="DOC">document</report></rule>
</pattern>"""


def test_walk_applies_only_modes_that_can_match_and_finds_the_same(tmp_path: Path) -> None:
    docs = [
        '<r xmlns="urn:a" xmlns:b="urn:b"><b:SomeID/><b:NoID/><b:ID/><x/><b:x/><q:Amount xmlns:q="urn:q"/>'
        '<b:TaxAmount currency="EUR"/><ID/><unknownID xmlns="urn:b"/></r>',
        '<r xmlns="urn:b"><Total><LineAmount currency="X"/></Total></r>',
    ]
    results = assert_same(tmp_path, WALK, docs)
    # b:TaxAmount is named in a test, so it gets a walk template of its own, which must still
    # apply the wildcard *[ends-with(name(), 'Amount')]
    assert [f[0] for f in results[0]] == ["DOC", "W", "W", "AX", "AMT", "AMT", "CUR", "W"]
    fast, _ = compile_both(tmp_path, WALK)
    assert "urn:b}TaxAmount" in fast.read_text(encoding="utf-8")


def test_pattern_targets_decide_name_only_predicates() -> None:
    namespaces = {"b": "urn:b"}
    targets = pattern_targets("b:*[ends-with(local-name(), 'ID') and not(self::b:NoID)] | a", {"": "", **namespaces})
    assert targets.may_match_element("{urn:b}SomeID", namespaces)
    assert not targets.may_match_element("{urn:b}NoID", namespaces)
    assert not targets.may_match_element("{urn:c}SomeID", namespaces)
    assert targets.may_match_element("{}a", namespaces) and not targets.attributes
    assert pattern_targets("x[@y]/@z", namespaces).attributes
    assert pattern_targets("key('k', 1)", namespaces).any_element  # not understood: anything
    assert pattern_targets("*[1]", namespaces).may_match_element("{urn:b}Whatever", namespaces)


def test_name_suffix_rewrite() -> None:
    assert rewrite_name_suffixes("ends-with(name(), 'Amount')") == "ends-with(local-name(), 'Amount')"
    assert rewrite_name_suffixes("ends-with(name(), 'b:Amount')") == "ends-with(name(), 'b:Amount')"
    assert rewrite_name_suffixes("ends-with(name(..), $s)") == "ends-with(name(..), $s)"


# ------------------------------------------------------------------ absolute paths

HOIST = """<let name="g" value="'1'"/>
<pattern><rule context="a:item">
  <let name="mine" value="@k"/>
  <assert test="@k = //a:allowed[@on = $g]/@k" id="H">allowed</assert>
  <assert test="not(//a:allowed[@k = $mine]/@bad)" id="L">local variable: stays</assert>
  <assert test="count(//a:allowed[. = current()/@k]) = 0" id="C">current(): stays</assert>
</rule></pattern>"""


def test_absolute_paths_of_repeated_rules_become_global_variables(tmp_path: Path) -> None:
    docs = [
        '<r xmlns="urn:a"><allowed on="1" k="A"/><allowed on="0" k="B" bad="y"/>'
        '<item k="A"/><item k="B"/><item k="C"/></r>',
    ]
    results = assert_same(tmp_path, HOIST, docs)
    assert [(f[0], f[1]) for f in results[0]] == [
        ("H", "/*:r[namespace-uri()='urn:a'][1]/*:item[namespace-uri()='urn:a'][2]"),
        ("L", "/*:r[namespace-uri()='urn:a'][1]/*:item[namespace-uri()='urn:a'][2]"),
        ("H", "/*:r[namespace-uri()='urn:a'][1]/*:item[namespace-uri()='urn:a'][3]"),
    ]
    fast, _ = compile_both(tmp_path, HOIST)
    text = fast.read_text(encoding="utf-8")
    assert 'name="schxc:abs1" select="//a:allowed[@on = $g]/@k"' in text
    assert text.count('name="schxc:abs') == 1


def test_hoisting_leaves_focus_and_local_variables_alone() -> None:
    names: dict[str, str] = {}

    def register(path: str) -> str:
        return names.setdefault(path, f"v{len(names) + 1}")

    def hoist(expr: str) -> str:
        return hoist_absolute_paths(expr, {"g"}.__contains__, register)

    assert hoist("exists(//a[b = $g]) and count(/r/x) > 1") == "exists($v1) and count($v2) > 1"
    assert hoist("a/b//c = .//d") == "a/b//c = .//d"  # relative paths stay
    for expr in ("//a[. = $local]", "//a[current()/b]", "some $x in //a satisfies //b[. = $x]"):
        assert "$v" not in hoist(expr).replace("some $x in $v", ""), expr


def test_lexer_keeps_strings_comments_and_qnames_intact() -> None:
    tokens = tokenize("a:b/@c = 'it''s' (: note (: nested :) :) and $v:w")
    assert [(t.kind, t.text) for t in tokens] == [
        ("name", "a:b"), ("op", "/"), ("op", "@"), ("name", "c"), ("op", "="), ("str", "'it''s'"),
        ("name", "and"), ("var", "$v:w"),
    ]


# ------------------------------------------------------------------ Saxon trees


def test_large_documents_parse_through_an_anonymous_file(monkeypatch: pytest.MonkeyPatch) -> None:
    via_file: list[int] = []
    parse_file = saxon._parse_file
    monkeypatch.setattr(saxon, "_parse_file", lambda data: via_file.append(len(data)) or parse_file(data))
    repeat = saxon.FILE_PARSE_THRESHOLD // 8
    declarations = ('<?xml version="1.0" encoding="UTF-8"?>', "", '<?xml version="1.0" encoding="ISO-8859-1"?>')
    for declaration in declarations:
        node = saxon.parse_text(f"{declaration}<r>{'<v>ä€</v>' * repeat}</r>")
        assert node.string_value == "ä€" * repeat
    assert len(via_file) == 2  # not for the ISO-8859-1 declaration: the text is no longer in that encoding
    assert saxon.parse_text("<r>small</r>").string_value == "small" and len(via_file) == 2
    with pytest.raises(Exception, match="XML"):
        saxon.parse_text("<r>" + "x" * saxon.FILE_PARSE_THRESHOLD)


def test_hoisted_paths_are_evaluated_only_when_their_rule_fires(tmp_path: Path) -> None:
    """A global variable is evaluated on first use, so a failing path fails exactly when it did."""
    body = """<ns prefix="xs" uri="http://www.w3.org/2001/XMLSchema"/>
    <pattern><rule context="a:line">
      <assert test="sum(//a:amount/xs:decimal(.)) ge 0" id="SUM">sum</assert>
    </rule></pattern>"""
    fast, plain = compile_both(tmp_path, body)
    assert "schxc:abs1" in fast.read_text(encoding="utf-8")
    no_lines = b'<r xmlns="urn:a"><amount>abc</amount></r>'
    bad_amount = b'<r xmlns="urn:a"><line/><amount>abc</amount></r>'
    for xslt in (fast, plain):
        assert SchematronRunner(xslt).run_bytes(no_lines) == []
        with pytest.raises(SchematronError, match="abc"):
            SchematronRunner(xslt).run_bytes(bad_amount)


def test_large_documents_still_parse_without_anonymous_files(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> int:
        raise OSError("no memfd here")

    monkeypatch.setattr(os, "memfd_create", refuse, raising=False)
    text = "<r>" + "x" * saxon.FILE_PARSE_THRESHOLD + "</r>"
    assert len(saxon.parse_text(text).string_value) == saxon.FILE_PARSE_THRESHOLD
    monkeypatch.delattr(os, "memfd_create")
    assert len(saxon.parse_text(text).string_value) == saxon.FILE_PARSE_THRESHOLD
