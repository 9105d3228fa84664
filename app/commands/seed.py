"""`flask seed ...`: fill the database with demo data."""

import click
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db
from app.services.demo import DemoAccount, seed_demo
from app.services.plan_import import PlanImportError

seed_cli = AppGroup("seed", help="Fill the database with demo data.")

DEMO_URL = "http://127.0.0.1:5000"


@seed_cli.command("demo")
def demo_command() -> None:
    """Import the Hai Duong demo plan and create the demo accounts (safe to run again)."""
    password = current_app.config["DEMO_PASSWORD"]
    try:
        accounts = seed_demo(password)
        db.session.commit()
    except PlanImportError as exc:
        db.session.rollback()
        for error in exc.errors:
            click.echo(f"error: {error}", err=True)
        raise click.exceptions.Exit(1) from None
    click.echo(format_accounts(accounts))
    click.echo(f"\nPassword of every demo account: {password}")
    click.echo(f"Open {DEMO_URL} and sign in.")


def format_accounts(accounts: list[DemoAccount]) -> str:
    """The accounts as a plain-text table: username, full name, unit, roles."""
    rows = [("Username", "Full name", "Unit", "Roles")]
    rows += [(a.username, a.full_name, a.unit_code, ", ".join(a.roles)) for a in accounts]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
