"""Operations on connectors: ask a connector to handle a failed item again, now.

Each connector package (``einvoice.mail``, ``einvoice.peppol``) exposes ``retry(item: ItemView)``;
the item's connector name (``mail:<mailbox>``, ``peppol:http``, ``peppol:spool``) says which.
The item is first marked ``retry``, so if the immediate attempt cannot run (the connector is not
configured here, the process dies) the connector still takes it up on its next scheduled run.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable

from einvoice.connectors import service
from einvoice.connectors.service import ItemView

log = logging.getLogger(__name__)

#: connector name prefix → module that exposes ``retry(item)``
RETRY_MODULES = {"mail": "einvoice.mail", "peppol": "einvoice.peppol"}


def retry_handler(connector: str) -> Callable[[ItemView], None] | None:
    module_name = RETRY_MODULES.get(connector.split(":", 1)[0])
    if module_name is None:
        return None
    handler = getattr(importlib.import_module(module_name), "retry", None)
    return handler if callable(handler) else None


def retry_now(item_id: str) -> ItemView:
    """Mark the item for retry and run the connector's retry at once; the item's state afterwards."""
    item = service.request_retry(item_id)
    handler = retry_handler(item.connector)
    if handler is None:
        log.warning("no retry handler for connector %s; item %s waits for its next run", item.connector, item_id)
        return item
    try:
        handler(item)
    except Exception as exc:  # recorded on the item; the operator sees it in the operations view
        log.warning("retry of %s failed: %s", item_id, exc)
        service.record_failure(item.connector, item.external_id, sender=item.sender,
                               error=f"retry failed: {type(exc).__name__}: {exc}")
    return service.get_item(item_id)
