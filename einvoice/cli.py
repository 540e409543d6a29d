"""The ``einvoice`` command line: one Typer app, one sub-app per domain."""

from __future__ import annotations

import typer

from einvoice import __version__
from einvoice.accounts.cli import tokens_app, units_app, users_app
from einvoice.connectors.cli import app as connectors_app
from einvoice.export.cli import app as export_app
from einvoice.ledger.cli import app as ledger_app
from einvoice.mail.cli import app as mail_app
from einvoice.peppol.cli import app as peppol_app
from einvoice.rules.cli import app as rules_app
from einvoice.schematron.cli import app as schematron_app
from einvoice.server import register as register_server_commands
from einvoice.validation.cli import validate
from einvoice.workflow.cli import app as workflow_app

app = typer.Typer(
    name="einvoice",
    help="E-invoice intake and validation (XRechnung, ZUGFeRD/Factur-X, Peppol BIS 3.0).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(rules_app, name="rules", help="Install and list the official rule packs.")
app.add_typer(schematron_app, name="schematron", help="Compile and run ISO Schematron.")
app.add_typer(ledger_app, name="ledger", help="Check the invoice ledger and its journal.")
app.add_typer(users_app, name="users", help="Manage users.")
app.add_typer(tokens_app, name="tokens", help="Manage API tokens.")
app.add_typer(units_app, name="units", help="Manage organisational units.")
app.add_typer(export_app, name="export", help="Export approved invoices to bookkeeping.")
app.add_typer(connectors_app, name="connectors", help="Mail and Peppol connectors: status, retry failed items.")
app.add_typer(peppol_app, name="peppol", help="Peppol connector: spool folder, Invoice Responses, SBDH.")
app.add_typer(workflow_app, name="workflow", help="Approval workflow: definitions, units, substitutes, deadlines.")
app.add_typer(mail_app, name="mail", help="E-mail intake: poll IMAP mailboxes for invoices.")
app.command("validate")(validate)
register_server_commands(app)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


if __name__ == "__main__":
    app()
