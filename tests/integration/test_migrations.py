"""The Alembic migrations create exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from einvoice import db

pytestmark = pytest.mark.integration


def test_upgrade_matches_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.Base.metadata)
        head = connection.exec_driver_sql("SELECT seq, hash FROM journal_head").all()
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"
    assert head == [(0, "0" * 64)]


def test_upgrade_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    db.upgrade(url)
    db.upgrade(url)
