"""Input formats: hardened XML parsing, ZUGFeRD/Factur-X PDF extraction and document detection."""

from einvoice.formats.detect import (
    SYNTAX_CII,
    SYNTAX_UBL_CREDITNOTE,
    SYNTAX_UBL_INVOICE,
    InvoiceDocument,
    load_document,
)
from einvoice.formats.pdf import PdfInvoice, extract_invoice_from_pdf
from einvoice.formats.xml import InputError, parse_xml_safely, xml_text

__all__ = [
    "SYNTAX_CII",
    "SYNTAX_UBL_CREDITNOTE",
    "SYNTAX_UBL_INVOICE",
    "InputError",
    "InvoiceDocument",
    "PdfInvoice",
    "extract_invoice_from_pdf",
    "load_document",
    "parse_xml_safely",
    "xml_text",
]
