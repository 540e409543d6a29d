"""Two people take an uploaded invoice from the workqueue to bookkeeping (company workflow).

The cost-centre owner checks and codes it (factual check), an approver releases the payment, the
export hands it over. The cost-centre owner cannot release it as well (four eyes). Pages audited.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from einvoice.invoice.leitweg import make_leitweg_id
from einvoice.samples import make_ubl_invoice
from tests.browser.conftest import LiveServer, audit, login, screenshot, wait_for

LEITWEG = make_leitweg_id("05315000-EINKAUF")


def _flash(page: Any) -> str:
    return str(page.locator(".flashes").inner_text())


def _decide(page: Any, stage: str) -> str:
    assert stage in page.locator("#task-heading").inner_text()
    page.get_by_role("button", name="Freigeben").click()
    page.wait_for_load_state()
    return _flash(page)


def test_cost_centre_owner_and_approver_take_it_to_export(page: Any, live_server: LiveServer,
                                                          tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    live_server.add_unit("Einkauf", LEITWEG, workflow="company")
    live_server.add_user("kostenstelle", "clerk", unit="Einkauf")
    live_server.add_user("freigabe", "approver", unit="Einkauf")
    live_server.add_user("lieferant", "supplier")
    live_server.cli("export", "configure", "--unit", "Einkauf", "--exporter", "csv", "--out", str(exports),
                    "--manual")
    invoice = tmp_path / "RE-EINKAUF-1.xml"
    invoice.write_bytes(make_ubl_invoice(number="RE-EINKAUF-1", buyer_reference=LEITWEG))

    login(page, "lieferant")
    page.locator("#files").set_input_files(str(invoice))
    page.locator("form[action='/portal/upload'] button[type=submit]").click()
    page.wait_for_url("**/portal/**")
    page.get_by_role("button", name="Abmelden").click()

    login(page, "kostenstelle")
    page.goto("/staff/tasks")
    wait_for("the task", lambda: page.locator("tbody tr").count() == 1 or page.reload() is None)
    page.locator("tbody tr a").first.click()
    page.wait_for_load_state()
    for label, value in (("Sachkonto", "4930"), ("Kostenstelle", "2200"), ("Steuerschlüssel", "9")):
        page.get_by_label(f"{label}, Zeile 1").fill(value)
    page.get_by_role("button", name="Kontierung speichern").click()
    page.wait_for_load_state()
    assert "Freigegeben." in _decide(page, "Kostenstellenfreigabe")
    assert "Die Aktion wurde abgelehnt" in _decide(page, "Zahlungsfreigabe")  # not the same person
    audit(page)
    invoice_url = page.url
    page.get_by_role("button", name="Abmelden").click()

    login(page, "freigabe")
    page.goto(invoice_url)
    assert "Freigegeben." in _decide(page, "Zahlungsfreigabe")
    audit(page)
    screenshot(page, "company-released")

    live_server.cli("export", "run", "--exporter", "csv", "--out", str(exports))
    files = list(exports.glob("*.csv"))
    assert len(files) == 1 and "RE-EINKAUF-1" in files[0].read_text(encoding="utf-8")
    page.reload()
    assert "exportiert" in page.locator(".timeline").inner_text().lower()
