"""``einvoice serve|worker|db`` refuse clearly when something is missing; ``db upgrade`` creates the ledger."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from sqlalchemy import create_engine, inspect
from typer.testing import CliRunner

from einvoice import db
from einvoice.config import get_settings
from einvoice.server import app, register

runner = CliRunner()
ENV = ("EINVOICE_DATA_DIR", "EINVOICE_DATABASE_URL", "EINVOICE_REDIS_URL", "EINVOICE_RULES_DIR")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Settings pointing into ``tmp_path``; the test adds or removes variables before invoking."""
    saved = {name: os.environ.pop(name, None) for name in ENV}
    values = {"EINVOICE_DATA_DIR": str(tmp_path / "data"), "EINVOICE_RULES_DIR": str(tmp_path / "rules")}
    os.environ.update(values)
    get_settings.cache_clear()
    db.reset()
    try:
        yield values
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value
        get_settings.cache_clear()
        db.reset()


def test_worker_refuses_without_redis(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["worker"])
    assert result.exit_code == 2
    assert "EINVOICE_REDIS_URL" in result.output and "einvoice serve" in result.output


def test_worker_refuses_without_rule_packs(env: dict[str, str]) -> None:
    os.environ["EINVOICE_REDIS_URL"] = "redis://127.0.0.1:1/0"
    get_settings.cache_clear()
    result = runner.invoke(app, ["worker"])
    assert result.exit_code == 1
    assert "no rule packs" in result.output and "einvoice rules install" in result.output


def test_serve_refuses_without_rule_packs(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["serve", "--port", "1"])
    assert result.exit_code == 1
    assert "no rule packs" in result.output
    assert not (Path(env["EINVOICE_DATA_DIR"]) / "einvoice.db").exists(), "refused before touching the database"


def test_db_upgrade_creates_the_ledger(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    database = Path(env["EINVOICE_DATA_DIR"]) / "einvoice.db"
    tables = set(inspect(create_engine(f"sqlite:///{database}")).get_table_names())
    assert {"invoices", "journal", "journal_head", "users", "api_tokens", "units"} <= tables


def test_register_mounts_every_service_command() -> None:
    root = typer.Typer()
    register(root)
    names = {c.name for c in root.registered_commands} | {g.name for g in root.registered_groups}
    assert names == {"serve", "worker", "demo", "db"}
