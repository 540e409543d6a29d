"""``einvoice rules ...``: install, list and verify rule packs (mounted by the main CLI)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from einvoice.rules.store import InstalledPack, RulePackError, RuleStore
from einvoice.terminal import console, err_console

app = typer.Typer(help="Install, list and verify rule packs (XSD, Schematron, XSLT).", no_args_is_help=True)

RulesDirOption = Annotated[
    Path | None,
    typer.Option("--rules-dir", help="Rules directory (default: EINVOICE_RULES_DIR / settings)."),
]


def _rules_dir(rules_dir: Path | None) -> Path:
    if rules_dir is not None:
        return rules_dir
    from einvoice.config import get_settings

    return get_settings().rules_dir


def _table(packs: list[InstalledPack], title: str) -> Table:
    table = Table(title=title)
    for column in ("name", "kind", "version", "source", "sha256", "verified", "installed at"):
        table.add_column(column, overflow="fold")
    for pack in packs:
        style = "green" if pack.verified == "verified" else "yellow"
        table.add_row(
            pack.name,
            pack.kind,
            pack.version,
            pack.source,
            pack.sha256[:12],
            f"[{style}]{pack.verified}[/{style}]",
            pack.installed_at,
        )
    return table


@app.command("install")
def install_command(
    source: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="Standards folder (upstream checkouts) or a zip of one. Default: download the "
            "pinned archives named in the manifest.",
        ),
    ] = None,
    pack: Annotated[
        list[str] | None, typer.Option("--pack", help="Install only this pack (repeatable).")
    ] = None,
    allow_unpinned: Annotated[
        bool,
        typer.Option("--allow-unpinned", help="Download archives whose sha256 the manifest does not pin."),
    ] = False,
    rules_dir: RulesDirOption = None,
) -> None:
    """Build and install rule packs; Schematron is compiled now, never during validation."""
    from einvoice.rules.install import install
    from einvoice.rules.manifest import load_manifest

    target = _rules_dir(rules_dir)
    try:
        manifest = load_manifest()
        total = len(manifest.select(pack))
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("preparing", total=total)

            def report(name: str, message: str) -> None:
                if message == "building":
                    bar.update(task, description=f"building {name}")
                elif message.startswith("built"):
                    bar.advance(task)
                else:
                    bar.console.print(f"{name + ': ' if name else ''}{message}")

            installed = install(
                source,
                target,
                packs=pack,
                allow_unpinned=allow_unpinned,
                manifest=manifest,
                progress=report,
            )
    except RulePackError as exc:
        err_console.print(f"[red]rules install failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(_table(installed, f"Installed into {target}"))
    unverified = [p.name for p in installed if p.verified != "verified"]
    if unverified:
        console.print(
            f"[yellow]{len(unverified)} pack(s) differ from the manifest's known-good content: "
            f"{', '.join(unverified)}[/yellow]"
        )


@app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the pack records as JSON.")] = False,
    rules_dir: RulesDirOption = None,
) -> None:
    """Show the installed rule packs."""
    store = RuleStore(_rules_dir(rules_dir))
    try:
        packs = store.packs()
    except RulePackError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    if as_json:
        records = [{**p.to_json(), "path": str(p.path)} for p in packs]
        typer.echo(json.dumps(records, indent=2))
        return
    if not packs:
        console.print(f"No rule packs in {store.rules_dir}; run: einvoice rules install [--from PATH]")
        return
    console.print(_table(packs, f"Rule packs in {store.rules_dir}"))


@app.command("verify")
def verify_command(rules_dir: RulesDirOption = None) -> None:
    """Re-hash the installed packs; exit 1 if anything changed since installation."""
    store = RuleStore(_rules_dir(rules_dir))
    problems = store.verify()
    for problem in problems:
        err_console.print(f"[red]{problem}[/red]")
    if problems:
        raise typer.Exit(1)
    console.print(f"{len(store.packs())} rule pack(s) intact in {store.rules_dir}")
