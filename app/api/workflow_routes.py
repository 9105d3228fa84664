"""Views of the JSON API v1 for the workflow: starting a task's process, worklists, steps, history.

Every change goes through the engine services (workflows.engine, workflows.assignment), which check
who may act and commit or change nothing; their WorkflowError becomes the JSON error of its status.
Reading the history is open to every signed-in user, like reading the task itself.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask.typing import ResponseReturnValue

from app.api import bp
from app.api.auth import current_api_user
from app.api.errors import ApiError, error_response
from app.api.routes import readable_task_or_404, task_or_404
from app.api.serializers import completed_step_json, event_json, task_json, work_item_json
from app.models import WorkItem
from app.services.clock import local_today
from workflows.assignment import claim, delegate, release
from workflows.engine import advance, start_process
from workflows.errors import NotAllowed, WorkflowError
from workflows.guards import may_see
from workflows.worklist import (
    BadWorklistRequest,
    history_of,
    load_work_item,
    page_of,
    parse_paging,
    worklist_for,
)


def _workflow_error(error: WorkflowError) -> ResponseReturnValue:
    return error_response(error.status, error.message, error.details)


bp.register_error_handler(WorkflowError, _workflow_error)


def optional_json_object() -> dict[str, Any]:
    """The body as a JSON object; an empty body is {}; anything else is a 400."""
    if not request.get_data(cache=True):
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object (Content-Type: application/json)")
    return body


def check_types(body: dict[str, Any], **expected: tuple[type, ...]) -> None:
    """A 400 naming every present field whose value is not of one of its expected types."""
    details = {
        name: f"must be {' or '.join('null' if kind is type(None) else kind.__name__ for kind in kinds)}"
        for name, kinds in expected.items()
        if name in body and not isinstance(body[name], kinds)
    }
    if details:
        raise ApiError(400, "invalid fields", details)


def work_item_or_404(item_id: int, *, with_coordinating_units: bool = False) -> WorkItem:
    item = load_work_item(item_id, with_coordinating_units=with_coordinating_units)
    if item is None:
        raise ApiError(404, f"no work item with id {item_id}")
    return item


@bp.post("/tasks/<int:task_id>/start")
def start_task_process(task_id: int) -> ResponseReturnValue:
    """Start the task's process (`process` names it; by default the task type's)."""
    task = task_or_404(task_id)
    body = optional_json_object()
    check_types(body, process=(str, type(None)))
    user = current_api_user()
    result = start_process(task, user, body.get("process") or None)
    return task_json(result.task, local_today(), user, result.instance, result.open_items), 201


@bp.get("/worklist")
def worklist() -> ResponseReturnValue:
    """Open steps the caller may act on now, soonest due first: `limit` (1–500, default 100) after
    `cursor` (the previous page's `next_cursor`, null on the last page); a bad one of either is a 400."""
    user = current_api_user()
    try:
        limit, after = parse_paging(request.args.get("limit"), request.args.get("cursor"), 100, 500)
    except BadWorklistRequest as error:
        raise ApiError(400, "invalid parameters", error.details) from None
    page = page_of(worklist_for(user, limit + 1, after), limit, after)
    return {"items": [work_item_json(item, user) for item in page.items], "next_cursor": page.next_cursor}


@bp.get("/work-items/<int:item_id>")
def get_work_item(item_id: int) -> ResponseReturnValue:
    item, user = work_item_or_404(item_id), current_api_user()
    if not may_see(user, item):
        raise NotAllowed("you may not see this step")
    return work_item_json(item, user)


@bp.post("/work-items/<int:item_id>/complete")
def complete_work_item(item_id: int) -> ResponseReturnValue:
    """Complete a step with its form data (and a comment, required when returning the work)."""
    item = work_item_or_404(item_id, with_coordinating_units=True)  # the answer shows the task
    body = optional_json_object()
    check_types(body, data=(dict,), comment=(str, type(None)))
    user = current_api_user()
    result = advance(item, user, body.get("data", {}), body.get("comment"))
    return completed_step_json(result, local_today(), user)


@bp.post("/work-items/<int:item_id>/claim")
def claim_work_item(item_id: int) -> ResponseReturnValue:
    user = current_api_user()
    return work_item_json(claim(work_item_or_404(item_id), user), user)


@bp.post("/work-items/<int:item_id>/release")
def release_work_item(item_id: int) -> ResponseReturnValue:
    user = current_api_user()
    return work_item_json(release(work_item_or_404(item_id), user), user)


@bp.post("/work-items/<int:item_id>/delegate")
def delegate_work_item(item_id: int) -> ResponseReturnValue:
    """Hand the step to a colleague who could do it (`to`: their username)."""
    item = work_item_or_404(item_id)
    body = optional_json_object()
    if not isinstance(body.get("to"), str) or not body["to"].strip():
        raise ApiError(400, "invalid fields", {"to": "required, a username"})
    user = current_api_user()
    return work_item_json(delegate(item, user, body["to"]), user)


@bp.get("/tasks/<int:task_id>/history")
def task_history(task_id: int) -> ResponseReturnValue:
    """Every audited transition of the task, oldest first."""
    return {"events": [event_json(event) for event in history_of(readable_task_or_404(task_id))]}
