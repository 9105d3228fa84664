"""Plans: the list, a plan's tasks under its section headings, and its indicators."""

from flask import Blueprint

bp = Blueprint("plans", __name__)

from app.plans import routes  # noqa: E402,F401
