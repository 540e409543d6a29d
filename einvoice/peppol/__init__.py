"""Peppol connector: what an access point (phase4, Oxalis, ...) hands over, and Invoice Responses back.

The service is not an AS4 access point itself. It takes the SBDH envelopes (or bare UBL/CII
documents) an access point delivers by HTTP (:mod:`.routes`) or writes into a spool folder
(:mod:`.spool`), feeds them to the one intake path, and answers the sender with Peppol BIS
Invoice Response 3 documents at the workflow events (:mod:`.responses`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from einvoice.connectors.service import ItemView


def retry(item: ItemView) -> None:
    """Re-process a failed Peppol item (see :func:`einvoice.peppol.operations.retry`); imported lazily."""
    from einvoice.peppol.operations import retry as run

    run(item)
