"""Intake API without rule packs: authentication, roles, upload forms, ledger reads and who sees what.

Real app, real SQLite ledger and blob store in tmp_path, real ``submit``; no worker runs, so the
uploads stay ``received`` (processing is covered by tests/integration/test_api_intake.py).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from einvoice import db
from einvoice.accounts import service as accounts
from einvoice.invoice.leitweg import make_leitweg_id
from einvoice.samples import render_ubl, sample_invoice_data
from tests.services import fresh_process_state

with warnings.catch_warnings():  # starlette asks for httpx2; httpx works the same here
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from einvoice.web.app import create_app

ROLES = {"alice": "supplier", "bob": "supplier", "mail": "connector", "carl": "clerk",
         "anna": "approver", "root": "admin"}


@dataclass
class World:
    client: TestClient
    tokens: dict[str, str]
    user_ids: dict[str, str]
    data_dir: Path

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def upload(self, name: str, data: bytes, filename: str = "invoice.xml") -> dict[str, str]:
        response = self.client.post("/api/v1/invoices", content=data,
                                    headers={**self.auth(name), "Content-Type": "application/xml",
                                             "X-Filename": filename})
        assert response.status_code == 202, response.text
        return response.json()  # type: ignore[no-any-return]


def invoice(number: str) -> bytes:
    return render_ubl(sample_invoice_data(number=number))


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with fresh_process_state(monkeypatch, tmp_path / "data") as data:
        tokens, ids = {}, {}
        with db.UnitOfWork() as uow:
            accounts.create_unit(uow, "Bauamt", make_leitweg_id("05315000-BESCH2026"))
            for name, role in ROLES.items():
                unit = "Bauamt" if role in ("clerk", "approver") else None
                ids[name] = accounts.create_user(uow, name, role, unit=unit).id
                tokens[name] = accounts.create_token(uow, name).token
            uow.commit()
        with TestClient(create_app()) as client:
            yield World(client, tokens, ids, data)


# --------------------------------------------------------------------------- authentication


def test_every_endpoint_needs_a_valid_token(world: World) -> None:
    created = world.upload("alice", invoice("A-1"))
    revoked = world.tokens["bob"]
    with db.UnitOfWork() as uow:
        accounts.revoke_token(uow, revoked)
        uow.commit()
    iid = created["id"]
    calls = [("POST", "/api/v1/invoices"), ("GET", "/api/v1/invoices"), ("GET", f"/api/v1/invoices/{iid}"),
             ("GET", f"/api/v1/invoices/{iid}/original"), ("GET", f"/api/v1/invoices/{iid}/report"),
             ("GET", f"/api/v1/invoices/{iid}/view"), ("POST", "/api/v1/validate"), ("POST", "/")]
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": f"Basic {revoked}"},
                    {"Authorization": f"Bearer {revoked}"}):
        for method, path in calls:
            response = world.client.request(method, path, headers={**headers, "Content-Type": "application/xml"},
                                            content=b"<x/>" if method == "POST" else None)
            assert response.status_code == 401, (method, path, headers, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
            assert response.json() == {"detail": "missing or invalid bearer token"}


def test_approvers_may_not_upload_but_other_roles_may(world: World) -> None:
    response = world.client.post("/api/v1/invoices", content=invoice("A-2"),
                                 headers={**world.auth("anna"), "Content-Type": "application/xml"})
    assert response.status_code == 403
    assert "approver" in response.json()["detail"]
    for n, name in enumerate(("alice", "mail", "carl", "root")):
        assert world.upload(name, invoice(f"R-{n}"))["status"] == "received"


# --------------------------------------------------------------------------- upload


def test_raw_upload_is_committed_before_the_answer(world: World) -> None:
    data = invoice("A-3")
    response = world.client.post("/api/v1/invoices?filename=ignored.xml", content=data,
                                 headers={**world.auth("alice"), "Content-Type": "application/xml",
                                          "X-Filename": "rechnung A-3.xml"})
    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"id", "status", "duplicate_of"}
    assert body["status"] == "received" and body["duplicate_of"] is None
    assert response.headers["location"].endswith(f"/api/v1/invoices/{body['id']}")
    # committed: a fresh unit of work (another connection) sees the row and its journal entry
    from einvoice.ledger.models import Invoice, JournalEntry

    with db.UnitOfWork() as uow:
        row = uow.session.get(Invoice, body["id"])
        assert row is not None
        assert (row.channel, row.sender, row.filename, row.content_type, row.size) == (
            "api", world.user_ids["alice"], "rechnung A-3.xml", "application/xml", len(data))
        assert row.sha256 == hashlib.sha256(data).hexdigest()
        events = [e.event for e in uow.session.query(JournalEntry).filter_by(invoice_id=row.id)]
        assert events == ["received"]
        sha = row.sha256
    blob = world.data_dir / "blobs" / sha[:2] / sha[2:4] / sha
    assert blob.read_bytes() == data


def test_multipart_upload_and_identical_bytes_give_the_same_invoice(world: World) -> None:
    data = invoice("A-4")
    first = world.client.post("/api/v1/invoices", files={"file": ("a4.xml", data, "text/xml")},
                              headers=world.auth("alice"))
    assert first.status_code == 202, first.text
    again = world.client.post("/api/v1/invoices", content=data,
                              headers={**world.auth("alice"), "Content-Type": "application/octet-stream"})
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    detail = world.client.get(f"/api/v1/invoices/{first.json()['id']}", headers=world.auth("alice")).json()
    assert detail["filename"] == "a4.xml" and detail["content_type"] == "text/xml"
    assert [e["event"] for e in detail["events"]] == ["received", "received_again"]


def test_bad_uploads_are_refused_precisely(world: World) -> None:
    auth = world.auth("alice")
    empty = world.client.post("/api/v1/invoices", content=b"", headers={**auth, "Content-Type": "application/xml"})
    assert empty.status_code == 400 and empty.json() == {"detail": "the document is empty"}
    wrong = world.client.post("/api/v1/invoices", content=b"{}", headers={**auth, "Content-Type": "application/json"})
    assert wrong.status_code == 415 and "multipart/form-data" in wrong.json()["detail"]
    no_file = world.client.post("/api/v1/invoices", files={"other": ("a.xml", b"<a/>", "text/xml")}, headers=auth)
    assert no_file.status_code == 400 and "'file'" in no_file.json()["detail"]
    with db.UnitOfWork() as uow:
        from einvoice.ledger.models import Invoice

        assert uow.session.query(Invoice).count() == 0


# --------------------------------------------------------------------------- reading


def test_detail_has_every_ledger_field_and_the_journal(world: World) -> None:
    data = invoice("A-5")
    iid = world.upload("alice", data, "a5.xml")["id"]
    detail = world.client.get(f"/api/v1/invoices/{iid}", headers=world.auth("alice"))
    assert detail.status_code == 200
    body = detail.json()
    for field in ("received_at", "channel", "sender", "filename", "content_type", "sha256", "size", "status",
                  "container", "syntax", "scenario", "profile", "invoice_number", "issue_date", "seller_name",
                  "currency", "gross_amount", "amount_due", "due_date", "data", "validation", "duplicate_of",
                  "events"):
        assert field in body, field
    assert body["sha256"] == hashlib.sha256(data).hexdigest() and body["size"] == len(data)
    assert body["received_at"].endswith("Z") or body["received_at"].endswith("+00:00")
    assert body["validation"] == {"accepted": None, "reason": "", "scenario": None, "findings": []}
    (event,) = body["events"]
    assert event["seq"] >= 1 and event["event"] == "received" and event["actor"] == world.user_ids["alice"]
    assert event["payload"]["sha256"] == body["sha256"]


def test_original_gives_the_unchanged_bytes(world: World) -> None:
    data = invoice("A-6")
    iid = world.upload("alice", data, "Rechnung%20%C3%84-6.xml")["id"]  # X-Filename, percent-encoded
    response = world.client.get(f"/api/v1/invoices/{iid}/original", headers=world.auth("alice"))
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "application/xml"
    assert response.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"Rechnung _-6.xml\"; filename*=UTF-8''Rechnung%20%C3%84-6.xml")
    cached = world.client.get(f"/api/v1/invoices/{iid}/original",
                              headers={**world.auth("alice"), "If-None-Match": response.headers["etag"]})
    assert cached.status_code == 304 and cached.content == b""


def test_original_never_serves_active_content_types(world: World) -> None:
    data = invoice("A-7")
    created = world.client.post("/api/v1/invoices", files={"file": ("x.html", data, "text/html")},
                                headers=world.auth("alice"))
    response = world.client.get(f"/api/v1/invoices/{created.json()['id']}/original", headers=world.auth("alice"))
    assert response.content == data
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-content-type-options"] == "nosniff"


def test_missing_blob_is_a_clear_server_error(world: World) -> None:
    data = invoice("A-8")
    iid = world.upload("alice", data)["id"]
    sha = hashlib.sha256(data).hexdigest()
    blob = world.data_dir / "blobs" / sha[:2] / sha[2:4] / sha
    blob.chmod(0o600)
    blob.write_bytes(data + b"<!-- changed -->")
    response = world.client.get(f"/api/v1/invoices/{iid}/original", headers=world.auth("alice"))
    assert response.status_code == 500
    assert "missing or changed" in response.json()["detail"]
    assert "Traceback" not in response.text


def test_list_filters_and_cursor_pagination(world: World) -> None:
    ids = [world.upload("alice", invoice(f"P-{n}"))["id"] for n in range(5)]
    world.upload("bob", invoice("P-bob"))
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = world.client.get("/api/v1/invoices", params=params, headers=world.auth("alice")).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and seen == list(reversed(ids))  # newest first, nobody else's, no repeats
    received = world.client.get("/api/v1/invoices", params={"status": "received"}, headers=world.auth("alice"))
    assert len(received.json()["items"]) == 5
    accepted = world.client.get("/api/v1/invoices", params={"status": "accepted"}, headers=world.auth("alice"))
    assert accepted.json() == {"items": [], "next_cursor": None}
    future = world.client.get("/api/v1/invoices", params={"received_from": "2999-01-01T00:00:00Z"},
                              headers=world.auth("alice"))
    assert future.json()["items"] == []
    everything = world.client.get("/api/v1/invoices", params={"limit": 200}, headers=world.auth("root"))
    assert len(everything.json()["items"]) == 6


def test_list_refuses_bad_parameters(world: World) -> None:
    auth = world.auth("alice")
    assert world.client.get("/api/v1/invoices", params={"limit": 201}, headers=auth).status_code == 422
    assert world.client.get("/api/v1/invoices", params={"status": "paid-twice"}, headers=auth).status_code == 422
    bad = world.client.get("/api/v1/invoices", params={"cursor": "!!notacursor"}, headers=auth)
    assert bad.status_code == 400 and "cursor" in bad.json()["detail"]
    dates = world.client.get("/api/v1/invoices", params={"issued_from": "yesterday"}, headers=auth)
    assert dates.status_code == 422 and dates.json()["detail"][0]["loc"] == ["query", "issued_from"]


# --------------------------------------------------------------------------- who sees what


def _endpoints(iid: str) -> list[str]:
    base = f"/api/v1/invoices/{iid}"
    return [base, f"{base}/original", f"{base}/report", f"{base}/report?format=json",
            f"{base}/report?format=html", f"{base}/report?format=kosit", f"{base}/view"]


def test_a_supplier_cannot_read_another_suppliers_invoice_on_any_endpoint(world: World) -> None:
    iid = world.upload("alice", invoice("S-1"))["id"]
    unknown = "0" * 32
    for path in _endpoints(iid):
        response = world.client.get(path, headers=world.auth("bob"))
        assert response.status_code == 404, (path, response.status_code)
        assert response.json() == {"detail": f"no invoice {iid!r}"}
        # exactly the answer for an id that does not exist: existence cannot be probed
        other = world.client.get(path.replace(iid, unknown), headers=world.auth("bob"))
        assert other.status_code == 404 and other.json() == {"detail": f"no invoice {unknown!r}"}
    listed = world.client.get("/api/v1/invoices", headers=world.auth("bob")).json()
    assert listed["items"] == []
    by_number = world.client.get("/api/v1/invoices", params={"number": "S-1"}, headers=world.auth("bob")).json()
    assert by_number["items"] == []
    # connectors see what they handed over, and only that
    for path in _endpoints(iid):
        assert world.client.get(path, headers=world.auth("mail")).status_code == 404, path


def test_owner_and_admin_can_read_staff_only_their_units(world: World) -> None:
    iid = world.upload("alice", invoice("S-2"))["id"]
    readable = _endpoints(iid)[:2]  # report/view need rule packs (integration tests)
    for name in ("alice", "root"):
        for path in readable:
            assert world.client.get(path, headers=world.auth(name)).status_code == 200, (name, path)
    # not processed yet, so not assigned to the clerk's unit: invisible to staff
    for name in ("carl", "anna"):
        for path in _endpoints(iid):
            assert world.client.get(path, headers=world.auth(name)).status_code == 404, (name, path)
        assert world.client.get("/api/v1/invoices", headers=world.auth(name)).json()["items"] == []
