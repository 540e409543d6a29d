"""The real server over real HTTP: uvicorn in a subprocess on a loopback port, a temporary data dir.

Accounts are made with the accounts CLI in their own processes, exactly as an operator would.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from einvoice.samples import make_facturx_pdf, make_invalid_ubl_invoice, render_ubl, sample_invoice_data
from tests.conftest import ROOT
from tests.services import einvoice_server, service_env

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

REP = "{http://www.xoev.de/de/validator/varl/1}"
LIMIT = 2_000_000


def _cli(env: dict[str, str], app: str, *args: str, stdin: str | None = None) -> str:
    """Run one of the accounts Typer apps in its own process; returns stdout."""
    code = f"from einvoice.accounts.cli import {app}; {app}(prog_name='einvoice')"
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@dataclass
class Server:
    url: str
    tokens: dict[str, str]
    log: Path

    def auth(self, name: str = "alice") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


@pytest.fixture(scope="module")
def server(rules_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("http-service")
    env = service_env(rules_dir, home / "data", max_document_bytes=str(LIMIT))
    tokens = {}
    for name in ("alice", "bob"):
        _cli(env, "users_app", "add", name, "--role", "supplier")
        tokens[name] = _cli(env, "tokens_app", "create", "--user", name).strip()
    log = home / "server.log"
    with einvoice_server(env, log, timeout=60) as url:
        yield Server(url, tokens, log)


def _wait(client: httpx.Client, server: Server, invoice_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/v1/invoices/{invoice_id}", headers=server.auth())
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] not in ("received", "validating"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.2)


def test_ready_and_documented(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "rules": "ok"}
        assert client.get("/docs").status_code == 200
        assert "/api/v1/invoices" in client.get("/openapi.json").json()["paths"]


def test_upload_process_and_read_back_over_http(server: Server) -> None:
    xml = render_ubl(sample_invoice_data(number="E2E-1"))
    pdf = make_facturx_pdf(data=sample_invoice_data(number="E2E-PDF"))
    with httpx.Client(base_url=server.url, timeout=60) as client:
        created = client.post("/api/v1/invoices", content=xml,
                              headers={**server.auth(), "Content-Type": "application/xml", "X-Filename": "e2e-1.xml"})
        assert created.status_code == 202, created.text
        invoice_id = created.json()["id"]
        assert created.headers["location"] == f"{server.url}/api/v1/invoices/{invoice_id}"
        form = client.post("/api/v1/invoices", files={"file": ("e2e.pdf", pdf, "application/pdf")},
                           headers=server.auth())
        assert form.status_code == 202, form.text
        again = client.post("/api/v1/invoices", content=xml,
                            headers={**server.auth(), "Content-Type": "application/xml"})
        assert again.status_code == 200 and again.json()["id"] == invoice_id

        body = _wait(client, server, invoice_id)
        assert body["status"] == "accepted", body["validation"]
        assert body["invoice_number"] == "E2E-1" and body["filename"] == "e2e-1.xml"
        totals = sample_invoice_data(number="E2E-1").totals
        assert Decimal(body["gross_amount"]) == totals.tax_inclusive and Decimal(body["amount_due"]) == totals.payable
        pdf_body = _wait(client, server, form.json()["id"])
        assert (pdf_body["status"], pdf_body["container"], pdf_body["invoice_number"]) == ("accepted", "pdf", "E2E-PDF")

        original = client.get(f"/api/v1/invoices/{invoice_id}/original", headers=server.auth())
        assert original.content == xml and original.headers["content-type"] == "application/xml"
        assert original.headers["etag"] == f'"{body["sha256"]}"'
        pdf_original = client.get(f"/api/v1/invoices/{form.json()['id']}/original", headers=server.auth())
        assert pdf_original.content == pdf and pdf_original.headers["content-type"] == "application/pdf"

        kosit = client.get(f"/api/v1/invoices/{invoice_id}/report", params={"format": "kosit"},
                           headers=server.auth())
        assert kosit.status_code == 200 and kosit.headers["content-type"] == "application/xml"
        assert etree.fromstring(kosit.content).find(f"{REP}assessment/{REP}accept") is not None
        html = client.get(f"/api/v1/invoices/{invoice_id}/report", params={"format": "html"}, headers=server.auth())
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        view = client.get(f"/api/v1/invoices/{invoice_id}/view", headers=server.auth())
        assert view.status_code == 200 and "E2E-1" in view.text

        listed = client.get("/api/v1/invoices", params={"status": "accepted", "limit": 1}, headers=server.auth())
        assert len(listed.json()["items"]) == 1 and listed.json()["next_cursor"]

        for path in ("", "/original", "/report", "/view"):
            foreign = client.get(f"/api/v1/invoices/{invoice_id}{path}", headers=server.auth("bob"))
            assert foreign.status_code == 404, path
        assert client.get(f"/api/v1/invoices/{invoice_id}").status_code == 401


def test_validate_endpoint_over_http(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        headers = {**server.auth(), "Content-Type": "application/xml"}
        good = client.post("/api/v1/validate", content=render_ubl(sample_invoice_data()), headers=headers)
        assert good.status_code == 200 and good.headers["content-type"] == "application/xml"
        assert etree.fromstring(good.content).find(f"{REP}assessment/{REP}accept") is not None
        bad = client.post("/", content=make_invalid_ubl_invoice(), headers=headers)
        assert bad.status_code == 406
        assert etree.fromstring(bad.content).find(f"{REP}assessment/{REP}reject") is not None
        anonymous = client.post("/api/v1/validate", content=b"<a/>", headers={"Content-Type": "application/xml"})
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"


def test_oversized_upload_is_refused_and_the_server_stays_healthy(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        too_big = client.post("/api/v1/invoices", content=b"<a>" + b"x" * (LIMIT + 100_000) + b"</a>",
                              headers={**server.auth(), "Content-Type": "application/xml"})
        assert too_big.status_code == 413 and str(LIMIT) in too_big.json()["detail"]
        chunked = client.post("/api/v1/invoices", content=iter([b"<a>", b"x" * (LIMIT + 10), b"</a>"]),
                              headers={**server.auth(), "Content-Type": "application/xml"})
        assert chunked.status_code == 413
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.get("/healthz").status_code == 200
    assert "Traceback" not in server.log.read_text()
