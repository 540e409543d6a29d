"""``einvoice ledger verify``: exit 0 on an intact ledger, 1 naming the first broken item."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from einvoice import db
from einvoice.config import get_settings
from einvoice.ledger.blobs import BlobStore
from einvoice.ledger.cli import app
from einvoice.ledger.service import receive_committed


@pytest.fixture
def ledger_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the settings at an empty data folder (embedded SQLite) for this test only."""
    monkeypatch.setenv("EINVOICE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("EINVOICE_DATABASE_URL", raising=False)
    monkeypatch.delenv("EINVOICE_BLOB_DIR", raising=False)
    get_settings.cache_clear()
    db.reset()
    yield tmp_path
    db.reset()
    monkeypatch.undo()
    get_settings.cache_clear()


def _fill(count: int) -> list[str]:
    db.create_schema()
    blobs = BlobStore.from_settings()
    return [receive_committed(blobs, data=f"<doc n='{i}'/>".encode(), channel="api", sender="s").invoice_id
            for i in range(count)]


def test_verify_passes_on_a_clean_ledger(ledger_home: Path) -> None:
    _fill(3)
    result = CliRunner().invoke(app, ["verify"])
    assert result.exit_code == 0, result.output
    assert "Ledger intact: 3 journal entries, 3 invoices, 3 blobs verified." in result.output


def test_verify_fails_naming_the_changed_entry(ledger_home: Path) -> None:
    _fill(3)
    with db.engine().begin() as conn:
        conn.execute(text("UPDATE journal SET actor = 'mallory' WHERE seq = 2"))
    result = CliRunner().invoke(app, ["verify"])
    assert result.exit_code == 1
    assert "FAILED" in result.output and "First broken: journal entry 2." in result.output
    assert "journal entry 2 (received) was altered" in result.output


def test_verify_json_names_a_deleted_blob(ledger_home: Path) -> None:
    ids = _fill(2)
    with db.engine().connect() as conn:
        sha = conn.execute(text("SELECT sha256 FROM invoices WHERE id = :i"), {"i": ids[1]}).scalar_one()
    BlobStore.from_settings().path(sha).unlink()
    result = CliRunner().invoke(app, ["verify", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False and report["first_broken"] == f"blob {sha}"
    assert "missing" in report["problems"][0]


def test_verify_without_database(ledger_home: Path) -> None:
    result = CliRunner().invoke(app, ["verify"])
    assert result.exit_code == 2 and "no ledger database" in result.output
