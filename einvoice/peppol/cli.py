"""``einvoice peppol ...``: scan the spool once, send Invoice Responses, wrap invoices in an SBDH."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from einvoice.db import create_schema
from einvoice.terminal import console, err_console

app = typer.Typer(help="Peppol connector: spool folder, Invoice Responses, SBDH envelopes.", no_args_is_help=True)


def _fail(message: object, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


@app.command("spool")
def spool_once(
    directory: Annotated[Path | None, typer.Option("--dir", help="Spool folder (default: "
                                                                 "EINVOICE_PEPPOL_SPOOL_DIR).")] = None,
) -> None:
    """Handle every file in <spool>/inbox once: done/ after commit, failed/ with a reason."""
    from einvoice.peppol import spool

    create_schema()
    try:
        report = spool.run_once(directory)
    except spool.SpoolNotConfigured as exc:
        raise _fail(exc) from None
    console.print(f"{report.done} done, {report.failed} failed, {report.left} left in inbox/")
    if report.left:
        raise typer.Exit(1)


@app.command("respond")
def respond_once() -> None:
    """Write the Invoice Responses owed for Peppol-received invoices and deliver them (once)."""
    from einvoice.peppol import delivery

    create_schema()
    written, report = delivery.run_once()
    target = delivery.outbound_target() or "nowhere (set EINVOICE_PEPPOL_OUTBOUND_DIR or _URL)"
    console.print(f"{written} new response(s); {report.delivered} delivered to {target}, "
                  f"{report.failed} failed")
    if report.failed:
        raise typer.Exit(1)


@app.command("wrap")
def wrap(
    document: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="UBL or CII invoice.")],
    sender: Annotated[str, typer.Option(help="Sender participant id, e.g. 9930:DE123456789.")],
    receiver: Annotated[str, typer.Option(help="Receiver participant id, e.g. 0204:991-12345-67.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output file (default: stdout).")] = None,
    instance_id: Annotated[str | None, typer.Option(help="SBDH InstanceIdentifier (default: new UUID).")] = None,
) -> None:
    """Wrap an invoice in an SBDH envelope, as an access point delivers it (for tests and demos)."""
    from einvoice.formats.xml import InputError
    from einvoice.peppol.ids import ParticipantIdError
    from einvoice.peppol.samples import wrap_invoice

    try:
        data = wrap_invoice(document.read_bytes(), sender=sender, receiver=receiver, instance_id=instance_id)
    except (InputError, ParticipantIdError) as exc:
        raise _fail(exc) from None
    if out is None:
        typer.echo(data.decode("utf-8"), nl=False)
    else:
        out.write_bytes(data)


@app.command("worker")
def worker(
    interval: Annotated[float | None, typer.Option(
        min=1.0, help="Seconds between runs (default: EINVOICE_PEPPOL_INTERVAL).")] = None,
) -> None:
    """With Redis: schedule the Peppol job (spool scan, Invoice Responses) and consume its queue.

    In embedded mode ``einvoice serve`` runs the job itself; several workers may run, every step is
    idempotent.
    """
    from einvoice.config import get_settings
    from einvoice.peppol.operations import PEPPOL_TICK
    from einvoice.scheduling import run_worker

    if not get_settings().redis_url:
        raise _fail("`einvoice peppol worker` needs EINVOICE_REDIS_URL; in embedded mode `einvoice serve` runs "
                    "the Peppol job itself (or run `einvoice peppol spool` / `respond` from cron)", 2)
    create_schema()
    run_worker(PEPPOL_TICK, interval=interval)
