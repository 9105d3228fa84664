import click
from flask.cli import AppGroup

plans_cli = AppGroup("plans")
