"""Where the plans stand: the dashboard, a plan's timeline, and a task's diagram with its path."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from app.dashboard import routes  # noqa: E402,F401
