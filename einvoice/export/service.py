"""After the export: bookkeeping (or a person) reports the invoice paid."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from einvoice.db import UnitOfWork
from einvoice.ledger import journal
from einvoice.ledger.models import Invoice, Status
from einvoice.ledger.service import InvalidTransition, InvoiceNotFound, Visibility, get_visible


def mark_paid(uow: UnitOfWork, invoice_id: str, *, actor: str, visibility: Visibility,
              paid_on: date | None = None, reference: str | None = None, amount: Decimal | None = None) -> Invoice:
    """``exported`` → ``paid``, journalled; only for invoices the caller may see (else not found).

    Anything but an exported invoice is refused (``InvalidTransition``): paying an invoice that
    bookkeeping never received would break the order the payment process relies on.
    """
    if get_visible(uow, invoice_id, visibility) is None:
        raise InvoiceNotFound(f"invoice {invoice_id} does not exist")
    session = uow.session
    journal.lock_head(session)
    invoice = session.execute(select(Invoice).where(Invoice.id == invoice_id).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one()
    if invoice.status == Status.PAID.value:
        raise InvalidTransition(f"invoice {invoice_id} is marked paid already")
    if invoice.status != Status.EXPORTED.value:
        raise InvalidTransition(f"invoice {invoice_id} is {invoice.status}; only an exported invoice can be "
                                "marked paid")
    invoice.status = Status.PAID.value
    journal.append(session, event="paid", actor=actor, invoice_id=invoice.id, payload={
        "paid_on": paid_on, "reference": reference, "amount": amount})
    return invoice
