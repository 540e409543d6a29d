"""The supplier portal in a real browser: registration (invitation code and admin approval), upload of a
valid and an invalid invoice with the immediate answer, my invoices, details and downloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.conftest import PASSWORD, LiveServer, audit, login, screenshot
from tests.conftest import ROOT

SAMPLES = ROOT / "samples"
INVITE = """
from einvoice.db import UnitOfWork
from einvoice.portal.registration import create_invitation
with UnitOfWork() as uow:
    code = create_invitation(uow, "test", "Handwerker")
    uow.commit()
print(code)
"""


def _register(page: Any, name: str, code: str = "") -> None:
    page.goto("/portal/register")
    page.locator("#name").fill(name)
    page.locator("#email").fill(f"{name}@example.org")
    page.locator("#company").fill(f"{name.title()} GmbH")
    page.locator("#password").fill(PASSWORD)
    page.locator("#repeat").fill(PASSWORD)
    if code:
        page.locator("#invitation_code").fill(code)
    page.locator("form[action='/portal/register'] button[type=submit]").click()


def test_registration_waits_for_approval_unless_invited(page: Any, live_server: LiveServer) -> None:
    live_server.add_user("root", "admin")
    page.goto("/portal/register")
    audit(page)
    screenshot(page, "portal-register")
    page.locator("form[action='/portal/register'] button[type=submit]").click()  # nothing filled in
    assert page.locator("#name:invalid").count() == 1  # the browser's required check stops it first
    _register(page, "malerbetrieb")
    assert "Ihre Registrierung wird geprüft" in page.locator("main").inner_text()
    page.goto("/login")
    page.locator("#name").fill("malerbetrieb")
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/login'] button").click()
    assert "/login" in page.url and "nicht freigeschaltet" in page.locator("main").inner_text()

    login(page, "root")
    page.goto("/admin")  # engineer B's admin page lists pending registrations (einvoice.portal.registration)
    approve = page.locator("form[action^='/admin/registrations/'][action$='/approve'] button")
    assert approve.count() == 1 and "malerbetrieb" in approve.inner_text()
    approve.click()
    assert approve.count() == 0
    page.get_by_role("button", name="Abmelden").click()
    login(page, "malerbetrieb")
    assert page.url.endswith("/portal")

    code = live_server.python(INVITE)
    page.get_by_role("button", name="Abmelden").click()
    _register(page, "tischlerei", code)
    assert "Sie können sich jetzt anmelden" in page.locator("main").inner_text()
    _register(page, "dachdecker", code)  # the code was for one use
    assert "Einladungscode ist ungültig" in page.locator("main").inner_text()
    login(page, "tischlerei")


def test_upload_valid_and_invalid_then_my_invoices(page: Any, live_server: LiveServer, tmp_path: Path) -> None:
    live_server.add_user("buerobedarf", "supplier")
    login(page, "buerobedarf")
    assert page.url.endswith("/portal")
    audit(page)
    screenshot(page, "portal-upload")
    page.locator("#files").set_input_files([str(SAMPLES / "xrechnung-ubl-invoice.xml"),
                                            str(SAMPLES / "xrechnung-ubl-invalid.xml")])
    page.locator("form[action='/portal/upload'] button[type=submit]").click()
    page.wait_for_url("**/portal/**")
    main = page.locator("main")
    main.get_by_text("xrechnung-ubl-invalid.xml").first.wait_for()

    def settled() -> bool:
        return "noch in Prüfung" not in main.inner_text()

    for _ in range(60):  # the results page reloads itself while verdicts are pending
        if settled():
            break
        page.wait_for_timeout(1000)
    text = main.inner_text()
    assert "Die Rechnung wurde abgelehnt" in text, text
    assert "BR-CO-10" in text and "BR-DE-15" in text
    assert "angenommen" in text
    audit(page)
    screenshot(page, "portal-upload-results")

    with page.expect_download() as report:
        page.get_by_role("link", name="Vollständiger Prüfbericht").first.click()
    assert report.value.suggested_filename.startswith("report-")

    page.get_by_role("link", name="Meine Rechnungen").click()
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    audit(page)
    screenshot(page, "portal-my-invoices")
    page.locator("#status").select_option("rejected")
    page.get_by_role("button", name="Suchen").click()
    assert page.locator("tbody tr").count() == 1
    page.locator("tbody tr a").first.click()
    assert "Verlauf" in page.locator("main").inner_text()
    assert "Eingegangen" in page.locator(".timeline").inner_text()
    assert "Abgelehnt" in page.locator(".timeline").inner_text()
    audit(page)
    screenshot(page, "portal-invoice")
    with page.expect_download() as original:
        page.get_by_role("link", name="Original herunterladen").click()
    saved = tmp_path / "original.xml"
    original.value.save_as(saved)
    assert saved.read_bytes() == (SAMPLES / "xrechnung-ubl-invalid.xml").read_bytes()


def test_drag_and_drop_fills_the_file_field(page: Any, live_server: LiveServer) -> None:
    live_server.add_user("dragger", "supplier")
    login(page, "dragger")
    text = (SAMPLES / "xrechnung-cii-invoice.xml").read_text(encoding="utf-8")
    transfer = page.evaluate_handle("""(text) => {
        const data = new DataTransfer();
        data.items.add(new File([text], "gezogen.xml", {type: "application/xml"}));
        return data;
    }""", text)
    page.dispatch_event("[data-dropzone]", "drop", {"dataTransfer": transfer})
    assert page.locator("[data-filelist]").inner_text() == "gezogen.xml"
    assert page.evaluate("document.getElementById('files').files.length") == 1
    page.locator("form[action='/portal/upload'] button[type=submit]").click()
    section = page.locator("section.result")
    section.get_by_text("gezogen.xml").wait_for()
    for _ in range(60):
        if "Prüfung" not in page.locator("main").inner_text():
            break
        page.wait_for_timeout(1000)
    assert "angenommen" in section.inner_text()
