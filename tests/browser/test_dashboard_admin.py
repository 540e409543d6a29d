"""Dashboard and admin pages in a real browser: every page audited (axe, WCAG 2.1 A/AA) and photographed."""

from __future__ import annotations

from typing import Any

from einvoice.entry.examples import EXAMPLE_LEITWEG_ID
from tests.browser.conftest import LiveServer, audit, login, screenshot
from tests.conftest import ROOT


def test_dashboard_for_admin_and_lead(page: Any, live_server: LiveServer) -> None:
    live_server.add_unit("Beschaffung", EXAMPLE_LEITWEG_ID)
    live_server.add_user("lieferant", "supplier")
    live_server.add_user("leitung", "approver", unit="Beschaffung")
    live_server.add_user("chefin", "admin")
    login(page, "lieferant")
    page.locator("#files").set_input_files([str(ROOT / "samples" / "xrechnung-ubl-invoice.xml")])
    page.locator("form[action='/portal/upload'] button[type=submit]").click()
    page.wait_for_url("**/portal/**")
    page.get_by_role("button", name="Abmelden").click()

    login(page, "chefin")
    page.goto("/dashboard")
    main = page.locator("main")
    assert (page.locator("svg[role=img] title").text_content() or "").startswith("Rechnungseingang")
    audit(page)
    screenshot(page, "dashboard")
    page.get_by_role("link", name="90 Tage").click()
    page.wait_for_url("**days=90")
    page.locator("details summary").first.click()  # the chart's numbers as a table
    assert main.get_by_role("table").first.is_visible()
    audit(page)
    page.get_by_role("button", name="Abmelden").click()
    login(page, "leitung")
    page.goto("/dashboard")
    assert "Dienststellen: Beschaffung." in main.inner_text()
    audit(page)


def test_admin_pages(page: Any, live_server: LiveServer) -> None:
    live_server.add_user("verwaltung", "admin")
    login(page, "verwaltung")
    page.goto("/admin")
    audit(page)
    page.locator("#new-name").fill("sachbearbeiter")
    page.locator("#new-role").select_option("supplier")
    page.get_by_role("button", name="Benutzer anlegen").click()
    page.wait_for_load_state()
    assert "sachbearbeiter wurde angelegt" in page.locator(".flashes").inner_text()
    page.get_by_role("button", name="Einladungscode erzeugen").click()
    page.wait_for_load_state()
    assert "Einladungscode" in page.locator(".flashes").inner_text()
    audit(page)
    screenshot(page, "admin-users")

    page.get_by_role("link", name="Dienststellen und Workflows").click()
    page.locator("#unit-name").fill("Tiefbauamt")
    page.locator("#unit-leitweg").fill("05315000-FALSCH-00")
    page.get_by_role("button", name="Dienststelle anlegen").click()
    page.wait_for_load_state()
    assert "Das ging nicht" in page.locator(".flashes").inner_text()
    audit(page)  # the error state too
    page.locator("#unit-name").fill("Tiefbauamt")
    page.get_by_role("button", name="Dienststelle anlegen").click()
    page.wait_for_load_state()
    assert "Tiefbauamt wurde angelegt" in page.locator(".flashes").inner_text()
    audit(page)
    screenshot(page, "admin-units")

    page.get_by_role("link", name="Vertretungen").click()
    page.wait_for_load_state()
    audit(page)
    screenshot(page, "admin-substitutes")
    page.get_by_role("link", name="Regelpakete").click()
    page.wait_for_load_state()
    assert page.get_by_role("table").count() == 1
    audit(page)
    screenshot(page, "admin-rules")
