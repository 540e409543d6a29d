"""E-mail intake: IMAP mailboxes polled for invoices, replies and notices by SMTP (issue 6).

The operations view's retry calls :func:`einvoice.mail.jobs.retry` (re-exported here as ``retry``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from einvoice.connectors.service import ItemView


def retry(item: ItemView) -> None:
    """Fetch the message of a failed connector item again (by Message-ID) and handle it."""
    from einvoice.mail.jobs import retry as run

    run(item)
