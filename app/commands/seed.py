import click
from flask.cli import AppGroup

seed_cli = AppGroup("seed")
