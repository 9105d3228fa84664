"""Moving running instances to a newer version of their process (admins only)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("process_migration", __name__)

from app.process_migration import routes  # noqa: E402,F401
