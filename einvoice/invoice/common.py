"""Interpretation shared by the UBL and CII readers: document type, Leitweg-ID, payment terms."""

from __future__ import annotations

from einvoice.formats.detect import SYNTAX_UBL_CREDITNOTE
from einvoice.invoice.leitweg import is_valid_leitweg_id, looks_like_leitweg_id
from einvoice.invoice.model import DOCUMENT_CREDIT_NOTE, DOCUMENT_INVOICE, PaymentTerms, SkontoTerm
from einvoice.invoice.skonto import parse_skonto


def _code_set(codes: str) -> frozenset[str]:
    return frozenset(codes.split())


# UNTDID 1001 subsets of EN 16931 (BR-CL-01, CEN code-list Schematron). 81 is in the UBL invoice
# list too, but it means "credit note related to goods or services".
CREDIT_NOTE_TYPE_CODES = _code_set("81 83 261 262 296 308 381 396 420 458 502 503 532")
INVOICE_TYPE_CODES = _code_set(
    "71 80 82 84 102 130 202 203 204 211 218 219 295 325 326 331 380 382 383 384 385 386 387 388 389 "
    "390 393 394 395 456 457 471 472 473 500 501 527 553 575 623 633 751 780 817 870 875 876 877 935")
# Credit transfer and SEPA credit transfer (UNTDID 4461): the means BR-61 requires BT-84 for.
CREDIT_TRANSFER_CODES = frozenset({"30", "58"})


def document_type(type_code: str | None, syntax: str) -> str:
    """Invoice or credit note by BT-3; an unknown code falls back to the UBL root element."""
    if type_code in CREDIT_NOTE_TYPE_CODES:
        return DOCUMENT_CREDIT_NOTE
    if type_code in INVOICE_TYPE_CODES:
        return DOCUMENT_INVOICE
    return DOCUMENT_CREDIT_NOTE if syntax == SYNTAX_UBL_CREDITNOTE else DOCUMENT_INVOICE


def payee_account(means: list[tuple[str | None, str | None]]) -> str | None:
    """BT-84 to pay to from (BT-81, BT-84) pairs: the first credit transfer's, else the first given.

    The payee account element is the payee's in every means (a direct debit names the payer's
    account elsewhere), so e.g. code 42 "payment to bank account" still yields it. Spaces of the
    printed IBAN form are removed.
    """
    accounts = [(code, account) for code, account in means if account]
    chosen = next((account for code, account in accounts if code in CREDIT_TRANSFER_CODES), None)
    if chosen is None and accounts:
        chosen = accounts[0][1]
    return "".join(chosen.split()) if chosen else None


def leitweg(buyer_reference: str | None) -> tuple[str | None, bool | None]:
    """(Leitweg-ID, valid?) from BT-10; (None, None) when BT-10 is not Leitweg-ID shaped."""
    if buyer_reference is None or not looks_like_leitweg_id(buyer_reference):
        return None, None
    return buyer_reference, is_valid_leitweg_id(buyer_reference)


def payment_terms(texts: list[str]) -> PaymentTerms:
    """BT-20 from one or more text elements; each element is checked as its own BR-DE-18 text."""
    texts = [text for text in texts if text.strip()]
    if not texts:
        return PaymentTerms()
    skonto: list[SkontoTerm] = []
    errors: list[str] = []
    for index, text in enumerate(texts, start=1):
        terms, problems = parse_skonto(text)
        skonto.extend(terms)
        prefix = f"Payment terms text {index}: " if len(texts) > 1 else ""
        errors.extend(prefix + problem for problem in problems)
    joined = "\n".join(text.strip() for text in texts)
    return PaymentTerms(text=joined, skonto=skonto, skonto_errors=errors)
