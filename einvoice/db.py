"""Database engine, sessions and the unit of work that owns every transaction.

One unit of work per request or job: it opens a session, the caller changes domain objects and
appends journal entries, and ``commit()`` makes all of it durable at once (or nothing).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from einvoice.config import get_settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table; stable constraint names keep Alembic migrations portable."""

    metadata = MetaData(naming_convention=NAMING)


def make_engine(url: str) -> Engine:
    """SQLite gets WAL and a busy timeout so API and embedded worker threads can share the file."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")  # durable before we acknowledge
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin_immediate(connection: Any) -> None:
            # Take the write lock at BEGIN: no deadlock-prone lock upgrades, serialised journal appends.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


@lru_cache
def engine() -> Engine:
    settings = get_settings()
    if settings.effective_database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.effective_database_url)


@lru_cache
def session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=engine(), expire_on_commit=False, autoflush=True)


def reset() -> None:
    """Forget engines (tests that switch databases; worker processes after fork)."""
    if engine.cache_info().currsize:
        engine().dispose()
    engine.cache_clear()
    session_factory.cache_clear()


class UnitOfWork:
    """A transaction boundary: ``with UnitOfWork() as uow: ...; uow.commit()``; no commit → rollback."""

    def __init__(self, factory: sessionmaker[Session] | None = None) -> None:
        self._factory = factory
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = (self._factory or session_factory())()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        # close() rolls back anything uncommitted but, unlike rollback(), keeps loaded attributes
        # readable on the now-detached objects the caller may return.
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


@contextmanager
def unit_of_work() -> Iterator[UnitOfWork]:
    with UnitOfWork() as uow:
        yield uow


def alembic_config(url: str | None = None) -> Any:
    """Alembic configuration for the migrations shipped inside the package (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "einvoice:migrations")
    config.set_main_option("sqlalchemy.url", url or get_settings().effective_database_url)
    return config


def upgrade(url: str | None = None) -> None:
    """Bring the database schema to the newest migration (creates the database on first start)."""
    from alembic import command

    settings = get_settings()
    if (url or settings.effective_database_url).startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), "head")


def create_schema(bind: Engine | None = None) -> None:
    """Create the schema with the migrations (the one way tables come into being)."""
    upgrade(bind.url.render_as_string(hide_password=False) if bind is not None else None)
