"""Operations on connectors: status and retry through the CLI and the admin API."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from einvoice import db
from einvoice.accounts import service as accounts
from einvoice.cli import app as cli
from einvoice.connectors import operations, service
from einvoice.connectors.service import ItemView
from einvoice.samples import DEFAULT_LEITWEG_ID
from einvoice.web.app import create_app


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> list[ItemView]:
    """A stand-in connector module ``fakeconn`` whose retry succeeds unless the item says "broken"."""
    calls: list[ItemView] = []

    def retry(item: ItemView) -> None:
        calls.append(item)
        if "broken" in item.external_id:
            raise RuntimeError("mailbox unreachable")
        service.record_done(item.connector, item.external_id, sender=item.sender, invoice_ids=["inv-9"])

    module = types.ModuleType("fakeconn")
    module.retry = retry  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fakeconn", module)
    monkeypatch.setitem(operations.RETRY_MODULES, "fake", "fakeconn")
    return calls


def test_retry_runs_the_connector_and_records_a_second_failure(embedded_db: Path, handler: list[ItemView]) -> None:
    ok = service.record_failure("fake:box", "<ok@x>", sender="s", error="timeout")
    bad = service.record_failure("fake:box", "<broken@x>", sender="s", error="timeout")
    assert operations.retry_now(ok.id).state == "done" and service.get_item(ok.id).invoice_ids == ["inv-9"]
    again = operations.retry_now(bad.id)
    assert (again.state, again.attempts) == ("failed", 2) and "mailbox unreachable" in again.detail
    assert [c.external_id for c in handler] == ["<ok@x>", "<broken@x>"]


def test_an_item_without_handler_waits_for_the_next_run(embedded_db: Path) -> None:
    item = service.record_failure("carrier:pigeon", "p1", sender="s", error="lost")
    assert operations.retry_now(item.id).state == "retry"


def test_cli_status_and_retry(embedded_db: Path, handler: list[ItemView]) -> None:
    runner = CliRunner()
    assert "no connector has run yet" in runner.invoke(cli, ["connectors", "status"]).stdout
    service.record_poll("fake:box", processed=4, failed=1, error="login failed")
    item = service.record_failure("fake:box", "<broken@x>", sender="s", error="bad zip")
    shown = runner.invoke(cli, ["connectors", "status"])
    assert shown.exit_code == 0 and "fake:box" in shown.stdout and item.id in shown.stdout
    assert "login failed" in shown.stdout and "bad zip" in shown.stdout
    assert runner.invoke(cli, ["connectors", "retry", item.id]).exit_code == 1  # failed again
    assert runner.invoke(cli, ["connectors", "retry", "nope"]).exit_code == 2


@pytest.fixture
def client(embedded_db: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with db.UnitOfWork() as uow:
        accounts.create_user(uow, "root", "admin")
        accounts.create_unit(uow, "Bauamt", DEFAULT_LEITWEG_ID)
        accounts.create_user(uow, "carl", "clerk", unit="Bauamt")
        tokens = {name: accounts.create_token(uow, name).token for name in ("root", "carl")}
        uow.commit()
    with TestClient(create_app()) as test_client:
        yield test_client, tokens


def test_api_shows_status_and_retries_for_admins_only(client: tuple[TestClient, dict[str, str]],
                                                      handler: list[ItemView]) -> None:
    http, tokens = client
    admin, clerk = ({"Authorization": f"Bearer {tokens[n]}"} for n in ("root", "carl"))
    item = service.record_failure("fake:box", "<ok@x>", sender="s", error="timeout")
    assert http.get("/api/v1/connectors", headers=clerk).status_code == 403
    body = http.get("/api/v1/connectors", headers=admin).json()
    assert body["connectors"][0]["open_failures"] == 1 and body["failed"][0]["id"] == item.id
    retried = http.post(f"/api/v1/connectors/items/{item.id}/retry", headers=admin)
    assert retried.status_code == 200 and retried.json()["state"] == "done"
    assert http.post(f"/api/v1/connectors/items/{item.id}/retry", headers=admin).status_code == 409
    assert http.post("/api/v1/connectors/items/nope/retry", headers=admin).status_code == 404
