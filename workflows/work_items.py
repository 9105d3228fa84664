"""Keeping the worklist table in step with the workflow: one open row per READY user task."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from sqlalchemy import bindparam, select
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import ProcessInstance, Task, Unit, WorkItem, WorkItemStatus
from app.services.clock import LOCAL_TZ
from app.services.working_days import working_due_at
from workflows.row_writes import cancel_rows, insert_new
from workflows.runtime import LoadedSpec, multi_instance_items, ready_user_tasks
from workflows.steps import StepConfig


@dataclass
class SyncedItems:
    created: list[WorkItem]  # rows for steps that just became READY (inserted already)
    open: list[WorkItem]  # every open row of the instance afterwards: still open ones by id, then created


# Built once (every step runs it): a reused statement keeps its cache key. Only the open rows that stay
# open are loaded as objects (a multi-instance step's other items), since most steps leave none.
_ITEMS_BY_IDS = (
    select(WorkItem).where(WorkItem.id.in_(bindparam("ids", expanding=True))).order_by(WorkItem.id)
)


def sync_work_items(
    instance: ProcessInstance, workflow, loaded: LoadedSpec, task: Task, now: datetime, open_rows: list
) -> SyncedItems:
    """Cancel rows whose step is no longer READY and add rows for newly READY steps. `open_rows`: the
    instance's open rows as (id, spiff_task_id) pairs by id, read under its lock
    (`update_instance_reading_open_items`; none for a new instance)."""
    ready = {str(t.id): t for t in ready_user_tasks(workflow)}
    cancel_rows([row.id for row in open_rows if row.spiff_task_id not in ready], now)
    staying = [row.id for row in open_rows if row.spiff_task_id in ready]
    still_open = db.session.scalars(_ITEMS_BY_IDS, {"ids": staying}).all() if staying else []
    known = {row.spiff_task_id for row in open_rows}
    new = [
        _new_item(instance, task, spiff_task, loaded.steps[spiff_task.task_spec.bpmn_id], now)
        for spiff_id, spiff_task in ready.items()
        if spiff_id not in known
    ]
    created = insert_new(WorkItem, [values for values, _ in new])
    for item, (_, related) in zip(created, new, strict=True):
        for name, value in related.items():
            set_committed_value(item, name, value)
    return SyncedItems(created, still_open + created)


def _new_item(instance: ProcessInstance, task: Task, spiff_task, step: StepConfig, now: datetime):
    """(the row of a newly READY step, its related objects by relationship name)."""
    unit, roles, form_key, item_unit = _candidates(task, spiff_task, step)
    values = {
        "instance_id": instance.id,
        "task_id": task.id,
        "spiff_task_id": str(spiff_task.id),
        "step": step.step,
        "name": step.name,
        "lane": step.lane,
        "form_key": form_key,
        "candidate_unit_id": unit.id if unit is not None else None,
        "candidate_roles": WorkItem.encode_roles(roles),
        "item_unit_id": item_unit.id if item_unit is not None else None,
        "assignee_id": None,
        "due_at": _due_at(task, step, now),
        "status": WorkItemStatus.OPEN,
        "created_at": now,
    }
    related = {
        "instance": instance,
        "task": task,
        "candidate_unit": unit,
        "item_unit": item_unit,
        "assignee": None,
        "completed_by": None,
    }
    return values, related


def _candidates(task: Task, spiff_task, step: StepConfig):
    """(candidate unit, roles, form key, item unit) for a READY task, by the step's unit rule."""
    lead = task.lead_sub_unit or task.lead_unit
    if step.unit_rule == "any":
        return None, step.roles, step.form_key, None
    if step.unit_rule == "item":
        input_item, _ = multi_instance_items(spiff_task)
        code = spiff_task.data.get(input_item) if input_item else None
        item_unit = db.session.scalar(select(Unit).where(Unit.code == code)) if code else None
        if item_unit is not None and item_unit.is_staffed:
            return item_unit, step.roles, step.form_key, item_unit
        return lead, step.external_roles, step.external_form or step.form_key, item_unit
    return lead, step.roles, step.form_key, None


def _due_at(task: Task, step: StepConfig, now: datetime) -> datetime | None:
    """The step's own duration from now (in working days when the step says so), else the end of the
    task's deadline day (Asia/Ho_Chi_Minh)."""
    if step.due_working_days is not None:
        return working_due_at(now, step.due_working_days).astimezone(now.tzinfo or UTC)
    if step.due is not None:
        return now + step.due
    if task.due_date is not None:
        end_of_day = datetime.combine(task.due_date, time(23, 59, 59), tzinfo=LOCAL_TZ)
        return end_of_day.astimezone(now.tzinfo)
    return None


def state_while_open(loaded: LoadedSpec, workflow) -> str | None:
    """The task state named by the READY steps (the most recently opened one wins)."""
    for spiff_task in reversed(ready_user_tasks(workflow)):
        state = loaded.steps[spiff_task.task_spec.bpmn_id].task_state
        if state:
            return state
    return None
