"""Typed EN 16931 invoice data read from UBL Invoice/CreditNote and CII (incl. ZUGFeRD/Factur-X)."""

from einvoice.invoice.extract import ExtractionError, extract, extract_document
from einvoice.invoice.leitweg import (
    is_valid_leitweg_id,
    leitweg_check_digits,
    looks_like_leitweg_id,
    make_leitweg_id,
)
from einvoice.invoice.model import (
    DOCUMENT_CREDIT_NOTE,
    DOCUMENT_INVOICE,
    Attachment,
    Identifier,
    InvoiceData,
    Line,
    Party,
    PaymentTerms,
    SkontoTerm,
    Totals,
    VatBreakdown,
)
from einvoice.invoice.skonto import parse_skonto

__all__ = [
    "DOCUMENT_CREDIT_NOTE",
    "DOCUMENT_INVOICE",
    "Attachment",
    "ExtractionError",
    "Identifier",
    "InvoiceData",
    "Line",
    "Party",
    "PaymentTerms",
    "SkontoTerm",
    "Totals",
    "VatBreakdown",
    "extract",
    "extract_document",
    "is_valid_leitweg_id",
    "leitweg_check_digits",
    "looks_like_leitweg_id",
    "make_leitweg_id",
    "parse_skonto",
]
