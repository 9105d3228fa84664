"""The JSON shapes of the API (see api-v1.md), one function per shape."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from flask import g, has_app_context
from sqlalchemy import bindparam, select
from sqlalchemy.orm.util import identity_key

from app.extensions import db
from app.models import (
    AuditEvent,
    Plan,
    ProcessInstance,
    Task,
    TaskCoordination,
    Unit,
    User,
    WorkItem,
    WorkItemStatus,
)
from app.services.clock import as_utc, utcnow
from app.services.deadlines import is_overdue
from app.services.five_clears import missing_clears
from workflows.guards import actions_for
from workflows.step_data import step_form
from workflows.worklist import current_instance, current_instances, open_items_by_task, open_items_of

if TYPE_CHECKING:
    from workflows.engine import StepResult


def iso_date(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def iso_timestamp(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with its offset, like a token's `expires_at` (SQLite's naive values are UTC)."""
    return as_utc(moment).isoformat(timespec="seconds") if moment is not None else None


def unit_ref(unit: Unit | None) -> dict[str, str] | None:
    if unit is None:
        return None
    return {"code": unit.code, "name": unit.name}


def assignee_username(task: Task) -> str | None:
    """The task's assignee's username: from the session when the account is there, else read alone
    (not the whole account with its unit and roles). (A loaded relationship is in the object's __dict__;
    asking `inspect(task).unloaded` costs 0.05 ms.)"""
    if task.assignee_id is None:
        return None
    if "assignee" in task.__dict__:
        return task.assignee.username
    known = db.session.identity_map.get(identity_key(User, task.assignee_id))
    if known is not None:
        return known.username
    return db.session.scalar(_USERNAME, {"user_id": task.assignee_id})


_USERS = User.__table__.c
_USERNAME = select(_USERS.username).where(_USERS.id == bindparam("user_id"))  # built once, of table columns


def coordinating_unit_refs(task: Task) -> list[dict[str, str]]:
    """The task's coordinating units as references: from the task when a list loaded them, else read as
    plain (code, name) rows."""
    if "coordinations" in task.__dict__:
        return [unit_ref(unit) for unit in task.coordinating_units]
    rows = db.session.execute(_COORDINATING_UNITS, {"task_id": task.id})
    return [{"code": code, "name": name} for code, name in rows]


_UNITS, _LINKS = Unit.__table__.c, TaskCoordination.__table__.c
_COORDINATING_UNITS = (  # built once: a reused statement keeps its cache key
    select(_UNITS.code, _UNITS.name)
    .join_from(TaskCoordination.__table__, Unit.__table__, _LINKS.unit_id == _UNITS.id)
    .where(_LINKS.task_id == bindparam("task_id"))
    .order_by(_LINKS.position)
)


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "unit": unit_ref(user.unit),
        "roles": list(user.roles),
    }


def plan_json(plan: Plan, task_count: int) -> dict[str, Any]:
    return {
        "id": plan.id,
        "number": plan.document_number,
        "title": plan.title,
        "issuer": plan.issuer_name,
        "issued_on": iso_date(plan.issued_on),
        "task_count": task_count,
    }


def work_item_json(item: WorkItem, user: User | None) -> dict[str, Any]:
    """A step waiting (or once waiting) for someone, with its form and what `user` may do with it."""
    is_open = item.status == WorkItemStatus.OPEN
    return {
        "id": item.id,
        "task_id": item.task_id,
        "task_code": item.task.code,
        "task_title": item.task.title,
        "step": item.step,
        "name": item.name,
        "lane": item.lane,
        "unit": item.candidate_unit.code if item.candidate_unit is not None else None,
        "item_unit": unit_ref(item.item_unit),
        "roles": item.roles,
        "assignee": item.assignee.username if item.assignee is not None else None,
        "due_at": iso_timestamp(item.due_at),
        "overdue": is_open and item.due_at is not None and as_utc(item.due_at) < utcnow(),
        "status": item.status,
        "form": step_form(item),
        "actions": actions_for(user, item) if user is not None else [],
    }


def event_json(event: AuditEvent) -> dict[str, Any]:
    """One audited transition; the actor is the snapshot taken when it happened."""
    actor = None
    if event.actor_id is not None or event.actor_username is not None:
        actor = {
            "username": event.actor_username,
            "full_name": event.actor_name,
            "unit": event.actor_unit_code,
        }
    return {
        "id": event.id,
        "at": iso_timestamp(event.at),
        "actor": actor,
        "action": event.action,
        "task_id": event.task_id,
        "work_item_id": event.work_item_id,
        "step": event.step,
        "step_name": event.step_name,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "comment": event.comment,
        "data": event.data,
    }


def _api_caller() -> User | None:
    return g.get("api_user") if has_app_context() else None


def workflow_json(
    task: Task,
    user: User | None,
    known: ProcessInstance | None = None,
    known_open: list[WorkItem] | None = None,
) -> dict[str, Any]:
    """The task's latest process (running or finished) and its open steps, as `user` sees them.

    `known`: an instance of the task just started or advanced, and `known_open` its open items as the
    engine left them. A task runs one instance at a time unless it is a standing duty (one per
    period), so any other is the latest and its open items are the task's, without looking them up."""
    single = known is not None and known.period is None
    instance = known if single else current_instance(task)
    items = known_open if single and known_open is not None else open_items_of(task)
    return _workflow_part(instance, items, user)


def _workflow_part(
    instance: ProcessInstance | None, items: list[WorkItem], user: User | None
) -> dict[str, Any]:
    process = None
    if instance is not None:
        definition = instance.definition
        process = {"key": definition.key, "version": definition.version, "status": instance.status}
    return {"process": process, "open_steps": [work_item_json(item, user) for item in items]}


def tasks_json(tasks: list[Task], today: date) -> list[dict[str, Any]]:
    """`task_json` of every task of a list, as the API caller sees them: the latest process and the open
    steps of all of them are read in two statements, not two per task."""
    ids = [task.id for task in tasks]
    instances, items = current_instances(ids), open_items_by_task(ids)
    user = _api_caller()
    return [
        {**_task_fields(task, today), **_workflow_part(instances.get(task.id), items.get(task.id, []), user)}
        for task in tasks
    ]


def task_json(
    task: Task,
    today: date,
    user: User | None = None,
    instance: ProcessInstance | None = None,
    open_items: list[WorkItem] | None = None,
) -> dict[str, Any]:
    """A task as the contract gives it, plus a few read-only extras (section, deadline text, overdue,
    result). Open steps carry the actions of `user`, by default the API caller; `instance` and
    `open_items`: see `workflow_json`."""
    return {
        **_task_fields(task, today),
        **workflow_json(task, user if user is not None else _api_caller(), instance, open_items),
    }


def completed_step_json(result: StepResult, today: date, user: User) -> dict[str, Any]:
    """The answer to completing a step: the task as it is now, and the steps that just opened (each is
    among the task's open steps too: shown once, the same object twice)."""
    task = task_json(result.task, today, user, result.instance, result.open_items)
    shown = {step["id"]: step for step in task["open_steps"]}
    return {
        "task": task,
        "next_steps": [shown.get(item.id) or work_item_json(item, user) for item in result.next_items],
    }


def _task_fields(task: Task, today: date) -> dict[str, Any]:
    return {
        "id": task.id,
        "plan_id": task.plan_id,
        "code": task.code,
        "section": {"number": task.section.number, "heading": task.section.heading},
        "title": task.title,
        "content": task.content,
        "lead_unit": unit_ref(task.lead_unit),
        "lead_sub_unit": unit_ref(task.lead_sub_unit),
        "coordinating_units": coordinating_unit_refs(task),
        "assignee": assignee_username(task),
        "deadline": iso_date(task.due_date),
        "deadline_text": task.deadline_raw,
        "deadline_precision": task.due_precision,
        "recurrence": list(task.recurrence or []),
        "overdue": is_overdue(task, today),
        "due_status": task.due_status or None,  # due_soon | overdue (a step past due), from the scheduler
        "expected_result": task.expected_result,
        "task_type": task.task_type,
        "kind": task.kind,  # plan | report (the monthly reporting cycle's tasks)
        "missing_clears": missing_clears(task),  # of person, work, responsibility, time, result
        "state": task.state,
        "progress": task.progress,
        "result": task.result,
    }
