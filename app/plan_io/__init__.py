"""Plans in and out as Excel workbooks: the import template, imports with row-and-column errors,
whole-plan exports (web pages here, `flask plans import-xlsx` in app/plan_io/cli.py)."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

bp = Blueprint("plan_io", __name__)


@bp.app_context_processor
def inject_may_import_plans() -> dict:
    """`may_import_plans()`: whether the signed-in user may import plans (leaders and admins)."""
    from app.services.plan_xlsx_import import may_import_plans

    return {"may_import_plans": lambda: may_import_plans(current_user)}


from app.plan_io import cli, routes  # noqa: E402,F401
