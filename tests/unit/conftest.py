"""Unit-test fixtures shared by the ledger tests: a SQLite ledger in tmp_path and its blob store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from einvoice.db import Base, make_engine
from einvoice.ledger.blobs import BlobStore
from tests.services import fresh_process_state


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    import einvoice.accounts.models  # noqa: F401  (units table for the invoices' foreign key)

    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(db: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=db, expire_on_commit=False)


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


@pytest.fixture
def embedded_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Process settings pointed at a fresh embedded (SQLite) data dir, migrated to the head."""
    with fresh_process_state(monkeypatch, tmp_path / "data") as data_dir:
        yield data_dir
