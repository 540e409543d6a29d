"""Alembic environment: migrations run against the URL the caller configured (never a default)."""

from __future__ import annotations

from alembic import context

import einvoice.accounts.models
import einvoice.connectors.models
import einvoice.entry.models
import einvoice.export.models
import einvoice.ledger.models
import einvoice.peppol.models
import einvoice.portal.models
import einvoice.workflow.models  # noqa: F401  (register every table on the metadata)
from einvoice.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
