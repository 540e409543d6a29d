"""Invoice data from every KoSIT test-suite document and every loadable ZUGFeRD sample PDF.

Leitweg-IDs in the suite (BT-10): 85 of the 86 documents carry one (the 86th says "Leitweg-ID");
80 verify. The other five use three IDs with wrong check digits, which is the test data, not the
algorithm (the same suite uses the correctly checked 04011000-12345-03 elsewhere):
  99000000-01944-98 (01.06a, UBL+CII; correct: -56), 99000000-05676-98 (01.07a, UBL+CII; correct:
  -15), 04011000-12345-34 (05.01a UBL; correct: -03).
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest

from einvoice.formats.detect import load_document
from einvoice.formats.xml import InputError
from einvoice.invoice import InvoiceData, extract_document, leitweg_check_digits

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
STANDARDS = Path(os.environ.get("EINVOICE_STANDARDS_DIR", ROOT.parent / "shared" / "standards"))
SUITE = STANDARDS / "xrechnung-testsuite" / "src" / "test"
ZUGFERD = STANDARDS / "zugferd-samples"
SUITE_DOCUMENTS = sorted(SUITE.rglob("*.xml"))
ZUGFERD_PDFS = sorted(ZUGFERD.glob("*.pdf"))
KNOWN_BAD_LEITWEG_IDS = {"99000000-01944-98", "99000000-05676-98", "04011000-12345-34"}


def _extract(path: Path) -> InvoiceData:
    return extract_document(load_document(path.read_bytes(), path.name))


def _name(path: Path) -> str:
    return path.relative_to(path.parents[1]).as_posix()


def test_suite_is_complete() -> None:
    assert len(SUITE_DOCUMENTS) == 86, f"expected the 86 KoSIT test documents under {SUITE}"
    assert ZUGFERD_PDFS, f"no ZUGFeRD samples under {ZUGFERD}"


@pytest.mark.parametrize("path", SUITE_DOCUMENTS, ids=_name)
def test_suite_document(path: Path) -> None:
    data = _extract(path)
    assert data.number and data.issue_date and data.currency
    assert data.seller.name and data.buyer.name
    assert data.document_type == "invoice"  # the suite has no credit notes
    assert data.lines and all(line.net_amount is not None for line in data.lines)
    totals = data.totals
    assert totals.amount_due is not None
    if None not in (totals.gross, totals.net, totals.vat):
        assert totals.gross == totals.net + totals.vat  # BR-CO-15
    if totals.line_total is not None:  # BR-CO-10
        assert totals.line_total == sum((line.net_amount or Decimal(0) for line in data.lines), Decimal(0))
    for term in data.payment_terms.skonto:
        assert term.days > 0
    assert data.payment_terms.skonto_errors == []  # valid documents satisfy BR-DE-18
    json.dumps(data.to_dict())


@pytest.mark.parametrize("path", [p for p in SUITE_DOCUMENTS if p.name.endswith("_ubl.xml")], ids=_name)
def test_ubl_and_cii_twins_agree(path: Path) -> None:
    """Each case exists in both syntaxes; the core terms must read the same from either."""
    twin = path.with_name(path.name.replace("_ubl.xml", "_uncefact.xml"))
    if not twin.exists():
        pytest.skip("no CII twin")
    ubl, cii = _extract(path), _extract(twin)
    for name in ("number", "issue_date", "currency", "due_date", "leitweg_id", "leitweg_id_valid"):
        assert getattr(ubl, name) == getattr(cii, name), name
    for name in ("line_total", "net", "gross", "amount_due"):
        assert getattr(ubl.totals, name) == getattr(cii.totals, name), name
    assert [(line.id, line.net_amount, line.vat_category) for line in ubl.lines] == [
        (line.id, line.net_amount, line.vat_category) for line in cii.lines]
    assert [(v.category, v.taxable_amount, v.tax_amount) for v in ubl.vat_breakdown] == [
        (v.category, v.taxable_amount, v.tax_amount) for v in cii.vat_breakdown]
    assert ubl.payment_terms.skonto == cii.payment_terms.skonto
    assert [(a.filename, a.size) for a in ubl.attachments] == [(a.filename, a.size) for a in cii.attachments]


def test_suite_leitweg_ids() -> None:
    found = {path: _extract(path) for path in SUITE_DOCUMENTS}
    with_id = {path: data for path, data in found.items() if data.leitweg_id is not None}
    invalid = {data.leitweg_id for data in with_id.values() if not data.leitweg_id_valid}
    assert len(with_id) == 85
    assert invalid == KNOWN_BAD_LEITWEG_IDS
    assert sum(1 for data in with_id.values() if data.leitweg_id_valid) == 80
    # The bad ones differ from valid IDs only in the check digits: the data is wrong, not the format.
    for value in invalid:
        base, check = value.rsplit("-", 1)
        assert leitweg_check_digits(base) != check


def test_suite_attachments_decode() -> None:
    seen = 0
    for path in SUITE_DOCUMENTS:
        for attachment in _extract(path).attachments:
            if not attachment.embedded:
                continue
            content = attachment.content()
            assert content, f"{path.name}: {attachment.id} is empty"
            assert len(content) == attachment.size
            assert attachment.filename, f"{path.name}: {attachment.id} has no filename"
            if attachment.mime_code == "application/pdf":
                assert content.startswith(b"%PDF-")
            seen += 1
    assert seen >= 30  # 36 embedded PDFs at the pinned suite commit (and 4 external references)


@pytest.mark.parametrize("path", ZUGFERD_PDFS, ids=lambda p: p.name)
def test_zugferd_pdf(path: Path) -> None:
    try:
        document = load_document(path.read_bytes(), path.name)
    except InputError:
        pytest.skip("not loadable")
    if document.syntax != "CII":
        pytest.skip(f"syntax {document.syntax} (ZUGFeRD 1.0) is not extracted")
    data = extract_document(document)
    assert data.syntax == "CII"
    assert data.number and data.issue_date and data.currency == "EUR"
    assert data.seller.name and data.buyer.name
    totals = data.totals
    assert totals.amount_due is not None and totals.gross is not None
    if None not in (totals.gross, totals.net, totals.vat):
        assert totals.gross == totals.net + totals.vat
    if document.profile != "BASIC WL":  # BASIC WL has no lines
        assert data.lines
    json.dumps(data.to_dict())
