"""Staff pages in a real browser: workqueue with filters and sorting, the invoice page (visualisation,
coding, claim, decisions with four-eyes), unit separation, ledger search, duplicates and clearing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from einvoice.invoice.leitweg import make_leitweg_id
from einvoice.samples import make_ubl_invoice
from tests.browser.conftest import LiveServer, audit, login, screenshot, wait_for
from tests.conftest import ROOT

SAMPLES = ROOT / "samples"
BESCHAFFUNG = "05315000-BESCH2026-71"  # the samples' Leitweg-ID
BAUAMT = make_leitweg_id("05315000-BAU")


@pytest.fixture(scope="module")
def office(live_server: LiveServer) -> Iterator[dict[str, str]]:
    """Two units, their staff, a supplier with a token, and three invoices: one in approval, one suspected
    duplicate, one for an unknown Leitweg-ID (clearing)."""
    live_server.add_unit("Beschaffung", BESCHAFFUNG, workflow="company")
    live_server.add_unit("Bauamt", BAUAMT, workflow="company")
    live_server.add_user("klara", "clerk", unit="Beschaffung")
    live_server.add_user("anton", "approver", unit="Beschaffung")
    live_server.add_user("bob", "clerk", unit="Bauamt")
    live_server.add_user("chefin", "admin")
    live_server.add_user("lieferant", "supplier")
    token = live_server.cli("tokens", "create", "--user", "lieferant").stdout.strip()
    ids = {"token": token}
    documents = {
        "approval": (SAMPLES / "xrechnung-ubl-invoice.xml").read_bytes(),
        "duplicate": (SAMPLES / "xrechnung-ubl-resent-invoice.xml").read_bytes(),
        "clearing": make_ubl_invoice(2, number="KL-2026-1", buyer_reference=make_leitweg_id("99999999-NIEMAND")),
    }
    for name, data in documents.items():
        ids[name] = _upload(live_server, token, data)
    yield ids


def _upload(live_server: LiveServer, token: str, data: bytes) -> str:
    """Hand an invoice over through the API and wait for its verdict."""
    with httpx.Client(base_url=live_server.url, timeout=60, headers={"Authorization": f"Bearer {token}"}) as client:
        answer = client.post("/api/v1/invoices", content=data, headers={"Content-Type": "application/xml"})
        assert answer.status_code == 202, answer.text
        invoice_id = str(answer.json()["id"])

        def final() -> bool:
            return client.get(f"/api/v1/invoices/{invoice_id}").json()["status"] not in ("received", "validating")

        wait_for(f"the verdict on {invoice_id}", final)
        return invoice_id


def _flash(page: Any) -> str:
    return str(page.locator(".flashes").inner_text())


def test_workqueue_invoice_page_and_decisions(page: Any, live_server: LiveServer, office: dict[str, str]) -> None:
    login(page, "klara")
    assert page.url.endswith("/staff/tasks")
    assert page.locator("tbody tr").count() == 1
    audit(page)
    screenshot(page, "staff-tasks")
    page.get_by_label("Überfällig").check()  # the samples fell due on 2026-04-01
    page.get_by_role("button", name="Filtern").click()
    assert "overdue=1" in page.url and page.locator("tbody tr").count() == 1
    page.get_by_label("Skonto endet in höchstens … Tagen").fill("0")
    page.get_by_role("button", name="Filtern").click()
    assert page.locator("tbody tr").count() == 0 and "Keine offenen Aufgaben" in page.locator("main").inner_text()
    page.goto("/staff/tasks?sort=amount&order=desc")
    assert page.locator("th[aria-sort=descending]").count() == 1

    page.locator("tbody tr a").first.click()
    assert f"/staff/invoices/{office['approval']}" in page.url
    assert page.locator("iframe.visualisation").get_attribute("sandbox") == "allow-same-origin"
    frame = page.frame_locator("iframe.visualisation")
    frame.get_by_text("RE-2026-00815").first.wait_for(timeout=60_000)  # KoSIT's view, scripts off
    assert frame.get_by_text("Hanse Bürobedarf GmbH").first.is_visible()
    for panel in ("Übersicht", "Details", "Zusätze", "Anlagen", "Laufzettel"):  # every tab's panel, no script
        assert frame.get_by_role("heading", name=panel, exact=True).is_visible()
    assert frame.locator("#details").is_visible() and frame.locator("script").count() == 0
    audit(page)
    screenshot(page, "staff-invoice")
    page.get_by_role("button", name="Aufgabe übernehmen").click()
    assert "übernommen" in _flash(page)
    page.get_by_role("button", name="Freigeben").click()  # without coding: the workflow refuses
    assert "Die Aktion wurde abgelehnt" in _flash(page) and "coding" in _flash(page)
    page.get_by_label("Sachkonto, Zeile 1").fill("4930")
    page.get_by_label("Kostenstelle, Zeile 1").fill("200")
    page.get_by_label("Steuerschlüssel, Zeile 1").fill("9")
    page.get_by_role("button", name="Kontierung speichern").click()
    assert "gespeichert" in _flash(page)
    page.get_by_role("button", name="Freigeben").click()
    assert "Freigegeben." in _flash(page)
    assert "Zahlungsfreigabe" in page.locator("#task-heading").inner_text()
    assert page.get_by_role("button", name="Freigeben").count() == 1
    page.get_by_role("button", name="Freigeben").click()  # four eyes: klara may not release her own coding
    assert "Die Aktion wurde abgelehnt" in _flash(page)
    history = page.locator(".timeline").inner_text()
    assert "Kontierung geändert" in history and "Aufgabe freigegeben" in history and "klara" in history

    page.get_by_role("button", name="Abmelden").click()
    login(page, "bob")  # another unit: the invoice does not exist for him
    response = page.goto(f"/staff/invoices/{office['approval']}")
    assert response is not None and response.status == 404
    assert "Diese Rechnung gibt es nicht" in page.locator("main").inner_text()
    audit(page)
    page.goto("/staff/tasks")
    assert page.locator("tbody tr").count() == 0

    page.get_by_role("button", name="Abmelden").click()
    login(page, "anton")
    page.goto(f"/staff/invoices/{office['approval']}")
    page.locator("#comment").fill("Preise geprüft")
    page.get_by_role("button", name="Freigeben").click()
    assert "Freigegeben." in _flash(page)
    assert "freigegeben" in page.locator("dl.facts").inner_text()
    screenshot(page, "staff-invoice-approved")


def test_search_duplicates_and_clearing(page: Any, live_server: LiveServer, office: dict[str, str]) -> None:
    login(page, "klara")
    page.get_by_role("link", name="Rechnungssuche").click()
    page.locator("#number").fill("RE-2026-00815")
    page.get_by_role("button", name="Suchen").click()
    assert page.locator("tbody tr").count() == 2  # the original and the re-sent one
    audit(page)
    screenshot(page, "staff-search")

    page.get_by_role("link", name="Dubletten").click()
    assert page.locator("section.result").count() == 1
    audit(page)
    screenshot(page, "staff-duplicates")
    page.get_by_role("button", name="Dublette – ablehnen").click()
    assert "geklärt" in _flash(page)
    assert "Keine Rechnungen mit Dublettenverdacht" in page.locator("main").inner_text()
    response = page.goto("/staff/clearing")
    assert response is not None and response.status == 403  # clearing is for admins

    page.get_by_role("button", name="Abmelden").click()
    login(page, "chefin")
    page.get_by_role("link", name="Klärung").click()
    assert "KL-2026-1" in page.locator("main").inner_text()
    audit(page)
    screenshot(page, "staff-clearing")
    page.get_by_label("Dienststelle").select_option("Bauamt")
    page.get_by_role("button", name="Zuweisen").click()
    assert "zugewiesen" in _flash(page)
    page.get_by_role("button", name="Abmelden").click()
    login(page, "bob")
    assert "KL-2026-1" in page.locator("tbody").inner_text()


def test_keyboard_only_login_and_claim(page: Any, live_server: LiveServer, office: dict[str, str]) -> None:
    """Tab and Enter only: skip link, login form, the task link, the claim button."""
    _upload(live_server, office["token"], make_ubl_invoice(1, number="KB-2026-1", buyer_reference=BAUAMT))
    page.goto("/login")

    def tab_to(check: str, limit: int = 40) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(check):
                return
        raise AssertionError(f"Tab never reached: {check}")

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('skip-link')")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    tab_to("document.activeElement.id === 'name'")
    page.keyboard.type("bob")
    page.keyboard.press("Tab")
    page.keyboard.type("Sicher-genug-2026")
    page.keyboard.press("Enter")
    page.wait_for_url("**/staff/tasks")
    tab_to("document.activeElement.closest('tbody') !== null")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/staff/invoices/\w+$"))
    tab_to("document.activeElement.textContent.trim() === 'Aufgabe übernehmen'")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert "übernommen" in _flash(page)


def test_a_rejection_reaches_the_supplier(page: Any, live_server: LiveServer, office: dict[str, str]) -> None:
    invoice_id = _upload(live_server, office["token"], make_ubl_invoice(1, number="RJ-2026-1", buyer_reference=BAUAMT))
    login(page, "bob")
    page.goto(f"/staff/invoices/{invoice_id}")
    page.get_by_role("button", name="Ablehnen").click()  # a rejection needs a reason
    assert "Die Aktion wurde abgelehnt" in _flash(page)
    page.locator("#comment").fill("Bestellnummer fehlt")
    page.get_by_role("button", name="Ablehnen").click()
    assert "der Lieferant wird benachrichtigt" in _flash(page)
    page.get_by_role("button", name="Abmelden").click()

    login(page, "lieferant")
    page.goto("/portal/invoices?lang=en")
    page.get_by_role("link", name="RJ-2026-1").click()
    notice = page.get_by_role("alert")
    assert "rejected in the approval process" in notice.inner_text() and "Bestellnummer fehlt" in notice.inner_text()
    timeline = page.locator(".timeline").inner_text()
    assert "Rejected in the approval process" in timeline and "bob" not in timeline  # outcome, not internals
    audit(page)
    screenshot(page, "portal-invoice-rejected-en")
