"""The append-only audit trail: one row per transition. This module only ever inserts."""

from __future__ import annotations

from app.extensions import db
from app.models import AuditEvent, ProcessInstance, Task, User, WorkItem
from app.services.clock import utcnow


class Action:
    PROCESS_STARTED = "process.started"
    PROCESS_COMPLETED = "process.completed"
    STEP_COMPLETED = "step.completed"
    STEP_RETURNED = "step.returned"
    STEP_CLAIMED = "step.claimed"
    STEP_RELEASED = "step.released"
    STEP_DELEGATED = "step.delegated"
    STEP_REASSIGNED = "step.reassigned"
    TIMER_FIRED = "timer.fired"
    TASK_UPDATED = "task.updated"
    GUIDANCE_RECEIVED = "task.guidance_received"
    FILE_ADDED = "task.file_added"


def record(
    action: str,
    actor: User | None,
    task: Task | None,
    *,
    instance: ProcessInstance | None = None,
    item: WorkItem | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    comment: str | None = None,
    data: dict | None = None,
) -> AuditEvent:
    """Add one audit row to the current transaction, with a snapshot of who the actor was."""
    event = AuditEvent(
        at=utcnow(),
        actor_id=actor.id if actor else None,
        actor_username=actor.username if actor else None,
        actor_name=actor.full_name if actor else None,
        actor_unit_code=actor.unit.code if actor else None,
        action=action,
        task_id=task.id if task else None,
        instance_id=instance.id if instance else None,
        work_item_id=item.id if item else None,
        step=item.step if item else None,
        step_name=item.name if item else None,
        from_state=from_state,
        to_state=to_state,
        comment=(comment or "").strip() or None,
        data=data or None,
    )
    db.session.add(event)
    return event
