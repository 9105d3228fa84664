"""The JSON shapes of the API (see api-v1.md), one function per shape."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.models import Plan, Task, Unit, User
from app.services.deadlines import is_overdue


def iso_date(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def unit_ref(unit: Unit | None) -> dict[str, str] | None:
    if unit is None:
        return None
    return {"code": unit.code, "name": unit.name}


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


def workflow_json(task: Task) -> dict[str, Any]:
    """The task's running process and its open steps; empty until the workflow engine exists."""
    return {"process": None, "open_steps": []}


def task_json(task: Task, today: date) -> dict[str, Any]:
    """A task as the contract gives it, plus a few read-only extras (section, deadline text, overdue)."""
    return {
        "id": task.id,
        "plan_id": task.plan_id,
        "code": task.code,
        "section": {"number": task.section.number, "heading": task.section.heading},
        "title": task.title,
        "content": task.content,
        "lead_unit": unit_ref(task.lead_unit),
        "lead_sub_unit": unit_ref(task.lead_sub_unit),
        "coordinating_units": [unit_ref(unit) for unit in task.coordinating_units],
        "assignee": task.assignee.username if task.assignee is not None else None,
        "deadline": iso_date(task.due_date),
        "deadline_text": task.deadline_raw,
        "deadline_precision": task.due_precision,
        "recurrence": list(task.recurrence or []),
        "overdue": is_overdue(task, today),
        "expected_result": task.expected_result,
        "task_type": task.task_type,
        "state": task.state,
        "progress": task.progress,
        **workflow_json(task),
    }
