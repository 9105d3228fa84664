"""`flask backup FILE` and `flask restore FILE`: the whole database to a file and back."""

from pathlib import Path

import click
from flask.cli import with_appcontext

from app.services.backup import BackupError, backup_database, restore_database

_FILE = click.Path(dir_okay=True, path_type=Path)


@click.command("backup")
@click.argument("file", type=_FILE)
@with_appcontext
def backup_command(file: Path) -> None:
    """Back up the database to FILE while the server runs (SQLite: a database file; PostgreSQL: a
    pg_dump custom-format archive). An existing FILE is replaced."""
    try:
        outcome = backup_database(file)
    except BackupError as exc:
        click.echo(f"error: {exc}", err=True)
        raise click.exceptions.Exit(1) from None
    click.echo(outcome.line("Backed up to"))


@click.command("restore")
@click.argument("file", type=_FILE)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore_command(file: Path, yes: bool) -> None:
    """Replace the whole database with the backup in FILE (made by `flask backup`)."""
    if not yes:
        click.confirm(f"Replace the whole database with {file}?", abort=True)
    try:
        outcome = restore_database(file)
    except BackupError as exc:
        click.echo(f"error: {exc}", err=True)
        raise click.exceptions.Exit(1) from None
    click.echo(outcome.line("Restored from"))
