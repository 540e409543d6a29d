"""``einvoice schematron``: compile a schema, or run one over files and print one JSON line per file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated

import typer

from einvoice.schematron.compiler import CompileOptions, compile_expanded, write_stylesheet
from einvoice.schematron.expand import SchematronCompileError, expand_schema
from einvoice.schematron.runner import SchematronError, SchematronRunner

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)

_COMPILER_FILES = ("expand.py", "compiler.py")


@app.command("compile")
def compile_command(
    sch: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="ISO Schematron file")],
    output: Annotated[Path, typer.Option("-o", "--output", help="XSLT file to write")],
    phase: Annotated[
        str | None, typer.Option("--phase", help="phase id (default: defaultPhase or #ALL)")
    ] = None,
    location_style: Annotated[
        str, typer.Option("--location-style", help="skeleton | skeleton-2 | skeleton-3 | xpath")
    ] = "skeleton",
    full_svrl: Annotated[
        bool, typer.Option("--full-svrl", help="also emit active-pattern and fired-rule")
    ] = False,
) -> None:
    """Compile SCH to an XSLT 3.0 stylesheet that writes SVRL."""
    options = CompileOptions(phase=phase, full_svrl=full_svrl, location_style=location_style)
    try:
        text = compile_expanded(expand_schema(sch), options)
    except SchematronCompileError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    write_stylesheet(output, text)
    typer.echo(str(output))


@app.command("run")
def run_command(
    files: Annotated[list[Path], typer.Argument(help="XML documents to validate")],
    pack: Annotated[str | None, typer.Option("--pack", help="installed rule pack name")] = None,
    sch: Annotated[
        Path | None, typer.Option("--sch", exists=True, dir_okay=False, help="Schematron file")
    ] = None,
    xslt: Annotated[
        Path | None, typer.Option("--xslt", exists=True, dir_okay=False, help="compiled XSLT")
    ] = None,
    phase: Annotated[str | None, typer.Option("--phase", help="phase id when compiling --sch")] = None,
) -> None:
    """Validate FILES; prints {"file", "fired", "error"} per file, exit code 1 if any file failed to run."""
    if sum(x is not None for x in (pack, sch, xslt)) != 1:
        typer.echo("error: give exactly one of --pack, --sch, --xslt", err=True)
        raise typer.Exit(2)
    try:
        stylesheet = _stylesheet_for(pack=pack, sch=sch, xslt=xslt, phase=phase)
        runner = SchematronRunner(stylesheet)
    except (SchematronCompileError, SchematronError, LookupError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    failed = False
    for path in files:
        line: dict[str, object] = {"file": str(path), "fired": [], "error": None}
        try:
            fired = runner.run_bytes(_read_document(path))
            line["fired"] = [
                {"id": f.id, "flag": f.flag, "location": f.location, "text": f.text} for f in fired
            ]
        except (SchematronError, OSError) as exc:
            line["error"] = str(exc)
            failed = True
        typer.echo(json.dumps(line, ensure_ascii=False))
    if failed:
        raise typer.Exit(1)


def _read_document(path: Path) -> bytes:
    from einvoice.config import get_settings

    limit = get_settings().max_document_bytes
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise SchematronError(f"document larger than {limit} bytes")
    return data


def _stylesheet_for(*, pack: str | None, sch: Path | None, xslt: Path | None, phase: str | None) -> Path:
    if xslt is not None:
        return xslt
    if pack is not None:
        from einvoice.rules.store import RuleStore  # written by another module owner; loaded lazily

        return Path(RuleStore.from_settings().validation_xslt(pack))
    assert sch is not None
    return cached_compile(sch, phase=phase)


def cached_compile(sch: Path, *, phase: str | None = None, cache_dir: Path | None = None) -> Path:
    """Compile ``sch`` once per content: the key covers every source file, the options and our compiler."""
    if cache_dir is None:
        from einvoice.config import get_settings

        cache_dir = get_settings().data_dir / "cache" / "schematron"
    expanded = expand_schema(sch)
    digest = hashlib.sha256(f"phase={phase}\n".encode())
    here = Path(__file__).resolve().parent
    for name in _COMPILER_FILES:
        digest.update((here / name).read_bytes())
    for source in expanded.sources:
        digest.update(str(source).encode() + b"\0")
        digest.update(source.read_bytes())
    target = cache_dir / f"{sch.stem}-{digest.hexdigest()[:24]}.xsl"
    if not target.is_file():
        write_stylesheet(target, compile_expanded(expanded, CompileOptions(phase=phase)))
    return target
