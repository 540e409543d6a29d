"""``einvoice workflow ...``: definitions, unit settings, substitutes and the deadline job."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from einvoice.db import UnitOfWork, create_schema
from einvoice.terminal import console, err_console
from einvoice.workflow import people
from einvoice.workflow.definitions import DefinitionError, load_dir, load_file
from einvoice.workflow.errors import WorkflowError

app = typer.Typer(help="Approval workflow: definitions, unit settings, substitutes, deadlines.",
                  no_args_is_help=True)
substitutes_app = typer.Typer(help="Substitutes (Vertretungen) with date ranges.", no_args_is_help=True)
app.add_typer(substitutes_app, name="substitute")



def _fail(message: object, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def _open() -> UnitOfWork:
    create_schema()
    return UnitOfWork()


@app.command("list")
def list_definitions(
    directory: Annotated[Path | None, typer.Option("--dir", help="Definitions folder (default: "
                                                                 "EINVOICE_WORKFLOWS_DIR).")] = None,
) -> None:
    """Show the workflow definitions and their stages."""
    from einvoice.config import get_settings

    try:
        registry = load_dir(directory or get_settings().workflows_dir)
    except DefinitionError as exc:
        raise _fail(exc) from None
    table = Table(title="Workflow definitions")
    for column in ("name", "version", "priority", "stages", "digest"):
        table.add_column(column, overflow="fold")
    for definition in sorted(registry.definitions.values(), key=lambda d: d.name):
        stages = " → ".join(s.id for s in definition.stages)
        table.add_row(definition.name, str(definition.version), str(definition.applies_when.priority), stages,
                      definition.digest()[:12])
    console.print(table)


@app.command("check")
def check(paths: Annotated[list[Path], typer.Argument(help="Definition files (YAML).")]) -> None:
    """Validate definition files; exit code 1 with the problems if any is unusable."""
    failed = False
    for path in paths:
        try:
            definition = load_file(path)
        except DefinitionError as exc:
            err_console.print(f"[red]✗[/red] {exc}")
            failed = True
            continue
        console.print(f"[green]✓[/green] {path}: {definition.name} version {definition.version}, "
                      f"{len(definition.stages)} stages")
    if failed:
        raise typer.Exit(1)


@app.command("unit")
def unit(
    name: Annotated[str, typer.Argument(help="The unit (by name).")],
    workflow: Annotated[str | None, typer.Option("--workflow", help="Definition for this unit's invoices.")] = None,
    buyer_reference: Annotated[str | None, typer.Option(
        "--buyer-reference", help="An extra buyer reference (BT-10) routed to this unit (non-Leitweg).")] = None,
    lead: Annotated[str | None, typer.Option("--lead", help="Approver/admin who receives escalations.")] = None,
) -> None:
    """Set a unit's workflow definition, extra buyer reference or lead."""
    try:
        with _open() as uow:
            settings = people.configure_unit(uow, name, workflow=workflow, buyer_reference=buyer_reference,
                                              lead=lead, actor="cli")
            uow.commit()
    except WorkflowError as exc:
        raise _fail(exc.message) from None
    typer.echo(f"unit {name}: workflow={settings.workflow or '(by rules)'} "
               f"buyer-reference={settings.buyer_reference or '-'} lead={lead or '(unchanged)'}")


@substitutes_app.command("add")
def substitute_add(
    absent: Annotated[str, typer.Argument(help="The user who is away.")],
    substitute: Annotated[str, typer.Argument(help="Who acts for them.")],
    valid_from: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD).")],
    valid_to: Annotated[str, typer.Option("--to", help="Last day (YYYY-MM-DD), inclusive.")],
) -> None:
    """Name a substitute for a date range."""
    try:
        start, end = date.fromisoformat(valid_from), date.fromisoformat(valid_to)
    except ValueError as exc:
        raise _fail(f"dates must be YYYY-MM-DD: {exc}", 2) from None
    try:
        with _open() as uow:
            row = people.add_substitute(uow, absent=absent, substitute=substitute, valid_from=start, valid_to=end,
                                         actor="cli")
            uow.commit()
    except WorkflowError as exc:
        raise _fail(exc.message) from None
    typer.echo(f"{substitute} substitutes {absent} from {start} to {end} (id={row.id})")


@substitutes_app.command("list")
def substitute_list() -> None:
    """List substitutions."""
    with _open() as uow:
        table = Table(title="Substitutes")
        for column in ("id", "absent", "substitute", "from", "to"):
            table.add_column(column, overflow="fold")
        for row, absent, substitute in people.list_substitutes(uow):
            table.add_row(row.id, absent, substitute, row.valid_from.isoformat(), row.valid_to.isoformat())
    console.print(table)


@substitutes_app.command("remove")
def substitute_remove(substitute_id: Annotated[str, typer.Argument(help="Id from `substitute list`.")]) -> None:
    """End a substitution."""
    try:
        with _open() as uow:
            people.remove_substitute(uow, substitute_id, actor="cli")
            uow.commit()
    except WorkflowError as exc:
        raise _fail(exc.message) from None
    typer.echo(f"removed substitution {substitute_id}")


@app.command("deadlines")
def deadlines() -> None:
    """Run the deadline job once now (Skonto reminders, escalations, e-mail retries); for cron."""
    from einvoice.workflow.actors import check_deadlines

    create_schema()
    result = check_deadlines()
    typer.echo(" ".join(f"{key}={value}" for key, value in result.items()))


@app.command("worker")
def worker(
    threads: Annotated[int, typer.Option(min=1, help="Worker threads for the deadline job.")] = 1,
    interval: Annotated[float | None, typer.Option(
        min=1.0, help="Seconds between runs (default: EINVOICE_WORKFLOW_DEADLINE_INTERVAL).")] = None,
) -> None:
    """With Redis: schedule the deadline actor and process it (run one or more next to `einvoice worker`)."""
    from einvoice.config import get_settings
    from einvoice.scheduling import run_worker
    from einvoice.workflow.actors import DEADLINES

    if not get_settings().redis_url:
        raise _fail("`einvoice workflow worker` needs EINVOICE_REDIS_URL; in embedded mode `einvoice serve` "
                    "runs the deadline job itself", 2)
    run_worker(DEADLINES, threads=threads, interval=interval)
