"""Unit-test fixtures shared by the ledger tests: a SQLite ledger in tmp_path and its blob store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from einvoice.db import Base, make_engine
from einvoice.ledger.blobs import BlobStore


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
    from einvoice import db as database
    from einvoice.config import get_settings

    monkeypatch.setenv("EINVOICE_DATA_DIR", str(tmp_path / "data"))
    for name in ("EINVOICE_DATABASE_URL", "EINVOICE_REDIS_URL", "EINVOICE_BLOB_DIR", "EINVOICE_SMTP_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    database.reset()
    database.create_schema()
    yield tmp_path / "data"
    database.reset()
    get_settings.cache_clear()
