"""`flask workflows ...`: deploy the shipped process definitions; run the scheduler."""

from datetime import datetime

import click
from flask.cli import AppGroup

from app.extensions import db
from workflows.deploy import sync_shipped
from workflows.problems import DefinitionError
from workflows.scheduler import tick

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


@workflows_cli.command("tick")
@click.option("--now", "now_text", help="Pretend it is this ISO 8601 time (naive = Asia/Ho_Chi_Minh).")
def tick_command(now_text: str | None) -> None:
    """Run the scheduler once: start due period instances. Safe every minute, on several servers."""
    try:
        now = datetime.fromisoformat(now_text) if now_text else None
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {now_text}", param_hint="--now") from None
    for line in tick(now).lines():
        click.echo(line)
