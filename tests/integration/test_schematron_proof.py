"""Proof: our compiler turns CEN's Schematron sources into stylesheets that fire exactly what CEN's
officially compiled XSLT fires, on every CEN example, test file and unit-test document.

Also smoke-compiles the Peppol and XRechnung sources, and checks XRechnung against the officially
compiled XRechnung XSLT shipped by Mustang on the KoSIT test suite.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from einvoice.schematron.compiler import compile_file
from einvoice.schematron.runner import SchematronRunner, parse_document
from einvoice.schematron.svrl import FiredAssert
from tests.conftest import STANDARDS

pytestmark = pytest.mark.integration

CEN = STANDARDS / "cen-en16931"
VEFA = "{http://difi.no/xsd/vefa/validator/1.0}"
ROOT_KINDS = {
    "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2": "ubl",
    "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2": "ubl",
    "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100": "cii",
}
DOC_FOLDERS = ("ubl/examples", "cii/examples", "test/testfiles", "test/cii", "test/Invoice-unit-UBL")


@dataclass(frozen=True)
class Document:
    """One invoice: a whole file, or the ``index``-th ``test`` of a VEFA testSet file."""

    path: Path
    index: int | None
    kind: str

    @property
    def label(self) -> str:
        rel = self.path.relative_to(CEN).as_posix()
        return rel if self.index is None else f"{rel}#{self.index}"

    def data(self) -> bytes:
        if self.index is None:
            return self.path.read_bytes()
        return etree.tostring(vefa_tests(self.path)[self.index][1])


def vefa_tests(path: Path) -> list[tuple[etree._Element, etree._Element]]:
    """(assert element, invoice element) of each ``test`` in a VEFA testSet."""
    root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    result = []
    for test in root.findall(f"{VEFA}test"):
        docs = [c for c in test if isinstance(c.tag, str) and c.tag != f"{VEFA}assert"]
        assert len(docs) == 1, f"{path}: a test must hold exactly one document"
        result.append((test.find(f"{VEFA}assert"), docs[0]))
    return result


def _kind(element: etree._Element) -> str:
    return ROOT_KINDS.get(etree.QName(element).namespace or "", "unknown")


def collect_documents() -> list[Document]:
    docs: list[Document] = []
    for folder in DOC_FOLDERS:
        for path in sorted(p for p in (CEN / folder).glob("*") if p.suffix.lower() == ".xml"):
            root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
            if root.tag == f"{VEFA}testSet":
                docs += [Document(path, i, _kind(doc)) for i, (_, doc) in enumerate(vefa_tests(path))]
            else:
                docs.append(Document(path, None, _kind(root)))
    return docs


DOCUMENTS = collect_documents() if CEN.is_dir() else []


@pytest.fixture(scope="session")
def cen_runners(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[SchematronRunner, SchematronRunner]]:
    """(official, ours) per syntax; ours compiled once per session from the CEN sources."""
    out = tmp_path_factory.mktemp("cen-compiled")
    runners = {}
    for kind in ("ubl", "cii"):
        sch = CEN / kind / "schematron" / f"EN16931-{kind.upper()}-validation.sch"
        official = CEN / kind / "xslt" / f"EN16931-{kind.upper()}-validation.xslt"
        ours = compile_file(sch, out / f"EN16931-{kind.upper()}-validation.xsl")
        runners[kind] = (SchematronRunner(official), SchematronRunner(ours))
    return runners


def _id_flag(fired: list[FiredAssert]) -> Counter[tuple[str, str]]:
    return Counter((f.id, f.flag) for f in fired)


def _full(fired: list[FiredAssert]) -> Counter[tuple[str, str, str, str]]:
    return Counter((f.id, f.flag, f.location, " ".join(f.text.split())) for f in fired)


def test_document_set_is_complete() -> None:
    kinds = Counter(d.kind for d in DOCUMENTS)
    assert kinds["unknown"] == 0
    assert kinds["ubl"] > 900 and kinds["cii"] >= 20, kinds


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda d: d.label)
def test_same_findings_as_official_cen_xslt(cen_runners: dict[str, Any], doc: Document) -> None:
    official, ours = cen_runners[doc.kind]
    node = parse_document(doc.data())
    expected, actual = official.run_node(node), ours.run_node(node)
    assert _id_flag(actual) == _id_flag(expected)
    # Stronger than required: same locations (skeleton style) and same message texts too.
    assert _full(actual) == _full(expected)



SMOKE = [
    ("peppol-bis-invoice-3/rules/sch/PEPPOL-EN16931-UBL.sch", "ubl"),
    ("peppol-bis-invoice-3/rules/sch/PEPPOL-EN16931-CII.sch", "cii"),
    ("xrechnung-schematron/src/validation/schematron/ubl/XRechnung-UBL-validation.sch", "ubl"),
    ("xrechnung-schematron/src/validation/schematron/cii/XRechnung-CII-validation.sch", "cii"),
]


@pytest.mark.parametrize(("rel", "kind"), SMOKE, ids=[Path(s).stem for s, _ in SMOKE])
def test_other_sources_compile_and_run(tmp_path: Path, rel: str, kind: str) -> None:
    out = compile_file(STANDARDS / rel, tmp_path / (Path(rel).stem + ".xsl"))
    example = CEN / kind / "examples" / ("ubl-tc434-example1.xml" if kind == "ubl" else "CII_example1.xml")
    fired = SchematronRunner(out).run_bytes(example.read_bytes())
    # CEN examples are not Peppol/XRechnung invoices, so the specification identifier rule must fire.
    expected = {"PEPPOL-EN16931-R004"} if "peppol" in rel else {"BR-DE-21"}
    assert expected <= {f.id for f in fired}, [f.id for f in fired]


MUSTANG = STANDARDS / "mustang-compiled-rules" / "XR_30"
KOSIT_SUITE = sorted((STANDARDS / "xrechnung-testsuite" / "src" / "test").rglob("*.xml"))


@pytest.mark.parametrize("kind", ["ubl", "cii"])
def test_xrechnung_matches_officially_compiled_xslt(tmp_path: Path, kind: str) -> None:
    """KoSIT compiles XRechnung with the skeleton's prefixed location mode, our ``skeleton-3``."""
    sources = STANDARDS / "xrechnung-schematron" / "src" / "validation" / "schematron"
    sch = sources / kind / f"XRechnung-{kind.upper()}-validation.sch"
    ours = SchematronRunner(compile_file(sch, tmp_path / "xr.xsl", location_style="skeleton-3"))
    official = SchematronRunner(MUSTANG / f"XRechnung-{kind.upper()}-validation.xslt")
    compared = 0
    for path in KOSIT_SUITE:
        root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
        if _kind(root) != kind:
            continue
        node = parse_document(path.read_bytes())
        assert _full(ours.run_node(node)) == _full(official.run_node(node)), path.name
        compared += 1
    assert compared >= 20
