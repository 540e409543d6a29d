"""The operations page: connector status, failed items with reasons, retry; admins only, accessible."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import LiveServer, audit, login, screenshot

SEED = """
from einvoice.connectors import service
service.record_poll("mail:rechnungen", processed=3, failed=1, error="IMAP login failed")
service.record_done("mail:rechnungen", "<ok@example.org>", sender="lieferant@example.org", invoice_ids=[])
item = service.record_failure("mail:rechnungen", "<broken@example.org>", sender="lieferant@example.org",
                              error="attachment is not a ZIP file")
print(item.id)
"""


def test_admin_sees_connector_status_and_retries_a_failed_item(page: Any, live_server: LiveServer) -> None:
    item_id = live_server.python(SEED).splitlines()[-1]
    live_server.add_user("ops-admin", "admin")
    login(page, "ops-admin")
    page.goto("/operations")
    main = page.locator("main")
    assert "mail:rechnungen" in main.inner_text() and "IMAP login failed" in main.inner_text()
    assert "attachment is not a ZIP file" in main.inner_text()
    audit(page)
    screenshot(page, "operations")
    page.locator(f"form[action='/operations/items/{item_id}/retry'] button").click()
    page.wait_for_load_state()
    # The mailbox is not configured on this server: the attempt fails again, with the reason shown.
    assert "Der erneute Versuch ist fehlgeschlagen" in main.inner_text(), main.inner_text()
    assert "/operations" in page.url
    audit(page)


def test_other_roles_do_not_reach_the_operations_page(page: Any, live_server: LiveServer) -> None:
    live_server.add_user("ops-supplier", "supplier")
    login(page, "ops-supplier")
    response = page.goto("/operations")
    assert response is not None and response.status == 403
