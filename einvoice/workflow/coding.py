"""Account coding (Kontierung): how an invoice is booked — shared by the workflow and the exporters."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class CodingLine:
    """One booking line of the factual check (sachlich richtig); amounts are net, in invoice currency.

    ``amount`` None means "the whole invoice" (one line covering all of it); several lines split it.
    """

    account: str  # G/L account (Sachkonto) or budget item (Haushaltsstelle) to debit
    cost_center: str | None = None  # Kostenstelle
    budget_line: str | None = None  # Haushaltsstelle / Produktkonto (public sector)
    tax_key: str | None = None  # DATEV BU-Schlüssel, e.g. "9" for 19 % input tax
    amount: Decimal | None = None
    vat_rate: Decimal | None = None
    text: str | None = None  # booking text
