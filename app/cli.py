"""Registers the `flask` command groups: plans, seed, users, workflows."""

from flask import Flask


def init_app(app: Flask) -> None:
    from app.commands.plans import plans_cli
    from app.commands.seed import seed_cli
    from app.commands.users import users_cli
    from app.commands.workflows import workflows_cli

    for group in (plans_cli, seed_cli, users_cli, workflows_cli):
        app.cli.add_command(group)
