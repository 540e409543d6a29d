"""The entry form in a real browser: Leitweg-ID checked while typing, rows and totals in the page, the
server's totals, error summary, download, submission into the ledger; axe audit on every state."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from einvoice.entry.examples import EXAMPLE_LEITWEG_ID as LEITWEG
from tests.browser.conftest import LiveServer, audit, login, screenshot

COPY_BUTTON = re.compile(r"Als Vorlage verwenden\W+HW-2026-0042")
SAVE_EXAMPLE_DRAFT = """
from einvoice.accounts.service import user_by_name
from einvoice.db import UnitOfWork
from einvoice.entry.examples import example_form_data
from einvoice.entry.service import save_draft
with UnitOfWork() as uow:
    draft = save_draft(uow, user_by_name(uow, "tischler").id, example_form_data())
    uow.commit()
print(draft.id)
"""


def test_entry_form_types_checks_calculates_and_submits(page: Any, live_server: LiveServer) -> None:
    live_server.add_unit("Beschaffung", LEITWEG)
    live_server.add_user("tischler", "supplier")
    login(page, "tischler")

    page.goto("/entry")
    audit(page)
    screenshot(page, "entry-form-new")

    # the Leitweg-ID is checked while typing (check digits), announced in a live region
    leitweg = page.locator("#f-buyer-leitweg_id")
    leitweg.fill(LEITWEG[:-2] + ("00" if not LEITWEG.endswith("00") else "01"))
    assert "ungültig" in page.locator("#leitweg-status").inner_text()
    leitweg.fill(LEITWEG)
    assert "gültig (Prüfziffer stimmt)" in page.locator("#leitweg-status").inner_text()

    draft_id = live_server.python(SAVE_EXAMPLE_DRAFT)
    page.goto(f"/entry?draft={draft_id}")
    assert page.locator("[data-rows='lines'] [data-row]").count() == 3
    # totals computed in the page as it loads and as one types
    assert "693,80 EUR" in page.locator("#totals-preview").inner_text()
    page.locator("#f-lines-2-quantity").fill("2")
    assert "725,80 EUR" in page.locator("#totals-preview").inner_text()  # VAT at 7 % rounded once: 4.19
    page.locator("#f-lines-2-quantity").fill("1")

    # a line is added with the keyboard alone (no round trip), focus moves into it; then removed again
    page.get_by_role("button", name="Position hinzufügen").focus()
    page.keyboard.press("Enter")
    assert page.locator("[data-rows='lines'] [data-row]").count() == 4
    assert page.evaluate("document.activeElement.id") == "f-lines-3-name"
    page.locator("[data-rows='lines'] [data-row]").nth(3).get_by_role("button", name="Entfernen").click()
    assert page.locator("[data-rows='lines'] [data-row]").count() == 3

    with page.expect_navigation():
        page.get_by_role("button", name="Berechnen").last.click()
    assert page.locator("#error-summary").count() == 0, page.locator("#error-summary").inner_text()
    assert page.locator("[data-server-payable]").count() == 1, (page.url, page.content()[:3000])
    assert "693,80 EUR" in page.locator("[data-server-payable]").inner_text()
    audit(page)
    screenshot(page, "entry-form-calculated")

    # a wrong Leitweg-ID is refused by the server too, with a linked error summary
    page.locator("#f-buyer-leitweg_id").fill(LEITWEG[:-2] + ("00" if not LEITWEG.endswith("00") else "01"))
    page.get_by_role("button", name="Prüfen und einreichen").click()
    page.wait_for_load_state()
    summary = page.locator("#error-summary")
    assert "Leitweg-ID" in summary.inner_text()
    audit(page)
    screenshot(page, "entry-form-errors")
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "f-buyer-leitweg_id"

    page.locator("#f-buyer-leitweg_id").fill(LEITWEG)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="XML herunterladen").click()
    download = download_info.value
    assert download.suggested_filename == "HW-2026-0042.xml"
    assert LEITWEG in Path(download.path()).read_text(encoding="utf-8")

    page.get_by_role("button", name="Prüfen und einreichen").click()
    page.wait_for_url("**/portal/invoices/**")
    assert "HW-2026-0042 wurde geprüft und eingereicht" in page.locator(".flashes").inner_text()
    audit(page)

    page.goto("/entry/drafts")
    assert page.get_by_role("button", name=COPY_BUTTON).count() == 1
    audit(page)
    screenshot(page, "entry-drafts")
    page.get_by_role("button", name=COPY_BUTTON).click()
    page.wait_for_url("**/entry?draft=**")
    assert page.locator("#f-number").input_value() == ""
    assert page.locator("#f-lines-0-name").input_value() == "Arbeitszeit Tischlermeister"
    audit(page)

    page.goto("/entry?lang=en")  # the English texts, audited too
    assert page.get_by_role("heading", level=1).inner_text() == "Create an invoice"
    audit(page)
    screenshot(page, "entry-form-en")


def test_entry_form_works_without_javascript(browser: Any, live_server: LiveServer) -> None:
    live_server.add_user("ohnejs", "supplier")
    context = browser.new_context(base_url=live_server.url, locale="de-DE", java_script_enabled=False)
    try:
        page = context.new_page()
        login(page, "ohnejs")
        page.goto("/entry")
        page.get_by_role("button", name="Position hinzufügen").click()
        page.wait_for_load_state()
        assert page.locator("[data-rows='lines'] [data-row]").count() == 2
        page.get_by_role("button", name="Skontostufe hinzufügen").click()
        page.wait_for_load_state()
        assert page.locator("#f-skonto-0-days").count() == 1
    finally:
        context.close()
