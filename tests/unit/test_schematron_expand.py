"""Preprocessing: includes, abstract patterns (with the $BR-1 / $BR-10 trap) and abstract rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from einvoice.schematron.expand import (
    SCH,
    SchematronCompileError,
    expand_schema,
    substitute_params,
)

NS = 'xmlns="http://purl.oclc.org/dsdl/schematron"'


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_substitution_replaces_whole_names_only() -> None:
    params = {"BR-1": "a = 1", "BR-10": "b = 10", "X": "x"}
    assert substitute_params("$BR-1 and $BR-10", params) == "a = 1 and b = 10"
    assert substitute_params("$BR-10 or $BR-1)", params) == "b = 10 or a = 1)"
    # Not a parameter: a longer name that merely starts with a parameter name.
    assert substitute_params("$BR-100 $X.y $X_z $X", params) == "$BR-100 $X.y $X_z x"


def test_substituted_values_are_not_expanded_again() -> None:
    assert substitute_params("$A", {"A": "$B", "B": "no"}) == "$B"


def test_includes_resolve_relative_to_the_including_file(tmp_path: Path) -> None:
    _write(
        tmp_path / "parts" / "rule.sch", f'<rule {NS} context="b"><assert test="1" id="R">r</assert></rule>'
    )
    _write(
        tmp_path / "parts" / "pattern.sch",
        f'<pattern {NS} id="p1"><rule context="a"><assert test="1" id="A">a</assert></rule>'
        '<include href="rule.sch"/></pattern>',
    )
    _write(
        tmp_path / "lib" / "whole.sch",
        f'<schema {NS}><title>ignored</title><ns prefix="q" uri="urn:q"/>'
        '<pattern id="p2"><rule context="c"><report test="1" id="C">c</report></rule></pattern></schema>',
    )
    main = _write(
        tmp_path / "main.sch",
        f'<schema {NS}><title>main</title><include href="parts/pattern.sch"/>'
        '<include href="lib/whole.sch"/></schema>',
    )
    expanded = expand_schema(main)
    root = expanded.root
    assert [p.get("id") for p in root.iter(SCH + "pattern")] == ["p1", "p2"]
    assert [r.get("context") for r in root.iter(SCH + "rule")] == ["a", "b", "c"]
    assert [t.text for t in root.iter(SCH + "title")] == ["main"]
    assert root.find(SCH + "ns").get("prefix") == "q"
    assert len(expanded.sources) == 4


def test_include_of_a_fragment_by_id(tmp_path: Path) -> None:
    _write(
        tmp_path / "lib.sch",
        f'<schema {NS}><pattern id="wanted"><rule context="w"><assert test="1">w</assert></rule></pattern>'
        '<pattern id="other"><rule context="o"><assert test="1">o</assert></rule></pattern></schema>',
    )
    main = _write(tmp_path / "main.sch", f'<schema {NS}><include href="lib.sch#wanted"/></schema>')
    root = expand_schema(main).root
    assert [p.get("id") for p in root.iter(SCH + "pattern")] == ["wanted"]


def test_include_cycle_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path / "a.sch", f'<pattern {NS} id="a"><include href="b.sch"/></pattern>')
    _write(tmp_path / "b.sch", f'<rule {NS} context="x"><include href="a.sch"/></rule>')
    main = _write(tmp_path / "main.sch", f'<schema {NS}><include href="a.sch"/></schema>')
    with pytest.raises(SchematronCompileError, match="cycle"):
        expand_schema(main)


def test_missing_include_is_an_error(tmp_path: Path) -> None:
    main = _write(tmp_path / "main.sch", f'<schema {NS}><include href="nope.sch"/></schema>')
    with pytest.raises(SchematronCompileError, match="not found"):
        expand_schema(main)


def test_abstract_pattern_instances_get_their_parameters(tmp_path: Path) -> None:
    main = _write(
        tmp_path / "main.sch",
        f"""<schema {NS}>
          <pattern abstract="true" id="model">
            <let name="v" value="$CTX"/>
            <rule context="$CTX">
              <assert test="$BR-1" id="BR-1">one <value-of select="$BR-10"/></assert>
              <assert test="$BR-10" id="BR-10">ten <name path="$CTX"/></assert>
            </rule>
          </pattern>
          <pattern is-a="model" id="bound">
            <param name="BR-1" value="count(x) = 1"/>
            <param name="BR-10" value="count(x) = 10"/>
            <param name="CTX" value="/doc"/>
          </pattern>
        </schema>""",
    )
    root = expand_schema(main).root
    patterns = list(root.iter(SCH + "pattern"))
    assert [p.get("id") for p in patterns] == ["bound"]
    assert patterns[0].get("is-a") is None
    rule = patterns[0].find(SCH + "rule")
    assert rule.get("context") == "/doc"
    tests = [a.get("test") for a in rule.iter(SCH + "assert")]
    assert tests == ["count(x) = 1", "count(x) = 10"]
    assert rule.find(f"{SCH}assert/{SCH}value-of").get("select") == "count(x) = 10"
    assert rule.find(f"{SCH}assert/{SCH}name").get("path") == "/doc"
    assert patterns[0].find(SCH + "let").get("value") == "/doc"


def test_unknown_abstract_pattern_is_an_error(tmp_path: Path) -> None:
    main = _write(tmp_path / "main.sch", f'<schema {NS}><pattern is-a="nope" id="x"/></schema>')
    with pytest.raises(SchematronCompileError, match="unknown abstract pattern"):
        expand_schema(main)


def test_abstract_rules_are_copied_into_extending_rules(tmp_path: Path) -> None:
    _write(
        tmp_path / "ext.sch",
        f'<rule {NS}><assert test="@external" id="E">external</assert></rule>',
    )
    main = _write(
        tmp_path / "main.sch",
        f"""<schema {NS}>
          <pattern id="p">
            <rule abstract="true" id="base"><let name="n" value="1"/>
              <assert test="@a" id="A">a</assert></rule>
            <rule abstract="true" id="more"><extends rule="base"/><assert test="@b" id="B">b</assert></rule>
            <rule context="x"><extends rule="more"/><assert test="@c" id="C">c</assert>
              <extends href="ext.sch"/></rule>
          </pattern>
        </schema>""",
    )
    root = expand_schema(main).root
    rules = list(root.iter(SCH + "rule"))
    assert len(rules) == 1
    children = [etree.QName(c).localname + ":" + (c.get("id") or c.get("name") or "") for c in rules[0]]
    assert children == ["let:n", "assert:A", "assert:B", "assert:C", "assert:E"]


def test_hardened_parser_does_not_expand_entities(tmp_path: Path) -> None:
    secret = _write(tmp_path / "secret.txt", "TOPSECRET")
    main = _write(
        tmp_path / "main.sch",
        f'<!DOCTYPE schema [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
        f'<schema {NS}><pattern id="p"><rule context="a">'
        "<assert test='1'>&x;</assert></rule></pattern></schema>",
    )
    root = expand_schema(main).root
    assert "TOPSECRET" not in etree.tostring(root, encoding="unicode")
