"""Views of the JSON API v1: authentication, the caller, plans and tasks.

Reading: every active user of the department holding a valid token may read all plans and tasks
(every role reads; only changes are restricted by role). The token check itself is in app.api.auth.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from app.api import bp
from app.api.auth import current_api_user, token_not_required
from app.api.errors import ApiError
from app.api.serializers import plan_json, task_json, tasks_json, user_json
from app.extensions import db
from app.models import Plan, Task
from app.services.accounts import authenticate, record_access
from app.services.api_tokens import issue_token
from app.services.clock import local_today
from app.services.plan_list import PlanListError, api_query, plans_with_task_counts
from app.services.task_editing import update_task_fields
from app.services.task_queries import InvalidFilter, TaskFilter, plan_tasks
from app.throttle import sign_in_limits
from workflows.audit import Action
from workflows.permissions import may_view_task

BAD_CREDENTIALS = "wrong username or password"


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, or a 400."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object (Content-Type: application/json)")
    return body


def required_strings(body: dict[str, Any], *names: str) -> list[str]:
    """The named fields as non-blank strings, or a 400 naming each one that is not."""
    details = {
        name: "required, a non-empty string"
        for name in names
        if not isinstance(body.get(name), str) or not body[name].strip()
    }
    if details:
        raise ApiError(400, "missing or invalid fields", details)
    return [body[name] for name in names]


def plan_or_404(plan_id: int) -> Plan:
    plan = db.session.get(Plan, plan_id)
    if plan is None:
        raise ApiError(404, f"no plan with id {plan_id}")
    return plan


def task_or_404(task_id: int) -> Task:
    task = db.session.get(Task, task_id)
    if task is None:
        raise ApiError(404, f"no task with id {task_id}")
    return task


def readable_task_or_404(task_id: int) -> Task:
    """The task, if the caller may view it in its state (workflows/permissions.py): else 403."""
    task = task_or_404(task_id)
    if not may_view_task(current_api_user(), task):
        raise ApiError(403, "you may not see this task")
    return task


@bp.post("/auth/token")
@sign_in_limits(failed=lambda response: response.status_code != 200)
@token_not_required
def issue_api_token() -> ResponseReturnValue:
    """Exchange a username and password for a bearer token; one message for every bad credential."""
    username, password = required_strings(json_object(), "username", "password")
    user = authenticate(username, password)
    action = Action.TOKEN_ISSUED if user is not None else Action.TOKEN_REFUSED
    record_access(action, user, ip=request.remote_addr, channel="api", username=username)
    if user is None:
        db.session.commit()
        raise ApiError(401, BAD_CREDENTIALS)
    token, expires_at = issue_token(user)
    db.session.commit()
    return {"token": token, "expires_at": expires_at.isoformat(timespec="seconds")}


@bp.get("/me")
def me() -> ResponseReturnValue:
    return user_json(current_api_user())


@bp.get("/plans")
def list_plans() -> ResponseReturnValue:
    """The plans, newest first, with their number of tasks, a page at a time: `limit` (1–200, default
    50), `cursor` (the previous page's `next_cursor`; null on the last page). Bad values: 400."""
    try:
        page = plans_with_task_counts(api_query(request.args))
    except PlanListError as error:
        raise ApiError(400, "invalid parameters", error.details) from None
    items = [plan_json(row.plan, row.task_count) for row in page.rows]
    return {"items": items, "next_cursor": page.next_cursor}


@bp.get("/plans/<int:plan_id>/tasks")
def list_plan_tasks(plan_id: int) -> ResponseReturnValue:
    """Tasks of the plan in document order, filtered by `unit`, `state` and `overdue`; `kind=report`
    lists its reporting tasks instead of its own (app.services.reporting)."""
    plan = plan_or_404(plan_id)
    try:
        task_filter = TaskFilter.from_args(request.args)
    except InvalidFilter as error:
        raise ApiError(422, "invalid filter", error.details) from None
    today = local_today()
    return {"items": tasks_json(plan_tasks(plan, task_filter, today), today)}


@bp.get("/tasks/<int:task_id>")
def get_task(task_id: int) -> ResponseReturnValue:
    return task_json(readable_task_or_404(task_id), local_today())


@bp.patch("/tasks/<int:task_id>")
def patch_task(task_id: int) -> ResponseReturnValue:
    """Change the task's assignee, expected result and/or deadline (app.services.task_editing)."""
    task = task_or_404(task_id)
    user = current_api_user()
    changes = request.get_json(silent=True)  # its shape is checked after who may edit (403 first)
    return task_json(update_task_fields(task, user, changes), local_today(), user)
