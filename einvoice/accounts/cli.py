"""``einvoice users|tokens|units ...``: manage accounts from the command line (mounted by the main CLI)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from einvoice.accounts import service
from einvoice.accounts.models import Unit
from einvoice.db import UnitOfWork, create_schema
from einvoice.terminal import console, err_console

users_app = typer.Typer(help="Create and list users (suppliers, clerks, approvers, admins, connectors).",
                        no_args_is_help=True)
tokens_app = typer.Typer(help="Create and revoke API bearer tokens.", no_args_is_help=True)
units_app = typer.Typer(help="Create and list organisational units (with their Leitweg-ID).",
                        no_args_is_help=True)



def _fail(exc: Exception) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(code=1)


def _open() -> UnitOfWork:
    create_schema()  # a fresh installation has no tables yet
    return UnitOfWork()


# --------------------------------------------------------------------------- users


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="Unique user name.")],
    role: Annotated[str, typer.Option("--role", help="supplier, clerk, approver, admin or connector.")],
    unit: Annotated[str | None, typer.Option("--unit", help="Organisational unit (by name).")] = None,
    email: Annotated[str | None, typer.Option("--email", help="E-mail address.")] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read a password from standard input (first line); hashed with argon2.")] = False,
) -> None:
    """Create a user."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    try:
        with _open() as uow:
            user = service.create_user(uow, name, role, unit=unit, email=email, password=password)
            uow.commit()
    except service.AccountError as exc:
        raise _fail(exc) from None
    typer.echo(f"created user {user.name} ({user.role}) id={user.id}")


@users_app.command("list")
def users_list() -> None:
    """List users."""
    with _open() as uow:
        units = {u.id: u.name for u in service.list_units(uow)}
        table = Table(title="Users")
        for column in ("name", "role", "unit", "email", "active", "id"):
            table.add_column(column, overflow="fold")
        for user in service.list_users(uow):
            table.add_row(user.name, user.role, units.get(user.unit_id or "", ""), user.email or "",
                          "yes" if user.active else "no", user.id)
    console.print(table)


# --------------------------------------------------------------------------- tokens


@tokens_app.command("create")
def tokens_create(
    user: Annotated[str, typer.Option("--user", help="The user the token acts as.")],
    label: Annotated[str, typer.Option("--label", help="What the token is for.")] = "",
) -> None:
    """Create a token and print it (only the token, on standard output): it cannot be shown again."""
    try:
        with _open() as uow:
            issued = service.create_token(uow, user, label)
            uow.commit()
    except service.AccountError as exc:
        raise _fail(exc) from None
    err_console.print(f"token {issued.id} for {user} created; store it now, it is not shown again")
    typer.echo(issued.token)


@tokens_app.command("revoke")
def tokens_revoke(
    token: Annotated[str, typer.Argument(help="Token id (see `tokens list`) or the token itself.")],
) -> None:
    """Revoke a token; requests with it are refused from now on."""
    try:
        with _open() as uow:
            row = service.revoke_token(uow, token)
            uow.commit()
    except service.AccountError as exc:
        raise _fail(exc) from None
    typer.echo(f"revoked token {row.id}")


@tokens_app.command("list")
def tokens_list(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's tokens.")] = None,
) -> None:
    """List tokens (ids and labels; the tokens themselves are not stored)."""
    with _open() as uow:
        table = Table(title="API tokens")
        for column in ("id", "user", "label", "created", "revoked"):
            table.add_column(column, overflow="fold")
        for token, user_name in service.list_tokens(uow, user):
            table.add_row(token.id, user_name, token.label, token.created_at.isoformat(timespec="seconds"),
                          token.revoked_at.isoformat(timespec="seconds") if token.revoked_at else "")
    console.print(table)


# --------------------------------------------------------------------------- units


@units_app.command("add")
def units_add(
    name: Annotated[str, typer.Argument(help="Unique unit name.")],
    leitweg_id: Annotated[str | None, typer.Option(
        "--leitweg-id", help="The unit's Leitweg-ID (buyer reference, BT-10); check digits are verified.")] = None,
    workflow: Annotated[str | None, typer.Option(
        "--workflow", help="Approval workflow definition for this unit (default: chosen by the definitions' "
                           "rules).")] = None,
) -> None:
    """Create an organisational unit."""
    from einvoice.workflow.errors import WorkflowError
    from einvoice.workflow.people import configure_unit

    try:
        with _open() as uow:
            unit: Unit = service.create_unit(uow, name, leitweg_id)
            if workflow:
                configure_unit(uow, unit.name, workflow=workflow, actor="cli")
            uow.commit()
    except service.AccountError as exc:
        raise _fail(exc) from None
    except WorkflowError as exc:
        raise _fail(exc) from None
    typer.echo(f"created unit {unit.name} id={unit.id}" + (f" leitweg-id={unit.leitweg_id}" if unit.leitweg_id else "")
               + (f" workflow={workflow}" if workflow else ""))


@units_app.command("list")
def units_list() -> None:
    """List organisational units."""
    with _open() as uow:
        table = Table(title="Units")
        for column in ("name", "leitweg-id", "id"):
            table.add_column(column, overflow="fold")
        for unit in service.list_units(uow):
            table.add_row(unit.name, unit.leitweg_id or "", unit.id)
    console.print(table)
