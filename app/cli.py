"""Registers the `flask` command groups (plans, seed, users, workflows) and `backup`/`restore`."""

from flask import Flask


def init_app(app: Flask) -> None:
    from app.commands.audit import audit_cli
    from app.commands.backup import backup_command, restore_command
    from app.commands.plans import plans_cli
    from app.commands.seed import seed_cli
    from app.commands.users import users_cli
    from app.commands.workflows import workflows_cli

    for group in (plans_cli, seed_cli, users_cli, workflows_cli, audit_cli):
        app.cli.add_command(group)
    for command in (backup_command, restore_command):
        app.cli.add_command(command)
