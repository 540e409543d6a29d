"""Dashboard and admin pages on the real app (SQLite ledger, real rules, embedded worker)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from einvoice import db
from einvoice.accounts import service as accounts
from einvoice.accounts.models import User
from einvoice.entry import service
from einvoice.entry.examples import example_form_data
from einvoice.entry.form import InvoiceForm
from einvoice.portal import registration
from einvoice.validation.engine import Validator
from einvoice.workflow import people
from einvoice.workflow.models import Substitute
from tests.integration.test_entry_pages import PASSWORD, TestClient, login, running_app, wait_final

pytestmark = pytest.mark.integration


@pytest.fixture
def app_client(tmp_path: Path, validator: Validator, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with running_app(tmp_path / "data", validator, monkeypatch) as client:
        yield client


def _staff() -> None:
    with db.UnitOfWork() as uow:
        accounts.create_user(uow, "root", "admin", password=PASSWORD)
        accounts.create_user(uow, "anna", "approver", unit="Beschaffung", password=PASSWORD)
        uow.commit()


def _submit_today() -> str:
    data = example_form_data()
    today = date.today()
    data.update(issue_date=today.isoformat(), delivery_date=today.isoformat(),
                due_date=(today + timedelta(days=30)).isoformat())
    with db.UnitOfWork() as uow:
        sam = accounts.user_by_name(uow, "sam").id
    outcome = service.submit(InvoiceForm.model_validate(data), data, user_id=sam)
    assert outcome.accepted and outcome.invoice_id
    wait_final(outcome.invoice_id)
    return outcome.invoice_id


def _figure(html: str, label: str) -> str:
    found = re.search(re.escape(label) + r'</p><p class="value">([^<]+)</p>', html)
    assert found is not None, label
    return found.group(1)


def test_dashboard_counts_intake_tasks_and_skonto_for_leads_only(app_client: TestClient) -> None:
    _staff()
    _submit_today()
    login(app_client, "root")
    page = app_client.get("/dashboard?days=7")
    assert page.status_code == 200
    html = page.text
    assert _figure(html, "Eingegangene Rechnungen") == "1"
    assert _figure(html, "Skonto noch offen") == "1"
    assert 'role="img" aria-labelledby="intake-title intake-desc"' in html
    assert html.count("<rect ") == 1  # one bar segment: today's portal invoice
    assert re.search(r"<th scope=\"row\">0 bis 2 Tage</th><td class=\"num\">1</td>", html)

    login(app_client, "anna")  # an approver sees their own unit
    assert _figure(app_client.get("/dashboard").text, "Eingegangene Rechnungen") == "1"
    login(app_client, "carl")
    assert app_client.get("/dashboard").status_code == 403
    login(app_client, "sam")
    assert app_client.get("/dashboard").status_code == 403


def test_admin_manages_users_units_registrations_substitutes_and_sees_rule_packs(app_client: TestClient) -> None:
    _staff()
    with db.UnitOfWork() as uow:
        pending = registration.register(uow, registration.RegistrationRequest(
            name="neu-lieferant", email="neu@example.org", company="Neu GmbH", vat_id="", password=PASSWORD))
        pending_id = pending.id
        uow.commit()
    token = login(app_client, "root")

    def post(path: str, **data: str) -> None:
        response = app_client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)
        assert response.status_code == 303, response.text
        follow = app_client.get(response.headers["location"])
        assert 'class="flash flash-success"' in follow.text, follow.text[-2000:]

    page = app_client.get("/admin")
    assert page.status_code == 200 and "neu-lieferant" in page.text
    post(f"/admin/registrations/{pending_id}/approve")
    post("/admin/units", name="Kämmerei")
    post("/admin/users", name="kurt", role="clerk", unit="Kämmerei", email="kurt@example.org", password=PASSWORD)
    with db.UnitOfWork() as uow:
        kurt = accounts.user_by_name(uow, "kurt")
        unit_id = accounts.unit_by_name(uow, "Kämmerei").id
        assert accounts.user_by_name(uow, "neu-lieferant").active
    post(f"/admin/users/{kurt.id}/update", role="approver", unit="Kämmerei")
    post(f"/admin/users/{kurt.id}/active", active="false")
    post(f"/admin/units/{unit_id}/settings", workflow="public-sector", lead="kurt")
    post("/admin/substitutes", absent="anna", substitute="root", valid_from="2026-01-01", valid_to="2026-12-31")
    with db.UnitOfWork() as uow:
        kurt = accounts.user_by_name(uow, "kurt")
        assert (kurt.role, kurt.active) == ("approver", False)
        settings = people.configure_unit(uow, "Kämmerei")
        assert (settings.workflow, settings.lead_user_id) == ("public-sector", kurt.id)
        substitute_id = uow.session.scalars(select(Substitute.id)).one()
    post(f"/admin/substitutes/{substitute_id}/delete")

    # bad input is refused with a message, not an error page
    refused = app_client.post("/admin/units", data={"csrf_token": token, "name": "X", "leitweg_id": "123-45"},
                              follow_redirects=True)
    assert 'class="flash flash-error"' in refused.text
    # an admin cannot lock themselves out
    with db.UnitOfWork() as uow:
        root_id = uow.session.scalars(select(User.id).where(User.name == "root")).one()
    app_client.post(f"/admin/users/{root_id}/active", data={"csrf_token": token, "active": "false"})
    with db.UnitOfWork() as uow:
        assert accounts.user_by_name(uow, "root").active

    rules = app_client.get("/admin/rules")
    assert rules.status_code == 200 and "xrechnung" in rules.text.lower()
    for path in ("/admin/units", "/admin/substitutes"):
        assert app_client.get(path).status_code == 200
    assert app_client.post("/admin/units", data={"name": "ohne-token"}, follow_redirects=False).status_code == 403

    login(app_client, "anna")
    assert app_client.get("/admin").status_code == 403
