"""``fulcrum token``: API tokens for people and machines."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.context import context
from itsm_core.actor import SYSTEM
from itsm_core.db import unit_of_work
from itsm_core.people import service as people
from itsm_core.people.roles import Role

app = typer.Typer(help="API tokens.", no_args_is_help=True)


@app.command()
def create(
    ctx: typer.Context,
    user: Annotated[str, typer.Option("--user", help="Username; created if it does not exist.")],
    role: Annotated[Role, typer.Option("--role", help="The role the token acts in.")],
    name: Annotated[str, typer.Option("--name", help="A label for the token.")] = "",
) -> None:
    """Create a token acting as USER in ROLE and print it (it is shown only once)."""
    cli = context(ctx)
    with unit_of_work(cli.sessions) as session:
        account = people.find_user(session, user)
        if account is None:
            account = people.create_user(session, SYSTEM, user, roles={role})
            typer.echo(f"created user {user!r} with role {role}", err=True)
        elif role not in account.roles:
            people.grant_role(session, SYSTEM, account, role)
            typer.echo(f"granted role {role} to {user!r}", err=True)
        issued = people.create_token(session, SYSTEM, account, role, name=name)
    typer.echo(issued.secret)
