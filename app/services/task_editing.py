"""Editing a task's "5 rõ" fields: its assignee, expected result and deadline (PATCH /api/v1/tasks/{id}).

Who: unit heads of the lead unit (or of its sub-unit), leaders and admins; nobody else, supervisors
included. What: any subset of
  - `assignee`: a username (an active user of the lead unit, its sub-unit(s), or — when the lead is a
    sub-unit — its parent), or null to clear;
  - `expected_result`: a non-blank string (it cannot be cleared);
  - `deadline`: a date `YYYY-MM-DD` (a day-precise due date), or null to clear.
Errors, checked in this order, change nothing: 403 not allowed; 400 not an object, no field, an unknown
key or a value of the wrong type; 422 a value that is wrong (details per field). A change is audited
as `task.updated` with `data = {"before": {...}, "after": {...}}` of the fields that changed; a
request that changes nothing writes nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, DuePrecision, Role, Task, Unit, UnitKind, User, UserRole
from workflows import audit, permissions
from workflows.errors import InvalidData, NotAllowed, WorkflowError
from workflows.permissions import may_edit_fields

TASK_UPDATED = audit.Action.TASK_UPDATED
EDITABLE = {"assignee": (str, type(None)), "expected_result": (str,), "deadline": (str, type(None))}


def may_edit_task(user: User, task: Task) -> bool:
    """Who may edit the fields in the task's current state: its process's permission map decides
    (workflows/permissions.py; by default the lead unit's heads, leaders and admins)."""
    return may_edit_fields(user, task)


def assignable_unit_ids(task: Task) -> set[int]:
    """The lead unit, its sub-unit(s), and the parent of a lead that is itself a sub-unit."""
    ids = {task.lead_unit_id, task.lead_sub_unit_id} - {None}
    ids |= set(
        db.session.scalars(
            select(Unit.id).where(Unit.parent_id == task.lead_unit_id, Unit.kind == UnitKind.SUB_UNIT)
        )
    )
    lead = task.lead_unit
    if lead is not None and lead.kind == UnitKind.SUB_UNIT and lead.parent_id is not None:
        ids.add(lead.parent_id)
    return ids


# Who can be responsible for a task: the people who do the work (not a system administrator or a
# supervisor who happen to be filed under the unit).
RESPONSIBLE_ROLES = (Role.SPECIALIST, Role.UNIT_HEAD)


def assignable_users(task: Task) -> list[User]:
    """The active users `assignee` may name, by unit then name (what a form offers)."""
    query = (
        select(User)
        .where(
            User.active.is_(True),
            User.unit_id.in_(assignable_unit_ids(task)),
            User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(RESPONSIBLE_ROLES))),
        )
        .order_by(User.unit_id, User.full_name, User.username)
    )
    return list(db.session.scalars(query))


def _check_shape(changes: Any) -> None:
    if not isinstance(changes, dict) or not changes:
        raise WorkflowError("give at least one of: " + ", ".join(EDITABLE))
    details = {name: "unknown field" for name in changes if name not in EDITABLE}
    details |= {
        name: "must be " + " or ".join("null" if kind is type(None) else "a string" for kind in kinds)
        for name, kinds in EDITABLE.items()
        if name in changes and not isinstance(changes[name], kinds)
    }
    if details:
        raise WorkflowError("invalid fields", details)


def _new_values(task: Task, changes: dict) -> tuple[dict[str, Any], dict[str, str]]:
    """The wanted column values and, per field, what is wrong."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if "assignee" in changes:
        values["assignee"], problem = _assignee(task, changes["assignee"])
        if problem:
            errors["assignee"] = problem
    if "expected_result" in changes:
        text = changes["expected_result"].strip()
        values["expected_result"] = text
        if not text:
            errors["expected_result"] = "must not be empty"
    if "deadline" in changes:
        raw = changes["deadline"]
        try:
            values["due_date"] = date.fromisoformat(raw) if raw is not None else None
        except ValueError:
            errors["deadline"] = "must be a date YYYY-MM-DD"
        if raw is not None and len(raw) != 10:
            errors["deadline"] = "must be a date YYYY-MM-DD"
    return values, errors


def _assignee(task: Task, username: str | None) -> tuple[User | None, str | None]:
    if username is None:
        return None, None
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        return None, "no active user with this username"
    if user.unit_id not in assignable_unit_ids(task):
        return None, "this user does not belong to the task's lead unit"
    if not user.has_role(*RESPONSIBLE_ROLES):
        return None, "only a specialist or a unit head can be responsible for a task"
    return user, None


def _shown(name: str, value: Any) -> Any:
    if name == "assignee":
        return value.username if value is not None else None
    if name == "due_date":
        return value.isoformat() if value is not None else None
    return value


FIRST_STEP_NAMES = ("assignee", "expected_result", "deadline", "content")


def apply_first_step_fields(task: Task, user: User, data: dict) -> AuditEvent | None:
    """Set the "5 rõ" fields given at the first step of a process (workflows/step_data.py offers them and
    has validated them against the form); audited as `task.updated` in the caller's transaction.
    Raises InvalidData (nothing written) for a value the form cannot judge, e.g. a user who left."""
    changes = {name: data[name] for name in ("assignee", "expected_result", "deadline") if name in data}
    values, errors = _new_values(task, changes)
    if "content" in data:
        values["content"] = str(data["content"]).strip()
    if errors:
        raise InvalidData("invalid task fields", errors)
    before, after = {}, {}
    for column, value in values.items():
        if getattr(task, column) != value:
            name = {"due_date": "deadline"}.get(column, column)
            before[name], after[name] = _shown(column, getattr(task, column)), _shown(column, value)
            setattr(task, column, value)
    if not after:
        return None
    if "deadline" in after:
        task.due_precision = DuePrecision.DAY
    return audit.record(TASK_UPDATED, user, task, data={"before": before, "after": after, "at_step": True})


def update_task_fields(task: Task, user: User, changes: Any) -> Task:
    """Apply `changes` (see the module docstring) as `user`, audited, in one commit; or raise and change
    nothing (NotAllowed 403, WorkflowError 400, InvalidData 422)."""
    if not may_edit_task(user, task):
        raise NotAllowed("only the lead unit's head, leaders and admins may edit this task")
    _check_shape(changes)
    values, errors = _new_values(task, changes)
    if errors:
        raise InvalidData("invalid task fields", errors)
    names = {"due_date": "deadline"}
    before, after = {}, {}
    for column, value in values.items():
        old = getattr(task, column)
        if old != value:
            before[names.get(column, column)] = _shown(column, old)
            after[names.get(column, column)] = _shown(column, value)
    if not after:
        return task
    try:
        for column, value in values.items():
            setattr(task, column, value)
        if "due_date" in values:
            task.due_precision = DuePrecision.DAY if values["due_date"] is not None else None
        permission = permissions.audit_data(user, task, permissions.EDIT_FIELDS)
        audit.record(TASK_UPDATED, user, task, data={"before": before, "after": after, **permission})
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return task
