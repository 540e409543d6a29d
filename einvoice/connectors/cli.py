"""``einvoice connectors``: what the mail and Peppol connectors did, and retrying failed items."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from einvoice.connectors import operations, service
from einvoice.terminal import console, err_console

app = typer.Typer(no_args_is_help=True)


def _at(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "—"


@app.command("status")
def status(
    failed: Annotated[bool, typer.Option("--failed", help="Also list the failed items.")] = True,
) -> None:
    """Per connector: last poll, last success, totals, open failures (and the failed items)."""
    overview = service.overview()
    if not overview:
        console.print("no connector has run yet")
        return
    for row in overview:
        console.print(f"{row.connector}: last poll {_at(row.last_poll_at)}, last success "
                      f"{_at(row.last_success_at)}, processed {row.processed_total}, failed {row.failed_total}, "
                      f"open failures {row.open_failures}"
                      + (f", last error: {row.last_error}" if row.last_error else ""), markup=False)
    if failed:
        items = service.items(state="failed") + service.items(state="retry")
        for item in items:
            console.print(f"  {item.id}  {item.connector}  {item.state}  {item.external_id}  "
                          f"attempts={item.attempts}  {item.detail}", markup=False)


@app.command("retry")
def retry(item_id: Annotated[str, typer.Argument(help="Item id from `einvoice connectors status`.")]) -> None:
    """Handle a failed item again now (exit 1 if it failed again)."""
    try:
        item = operations.retry_now(item_id)
    except (service.UnknownItem, ValueError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"{item.id}: {item.state} {item.detail}".rstrip())
    if item.state == "failed":
        raise typer.Exit(1)
