"""The entry form pages in one process: real app, SQLite ledger in tmp_path, real rules, embedded worker.

A supplier types an invoice, adds lines without JavaScript, calculates, saves and reuses drafts,
downloads the XML and submits it; the document reaches the ledger through the portal channel and is
accepted. Authorisation and CSRF are checked on the way.
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from starlette.exceptions import StarletteDeprecationWarning

from einvoice import db
from einvoice.accounts import service as accounts
from einvoice.config import get_settings
from einvoice.entry import service
from einvoice.entry.examples import EXAMPLE_LEITWEG_ID, example_form_data
from einvoice.entry.form import InvoiceForm, flatten_fields
from einvoice.intake import service as intake
from einvoice.ledger.models import Invoice
from einvoice.validation.engine import Validator
from einvoice.validation.model import Finding, Level, StepKind, StepResult, ValidationResult
from einvoice.web.app import create_app
from tests.services import fresh_process_state

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration

PASSWORD = "Sicher-genug-2026"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextmanager
def running_app(data_dir: Path, validator: Validator, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A migrated SQLite ledger in ``data_dir``, a unit, two suppliers and a clerk, and the app."""
    with fresh_process_state(monkeypatch, data_dir, validator=validator):
        with db.UnitOfWork() as uow:
            accounts.create_unit(uow, "Beschaffung", EXAMPLE_LEITWEG_ID)
            for name, role, unit in (("sam", "supplier", None), ("sue", "supplier", None),
                                     ("carl", "clerk", "Beschaffung")):
                accounts.create_user(uow, name, role, unit=unit, password=PASSWORD)
            uow.commit()
        with TestClient(create_app(embedded_worker=True), raise_server_exceptions=True) as client:
            yield client


@pytest.fixture
def app_client(tmp_path: Path, validator: Validator, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with running_app(tmp_path / "data", validator, monkeypatch) as client:
        yield client


def login(client: TestClient, name: str) -> str:
    client.cookies.clear()
    token = CSRF.search(client.get("/login").text)
    assert token is not None
    response = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token.group(1)},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf(client)


def csrf(client: TestClient, path: str = "/entry") -> str:
    found = CSRF.search(client.get(path).text)
    assert found is not None
    return found.group(1)


def post(client: TestClient, token: str, data: dict[str, Any], action: str, draft_id: str | None = None) -> Any:
    fields = {**flatten_fields(data), "csrf_token": token, "action": action}
    if draft_id:
        fields["draft_id"] = draft_id
    return client.post("/entry", data=fields, follow_redirects=False)


def wait_final(invoice_id: str) -> Invoice:
    deadline = time.monotonic() + 120
    while True:
        with db.UnitOfWork() as uow:
            invoice = uow.session.get(Invoice, invoice_id)
            assert invoice is not None
            if invoice.status not in intake.PENDING:
                return invoice
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_supplier_types_saves_reuses_downloads_and_submits(app_client: TestClient) -> None:
    token = login(app_client, "sam")
    data = example_form_data()

    page = app_client.get("/entry")
    assert page.status_code == 200
    assert 'name="buyer.leitweg_id"' in page.text and "/static/entry.js" in page.text

    # without JavaScript: "add line" is a submit button; the page comes back with one more row
    more = post(app_client, token, data, "add_lines")
    assert more.status_code == 200
    assert 'name="lines.3.name"' in more.text and 'name="lines.4.name"' not in more.text
    fewer = post(app_client, token, data, "remove_lines:0")
    assert 'name="lines.2.name"' not in fewer.text

    calculated = post(app_client, token, data, "calculate")
    assert calculated.status_code == 200
    assert "693,80 EUR" in calculated.text  # the server's authoritative total

    wrong = example_form_data()
    wrong["buyer"]["leitweg_id"] = EXAMPLE_LEITWEG_ID[:-2] + "00"
    refused = post(app_client, token, wrong, "submit")
    assert refused.status_code == 422
    assert 'href="#f-buyer-leitweg_id"' in refused.text and 'aria-invalid="true"' in refused.text

    download = post(app_client, token, data, "download")
    assert download.status_code == 200
    assert download.headers["content-disposition"] == 'attachment; filename="HW-2026-0042.xml"'
    assert etree.fromstring(download.content).findtext(
        "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}BuyerReference") == EXAMPLE_LEITWEG_ID

    saved = post(app_client, token, data, "save")
    assert saved.status_code == 303
    draft_id = saved.headers["location"].split("draft=")[1]
    assert "HW-2026-0042" in app_client.get(f"/entry?draft={draft_id}").text

    submitted = post(app_client, token, data, "submit", draft_id)
    assert submitted.status_code == 303, submitted.text
    invoice_id = submitted.headers["location"].rsplit("/", 1)[1]
    invoice = wait_final(invoice_id)
    again = post(app_client, token, data, "submit", draft_id)  # a double click: same bytes, same invoice
    assert again.headers["location"].endswith(invoice_id)
    assert (invoice.channel, invoice.status != "rejected") == ("portal", True)
    with db.UnitOfWork() as uow:
        sam = accounts.user_by_name(uow, "sam")
        assert invoice.sender == sam.id
        entries = service.list_drafts(uow, sam.id)
    assert [(e.status, e.invoice_id) for e in entries] == [("submitted", invoice_id)]

    # the seller data is remembered for the next invoice
    assert 'value="Tischlerei Holzwurm Inh. Kai Brandt"' in app_client.get("/entry").text

    # reuse: copy the submitted invoice into a new draft without number and dates
    drafts_page = app_client.get("/entry/drafts")
    assert drafts_page.status_code == 200 and "HW-2026-0042" in drafts_page.text
    copied = app_client.post(f"/entry/drafts/{draft_id}/copy", data={"csrf_token": token}, follow_redirects=False)
    assert copied.status_code == 303
    copy_page = app_client.get(copied.headers["location"])
    assert 'value="Arbeitszeit Tischlermeister"' in copy_page.text
    assert 'id="f-number" name="number" type="text" value=""' in copy_page.text


def test_two_hundred_lines_with_item_numbers_fit_in_one_form(app_client: TestClient) -> None:
    """The form's limit is the model's (200 lines), not the form parser's field cap."""
    from einvoice.entry.form import MAX_LINES

    token = login(app_client, "sam")
    data = example_form_data()
    template = data["lines"][0]
    data["lines"] = [{**template, "name": f"Position {n}", "item_id": f"ART-{n:04d}"} for n in range(1, MAX_LINES + 1)]
    download = post(app_client, token, data, "download")
    assert download.status_code == 200, download.text[:2000]
    ubl = {"cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
           "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}
    document = etree.fromstring(download.content)
    ids = document.xpath("//cac:InvoiceLine/cac:Item/cac:SellersItemIdentification/cbc:ID/text()", namespaces=ubl)
    assert ids == [f"ART-{n:04d}" for n in range(1, MAX_LINES + 1)]
    data["lines"].append({**template, "name": "one too many"})
    refused = post(app_client, token, data, "calculate")
    assert refused.status_code == 422


def test_drafts_are_private_and_forms_need_the_csrf_token(app_client: TestClient) -> None:
    token = login(app_client, "sam")
    saved = post(app_client, token, example_form_data(), "save")
    draft_id = saved.headers["location"].split("draft=")[1]
    assert app_client.post("/entry", data={**flatten_fields(example_form_data()), "action": "save"},
                           follow_redirects=False).status_code == 403
    assert app_client.post(f"/entry/drafts/{draft_id}/copy", follow_redirects=False).status_code == 403

    other = login(app_client, "sue")
    assert app_client.get(f"/entry?draft={draft_id}").status_code == 404
    assert app_client.post(f"/entry/drafts/{draft_id}/copy", data={"csrf_token": other},
                           follow_redirects=False).status_code == 404
    assert app_client.post(f"/entry/drafts/{draft_id}/delete", data={"csrf_token": other},
                           follow_redirects=False).status_code == 404

    login(app_client, "carl")
    assert app_client.get("/entry").status_code == 403  # staff do not write invoices


def test_a_document_the_rules_reject_is_not_submitted(app_client: TestClient) -> None:
    form = InvoiceForm.model_validate(example_form_data())

    def rejecting(f: InvoiceForm) -> tuple[bytes, ValidationResult]:
        finding = Finding(rule="BR-DE-15", level=Level.ERROR, step="xrechnung-ubl", message="missing")
        step = StepResult(id="xrechnung-ubl", kind=StepKind.SCHEMATRON, findings=[finding])
        return b"<x/>", ValidationResult(file="x.xml", sha256="0", accepted=False, scenario=None, syntax=None,
                                         steps=[step])

    with db.UnitOfWork() as uow:
        user_id = accounts.user_by_name(uow, "sam").id
    outcome = service.submit(form, example_form_data(), user_id=user_id, checker=rejecting)
    assert not outcome.accepted and outcome.invoice_id is None
    assert [f.rule for f in outcome.findings] == ["BR-DE-15"]
    with db.UnitOfWork() as uow:
        assert uow.session.query(Invoice).count() == 0


def test_without_rule_packs_nothing_is_submitted_unchecked(app_client: TestClient, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    token = login(app_client, "sam")
    monkeypatch.setenv("EINVOICE_RULES_DIR", str(tmp_path / "no-rules"))
    get_settings.cache_clear()
    intake.install_validator(None)  # the next check builds a validator from the (empty) rules folder
    answer = post(app_client, token, example_form_data(), "submit")
    assert answer.status_code == 503
    assert "nicht eingereicht" in answer.text
    with db.UnitOfWork() as uow:
        assert uow.session.query(Invoice).count() == 0
