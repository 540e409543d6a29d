"""``einvoice mail ...``: poll the mailboxes once, check the connection, run the scheduled worker."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from einvoice.terminal import console, err_console

app = typer.Typer(help="E-mail intake: poll IMAP mailboxes for invoices.", no_args_is_help=True)


def _fail(message: object, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def _boxes() -> None:
    from einvoice.mail.settings import MailSettingsError, mailboxes

    try:
        if not mailboxes():
            raise _fail("no mailbox configured: set EINVOICE_MAIL_IMAP_URL or EINVOICE_MAIL_MAILBOXES", 2)
    except MailSettingsError as exc:
        raise _fail(exc, 2) from None


@app.command("poll")
def poll() -> None:
    """Poll every mailbox once: intake, replies, then flag the messages. Exit 1 if anything failed."""
    from einvoice.db import create_schema
    from einvoice.mail.jobs import poll_all

    _boxes()
    create_schema()
    table = Table("mailbox", "handled", "failed", "waiting for retry", "invoices", "error")
    failed = False
    for report in poll_all():
        failed = failed or bool(report.failed or report.error)
        table.add_row(report.connector, str(report.processed), str(report.failed), str(report.skipped),
                      " ".join(dict.fromkeys(report.invoice_ids)) or "-", report.error or "")
    console.print(table)
    if failed:
        raise typer.Exit(1)


@app.command("check")
def check() -> None:
    """Log in to every mailbox (TLS verified) and count its messages; exit 1 if one fails."""
    from einvoice.mail.jobs import check as run

    _boxes()
    results = run()
    for result in results:
        mark = "[green]ok[/green]" if result.ok else "[red]failed[/red]"
        console.print(f"{result.connector}: {mark} {result.detail}")
    if not all(r.ok for r in results):
        raise typer.Exit(1)


@app.command("worker")
def worker(
    interval: Annotated[float | None, typer.Option(
        min=1.0, help="Seconds between polls (default: EINVOICE_MAIL_POLL_INTERVAL).")] = None,
) -> None:
    """With Redis: schedule the mail poll and run it (in embedded mode `einvoice serve` runs it)."""
    from einvoice.config import get_settings
    from einvoice.mail.jobs import MAIL_POLL
    from einvoice.scheduling import run_worker

    if not get_settings().redis_url:
        raise _fail("`einvoice mail worker` needs EINVOICE_REDIS_URL; use `einvoice mail poll` or `einvoice serve`",
                    2)
    _boxes()
    run_worker(MAIL_POLL, interval=interval)
