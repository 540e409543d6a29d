"""The ``einvoice`` command line: one Typer app, one sub-app per domain."""

from __future__ import annotations

import typer

from einvoice import __version__
from einvoice.rules.cli import app as rules_app
from einvoice.schematron.cli import app as schematron_app
from einvoice.validation.cli import validate

app = typer.Typer(
    name="einvoice",
    help="E-invoice intake and validation (XRechnung, ZUGFeRD/Factur-X, Peppol BIS 3.0).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(rules_app, name="rules", help="Install and list the official rule packs.")
app.add_typer(schematron_app, name="schematron", help="Compile and run ISO Schematron.")
app.command("validate")(validate)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


if __name__ == "__main__":
    app()
