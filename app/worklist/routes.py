"""GET /worklist: the open steps the signed-in user may act on now, soonest due first, a page at a time
(`cursor`: the "next page" link's position; the total is the menu badge's count)."""

from flask import render_template, request
from flask_login import current_user

from app.services.clock import utcnow
from app.services.step_context import is_item_overdue, role_names
from app.worklist import bp, worklist_total
from workflows.worklist import BadWorklistRequest, WorklistPage, decode_cursor, worklist_page

PAGE_SIZE = 50


@bp.get("/worklist")
def index():
    user = current_user._get_current_object()
    cursor = request.args.get("cursor") or None
    try:
        page = worklist_page(user, PAGE_SIZE, decode_cursor(cursor) if cursor else None)
    except BadWorklistRequest:
        page = None
    return render_template(
        "worklist/index.html",
        page=page or WorklistPage([], None, 1),
        bad_cursor=page is None,
        later_page=cursor is not None,
        total=worklist_total(user),
        now=utcnow(),
        is_item_overdue=is_item_overdue,
        role_names=role_names,
    ), (400 if page is None else 200)
