"""CEN's own unit tests (VEFA testSets) against our compiled CEN rules, with the official XSLT as a yardstick.

VEFA semantics as implemented here, per ``test``: its ``assert`` lists expectations by rule id.
``success`` - the rule must not fire at all; ``warning`` - it must fire with flag ``warning``;
``error``/``fatal`` - it must fire with flag ``fatal`` or ``error`` (CEN flags errors ``fatal``).
The testSet-level ``assert/scope`` names the rules the file is about; every expectation is counted,
whether or not its id is in scope (a few tests also state expectations about neighbouring rules).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from lxml import etree

from einvoice.schematron.compiler import compile_file
from einvoice.schematron.runner import SchematronRunner, parse_document
from tests.conftest import STANDARDS

pytestmark = pytest.mark.integration

CEN = STANDARDS / "cen-en16931"
VEFA = "{http://difi.no/xsd/vefa/validator/1.0}"
EXPECTATION_KINDS = ("success", "warning", "error", "fatal")


@dataclass
class Tally:
    met: int = 0
    unmet: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.met + len(self.unmet)

    @property
    def percent(self) -> float:
        return 100.0 * self.met / self.total if self.total else 0.0


def expectation_met(kind: str, flags: set[str] | None) -> bool:
    if kind == "success":
        return flags is None
    if flags is None:
        return False
    if kind == "warning":
        return "warning" in flags
    return bool(flags & {"fatal", "error"})


def run_test_sets(folder: Path, runner: SchematronRunner) -> Tally:
    tally = Tally()
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    files = sorted(folder.glob("*.xml"))
    assert files, f"no testSet files in {folder}"
    for path in files:
        root = etree.parse(str(path), parser).getroot()
        assert root.tag == f"{VEFA}testSet", path
        assert root.findall(f"{VEFA}assert/{VEFA}scope"), f"{path.name}: testSet without scope"
        for index, test in enumerate(root.findall(f"{VEFA}test")):
            expectations = test.find(f"{VEFA}assert")
            doc = next(c for c in test if isinstance(c.tag, str) and c.tag != f"{VEFA}assert")
            fired: dict[str, set[str]] = defaultdict(set)
            for finding in runner.run_node(parse_document(etree.tostring(doc))):
                fired[finding.id].add(finding.flag)
            for item in expectations if expectations is not None else ():
                kind = etree.QName(item).localname
                if kind not in EXPECTATION_KINDS:
                    continue
                rule = (item.text or "").strip()
                if expectation_met(kind, fired.get(rule)):
                    tally.met += 1
                else:
                    tally.unmet.append(
                        f"{path.name}#{index}: expected {kind} {rule}, fired {sorted(fired.get(rule, []))}"
                    )
    return tally


@pytest.fixture(scope="session")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("cen-unit")
    return {
        kind: compile_file(
            CEN / kind / "schematron" / f"EN16931-{kind.upper()}-validation.sch",
            out / f"EN16931-{kind.upper()}-validation.xsl",
        )
        for kind in ("ubl", "cii")
    }


@pytest.mark.parametrize(("kind", "folder"), [("ubl", "Invoice-unit-UBL"), ("cii", "cii")])
def test_cen_unit_tests(
    compiled: dict[str, Path], kind: str, folder: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ours = run_test_sets(CEN / "test" / folder, SchematronRunner(compiled[kind]))
    official_xslt = CEN / kind / "xslt" / f"EN16931-{kind.upper()}-validation.xslt"
    official = run_test_sets(CEN / "test" / folder, SchematronRunner(official_xslt))
    with capsys.disabled():
        print(
            f"\nCEN unit tests {folder}: ours {ours.met}/{ours.total} ({ours.percent:.2f}%), "
            f"official {official.met}/{official.total} ({official.percent:.2f}%)"
        )
        for line in ours.unmet:
            print("  unmet (ours):", line)
    assert ours.total == official.total > 0
    assert ours.percent >= 99.0, ours.unmet
    assert ours.unmet == official.unmet
