"""Export over HTTP and the command line: ``POST /invoices/{id}/paid``, the deliveries list and retry,
``einvoice export configure|run|list|check`` — real app, real SQLite database from the migrations."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning
from typer.testing import CliRunner

from einvoice import db
from einvoice.accounts import service as accounts
from einvoice.cli import app as cli
from einvoice.export import outbox
from einvoice.intake import service as intake
from einvoice.web.app import create_app
from tests.services import fresh_process_state
from tests.unit.test_export_support import DATEV, Ledger

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

USERS = {"alice": ("supplier", None), "carl": ("clerk", "Bauamt"), "anna": ("approver", "Bauamt"),
         "kim": ("clerk", "Kämmerei"), "root": ("admin", None)}


@dataclass
class World:
    client: TestClient
    tokens: dict[str, str]
    ledger: Ledger
    out: Path

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with fresh_process_state(monkeypatch, tmp_path / "data"):  # the Alembic migrations, 0003_export included
        ledger = Ledger(engine=db.engine(), factory=db.session_factory(), blobs=intake.blobs(), root=tmp_path)
        ledger.unit("Bauamt")
        ledger.unit("Kämmerei", leitweg_id=None)
        tokens = {}
        with db.UnitOfWork() as uow:
            for name, (role, unit) in USERS.items():
                accounts.create_user(uow, name, role, unit=unit)
                tokens[name] = accounts.create_token(uow, name).token
            uow.commit()
        with TestClient(create_app()) as client:
            yield World(client, tokens, ledger, tmp_path / "out")


def export_csv(world: World) -> None:
    outbox.run_file_exports(exporter="csv", out_dir=world.out, factory=world.ledger.factory)


def test_paid_after_export_by_staff_of_the_unit(world: World) -> None:
    world.ledger.configure("Bauamt", "csv")
    invoice_id = world.ledger.approved("RE-1")
    url = f"/api/v1/invoices/{invoice_id}/paid"

    response = world.client.post(url, headers=world.auth("carl"))
    assert response.status_code == 409 and "approved" in response.json()["detail"]
    export_csv(world)

    assert world.client.post(url).status_code == 401
    assert world.client.post(url, headers=world.auth("alice")).status_code == 403  # suppliers may not
    assert world.client.post(url, headers=world.auth("kim")).status_code == 404  # another unit's invoice
    response = world.client.post(url, headers=world.auth("carl"),
                                 json={"paid_on": "2026-03-25", "reference": "ZA-2026-77", "amount": "464.22"})
    assert response.status_code == 200, response.text
    assert response.json() == {"id": invoice_id, "status": "paid"}
    (paid,) = world.ledger.events(invoice_id, "paid")
    assert paid.payload["paid_on"] == "2026-03-25" and paid.payload["reference"] == "ZA-2026-77"
    again = world.client.post(url, headers=world.auth("root"))
    assert again.status_code == 409 and "already" in again.json()["detail"]
    detail = world.client.get(f"/api/v1/invoices/{invoice_id}", headers=world.auth("carl")).json()
    assert detail["status"] == "paid"
    assert world.client.post("/api/v1/invoices/unknown/paid", headers=world.auth("root")).status_code == 404


def test_deliveries_are_listed_per_unit_and_failed_ones_retried(world: World,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from einvoice.workflow.coding import CodingLine

    world.ledger.configure("Bauamt", "datev", **DATEV)
    invoice_id = world.ledger.accepted("RE-1")
    monkeypatch.setattr("einvoice.export.record.coding_of", lambda uow, i: [CodingLine(account="ABC")])
    world.ledger.approve(invoice_id)
    report = outbox.run_file_exports(exporter="datev", out_dir=world.out, factory=world.ledger.factory)
    assert [i for i, _ in report.failed] == [invoice_id]

    listed = world.client.get("/api/v1/exports?status=failed", headers=world.auth("carl"))
    assert listed.status_code == 200
    (delivery,) = listed.json()
    assert delivery["invoice_id"] == invoice_id and delivery["exporter"] == "datev"
    assert "Konto" in delivery["last_error"]
    assert world.client.get("/api/v1/exports", headers=world.auth("kim")).json() == []  # not their unit
    assert len(world.client.get("/api/v1/exports", headers=world.auth("root")).json()) == 1

    retry = f"/api/v1/exports/{delivery['id']}/retry"
    assert world.client.post(retry, headers=world.auth("carl")).status_code == 403
    monkeypatch.setattr("einvoice.export.record.coding_of", lambda uow, i: [])
    response = world.client.post(retry, headers=world.auth("root"))
    assert response.status_code == 200 and response.json()["status"] == "pending"
    assert world.client.post(retry, headers=world.auth("root")).status_code == 409
    assert world.client.post("/api/v1/exports/nope/retry", headers=world.auth("root")).status_code == 404
    outbox.run_file_exports(exporter="datev", out_dir=world.out, factory=world.ledger.factory)
    assert world.ledger.status(invoice_id) == "exported"


def test_cli_configure_run_list_check(world: World) -> None:
    runner = CliRunner()
    refused = runner.invoke(cli, ["export", "configure", "--unit", "Bauamt", "--exporter", "datev",
                                  "--client", "55003"])
    assert refused.exit_code == 1 and "consultant" in refused.output
    assert runner.invoke(cli, ["export", "configure", "--unit", "Nowhere", "--exporter", "csv"]).exit_code == 1
    configured = runner.invoke(cli, [
        "export", "configure", "--unit", "Bauamt", "--exporter", "datev", "--consultant", "29098",
        "--client", "55003", "--creditor-account", "70000", "--default-account", "4930", "--chart", "04",
        "--tax-key", "19=9", "--tax-key", "7=8"])
    assert configured.exit_code == 0, configured.output
    webhook = runner.invoke(cli, ["export", "configure", "--unit", "Kämmerei", "--exporter", "webhook",
                                  "--url", "https://bookkeeping.example.org/in", "--secret-stdin"],
                            input="s3cret-s3cret-s3cret\n")
    assert webhook.exit_code == 0, webhook.output
    listing = runner.invoke(cli, ["export", "configs"])
    assert "datev" in listing.output and "s3cret" not in listing.output

    ids = [world.ledger.approved("RE-1"), world.ledger.approved("RE-2")]
    out = world.out / "datev"
    assert runner.invoke(cli, ["export", "run", "--exporter", "webhook", "--out", str(out)]).exit_code == 1
    result = runner.invoke(cli, ["export", "run", "--exporter", "datev", "--out", str(out), "--unit", "Bauamt"])
    assert result.exit_code == 0, result.output
    (path,) = out.glob("EXTF_*.csv")
    assert f"{path}: 2 invoice(s)" in result.output
    assert all(world.ledger.status(i) == "exported" for i in ids)
    assert "nothing to export" in runner.invoke(cli, ["export", "run", "--exporter", "datev", "--out",
                                                      str(out)]).output
    checked = runner.invoke(cli, ["export", "check", str(path)])
    assert checked.exit_code == 0 and "OK (4 bookings)" in checked.output
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n"))
    assert runner.invoke(cli, ["export", "check", str(path)]).exit_code == 1
    listed = runner.invoke(cli, ["export", "list", "--status", "done"], terminal_width=250)
    assert listed.exit_code == 0 and listed.output.count("datev") == 2

