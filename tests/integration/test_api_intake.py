"""The intake API end to end in one process: upload, embedded processing, reads, reports, view, validate.

Real app with its embedded worker, real SQLite ledger in tmp_path, real rule packs and validator.
Expected numbers and totals are read from the documents with XPath here, independently of the
extraction code under test.

An accepted invoice enters its approval workflow at once (issue 4): the samples' Leitweg-ID is the
unit Bauamt's, so they go on to ``in_approval`` (the project's ``public-sector`` workflow); an invoice
whose Leitweg-ID names no unit stays ``accepted`` and waits in the clearing queue.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from starlette.exceptions import StarletteDeprecationWarning

from einvoice import db
from einvoice.accounts import service as accounts
from einvoice.invoice.leitweg import make_leitweg_id
from einvoice.rules.store import RulePackError
from einvoice.samples import (
    make_facturx_pdf,
    make_invalid_ubl_invoice,
    make_ubl_creditnote,
    render_cii,
    render_ubl,
    sample_invoice_data,
)
from einvoice.validation.engine import Validator
from einvoice.web.app import create_app
from tests.conftest import STANDARDS
from tests.services import fresh_process_state

with warnings.catch_warnings():  # starlette asks for httpx2; httpx works the same here
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration

PENDING = {"received", "validating"}
LEITWEG = make_leitweg_id("05315000-BESCH2026")  # the samples' buyer reference
UNCLAIMED = make_leitweg_id("05315000-NIEMAND")  # a valid Leitweg-ID no unit has
INTO_APPROVAL = ["received", "validating", "accepted", "workflow_started", "task_created"]
TO_CLEARING = ["received", "validating", "accepted", "clearing_queued"]
NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "rep": "http://www.xoev.de/de/validator/varl/1",
}
SUITE = sorted((STANDARDS / "xrechnung-testsuite" / "src" / "test").rglob("*.xml"))


@dataclass
class Service:
    client: TestClient
    tokens: dict[str, str]

    def auth(self, name: str = "alice") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def upload(self, data: bytes, name: str = "alice", filename: str = "invoice.xml") -> dict[str, Any]:
        media = "application/pdf" if data.startswith(b"%PDF") else "application/xml"
        response = self.client.post("/api/v1/invoices", content=data,
                                    headers={**self.auth(name), "Content-Type": media, "X-Filename": filename})
        assert response.status_code in (200, 202), response.text
        return response.json()  # type: ignore[no-any-return]

    def wait(self, invoice_id: str, name: str = "alice", timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            response = self.client.get(f"/api/v1/invoices/{invoice_id}", headers=self.auth(name))
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            if body["status"] not in PENDING:
                return body
            assert time.monotonic() < deadline, f"{invoice_id} still {body['status']} after {timeout} s"
            time.sleep(0.1)


@contextmanager
def running_service(data_dir: Path, validator: Validator, monkeypatch: pytest.MonkeyPatch,
                    **env: str) -> Iterator[Service]:
    """A fresh ledger in ``data_dir``, users of every role, and the app with its embedded worker;
    ``env``: further settings by variable name (see ``fresh_process_state``)."""
    with fresh_process_state(monkeypatch, data_dir, validator=validator, **env):
        tokens = {}
        with db.UnitOfWork() as uow:
            accounts.create_unit(uow, "Bauamt", LEITWEG)
            accounts.create_unit(uow, "Kämmerei", make_leitweg_id("05315000-KAEMMEREI"))
            for name, role, unit in (("alice", "supplier", None), ("bob", "supplier", None),
                                     ("root", "admin", None), ("carl", "clerk", "Bauamt"),
                                     ("kim", "clerk", "Kämmerei")):
                accounts.create_user(uow, name, role, unit=unit)
                tokens[name] = accounts.create_token(uow, name).token
            uow.commit()
        with TestClient(create_app(embedded_worker=True), raise_server_exceptions=False) as client:
            yield Service(client, tokens)


@pytest.fixture
def service(tmp_path: Path, validator: Validator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    with running_service(tmp_path / "data", validator, monkeypatch) as running:
        yield running


def expected_terms(xml: bytes) -> tuple[str, Decimal, Decimal]:
    """(invoice number, gross total, amount due) straight from the XML."""
    root = etree.fromstring(xml)
    if root.tag.endswith("CrossIndustryInvoice"):
        summary = ".//ram:SpecifiedTradeSettlementHeaderMonetarySummation"
        return (root.findtext("rsm:ExchangedDocument/ram:ID", namespaces=NS) or "",
                Decimal(root.findtext(f"{summary}/ram:GrandTotalAmount", namespaces=NS) or "nan"),
                Decimal(root.findtext(f"{summary}/ram:DuePayableAmount", namespaces=NS) or "nan"))
    return (root.findtext("cbc:ID", namespaces=NS) or "",
            Decimal(root.findtext("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", namespaces=NS) or "nan"),
            Decimal(root.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS) or "nan"))


def assert_extracted(body: dict[str, Any], xml: bytes) -> None:
    number, gross, due = expected_terms(xml)
    assert body["invoice_number"] == number
    assert Decimal(body["gross_amount"]) == gross
    assert Decimal(body["amount_due"]) == due


def events(body: dict[str, Any]) -> list[str]:
    return [e["event"] for e in body["events"]]


def event(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The payload of the one entry ``name`` in the invoice's history."""
    (payload,) = [e["payload"] for e in body["events"] if e["event"] == name]
    return payload


def unit_id(name: str) -> str:
    with db.UnitOfWork() as uow:
        return accounts.unit_by_name(uow, name).id


# --------------------------------------------------------------------------- processing outcomes


def test_valid_invoices_are_accepted_with_number_and_totals(service: Service) -> None:
    """Accepted (verdict, number, totals), then into the Bauamt's approval workflow; an invoice for a
    Leitweg-ID no unit has is accepted just the same and waits in the clearing queue."""
    ubl = render_ubl(sample_invoice_data(number="RE-API-1"))
    credit = make_ubl_creditnote()
    pdf_data = sample_invoice_data(number="RE-API-PDF")
    pdf = make_facturx_pdf(data=pdf_data)
    unclaimed = render_ubl(sample_invoice_data(number="RE-API-2", buyer_reference=UNCLAIMED))
    ids = [service.upload(ubl)["id"], service.upload(credit)["id"], service.upload(pdf, filename="r.pdf")["id"],
           service.upload(unclaimed)["id"]]
    ubl_body, credit_body, pdf_body, unclaimed_body = (service.wait(i) for i in ids)
    bauamt = unit_id("Bauamt")
    for body, xml in ((ubl_body, ubl), (credit_body, credit), (pdf_body, render_cii(pdf_data)),
                      (unclaimed_body, unclaimed)):
        assert body["validation"]["accepted"] is True, body["validation"]
        assert not [f for f in body["validation"]["findings"] if f["level"] in ("error", "fatal")]
        assert_extracted(body, xml)
        assert body["currency"] == "EUR"
        assert body["data"]["number"] == body["invoice_number"]
        assert event(body, "accepted")["invoice_number"] == body["invoice_number"]
        assert [e["seq"] for e in body["events"]] == sorted(e["seq"] for e in body["events"])
    for body in (ubl_body, credit_body, pdf_body):
        assert body["status"] == "in_approval", events(body)
        assert body["buyer_reference"] == LEITWEG and body["unit_id"] == bauamt
        assert events(body) == INTO_APPROVAL
        started = event(body, "workflow_started")
        assert (started["definition"], started["unit"], started["routed_by"]) == (
            "public-sector", "Bauamt", "leitweg_id")
        assert event(body, "task_created")["stage"] == "factual"
    assert unclaimed_body["status"] == "accepted", events(unclaimed_body)
    assert unclaimed_body["buyer_reference"] == UNCLAIMED and unclaimed_body["unit_id"] is None
    assert events(unclaimed_body) == TO_CLEARING
    assert event(unclaimed_body, "clearing_queued")["buyer_reference"] == UNCLAIMED
    assert (ubl_body["syntax"], ubl_body["container"]) == ("UBL-Invoice", "xml")
    assert credit_body["syntax"] == "UBL-CreditNote"
    assert (pdf_body["syntax"], pdf_body["container"]) == ("CII", "pdf")
    assert ubl_body["scenario"] and ubl_body["scenario"].startswith("xrechnung-3.0")


def test_invalid_invoice_is_rejected_with_findings(service: Service) -> None:
    body = service.wait(service.upload(make_invalid_ubl_invoice())["id"])
    assert body["status"] == "rejected"
    assert body["validation"]["accepted"] is False
    rules = {f["rule"] for f in body["validation"]["findings"] if f["level"] in ("error", "fatal")}
    assert {"BR-CO-10", "BR-CO-15", "BR-DE-15"} <= rules
    assert body["validation"]["reason"]
    assert body["events"][-1]["event"] == "rejected"
    assert "BR-CO-10" in body["events"][-1]["payload"]["rules"]


def test_same_bytes_once_changed_copy_is_a_suspected_duplicate(service: Service) -> None:
    original = render_ubl(sample_invoice_data(number="RE-DUP-1"))
    first = service.upload(original)
    accepted = service.wait(first["id"])
    assert accepted["status"] == "in_approval" and events(accepted) == INTO_APPROVAL
    again = service.client.post("/api/v1/invoices", content=original,
                                headers={**service.auth("bob"), "Content-Type": "application/xml"})
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    assert again.json()["status"] == "in_approval"  # the existing invoice, as it stands
    changed = original.replace(b"</Invoice>", b"<!-- sent again -->\n</Invoice>")
    assert changed != original
    copy = service.wait(service.upload(changed)["id"])
    assert copy["status"] == "duplicate_suspected"
    assert copy["duplicate_of"] == first["id"]
    assert copy["validation"]["accepted"] is True
    assert events(copy) == ["received", "validating", "duplicate_suspected"]  # no workflow for a suspect
    listed = service.client.get("/api/v1/invoices", params={"number": "RE-DUP-1"}, headers=service.auth()).json()
    assert {i["id"] for i in listed["items"]} == {first["id"], copy["id"]}
    dupes = service.client.get("/api/v1/invoices", params={"status": "duplicate_suspected"},
                               headers=service.auth()).json()
    assert [i["id"] for i in dupes["items"]] == [copy["id"]]


# --------------------------------------------------------------------------- reports and view


def test_reports_in_every_format(service: Service) -> None:
    good = service.wait(service.upload(render_ubl(sample_invoice_data(number="RE-REP-1")))["id"])
    bad = service.wait(service.upload(make_invalid_ubl_invoice())["id"])
    for body, accepted in ((good, True), (bad, False)):
        base = f"/api/v1/invoices/{body['id']}/report"
        as_json = service.client.get(base, headers=service.auth())
        assert as_json.status_code == 200 and as_json.headers["content-type"] == "application/json"
        assert as_json.json()["accepted"] is accepted
        html = service.client.get(f"{base}?format=html&lang=en", headers=service.auth())
        assert html.status_code == 200 and html.headers["content-type"] == "text/html; charset=utf-8"
        assert html.text.lstrip().lower().startswith("<!doctype html")
        kosit = service.client.get(f"{base}?format=kosit", headers=service.auth())
        assert kosit.status_code == 200 and kosit.headers["content-type"] == "application/xml"
        report = etree.fromstring(kosit.content)
        assert report.tag == f"{{{NS['rep']}}}report"
        verdict = "accept" if accepted else "reject"
        assert report.find(f"rep:assessment/rep:{verdict}", NS) is not None
        text = service.client.get(f"{base}?format=text", headers=service.auth())
        assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    bad_html = service.client.get(f"/api/v1/invoices/{bad['id']}/report?format=html", headers=service.auth())
    assert "BR-CO-10" in bad_html.text
    unknown = service.client.get(f"/api/v1/invoices/{good['id']}/report?format=pdf", headers=service.auth())
    assert unknown.status_code == 422


def test_view_renders_the_xrechnung_visualisation(service: Service) -> None:
    ubl = service.wait(service.upload(render_ubl(sample_invoice_data(number="RE-VIEW-1")))["id"])
    pdf = service.wait(service.upload(make_facturx_pdf(data=sample_invoice_data(number="RE-VIEW-PDF")))["id"])
    for body, number in ((ubl, "RE-VIEW-1"), (pdf, "RE-VIEW-PDF")):
        view = service.client.get(f"/api/v1/invoices/{body['id']}/view?lang=en", headers=service.auth())
        assert view.status_code == 200, view.text
        assert view.headers["content-type"] == "text/html; charset=utf-8"
        assert "default-src 'none'" in view.headers["content-security-policy"]
        assert number in view.text and "<html" in view.text.lower()
    german = service.client.get(f"/api/v1/invoices/{ubl['id']}/view", headers=service.auth())
    assert 'lang="de"' in german.text
    other = service.wait(service.upload(b"<Order xmlns='urn:example'/>", filename="order.xml")["id"])
    assert other["status"] == "rejected"
    refused = service.client.get(f"/api/v1/invoices/{other['id']}/view", headers=service.auth())
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("this invoice cannot be shown: only UBL Invoice")


# --------------------------------------------------------------------------- visibility after processing


def test_staff_see_the_invoices_of_their_unit_only(service: Service) -> None:
    body = service.wait(service.upload(render_ubl(sample_invoice_data(number="RE-UNIT-1")))["id"])
    assert body["status"] == "in_approval" and body["unit_id"] == unit_id("Bauamt")
    paths = [f"/api/v1/invoices/{body['id']}{suffix}"
             for suffix in ("", "/original", "/report", "/report?format=html", "/report?format=kosit", "/view")]
    for path in paths:
        assert service.client.get(path, headers=service.auth("carl")).status_code == 200, path
        assert service.client.get(path, headers=service.auth("root")).status_code == 200, path
        for outsider in ("kim", "bob"):
            response = service.client.get(path, headers=service.auth(outsider))
            assert response.status_code == 404, (outsider, path)
    assert [i["id"] for i in service.client.get("/api/v1/invoices", headers=service.auth("carl")).json()["items"]] \
        == [body["id"]]
    assert service.client.get("/api/v1/invoices", headers=service.auth("kim")).json()["items"] == []


# --------------------------------------------------------------------------- stateless validation


def _report(response: Any) -> etree._Element:
    assert response.headers["content-type"] == "application/xml"
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{NS['rep']}}}report"
    return root


def test_validate_answers_like_the_kosit_daemon(service: Service) -> None:
    auth = {**service.auth(), "Content-Type": "application/xml"}
    valid = service.client.post("/api/v1/validate", content=render_ubl(sample_invoice_data()), headers=auth)
    assert valid.status_code == 200
    assert _report(valid).find("rep:assessment/rep:accept", NS) is not None
    invalid = service.client.post("/", content=make_invalid_ubl_invoice(), headers=auth)  # daemon path
    assert invalid.status_code == 406
    assert _report(invalid).find("rep:assessment/rep:reject", NS) is not None
    broken = service.client.post("/api/v1/validate", content=b"<Invoice><unclosed></Invoice>", headers=auth)
    assert broken.status_code == 406
    assert _report(broken).find("rep:assessment/rep:reject", NS) is not None
    pdf = service.client.post("/api/v1/validate", content=make_facturx_pdf(),
                              headers={**service.auth(), "Content-Type": "application/pdf"})
    assert pdf.status_code == 200
    untyped = service.client.post("/api/v1/validate", content=render_ubl(sample_invoice_data()),
                                  headers={**service.auth(), "Content-Type": "application/x-www-form-urlencoded"})
    assert untyped.status_code == 200  # curl --data-binary without -H: the content decides
    empty = service.client.post("/api/v1/validate", content=b"", headers=auth)
    assert empty.status_code == 400
    # nothing was stored
    assert service.client.get("/api/v1/invoices", headers=service.auth("root")).json()["items"] == []


def test_validate_gives_422_when_a_check_cannot_run(service: Service, validator: Validator,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_runner(pack: str) -> Any:
        raise RulePackError(f"rule pack {pack!r} is damaged")

    monkeypatch.setattr(validator, "_runner", broken_runner)
    response = service.client.post("/api/v1/validate", content=render_ubl(sample_invoice_data()),
                                   headers={**service.auth(), "Content-Type": "application/xml"})
    assert response.status_code == 422
    root = _report(response)
    assert root.find("rep:assessment/rep:reject", NS) is not None
    assert b"is damaged" in response.content


# --------------------------------------------------------------------------- the KoSIT test suite


def test_every_kosit_testsuite_document_is_accepted_through_the_api(
        tmp_path: Path, validator: Validator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite reuses invoice numbers (30 documents are '1234567' of the same seller), so in one
    ledger the later ones are rightly suspected duplicates (28 rounds today); those go again into
    a fresh ledger until each was accepted once. Every document is checked in every round: valid,
    with its number and totals extracted."""
    assert len(SUITE) == 86
    remaining = list(SUITE)
    rounds = 0
    while remaining:
        rounds += 1
        assert rounds <= len(SUITE), f"{len(remaining)} documents never accepted: {remaining[:5]}"
        again: list[Path] = []
        with running_service(tmp_path / f"round-{rounds}", validator, monkeypatch) as running:
            ids = {path: running.upload(path.read_bytes(), filename=path.name)["id"] for path in remaining}
            for path, invoice_id in ids.items():
                body = running.wait(invoice_id)
                assert body["validation"]["accepted"] is True, (path.name, body["validation"]["reason"])
                assert_extracted(body, path.read_bytes())
                if body["status"] == "duplicate_suspected":
                    assert body["duplicate_of"] in ids.values()
                    again.append(path)
                    continue
                assert body["status"] == "accepted", (path.name, body["status"])
        assert len(again) < len(remaining)
        remaining = again
