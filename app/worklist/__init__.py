"""Việc cần xử lý: the signed-in user's open steps, and the count beside the menu link."""

from __future__ import annotations

from flask import Blueprint, g
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from app.models import User
from workflows.worklist import worklist_count

bp = Blueprint("worklist", __name__)


def worklist_total(user: User) -> int:
    """`worklist_count` once per request: the menu badge and the worklist page's total share it."""
    totals = g.setdefault("worklist_totals", {})
    if user.id not in totals:
        totals[user.id] = worklist_count(user)
    return totals[user.id]


def worklist_badge() -> int | None:
    """How many open steps wait for the signed-in user (None for visitors, or if it cannot be read)."""
    if not current_user.is_authenticated:
        return None
    try:
        return worklist_total(current_user._get_current_object())
    except SQLAlchemyError:  # an error page after a failed transaction still renders its menu
        return None


@bp.app_context_processor
def inject_worklist_badge() -> dict:
    return {"worklist_badge": worklist_badge}


from app.worklist import routes  # noqa: E402,F401
