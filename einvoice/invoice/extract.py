"""One entry point from a parsed invoice tree to ``InvoiceData``, whatever the syntax."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lxml import etree

from einvoice.formats.detect import SYNTAX_CII, SYNTAX_UBL_CREDITNOTE, SYNTAX_UBL_INVOICE, detect_syntax
from einvoice.invoice.cii import extract_cii
from einvoice.invoice.model import InvoiceData
from einvoice.invoice.ubl import extract_ubl

if TYPE_CHECKING:
    from einvoice.formats.detect import InvoiceDocument


class ExtractionError(ValueError):
    """The XML is not an invoice or credit note in a supported syntax; nothing can be extracted."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def extract(tree: etree._ElementTree | etree._Element, syntax: str | None = None) -> InvoiceData:
    """The business terms of an invoice tree; ``syntax`` as detected by ``einvoice.formats.detect``.

    Never fails on missing or malformed values (they become None); raises ``ExtractionError`` only
    when the root element is no UBL Invoice/CreditNote or CII CrossIndustryInvoice, or is not the
    syntax the caller says it is.
    """
    root_tree = tree if isinstance(tree, etree._ElementTree) else tree.getroottree()
    root = root_tree.getroot()
    actual = detect_syntax(root_tree)
    if actual is None:
        name = etree.QName(root).localname if isinstance(root.tag, str) else "?"
        raise ExtractionError(f"The root element <{name}> is not a UBL Invoice, UBL CreditNote or CII "
                              "CrossIndustryInvoice; no invoice data can be read.")
    if syntax is not None and syntax != actual:
        raise ExtractionError(f"The document was declared as {syntax} but its root element is {actual}.")
    if actual in (SYNTAX_UBL_INVOICE, SYNTAX_UBL_CREDITNOTE):
        return extract_ubl(root, actual)
    assert actual == SYNTAX_CII
    return extract_cii(root)


def extract_document(document: InvoiceDocument) -> InvoiceData:
    """``extract`` for a loaded input (XML, or the CII embedded in a ZUGFeRD/Factur-X PDF)."""
    return extract(document.tree, document.syntax)
