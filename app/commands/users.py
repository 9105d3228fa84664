"""`flask users ...`: manage accounts."""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services.accounts import AccountError, create_or_update_user

users_cli = AppGroup("users", help="Manage user accounts.")


@users_cli.command("create")
@click.option("--username", required=True)
@click.option("--password", default=None, help="Required for a new account; omit to keep the current one.")
@click.option("--unit", "unit_code", required=True, help="Unit code, e.g. CNTT.")
@click.option("--role", "roles", multiple=True, help="Repeat for several roles.")
@click.option("--full-name", default=None)
@click.option("--email", default=None)
def create_command(
    username: str,
    password: str | None,
    unit_code: str,
    roles: tuple[str, ...],
    full_name: str | None,
    email: str | None,
) -> None:
    """Create the account, or bring an existing one to these values (its roles become exactly these)."""
    before = _snapshot(db.session.scalar(select(User).where(User.username == username.strip())))
    try:
        user, created = create_or_update_user(
            username=username,
            password=password,
            unit_code=unit_code,
            roles=roles,
            full_name=full_name,
            email=email,
        )
        db.session.commit()
    except AccountError as exc:
        db.session.rollback()
        click.echo(f"error: {exc}", err=True)
        raise click.exceptions.Exit(1) from None
    status = "created" if created else ("unchanged" if _snapshot(user) == before else "updated")
    click.echo(f"{user.username}: {status} ({user.unit.code}; {', '.join(user.roles)})")


def _snapshot(user: User | None) -> tuple | None:
    """The values of an account that `users create` can change."""
    if user is None:
        return None
    return (user.full_name, user.email, user.unit_id, user.password_hash, tuple(user.roles))
