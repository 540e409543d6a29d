"""Every ZUGFeRD / Factur-X sample PDF (mustangproject) through ``load_document``.

What each file is was established by reading it (attachments, XMP packet, BT-24 of the XML):
  * ``invalidPDF.pdf`` is invalid only as PDF/A (Mustang's veraPDF check); its XML and container
    are fine, so it loads like any EN 16931 invoice.
  * ``validV2PDF.pdf`` and ``XMLinvalidV2PDF.pdf`` carry the pre-release Factur-X spelling
    ``urn:cen.eu:en16931:2017:compliant:factur-x.eu:1p0:...`` (colons instead of '#'); that is no
    published profile id, so ``profile`` is None and the XMP claim is reported as contradicting.
    ``validV2PDF.pdf`` also holds a ZUGFeRD 1.0 ``ZUGFeRD-invoice.xml``; factur-x.xml wins.
  * ``zugferd_invoice.pdf`` is ZUGFeRD 1.0 (root in urn:ferd:...:1p0): syntax None, BT-24 still read.
  * ``attributeBasedXMP_...`` and ``zugferd_2p1_EXTENDED_PDFA-3A.pdf`` write XMP in attribute form.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from einvoice.formats.detect import InvoiceDocument, load_document
from einvoice.formats.xml import InputError

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
STANDARDS = Path(os.environ.get("EINVOICE_STANDARDS_DIR", ROOT.parent / "shared" / "standards"))
SAMPLES = STANDARDS / "zugferd-samples"

FX = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
ZF2 = "urn:zugferd:pdfa:CrossIndustryDocument:invoice:2p0#"
ZF1 = "urn:ferd:pdfa:CrossIndustryDocument:invoice:1p0#"
EN16931 = "urn:cen.eu:en16931:2017"


@dataclass(frozen=True)
class Expected:
    filename: str  # embedded file chosen
    syntax: str | None
    spec_id: str
    profile: str | None
    xmp_profile: str
    xmp_namespace: str
    findings: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ("factur-x.xml",)


EXPECTED: dict[str, Expected] = {
    "EN16931_1_Teilrechnung.pdf": Expected("factur-x.xml", "CII", EN16931, "EN16931", "EN 16931", FX),
    "EN16931_Einfach.pdf": Expected("factur-x.xml", "CII", EN16931, "EN16931", "EN 16931", FX),
    "MustangBeispiel20221026.pdf": Expected("factur-x.xml", "CII", EN16931, "EN16931", "EN 16931", FX),
    "XMLinvalidV2PDF.pdf": Expected(
        "factur-x.xml", "CII", "urn:cen.eu:en16931:2017:compliant:factur-x.eu:1p0:extended", None,
        "EXTENDED", FX, ("FX-XMP-PROFILE",)),
    "attributeBasedXMP_zugferd_2p0_EN16931_Einfach.pdf": Expected(
        "zugferd-invoice.xml", "CII", EN16931, "EN16931", "EN 16931", ZF2,
        attachments=("zugferd-invoice.xml",)),
    "invalidPDF.pdf": Expected("factur-x.xml", "CII", EN16931, "EN16931", "EN 16931", FX),
    "validAvoir_FR_type380_BASICWL.pdf": Expected(
        "factur-x.xml", "CII", "urn:factur-x.eu:1p0:basicwl", "BASIC WL", "BASIC WL", FX),
    "validV2PDF.pdf": Expected(
        "factur-x.xml", "CII", "urn:cen.eu:en16931:2017:compliant:factur-x.eu:1p0:en16931", None,
        "EN 16931", FX, ("FX-XMP-PROFILE",), ("ZUGFeRD-invoice.xml", "factur-x.xml")),
    "validXRechnung.pdf": Expected(
        "factur-x.xml", "CII", "urn:cen.eu:en16931:2017#compliant#urn:xoev-de:kosit:standard:xrechnung_1.2",
        "XRECHNUNG", "XRECHNUNG", FX),
    "zugferd_2p1_EXTENDED_PDFA-3A.pdf": Expected(
        "factur-x.xml", "CII", "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended",
        "EXTENDED", "EXTENDED", FX),
    "zugferd_invoice.pdf": Expected(
        "ZUGFeRD-invoice.xml", None, "urn:ferd:CrossIndustryDocument:invoice:1p0:basic", None, "BASIC", ZF1,
        attachments=("ZUGFeRD-invoice.xml",)),
}


def _samples() -> list[Path]:
    return sorted(SAMPLES.glob("*.pdf")) if SAMPLES.is_dir() else []


def _load(path: Path) -> InvoiceDocument | InputError:
    try:
        return load_document(path.read_bytes(), path.name)
    except InputError as error:
        return error


@pytest.fixture(scope="module", autouse=True)
def _require_samples() -> None:
    if not _samples():
        pytest.skip(f"ZUGFeRD samples not found under {SAMPLES}")


def test_sample_set_is_known() -> None:
    """A new sample must be read and added to EXPECTED, not silently accepted."""
    assert {path.name for path in _samples()} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample(name: str) -> None:
    path = SAMPLES / name
    expected = EXPECTED[name]
    result = _load(path)
    assert isinstance(result, InvoiceDocument), f"{name}: {result}"
    doc = result
    assert doc.pdf is not None
    assert doc.container == "pdf"
    assert doc.data == path.read_bytes()
    assert doc.pdf.filename == expected.filename
    assert tuple(doc.pdf.attachments) == tuple(sorted(expected.attachments))
    assert (doc.syntax, doc.specification_id, doc.profile) == (
        expected.syntax, expected.spec_id, expected.profile)
    assert (doc.pdf.xmp_profile, doc.pdf.xmp_namespace) == (expected.xmp_profile, expected.xmp_namespace)
    assert doc.pdf.xmp_document_type == "INVOICE"
    assert doc.pdf.xmp_document_file_name == expected.filename
    assert doc.pdf.associated, "every sample lists its invoice in the catalog /AF"
    assert tuple(f.rule for f in doc.container_findings) == expected.findings
    assert doc.text.lstrip().startswith("<?xml")
    assert len(doc.text) > 1000 and doc.tree.getroot() is not None


def test_print_sample_table(capsys: pytest.CaptureFixture[str]) -> None:
    rows = [("file", "embedded", "syntax", "profile", "xmp profile", "findings / error")]
    for path in _samples():
        result = _load(path)
        if isinstance(result, InputError):
            rows.append((path.name, "-", "-", "-", "-", f"{result.rule}: {result.message}"))
            continue
        pdf = result.pdf
        rows.append((path.name, pdf.filename if pdf else "-", str(result.syntax), str(result.profile),
                     str(pdf.xmp_profile if pdf else None),
                     ", ".join(f"{f.rule}({f.level.value})" for f in result.container_findings) or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    with capsys.disabled():
        print()
        for row in rows:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    assert len(rows) == len(EXPECTED) + 1
