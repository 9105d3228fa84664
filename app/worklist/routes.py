"""GET /worklist: the open steps the signed-in user may act on now, soonest due first."""

from flask import render_template
from flask_login import current_user

from app.services.clock import utcnow
from app.services.step_context import is_item_overdue, role_names
from app.worklist import bp
from workflows.worklist import worklist_for


@bp.get("/worklist")
def index():
    items = worklist_for(current_user._get_current_object())
    return render_template(
        "worklist/index.html",
        items=items,
        now=utcnow(),
        is_item_overdue=is_item_overdue,
        role_names=role_names,
    )
