"""The ``einvoice schematron`` sub-commands: compile, and run with JSON lines and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from einvoice.schematron.cli import app, cached_compile

SCH = """<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
  <ns prefix="xs" uri="http://www.w3.org/2001/XMLSchema"/>
  <phase id="only-b"><active pattern="b"/></phase>
  <pattern id="a"><rule context="item">
    <assert test="xs:decimal(@v) lt 10" id="A-1" flag="fatal">too big: <value-of select="@v"/></assert>
  </rule></pattern>
  <pattern id="b"><rule context="doc">
    <report test="count(item) gt 1" id="B-1" flag="warning">many</report>
  </rule></pattern>
</schema>"""


def _files(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    sch = tmp_path / "rules.sch"
    sch.write_text(SCH)
    good = tmp_path / "good.xml"
    good.write_text('<doc><item v="1"/></doc>')
    bad = tmp_path / "bad.xml"
    bad.write_text('<doc><item v="1"/><item v="12"/></doc>')
    broken = tmp_path / "broken.xml"
    broken.write_text('<doc><item v="x"/></doc>')
    return sch, good, bad, broken


def test_compile_then_run_with_xslt(tmp_path: Path) -> None:
    sch, good, bad, _ = _files(tmp_path)
    out = tmp_path / "rules.xsl"
    result = CliRunner().invoke(app, ["compile", str(sch), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file()
    result = CliRunner().invoke(app, ["run", "--xslt", str(out), str(good), str(bad)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines[0] == {"file": str(good), "fired": [], "error": None}
    assert [(f["id"], f["flag"], f["location"], f["text"]) for f in lines[1]["fired"]] == [
        ("B-1", "warning", "/doc[1]", "many"),
        ("A-1", "fatal", "/doc[1]/item[2]", "too big: 12"),
    ]


def test_run_with_sch_reports_errors_and_exits_1(tmp_path: Path) -> None:
    sch, good, _, broken = _files(tmp_path)
    result = CliRunner().invoke(app, ["run", "--sch", str(sch), str(good), str(broken)])
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines[0]["error"] is None
    assert lines[1]["fired"] == [] and "x" in lines[1]["error"]


def test_phase_option(tmp_path: Path) -> None:
    sch, _, bad, _ = _files(tmp_path)
    out = tmp_path / "b.xsl"
    assert CliRunner().invoke(app, ["compile", str(sch), "-o", str(out), "--phase", "only-b"]).exit_code == 0
    result = CliRunner().invoke(app, ["run", "--xslt", str(out), str(bad)])
    assert [f["id"] for f in json.loads(result.output)["fired"]] == ["B-1"]


def test_exactly_one_source_is_required(tmp_path: Path) -> None:
    sch, good, _, _ = _files(tmp_path)
    result = CliRunner().invoke(app, ["run", str(good)])
    assert result.exit_code == 2
    result = CliRunner().invoke(app, ["run", "--sch", str(sch), "--xslt", str(sch), str(good)])
    assert result.exit_code == 2


def test_compile_error_exit_code(tmp_path: Path) -> None:
    sch = tmp_path / "bad.sch"
    sch.write_text(
        '<schema xmlns="http://purl.oclc.org/dsdl/schematron"><include href="missing.sch"/></schema>'
    )
    result = CliRunner().invoke(app, ["compile", str(sch), "-o", str(tmp_path / "x.xsl")])
    assert result.exit_code == 2


def test_sch_cache_is_reused_and_follows_source_changes(tmp_path: Path) -> None:
    sch, *_ = _files(tmp_path)
    cache = tmp_path / "cache"
    first = cached_compile(sch, cache_dir=cache)
    mtime = first.stat().st_mtime_ns
    assert cached_compile(sch, cache_dir=cache) == first
    assert first.stat().st_mtime_ns == mtime
    sch.write_text(SCH.replace("lt 10", "lt 20"))
    second = cached_compile(sch, cache_dir=cache)
    assert second != first and "lt 20" in second.read_text()
    assert cached_compile(sch, phase="only-b", cache_dir=cache) not in (first, second)
