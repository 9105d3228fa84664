"""BPMN timers: when an instance's next timer is due, and the scheduler step that fires the due ones.

SpiffWorkflow evaluates a timer's expression (with our restricted script engine) the first time the
timer waits, and keeps its due moment on the waiting task. The engine stores the earliest one in the
indexed `ProcessInstance.next_timer_at` whenever it writes a state, so the tick finds due instances with
one index lookup and never loads a workflow that has nothing due. Firing goes through the engine's one
write path (`workflows.engine.fire_timers`): one transaction per instance, audited as `timer.fired`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from app.extensions import db
from app.models import InstanceStatus, ProcessInstance

BATCH = 200  # instances fired per tick; the rest wait for the next minute


def waiting_timers(workflow) -> list:
    """The workflow's tasks waiting on a timer."""
    return [
        task
        for task in workflow.event_manager.tasks.values()
        if isinstance(task.task_spec.event_definition, TimerEventDefinition)
    ]


def _due_moment(task) -> datetime | None:
    value = task._get_internal_data("event_value")
    if isinstance(value, dict):  # a cycle: {"cycles": n, "next": iso, "duration": seconds}
        value = value.get("next") if value.get("cycles") != 0 else None
    if not isinstance(value, str):
        return None
    try:
        moment = TimerEventDefinition.get_datetime(value)
    except ValueError:
        return None
    return moment.astimezone(UTC)


def next_timer_at(workflow) -> datetime | None:
    """The earliest due moment of the workflow's waiting timers (UTC), or None."""
    if workflow.is_completed():
        return None
    moments = [moment for moment in map(_due_moment, waiting_timers(workflow)) if moment is not None]
    return min(moments, default=None)


def fire_due(workflow, now: datetime) -> list:
    """Fire the timers due by `now` (our clock, so `tick --now` and tests move it) and run the engine
    steps that follow; returns the timer tasks that fired. SpiffWorkflow itself compares with the real
    clock, so a due timer is marked fired first."""
    waiting = waiting_timers(workflow)
    for task in waiting:
        moment = _due_moment(task)
        if (
            moment is not None
            and moment <= now
            and not isinstance(task._get_internal_data("event_value"), dict)
        ):
            task._set_internal_data(event_fired=True)
    workflow.refresh_timers()
    workflow.do_engine_steps()
    return [task for task in waiting if task.state == TaskState.COMPLETED]


def timer_names(tasks) -> list[str]:
    """How the audit names fired timers: the element's name, else its id."""
    return sorted(task.task_spec.bpmn_name or task.task_spec.bpmn_id for task in tasks)


def due_instance_ids(now: datetime) -> list[int]:
    query = (
        select(ProcessInstance.id)
        .where(ProcessInstance.status == InstanceStatus.RUNNING, ProcessInstance.next_timer_at <= now)
        .order_by(ProcessInstance.next_timer_at, ProcessInstance.id)
        .limit(BATCH)
    )
    ids = list(db.session.scalars(query))
    db.session.rollback()  # end the read: each firing takes its own lock
    return ids


def fire_due_timers(now: datetime) -> list[str]:
    """The scheduler step: fire every due timer, one instance per transaction; one line per firing."""
    from workflows.engine import fire_timers  # the engine imports this module for next_timer_at

    lines = []
    for instance_id in due_instance_ids(now):
        fired = fire_timers(instance_id, now)
        if fired is not None:
            lines.append(f"{fired.task_code} #{instance_id}: {', '.join(fired.names) or '-'}")
    return lines
