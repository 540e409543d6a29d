"""``einvoice validate``: check files or folders exactly like the KoSIT validator would."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from einvoice.config import get_settings
from einvoice.rules.store import RulePackError, RuleStore
from einvoice.terminal import err_console
from einvoice.validation.batch import collect_paths, validate_many
from einvoice.validation.scenarios import ScenarioConfigError, ScenarioSet

FORMATS = ("json", "text", "html", "kosit")
SUFFIX = {"json": ".json", "text": ".txt", "html": ".html", "kosit": ".kosit.xml"}


def _preflight() -> None:
    """Refuse to start (exit 2) when the configuration or a rule pack is missing: say what to do."""
    settings = get_settings()
    try:
        scenarios = ScenarioSet.load(settings.rules_config_dir / "scenarios.toml", settings.rules_dir / "cache")
        store = RuleStore(settings.rules_dir)
        needed = {s.xsd.split(":", 1)[0] for s in scenarios.scenarios if s.xsd}
        needed |= {p for s in scenarios.scenarios for p in s.schematron}
        for name in sorted(needed):
            store.pack(name)
    except (ScenarioConfigError, RulePackError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


def validate(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (searched for .xml and .pdf).")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="json | text | html | kosit")] = "text",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write one report per document here.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Worker processes.")] = 1,
    lang: Annotated[str, typer.Option(help="Language of text/HTML reports: de | en")] = "de",
) -> None:
    """Validate invoices; exit 0 if all are accepted, 1 if any is rejected, 2 on usage errors."""
    err = err_console
    if fmt not in FORMATS:
        err.print(f"[red]error:[/red] unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        raise typer.Exit(2)
    missing = [p for p in paths if not p.exists()]
    if missing:
        err.print(f"[red]error:[/red] no such file or folder: {', '.join(map(str, missing))}")
        raise typer.Exit(2)
    files = collect_paths(paths)
    if not files:
        err.print("[red]error:[/red] no .xml or .pdf files found")
        raise typer.Exit(2)
    _preflight()
    if out:
        out.mkdir(parents=True, exist_ok=True)

    rejected = 0
    show_progress = len(files) > 1 and (out is not None or not sys.stdout.isatty()) and err.is_terminal
    with Progress(TextColumn("validating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, disable=not show_progress) as progress:
        task = progress.add_task("validate", total=len(files))
        for outcome in validate_many(files, fmt=fmt, lang=lang, jobs=min(jobs, len(files))):
            rejected += not outcome.result.accepted
            if out:
                (out / (outcome.path.name + SUFFIX[fmt])).write_text(outcome.rendered, encoding="utf-8")
            elif fmt == "json":  # JSON Lines: one compact object per document
                typer.echo(json.dumps(outcome.result.to_dict(), ensure_ascii=False))
            else:
                typer.echo(outcome.rendered)
            progress.advance(task)
    if out or fmt != "text":
        err.print(f"{len(files) - rejected} accepted, {rejected} rejected")
    raise typer.Exit(1 if rejected else 0)

