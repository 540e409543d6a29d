"""Placeholders for embedded attachments change nothing: every rule fires as on the original document.

For each official document with large embedded attachments, the Schematron packs that our compiler
proved blind to attachment content (einvoice.schematron.opacity) give exactly the same findings —
ids, flags, locations, texts — on the document with placeholders as on the original; the scenario
is the same, and the lxml tree the XML Schema validates is left unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from einvoice import saxon
from einvoice.formats.detect import load_document
from einvoice.schematron.opacity import PLACEHOLDER, without_attachment_content
from tests.conftest import STANDARDS

pytestmark = pytest.mark.integration

CORPUS = sorted([*(STANDARDS / "xrechnung-testsuite" / "src" / "test").rglob("*.xml"),
                 *(STANDARDS / "cen-en16931").glob("*/examples/*.xml")])


def _with_attachments() -> list[Path]:
    return [p for p in CORPUS if b"BinaryObject" in p.read_bytes() and len(p.read_bytes()) > 20_000]


def test_blind_packs_fire_the_same_on_placeholders(validator: Any) -> None:
    documents = _with_attachments()
    assert len(documents) >= 30, "the official corpus has dozens of invoices with attachments"
    replaced = compared = 0
    for path in documents:
        doc = load_document(path.read_bytes(), path.name)
        before = etree.tostring(doc.tree)
        lean = without_attachment_content(doc.tree)
        assert etree.tostring(doc.tree) == before, f"{path.name}: the tree for the XML Schema changed"
        if lean is None:
            continue
        replaced += 1
        assert PLACEHOLDER in lean and len(lean) < len(doc.text)
        full_node, lean_node = saxon.parse_text(doc.text), saxon.parse_text(lean)
        scenario = validator.scenarios.match(full_node)
        assert scenario is not None and validator.scenarios.match(lean_node) == scenario, path.name
        for pack in scenario.schematron:
            runner = validator._runner(pack)
            if runner.reads_attachments:
                continue
            assert runner.run_node(lean_node) == runner.run_node(full_node), f"{path.name}: {pack}"
            compared += 1
    assert replaced >= 30 and compared >= 60, (replaced, compared)


def test_the_engine_gives_the_same_verdicts_as_without_placeholders(validator: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    documents = _with_attachments()
    with_placeholders = [validator.validate_bytes(p.read_bytes(), p.name) for p in documents]
    monkeypatch.setattr("einvoice.validation.engine.without_attachment_content", lambda tree: None)
    without = [validator.validate_bytes(p.read_bytes(), p.name) for p in documents]
    for a, b in zip(with_placeholders, without, strict=True):
        assert (a.accepted, a.scenario) == (b.accepted, b.scenario), a.file
        assert [(f.rule, f.level, f.step, f.location, f.message) for f in a.findings] == \
            [(f.rule, f.level, f.step, f.location, f.message) for f in b.findings], a.file


def test_only_attachments_in_their_place_are_replaced() -> None:
    cbc = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
    cac = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    blob = "QUJD" * 600
    xml = (f'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" xmlns:cac="{cac}" '
           f'xmlns:cbc="{cbc}"><cac:AdditionalDocumentReference><cac:Attachment>'
           f'<cbc:EmbeddedDocumentBinaryObject mimeCode="application/pdf" filename="a.pdf">{blob}'
           f'</cbc:EmbeddedDocumentBinaryObject></cac:Attachment></cac:AdditionalDocumentReference>'
           f'<cac:InvoiceLine><cac:DocumentReference><cac:Attachment>'
           f'<cbc:EmbeddedDocumentBinaryObject mimeCode="application/pdf" filename="b.pdf">{blob}'
           f'</cbc:EmbeddedDocumentBinaryObject></cac:Attachment></cac:DocumentReference></cac:InvoiceLine>'
           f'<cac:AdditionalDocumentReference><cac:Attachment><cbc:EmbeddedDocumentBinaryObject>'
           f'{" " * 2000}</cbc:EmbeddedDocumentBinaryObject></cac:Attachment></cac:AdditionalDocumentReference>'
           f'</Invoice>')
    lean = without_attachment_content(etree.ElementTree(etree.fromstring(xml)))
    assert lean is not None
    assert lean.count(PLACEHOLDER) == 1  # BG-24 only
    assert lean.count(blob) == 1  # the line-level reference keeps its content
    assert " " * 2000 in lean  # all-whitespace content stays: emptiness must not change
