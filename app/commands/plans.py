"""`flask plans ...`: import plans from seed YAML files."""

from pathlib import Path

import click
from flask.cli import AppGroup

from app.services.plan_import import PlanImportError, import_plan_files

plans_cli = AppGroup("plans", help="Import plans from seed YAML files.")

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@plans_cli.command("import")
@click.argument("plan_path", type=_FILE)
@click.option("--units", "units_path", type=_FILE, help="A tien-do/seed-units/v1 file to import first.")
def import_command(plan_path: Path, units_path: Path | None) -> None:
    """Import PLAN_PATH (tien-do/seed-plan/v1), all or nothing; running it again changes nothing."""
    try:
        stats = import_plan_files(plan_path, units_path)
    except PlanImportError as exc:
        for error in exc.errors:
            click.echo(f"error: {error}", err=True)
        click.echo(f"Nothing was imported ({len(exc.errors)} error(s)).", err=True)
        raise click.exceptions.Exit(1) from None
    for line in stats.lines():
        click.echo(line)
