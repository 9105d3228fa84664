"""A step of a task's process: its page and form, and taking or giving back the step."""

from __future__ import annotations

from flask import Blueprint

from app.services import step_context
from app.services.form_options import comment_required_for

bp = Blueprint("steps", __name__, url_prefix="/steps")


@bp.app_context_processor
def inject_step_helpers() -> dict:
    """Helpers the worklist, step and task pages share."""
    return {
        "is_item_overdue": step_context.is_item_overdue,
        "role_names": step_context.role_names,
        "item_status_labels": step_context.ITEM_STATUS_LABELS,
        "instance_status_labels": step_context.INSTANCE_STATUS_LABELS,
        "comment_required_for": comment_required_for,
    }


from app.steps import routes  # noqa: E402,F401
