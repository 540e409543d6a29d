"""``einvoice export ...``: configure exporters per unit, export pending batches, watch deliveries."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from einvoice.db import UnitOfWork, create_schema
from einvoice.terminal import console, err_console

app = typer.Typer(help="Export approved invoices to bookkeeping (DATEV, CSV, JSON, webhook).", no_args_is_help=True)


def _fail(message: object, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=code)


def _parse_tax_keys(values: list[str] | None) -> dict[str, str] | None:
    if not values:
        return None
    keys: dict[str, str] = {}
    for value in values:
        rate, sep, key = value.partition("=")
        if not sep or not rate.strip() or not key.strip():
            raise typer.BadParameter(f"--tax-key takes RATE=KEY (e.g. 19=9 or AE=94), not {value!r}")
        keys[rate.strip()] = key.strip()
    return keys


@app.command("configure")
def configure(
    unit: Annotated[str, typer.Option("--unit", help="Organisational unit (by name).")],
    exporter: Annotated[str, typer.Option("--exporter", help="datev, csv, json or webhook.")],
    out: Annotated[Path | None, typer.Option("--out", help="Folder for export files.")] = None,
    auto: Annotated[bool | None, typer.Option("--auto/--manual",
                                              help="Write file batches in the background (needs --out).")] = None,
    url: Annotated[str | None, typer.Option("--url", help="Webhook URL.")] = None,
    secret: Annotated[str | None, typer.Option("--secret", help="Webhook HMAC secret (16+ characters).")] = None,
    secret_stdin: Annotated[bool, typer.Option("--secret-stdin", help="Read the webhook secret from stdin.")] = False,
    max_attempts: Annotated[int | None, typer.Option("--max-attempts", help="Webhook attempts before failing.")] = None,
    consultant: Annotated[int | None, typer.Option("--consultant", help="DATEV Beraternummer.")] = None,
    client: Annotated[int | None, typer.Option("--client", help="DATEV Mandantennummer.")] = None,
    creditor_account: Annotated[str | None, typer.Option("--creditor-account",
                                                         help="Gegenkonto (creditor account).")] = None,
    default_account: Annotated[str | None, typer.Option("--default-account",
                                                        help="Expense account for invoices without coding.")] = None,
    account_length: Annotated[int | None, typer.Option("--account-length", help="DATEV Sachkontenlänge.")] = None,
    fiscal_year_start: Annotated[str | None, typer.Option("--fiscal-year-start", help="MMDD, e.g. 0101.")] = None,
    chart: Annotated[str | None, typer.Option("--chart", help="DATEV SKR, e.g. 03 or 04.")] = None,
    tax_key: Annotated[list[str] | None, typer.Option("--tax-key", help="RATE=KEY, e.g. 19=9 (repeatable).")] = None,
    skonto_field: Annotated[bool | None, typer.Option("--skonto-field/--no-skonto-field",
                                                      help="DATEV: also fill column 13 (Skonto).")] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="Public URL of this service (links).")] = None,
    enable: Annotated[bool | None, typer.Option("--enable/--disable", help="Switch the exporter on or off.")] = None,
) -> None:
    """Create or change a unit's exporter (options not given keep their value)."""
    from einvoice.accounts.service import AccountError
    from einvoice.export.settings import ExportConfigError
    from einvoice.export.settings import configure as configure_exporter

    if secret_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    try:
        create_schema()
        with UnitOfWork() as uow:
            row = configure_exporter(
                uow, unit=unit, exporter=exporter, active=enable, out_dir=str(out.resolve()) if out else None,
                auto=auto, url=url, secret=secret, max_attempts=max_attempts, consultant=consultant, client=client,
                creditor_account=creditor_account, default_account=default_account, account_length=account_length,
                fiscal_year_start=fiscal_year_start, chart=chart, tax_keys=_parse_tax_keys(tax_key),
                skonto_field=skonto_field, base_url=base_url)
            uow.commit()
    except (AccountError, ExportConfigError) as exc:
        raise _fail(exc) from None
    typer.echo(f"configured {row.exporter} export for unit {unit} (id={row.id})")


@app.command("configs")
def configs() -> None:
    """List the exporter configurations."""
    from einvoice.accounts.service import list_units
    from einvoice.export.settings import list_configs, settings_of

    create_schema()
    with UnitOfWork() as uow:
        units = {u.id: u.name for u in list_units(uow)}
        table = Table(title="Exporters")
        for column in ("unit", "exporter", "active", "settings", "id"):
            table.add_column(column, overflow="fold")
        for row in list_configs(uow):
            shown = {k: v for k, v in settings_of(row).public().items() if v not in (None, "", False)}
            table.add_row(units.get(row.unit_id, row.unit_id), row.exporter, "yes" if row.active else "no",
                          ", ".join(f"{k}={v}" for k, v in shown.items()), row.id)
    console.print(table)


@app.command("run")
def run(
    exporter: Annotated[str, typer.Option("--exporter", help="datev, csv or json.")],
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the files (default: configured).")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="Only this unit.")] = None,
) -> None:
    """Export the pending batch: one file per unit configuration (DATEV: per fiscal year)."""
    from einvoice.accounts.service import AccountError, unit_by_name
    from einvoice.export.outbox import ExportError, run_file_exports

    create_schema()
    try:
        unit_id = None
        if unit:
            with UnitOfWork() as uow:
                unit_id = unit_by_name(uow, unit).id
        report = run_file_exports(exporter=exporter.strip().lower(), unit_id=unit_id,
                                  out_dir=out.resolve() if out else None, actor="cli:export")
    except (AccountError, ExportError) as exc:
        raise _fail(exc) from None
    for batch in report.batches:
        note = " (completed an interrupted batch)" if batch.resumed else ""
        typer.echo(f"{batch.path}: {len(batch.invoices)} invoice(s){note}")
    for invoice_id, reason in report.failed:
        err_console.print(f"[yellow]not exported[/yellow] {invoice_id}: {reason}")
    if not report.batches and not report.failed:
        typer.echo("nothing to export")
    if report.unconfigured:
        err_console.print(f"[yellow]{report.unconfigured} approved invoice(s) wait for an exporter:[/yellow] "
                          "einvoice export configure --unit UNIT --exporter ...")
    if report.failed:
        raise typer.Exit(code=1)


@app.command("drain")
def drain(
    loop: Annotated[bool, typer.Option("--loop", help="Keep draining every --interval seconds until stopped.")] = False,
    interval: Annotated[float | None, typer.Option(
        "--interval", help="Seconds between passes (default EINVOICE_EXPORT_INTERVAL).")] = None,
) -> None:
    """Deliver due webhooks and automatic file batches (once, or forever next to `einvoice worker`)."""
    from einvoice.export.drainer import EXPORT_DRAIN
    from einvoice.scheduling import run_in_process

    create_schema()
    if not loop:
        EXPORT_DRAIN.run()
        return
    run_in_process(EXPORT_DRAIN, interval=interval)


@app.command("list")
def list_deliveries(
    status: Annotated[str | None, typer.Option("--status", help="pending, batched, sending, done, failed.")] = None,
    invoice: Annotated[str | None, typer.Option("--invoice", help="Only this invoice id.")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 100,
) -> None:
    """Show deliveries (the outbox), newest first."""
    from einvoice.export.outbox import deliveries

    create_schema()
    with UnitOfWork() as uow:
        table = Table(title="Export deliveries")
        for column in ("id", "invoice", "exporter", "status", "attempts", "next attempt", "error"):
            table.add_column(column, overflow="fold")
        for entry, _config in deliveries(uow, status=status, invoice_id=invoice, limit=limit):
            table.add_row(entry.id, entry.invoice_id, entry.exporter, entry.status, str(entry.attempts),
                          f"{entry.next_attempt_at:%Y-%m-%d %H:%M:%S}" if entry.status == "pending" else "",
                          (entry.last_error or "")[:200])
    console.print(table)


@app.command("retry")
def retry(entry_id: Annotated[str, typer.Argument(help="Delivery id (from `einvoice export list`).")]) -> None:
    """Send a failed delivery again."""
    from einvoice.export.outbox import ExportError
    from einvoice.export.outbox import retry as retry_entry

    create_schema()
    try:
        with UnitOfWork() as uow:
            retry_entry(uow, entry_id, actor="cli:export")
            uow.commit()
    except ExportError as exc:
        raise _fail(exc) from None
    typer.echo(f"delivery {entry_id} will be attempted again")


@app.command("check")
def check(files: Annotated[list[Path], typer.Argument(help="DATEV EXTF files.", exists=True, dir_okay=False)]) -> None:
    """Check DATEV Buchungsstapel files against the format (exit code 1 on problems)."""
    from einvoice.export.datev_check import main

    raise typer.Exit(code=main([str(f) for f in files]))
