"""`flask plans import-xlsx FILE`: import a plan workbook, all or nothing (a command of `flask plans`)."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select

from app.commands.plans import plans_cli
from app.extensions import db
from app.models import User
from app.services.plan_xlsx_import import XlsxImportError, import_xlsx_file


@plans_cli.command("import-xlsx")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "username", help="The account recorded as having imported the plan.")
def import_xlsx_command(path: Path, username: str | None) -> None:
    """Import the plan workbook PATH (the layout of the web page's template) as a new plan."""
    user = None
    if username:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.BadParameter(f"no user {username!r}", param_hint="--user")
    try:
        imported = import_xlsx_file(path, user)
    except XlsxImportError as error:
        for message in error.messages:
            click.echo(f"error: {message}", err=True)
        click.echo(f"Nothing was imported ({len(error.problems)} error(s)).", err=True)
        raise click.exceptions.Exit(1) from None
    plan = imported.plan
    click.echo(f"Imported plan {plan.id}: {plan.doc_type} {plan.document_number}")
    for line in imported.stats.lines():
        click.echo(line)
