"""`flask workflows ...`: deploy the shipped process definitions."""

import click
from flask.cli import AppGroup

from app.extensions import db
from workflows.deploy import sync_shipped
from workflows.problems import DefinitionError

workflows_cli = AppGroup("workflows", help="Process definitions and the engine.")


@workflows_cli.command("sync")
def sync_command() -> None:
    """Deploy bpmn/*.bpmn: a changed diagram or form becomes a new version, an unchanged one does not."""
    try:
        results = sync_shipped()
        db.session.commit()
    except DefinitionError as error:
        db.session.rollback()
        for problem in error.problems:
            click.echo(f"error: {problem}", err=True)
        raise click.exceptions.Exit(1) from None
    for result in results:
        state = "new version" if result.created else "unchanged"
        click.echo(f"{result.key} v{result.version}: {state}")
