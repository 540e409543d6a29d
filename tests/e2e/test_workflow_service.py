"""The workflow as an operator and the staff meet it: the CLI in its own processes, then the real server
(uvicorn, embedded mode) over real HTTP, whose in-process deadline job escalates an overdue task.

The sample invoices fall due on 2026-04-01, so against the system clock of the server they are overdue
and the embedded deadline scheduler (every second here) must escalate them to the unit's lead.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from einvoice.invoice.leitweg import make_leitweg_id
from einvoice.samples import make_ubl_invoice
from tests.conftest import ROOT
from tests.services import einvoice_server, service_env

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

EINKAUF = make_leitweg_id("05315000-EINKAUF")
CODING = [{"account": "4930", "cost_center": "200", "tax_key": "9"}]


def einvoice(env: dict[str, str], *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "einvoice.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == expect, (args, done.returncode, done.stdout, done.stderr)
    return done


def wait_for(what: str, check: Callable[[], Any], timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@dataclass
class Service:
    url: str
    env: dict[str, str]
    tokens: dict[str, str]
    log: Path

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


@pytest.fixture(scope="module")
def service(rules_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    home = tmp_path_factory.mktemp("workflow-service")
    env = service_env(rules_dir, home / "data", workflow_deadline_interval="1")
    created = einvoice(env, "units", "add", "Einkauf", "--leitweg-id", EINKAUF, "--workflow", "company")
    assert "workflow=company" in created.stdout
    refused = einvoice(env, "units", "add", "Kaputt", "--workflow", "nope", expect=1)
    assert "no workflow definition named 'nope'" in refused.stderr
    tokens = {}
    for name, role in (("alice", "supplier"), ("erik", "clerk"), ("eva", "approver"), ("emil", "approver")):
        unit = [] if role == "supplier" else ["--unit", "Einkauf"]
        einvoice(env, "users", "add", name, "--role", role, *unit)
        tokens[name] = einvoice(env, "tokens", "create", "--user", name).stdout.strip()
    einvoice(env, "workflow", "unit", "Einkauf", "--lead", "eva")
    not_lead = einvoice(env, "workflow", "unit", "Einkauf", "--lead", "erik", expect=1)
    assert "must be an approver or admin" in not_lead.stderr
    log = home / "server.log"
    with einvoice_server(env, log, timeout=60) as url:
        yield Service(url, env, tokens, log)


def test_definitions_are_checked_from_the_command_line(service: Service, tmp_path: Path) -> None:
    good = einvoice(service.env, "workflow", "check", str(ROOT / "workflows" / "public-sector.yaml"),
                    str(ROOT / "workflows" / "company.yaml"))
    assert "public-sector version 1, 4 stages" in good.stdout and "company version 1, 3 stages" in good.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text((ROOT / "workflows" / "company.yaml").read_text().replace("roles: [approver]",
                                                                                 "roles: [boss]"))
    failed = einvoice(service.env, "workflow", "check", str(broken), expect=1)
    assert "stages[1].roles" in failed.stderr and "unknown role(s) boss" in failed.stderr
    listed = einvoice(service.env, "workflow", "list")
    assert "company" in listed.stdout and "public-sector" in listed.stdout


def test_upload_escalation_by_the_embedded_scheduler_and_approval_over_http(service: Service) -> None:
    with httpx.Client(base_url=service.url, timeout=60) as client:
        created = client.post("/api/v1/invoices", content=make_ubl_invoice(3, number="E2E-WF-1",
                                                                           buyer_reference=EINKAUF),
                              headers={**service.auth("alice"), "Content-Type": "application/xml"})
        assert created.status_code == 202, created.text
        invoice_id = created.json()["id"]

        def in_approval() -> dict[str, Any] | None:
            body: dict[str, Any] = client.get(f"/api/v1/invoices/{invoice_id}", headers=service.auth("alice")).json()
            return body if body["status"] not in ("received", "validating") else None

        assert wait_for("processing", in_approval)["status"] == "in_approval"

        def escalated() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = client.get("/api/v1/tasks", params={"mine": "true"},
                                                      headers=service.auth("eva")).json()["items"]
            return [t for t in items if t["invoice_id"] == invoice_id]

        task = wait_for("the escalation to the lead", escalated)[0]
        assert (task["stage"], task["overdue"], task["escalated_to"]) == ("cost_center", True, "eva")

        def decide(who: str, body: dict[str, Any]) -> httpx.Response:
            flow = client.get(f"/api/v1/invoices/{invoice_id}/workflow", headers=service.auth(who)).json()
            return client.post(f"/api/v1/tasks/{flow['current_task']['id']}/decision", headers=service.auth(who),
                               json=body)

        first = decide("erik", {"decision": "approve", "coding": CODING})
        assert first.status_code == 200, first.text
        assert first.json()["next_task"]["stage"] == "release"
        twice = decide("erik", {"decision": "approve"})
        assert twice.status_code == 403 and "needs the role approver" in twice.json()["detail"]
        last = decide("emil", {"decision": "approve", "comment": "ok"})
        assert last.status_code == 200 and last.json()["invoice_status"] == "approved"
        events = [e["event"] for e in client.get(f"/api/v1/invoices/{invoice_id}/workflow",
                                                 headers=service.auth("eva")).json()["history"]]
        assert events.count("task_escalated") == 1 and events[-1] == "workflow_approved"
    ran = einvoice(service.env, "workflow", "deadlines")
    assert "escalated=0" in ran.stdout  # idempotent: nothing left to escalate
