"""Acceptance journey of issue 5 in one real browser session, every page audited (axe, WCAG 2.1 A/AA):

a supplier registers with an invitation code, logs in, uploads a valid and an invalid invoice (accepted /
rejected with reasons), types an invoice into the entry form and submits it; a clerk certifies it as
factually correct with the account coding, a second clerk as arithmetically correct (the public-sector
process lets nobody approve twice), an approver orders the payment (Anordnung), and the export hands it
to bookkeeping. This journey runs on PostgreSQL, the production database (the other browser tests on
the embedded SQLite file).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from einvoice.entry.examples import EXAMPLE_LEITWEG_ID, example_form_data
from einvoice.entry.form import flatten_fields
from tests.browser.conftest import PASSWORD, LiveServer, audit, login, screenshot, serving, wait_for
from tests.conftest import ROOT
from tests.integration.test_ledger_pipeline import postgres_url  # noqa: F401  (the throw-away server)
from tests.services import create_database

SAMPLES = ROOT / "samples"
INVITE = """
from einvoice.db import UnitOfWork
from einvoice.portal.registration import create_invitation
with UnitOfWork() as uow:
    code = create_invitation(uow, "admin", "Tischlerei Holzwurm")
    uow.commit()
print(code)
"""


@pytest.fixture(scope="module")
def live_server(rules_dir: Path, tmp_path_factory: pytest.TempPathFactory,
                postgres_url: str) -> Iterator[LiveServer]:  # noqa: F811
    port = int(postgres_url.rsplit(":", 1)[1])
    with serving(rules_dir, tmp_path_factory,
                 database_url=create_database(port, f"journey_{uuid.uuid4().hex[:12]}")) as server:
        yield server


SELECTS = re.compile(r"(country|electronic_scheme|unit|vat_category|charge|reason_code)$")


def _flash(page: Any) -> str:
    return str(page.locator(".flashes").inner_text())


def _fill(page: Any, values: dict[str, str]) -> None:
    """Type the values into the entry form like a person: text fields typed, lists chosen."""
    for name, value in values.items():
        field = page.locator(f"[name='{name}']")
        if field.count() == 0:
            continue
        if SELECTS.search(name):
            field.select_option(value)
        else:
            field.fill(value)


def _type_invoice(page: Any) -> None:
    data = example_form_data()
    values = flatten_fields(data)
    head = {k: v for k, v in values.items() if not k.startswith(("lines.", "adjustments.", "skonto."))}
    page.goto("/entry")
    _fill(page, head)
    assert "gültig (Prüfziffer stimmt)" in page.locator("#leitweg-status").inner_text()
    for _ in range(len(data["lines"]) - 1):  # more rows in the page itself (JavaScript)
        page.get_by_role("button", name="Position hinzufügen").click()
    _fill(page, {k: v for k, v in values.items() if k.startswith("lines.")})
    # allowances/charges and Skonto stages come with a round trip; what was typed is kept
    page.get_by_role("button", name="Nachlass oder Zuschlag hinzufügen").click()
    page.wait_for_load_state()
    _fill(page, {k: v for k, v in values.items() if k.startswith("adjustments.")})
    page.get_by_role("button", name="Skontostufe hinzufügen").click()
    page.wait_for_load_state()
    _fill(page, {k: v for k, v in values.items() if k.startswith("skonto.")})
    assert "693,80 EUR" in page.locator("#totals-preview").inner_text()
    audit(page)
    screenshot(page, "journey-entry-form")


def _approve(page: Any, expected_stage: str) -> None:
    assert expected_stage in page.locator("#task-heading").inner_text()
    page.get_by_role("button", name="Freigeben").click()
    page.wait_for_load_state()
    assert "Freigegeben." in _flash(page), _flash(page)


def test_supplier_to_export(page: Any, live_server: LiveServer, tmp_path: Path) -> None:
    assert live_server.env["EINVOICE_DATABASE_URL"].startswith("postgresql+psycopg://")
    exports = tmp_path / "exports"
    live_server.add_unit("Beschaffung", EXAMPLE_LEITWEG_ID, workflow="public-sector")
    live_server.add_user("klara", "clerk", unit="Beschaffung")
    live_server.add_user("kai", "clerk", unit="Beschaffung")
    live_server.add_user("anton", "approver", unit="Beschaffung")
    live_server.cli("export", "configure", "--unit", "Beschaffung", "--exporter", "csv", "--out", str(exports),
                    "--manual")
    code = live_server.python(INVITE)

    # 1. registration with the invitation code
    page.goto("/portal/register")
    audit(page)
    for field, value in (("name", "holzwurm"), ("email", "rechnung@holzwurm.example"),
                         ("company", "Tischlerei Holzwurm"), ("password", PASSWORD), ("repeat", PASSWORD),
                         ("invitation_code", code)):
        page.locator(f"#{field}").fill(value)
    page.locator("form[action='/portal/register'] button[type=submit]").click()
    page.wait_for_load_state()
    assert "Sie können sich jetzt anmelden" in page.locator("main").inner_text()
    audit(page)
    login(page, "holzwurm")

    # 2. upload: one valid, one invalid invoice, answered at once
    audit(page)
    page.locator("#files").set_input_files([str(SAMPLES / "xrechnung-ubl-invoice.xml"),
                                            str(SAMPLES / "xrechnung-ubl-invalid.xml")])
    page.locator("form[action='/portal/upload'] button[type=submit]").click()
    page.wait_for_url("**/portal/**")
    wait_for("both verdicts", lambda: page.locator("main").inner_text().count("BR-") >= 1
             or page.reload() is None)
    answer = page.locator("main").inner_text()
    assert "BR-CO-10" in answer and "BR-DE-15" in answer  # the invalid one, with its reasons
    audit(page)
    screenshot(page, "journey-upload-answer")

    # 3. an invoice typed into the entry form, checked and submitted
    _type_invoice(page)
    page.get_by_role("button", name="Prüfen und einreichen").click()
    page.wait_for_url("**/portal/invoices/**")
    assert "HW-2026-0042 wurde geprüft und eingereicht" in _flash(page)
    invoice_id = page.url.rstrip("/").rsplit("/", 1)[1]
    audit(page)
    page.get_by_role("button", name="Abmelden").click()

    # 4. a clerk: factual check with the account coding
    login(page, "klara")
    page.goto(f"/staff/invoices/{invoice_id}")
    wait_for("the workflow task", lambda: page.locator("#task-heading").count() == 1 or page.reload() is None)
    audit(page)
    for label, value in (("Sachkonto", "0421"), ("Kostenstelle", "1100"), ("Haushaltsstelle", "11100.52100"),
                         ("Steuerschlüssel", "9")):
        page.get_by_label(f"{label}, Zeile 1").fill(value)
    page.get_by_role("button", name="Kontierung speichern").click()
    page.wait_for_load_state()
    assert "gespeichert" in _flash(page)
    _approve(page, "Sachlich richtig")
    assert "Rechnerisch richtig" in page.locator("#task-heading").inner_text()
    page.get_by_role("button", name="Freigeben").click()  # four eyes: nobody certifies twice
    page.wait_for_load_state()
    assert "Die Aktion wurde abgelehnt" in _flash(page)
    audit(page)
    screenshot(page, "journey-staff-factual")
    page.get_by_role("button", name="Abmelden").click()

    # the public-sector process also wants the arithmetic check, by yet another person
    login(page, "kai")
    page.goto(f"/staff/invoices/{invoice_id}")
    _approve(page, "Rechnerisch richtig")
    page.get_by_role("button", name="Abmelden").click()

    # 5. a different person orders the payment
    login(page, "anton")
    page.goto(f"/staff/invoices/{invoice_id}")
    page.locator("#comment").fill("Anordnung erteilt")
    _approve(page, "Anordnung")
    audit(page)

    # 6. export to bookkeeping (the manual exporter run), visible in the invoice's history
    live_server.cli("export", "run", "--exporter", "csv", "--out", str(exports))
    files = list(exports.glob("*.csv"))
    assert len(files) == 1 and "HW-2026-0042" in files[0].read_text(encoding="utf-8")
    page.reload()
    assert "exportiert" in page.locator(".timeline").inner_text().lower()
    audit(page)
    screenshot(page, "journey-exported")
