"""More of the staff invoice page in a real browser: embedded attachments (BG-24) listed and downloaded,
a task forwarded to a named colleague, and a payment release returned to the factual check."""

from __future__ import annotations

import base64
from typing import Any

import httpx
from lxml import etree

from tests.browser.conftest import LiveServer, audit, login, screenshot, wait_for
from tests.conftest import STANDARDS

DOCUMENT = STANDARDS / "xrechnung-testsuite" / "src" / "test" / "technical-cases" / "cius" / \
    "01.01_comprehensive_test_ubl.xml"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"


def _flash(page: Any) -> str:
    return str(page.locator(".flashes").inner_text())


def _decide(page: Any, button: str, comment: str = "") -> str:
    if comment:
        page.locator("#comment").fill(comment)
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()
    return _flash(page)


def test_attachments_forward_and_return(page: Any, live_server: LiveServer) -> None:
    data = DOCUMENT.read_bytes()
    leitweg = etree.fromstring(data).findtext(f"{{{CBC}}}BuyerReference")
    live_server.add_unit("Tiefbau", leitweg, workflow="company")
    live_server.add_user("tina", "clerk", unit="Tiefbau")
    live_server.add_user("tom", "clerk", unit="Tiefbau")
    live_server.add_user("toni", "approver", unit="Tiefbau")
    live_server.add_user("firma", "supplier")
    token = live_server.cli("tokens", "create", "--user", "firma").stdout.strip()
    with httpx.Client(base_url=live_server.url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as client:
        invoice_id = client.post("/api/v1/invoices", content=data,
                                 headers={"Content-Type": "application/xml"}).json()["id"]
        wait_for("the verdict", lambda: client.get(f"/api/v1/invoices/{invoice_id}").json()["status"]
                 == "in_approval")

    # attachments: listed with their names, downloadable byte for byte
    login(page, "tina")
    page.goto(f"/staff/invoices/{invoice_id}")
    attachments = page.locator("section[aria-labelledby='attachments-heading']")
    assert "01_15_Anhang_01.pdf" in attachments.inner_text() and "01_15_Anhang_02.pdf" in attachments.inner_text()
    with page.expect_download() as download_info:
        attachments.locator("a").first.click()
    embedded = etree.fromstring(data).find(f".//{{{CBC}}}EmbeddedDocumentBinaryObject")
    assert embedded is not None and embedded.text
    with open(download_info.value.path(), "rb") as downloaded:
        assert downloaded.read() == base64.b64decode(embedded.text)
    audit(page)
    screenshot(page, "staff-invoice-attachments")

    # forward: the factual check goes to a named colleague
    page.locator("#forward_to").fill("tom")
    page.get_by_role("button", name="Weiterleiten").click()
    page.wait_for_load_state()
    assert "Weitergeleitet" in _flash(page) or "weitergeleitet" in _flash(page).lower(), _flash(page)
    page.get_by_role("button", name="Abmelden").click()

    login(page, "tom")
    page.goto(f"/staff/invoices/{invoice_id}")
    for label, value in (("Sachkonto", "4930"), ("Kostenstelle", "3300"), ("Steuerschlüssel", "9")):
        page.get_by_label(f"{label}, Zeile 1").fill(value)
    page.get_by_role("button", name="Kontierung speichern").click()
    page.wait_for_load_state()
    assert "Freigegeben." in _decide(page, "Freigeben")
    page.get_by_role("button", name="Abmelden").click()

    # return: the approver sends it back to the factual check with a reason
    login(page, "toni")
    page.goto(f"/staff/invoices/{invoice_id}")
    assert "Zahlungsfreigabe" in page.locator("#task-heading").inner_text()
    answer = _decide(page, "Zurückgeben", comment="Kostenstelle prüfen")
    assert "zurück" in answer.lower(), answer
    page.reload()
    assert "Kostenstellenfreigabe" in page.locator("#task-heading").inner_text()
    assert "Kostenstelle prüfen" in page.locator(".timeline").inner_text()
    audit(page)
