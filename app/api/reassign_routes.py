"""POST /api/v1/work-items/{id}/reassign: the unit head (or a leader or an admin) gives a step to a colleague.

Like Camunda's setAssignee: the step goes to `to` even when someone else holds it now. The rules are
workflows.assignment.reassign's; a refusal (403, 409, 422) is its WorkflowError as a JSON error.
"""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from app.api import bp
from app.api.auth import current_api_user
from app.api.serializers import work_item_json
from app.api.workflow_routes import optional_json_object, work_item_or_404
from workflows.assignment import reassign


@bp.post("/work-items/<int:item_id>/reassign")
def reassign_work_item(item_id: int) -> ResponseReturnValue:
    """`{"to": username}` → the step as the caller now sees it. A `to` that is not a string is a 422."""
    item = work_item_or_404(item_id)
    body = optional_json_object()
    to = body.get("to")
    user = current_api_user()
    return work_item_json(reassign(item, user, to if isinstance(to, str) else ""), user)
