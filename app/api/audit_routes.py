"""GET /api/v1/audit: the audit trail, newest first, a page at a time; supervisors, leaders and admins.

Parameters (all optional): `actor` (username), `unit` (the actor's unit code at the time), `task` (a task
id, or a code, which matches that code in every plan), `action` (repeat it or separate with commas),
`since` / `until` (days YYYY-MM-DD in Asia/Ho_Chi_Minh, inclusive), `cursor` (the `next_cursor` of the
previous page) or `before` (a page's `previous_cursor`: the page before it), `limit` (1–200, default
50). Unknown users, units, tasks or actions, bad dates, a bad cursor, before or limit → 422 with
`details` naming each parameter.
"""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue

from app.api import bp
from app.api.auth import current_api_user
from app.api.errors import ApiError
from app.api.serializers import event_json
from app.services.audit_queries import FilterError, audit_page, may_read_audit, parse_filters, parse_limit


@bp.get("/audit")
def audit_events() -> ResponseReturnValue:
    if not may_read_audit(current_api_user()):
        raise ApiError(403, "only supervisors, leaders and administrators read the audit trail")
    try:
        filters = parse_filters(request.args, check_exists=True)
        limit = parse_limit(request.args.get("limit"))
        page = audit_page(
            filters, request.args.get("cursor") or None, limit, request.args.get("before") or None
        )
    except FilterError as error:
        raise ApiError(422, "invalid parameters", error.details) from None
    return {
        "events": [event_json(event) for event in page.events],
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
    }
