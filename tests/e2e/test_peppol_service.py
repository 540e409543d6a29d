"""The Peppol connector as an operator runs it: the real server over HTTP, the spool and response
commands in their own processes, one SQLite ledger in a temporary data dir."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from lxml import etree

from einvoice.samples import DEFAULT_LEITWEG_ID, render_ubl, sample_invoice_data
from tests.conftest import ROOT
from tests.e2e.test_http_service import LIMIT, Server, _cli
from tests.e2e.test_http_service import server as server  # the module-scoped server fixture

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SENDER = "9930:DE123456789"
RECEIVER = f"0204:{DEFAULT_LEITWEG_ID}"
CBC = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}


def peppol(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "einvoice.cli", "peppol", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_http_spool_and_responses(server: Server, tmp_path: Path) -> None:
    data_dir = Path(server.log).parent / "data"
    env = {**os.environ, "EINVOICE_ENV": "test", "EINVOICE_DATA_DIR": str(data_dir),
           "EINVOICE_MAX_DOCUMENT_BYTES": str(LIMIT), "EINVOICE_PEPPOL_SPOOL_DIR": str(tmp_path / "spool")}
    for name in ("EINVOICE_DATABASE_URL", "EINVOICE_REDIS_URL", "EINVOICE_BLOB_DIR", "EINVOICE_PEPPOL_OUTBOUND_DIR",
                 "EINVOICE_PEPPOL_OUTBOUND_URL"):
        env.pop(name, None)
    _cli(env, "users_app", "add", "access-point", "--role", "connector")
    _cli(env, "users_app", "add", "ops", "--role", "admin")
    token = _cli(env, "tokens_app", "create", "--user", "access-point").strip()
    server.tokens["ops"] = _cli(env, "tokens_app", "create", "--user", "ops").strip()

    source = tmp_path / "invoice.xml"
    source.write_bytes(render_ubl(sample_invoice_data(number="PEPPOL-E2E-1")))
    wrapped = peppol(env, "wrap", str(source), "--sender", SENDER, "--receiver", RECEIVER,
                     "--instance-id", "e2e-1", "--out", str(tmp_path / "env.xml"))
    assert wrapped.returncode == 0, wrapped.stderr

    with httpx.Client(base_url=server.url, timeout=60) as client:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/xml"}
        first = client.post("/api/v1/peppol/inbound", content=(tmp_path / "env.xml").read_bytes(), headers=headers)
        again = client.post("/api/v1/peppol/inbound", content=(tmp_path / "env.xml").read_bytes(), headers=headers)
        assert first.status_code == again.status_code == 202, first.text
        assert first.json()["id"] == again.json()["id"] and first.json()["instance_id"] == "e2e-1"

        inbox = tmp_path / "spool" / "inbox"
        inbox.mkdir(parents=True)
        source.write_bytes(render_ubl(sample_invoice_data(number="PEPPOL-E2E-2")))
        assert peppol(env, "wrap", str(source), "--sender", SENDER, "--receiver", RECEIVER,
                      "--out", str(inbox / "from-ap.xml")).returncode == 0
        spooled = peppol(env, "spool")
        assert spooled.returncode == 0, spooled.stderr
        assert "1 done, 0 failed" in spooled.stdout
        assert (tmp_path / "spool" / "done" / "from-ap.xml").is_file()

        deadline = time.monotonic() + 120
        while True:
            body = client.get(f"/api/v1/invoices/{first.json()['id']}", headers=server.auth("ops")).json()
            if body["status"] not in ("received", "validating") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert (body["channel"], body["status"]) == ("peppol", "accepted")  # no unit in this ledger: clearing

    responded = peppol(env, "respond")
    assert responded.returncode == 0, responded.stderr
    codes = sorted(etree.parse(str(p)).xpath("string(//cbc:ResponseCode)", namespaces=CBC)
                   for p in (tmp_path / "spool" / "outbound").glob("*.xml"))
    assert codes.count("AB") == 2 and "IP" in codes
