"""End-to-end: the ``einvoice validate`` command as a user runs it (subprocess, exit codes, output)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from tests.conftest import ROOT, STANDARDS

pytestmark = pytest.mark.e2e

SUITE = STANDARDS / "xrechnung-testsuite" / "src" / "test" / "business-cases" / "standard"
UBL = SUITE / "01.01a-INVOICE_ubl.xml"
CII = SUITE / "01.01a-INVOICE_uncefact.xml"


def einvoice(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "einvoice.cli", *map(str, args)],
        capture_output=True, text=True, cwd=ROOT, env=os.environ.copy(), timeout=600,
    )


@pytest.fixture()
def broken_invoice(tmp_path: Path) -> Path:
    """A test-suite invoice whose buyer reference (Leitweg-ID, BR-DE-15) was removed."""
    text = UBL.read_text(encoding="utf-8")
    tree = etree.fromstring(text.encode())
    ref = tree.find("{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}BuyerReference")
    assert ref is not None
    tree.remove(ref)
    path = tmp_path / "no-buyer-reference.xml"
    path.write_bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))
    return path


def test_json_lines_and_exit_0(rules_dir: Path) -> None:
    run = einvoice("validate", "--format", "json", UBL, CII)
    assert run.returncode == 0, run.stderr
    objects = [json.loads(line) for line in run.stdout.splitlines()]
    assert [o["scenario"] for o in objects] == ["xrechnung-3.0-ubl-invoice", "xrechnung-3.0-cii"]
    for obj in objects:
        assert obj["accepted"] is True
        assert {"file", "accepted", "scenario", "syntax", "findings"} <= obj.keys()
        for finding in obj["findings"]:
            assert {"rule", "level", "step", "message", "location"} <= finding.keys()


def test_rejected_document_exits_1_with_reason(rules_dir: Path, broken_invoice: Path) -> None:
    run = einvoice("validate", "--format", "json", broken_invoice)
    assert run.returncode == 1
    obj = json.loads(run.stdout)
    assert obj["accepted"] is False
    assert "BR-DE-15" in {f["rule"] for f in obj["findings"]}


def test_usage_errors_exit_2(rules_dir: Path, tmp_path: Path) -> None:
    assert einvoice("validate", tmp_path / "missing.xml").returncode == 2
    assert einvoice("validate", "--format", "yaml", UBL).returncode == 2
    assert einvoice("validate").returncode == 2


def test_not_an_invoice_is_rejected_with_reason(rules_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "order.xml"
    other.write_text("<Order xmlns='urn:example:order'><ID>1</ID></Order>")
    run = einvoice("validate", "--format", "json", other)
    assert run.returncode == 1
    obj = json.loads(run.stdout)
    assert obj["scenario"] is None
    assert obj["findings"][0]["rule"] == "NO-SCENARIO"
    assert "matches no" in obj["findings"][0]["message"]


def test_reports_written_to_out_dir(rules_dir: Path, tmp_path: Path, broken_invoice: Path) -> None:
    for fmt, suffix in (("html", ".html"), ("kosit", ".kosit.xml"), ("text", ".txt")):
        out = tmp_path / fmt
        run = einvoice("validate", "--format", fmt, "--out", out, UBL, broken_invoice)
        assert run.returncode == 1, run.stderr
        written = sorted(p.name for p in out.iterdir())
        assert written == sorted([UBL.name + suffix, broken_invoice.name + suffix])
    kosit_ok = etree.parse(str(tmp_path / "kosit" / (UBL.name + ".kosit.xml")))
    kosit_bad = etree.parse(str(tmp_path / "kosit" / (broken_invoice.name + ".kosit.xml")))
    ns = {"rep": "http://www.xoev.de/de/validator/varl/1"}
    assert kosit_ok.xpath("/rep:report/rep:assessment/rep:accept", namespaces=ns)
    assert kosit_bad.xpath("/rep:report/rep:assessment/rep:reject", namespaces=ns)


def test_jobs_2_gives_the_same_verdicts(rules_dir: Path) -> None:
    one = einvoice("validate", "--format", "json", SUITE)
    two = einvoice("validate", "--format", "json", "--jobs", "2", SUITE)
    assert one.returncode == two.returncode == 0, two.stderr
    verdicts = lambda run: [(o["file"], o["accepted"], o["scenario"]) for o in map(json.loads, run.stdout.splitlines())]  # noqa: E731
    assert verdicts(one) == verdicts(two)
    assert len(verdicts(one)) == len(list(SUITE.glob("*.xml")))
