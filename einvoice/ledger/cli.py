"""``einvoice ledger …``: prove that nothing in the ledger was changed or removed."""

from __future__ import annotations

import json

import typer

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)

MAX_SHOWN = 20


@app.callback()
def ledger() -> None:
    """The invoice ledger (Rechnungseingangsbuch) and its tamper-evident journal."""


@app.command()
def verify(
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Check the journal's hash chain, every invoice row against its journalled state, and every
    stored original against its SHA-256. Exit 0 if all is intact, 1 naming the first broken item."""
    from sqlalchemy import inspect

    from einvoice.db import UnitOfWork, engine
    from einvoice.ledger.blobs import BlobStore
    from einvoice.ledger.journal import verify as verify_ledger

    if not inspect(engine()).has_table("journal"):
        typer.echo("There is no ledger database yet (run `einvoice db upgrade` or `einvoice serve`).",
                   err=True)
        raise typer.Exit(2)
    with UnitOfWork() as uow:
        report = verify_ledger(uow.session, BlobStore.from_settings())
    if as_json:
        typer.echo(json.dumps({"ok": report.ok, "entries": report.entries, "invoices": report.invoices,
                               "blobs": report.blobs, "first_broken": report.first_broken,
                               "problems": report.problems}, indent=2, ensure_ascii=False))
    else:
        typer.echo(report.summary())
        for problem in report.problems[:MAX_SHOWN]:
            typer.echo(f"  - {problem}")
        if len(report.problems) > MAX_SHOWN:
            typer.echo(f"  … and {len(report.problems) - MAX_SHOWN} more")
    raise typer.Exit(0 if report.ok else 1)
