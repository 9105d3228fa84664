"""POST /api/v1/tasks/{id}/guidance: record that the central guidance a task waits for has arrived.

The rules are app.services.task_types.record_guidance's: 403 for anyone but the lead unit's head, a
leader or an admin; 409 when the task is not waiting for guidance; 422 when `note` (the guidance
document's number, date and summary) is missing, blank or not a string.
"""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from app.api import bp
from app.api.auth import current_api_user
from app.api.routes import task_or_404
from app.api.serializers import task_json
from app.api.workflow_routes import optional_json_object
from app.services.clock import local_today
from app.services.task_types import record_guidance


@bp.post("/tasks/<int:task_id>/guidance")
def record_task_guidance(task_id: int) -> ResponseReturnValue:
    """`{"note": str}` → the task, now `not_started` and ready to start."""
    task = task_or_404(task_id)
    body = optional_json_object()
    note = body.get("note")
    user = current_api_user()
    record_guidance(task, user, note if isinstance(note, str) else None, note_required=True)
    return task_json(task, local_today(), user)
