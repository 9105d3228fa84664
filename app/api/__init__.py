"""The JSON API v1 (see docs/api-v1.md): bearer tokens, JSON errors, no CSRF (no cookies used)."""

from flask import Blueprint

from app.extensions import csrf

bp = Blueprint("api", __name__)
csrf.exempt(bp)

from app.api import (  # noqa: E402,F401  # noqa: E402,F401
    attachment_routes,  # noqa: E402,F401
    audit_routes,
    audit_verify_routes,
    commune_plan_routes,
    definition_routes,
    errors,
    indicator_routes,
    migration_routes,
    reassign_routes,
    routes,
    task_guidance_routes,
    workflow_routes,
)
