"""The JSON API v1 (see docs/api-v1.md): bearer tokens, JSON errors, no CSRF (no cookies used)."""

from flask import Blueprint

from app.extensions import csrf

bp = Blueprint("api", __name__)
csrf.exempt(bp)

from app.api import errors, routes, workflow_routes  # noqa: E402,F401
