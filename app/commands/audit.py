"""`flask audit verify`: is the audit trail's hash chain intact? Exit code 1 names the first bad row."""

import click
from flask.cli import AppGroup

from workflows.audit_verify import verify

audit_cli = AppGroup("audit", help="The audit trail.")


@audit_cli.command("verify")
def verify_command() -> None:
    """Check every audit row's hash and its link to the row before it."""
    report = verify()
    if not report.ok:
        click.echo(f"NOT ok: row #{report.first_bad}: {report.reason}")
        raise click.exceptions.Exit(1)
    click.echo(f"ok: {report.checked} rows checked")
    click.echo(f"head: {report.head}")
