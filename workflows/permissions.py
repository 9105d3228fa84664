"""Who may view a task, edit its fields and edit its files, per workflow state (like DCWorkflow's maps).

Each process declares a permission map beside its diagram, `bpmn/permissions/<process key>.json`:

    {"description": "...",
     "default": {"view": ["*"], "edit_fields": ["lead_unit:unit_head", "leader", "admin"],
                 "edit_files": ["lead_unit:specialist", "lead_unit:unit_head", "leader", "admin"]},
     "states": {"submitted": {"edit_fields": ["admin"], "edit_files": ["admin"]}}}

A state's entry overrides only the permissions it names; the others come from "default". Principals:
- `*`: every active user;
- a role (`specialist`, `unit_head`, `leader`, `supervisor`, `admin`): whoever holds it, in any unit;
- `lead_unit:<role>`: holders of the role in the task's lead unit (or its lead sub-unit);
- `item_unit:<role>`: holders of the role in a unit an open step of the task is for (a consulted unit);
- `assignee`: the task's responsible person.
Supervisors read everything and change nothing, so `supervisor` may appear in `view` only.

The map is stored on the process definition version at deploy (a changed map is a new version). A task
follows the map of its most recent process instance's definition, else (nothing started, or a version
deployed before maps existed) the map of the latest definition of its task type, else DEFAULT_MAP.
Admins may always edit: when the map itself does not allow them, the edit is an override, and the audit
data says so with the task's state (`audit_data`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import (
    ProcessDefinition,
    ProcessInstance,
    Role,
    Task,
    TaskState,
    Unit,
    User,
    WorkItem,
    WorkItemStatus,
)
from workflows.problems import DefinitionError, Problem

VIEW = "view"
EDIT_FIELDS = "edit_fields"
EDIT_FILES = "edit_files"
KINDS = (VIEW, EDIT_FIELDS, EDIT_FILES)
SCOPES = ("lead_unit", "item_unit")
EVERYONE = "*"
ASSIGNEE = "assignee"

_LEAD_EDITORS = ["lead_unit:specialist", "lead_unit:unit_head", "leader", "admin"]
DEFAULT_MAP: dict[str, Any] = {
    "default": {
        VIEW: [EVERYONE],
        EDIT_FIELDS: ["lead_unit:unit_head", "leader", "admin"],
        EDIT_FILES: _LEAD_EDITORS,
    },
    "states": {
        TaskState.SUBMITTED: {EDIT_FIELDS: ["admin"], EDIT_FILES: ["admin"]},
        TaskState.COMPLETED: {EDIT_FIELDS: [], EDIT_FILES: []},
        TaskState.CANCELLED: {EDIT_FIELDS: [], EDIT_FILES: []},
    },
}


# --- declaring ------------------------------------------------------------------------------------


def check_permission_map(data: Any, source: str = "permissions") -> list[Problem]:
    """Every reason `data` is not a permission map, in words a modeller can act on."""
    if not isinstance(data, dict):
        return [Problem(f"{source}: must be a JSON object with 'default' and 'states'")]
    problems = [
        Problem(f"{source}: unknown key '{key}' (expected 'description', 'default' and 'states')")
        for key in data
        if key not in ("description", "default", "states")
    ]
    if not isinstance(data.get("description", ""), str):
        problems.append(Problem(f"{source}: 'description' must be a string"))
    default = data.get("default", {})
    problems += _check_entry(default, f"{source}: default")
    states = data.get("states", {})
    if not isinstance(states, dict):
        return problems + [Problem(f"{source}: 'states' must be an object of task states")]
    for state, entry in states.items():
        if state not in TaskState.ALL:
            known = ", ".join(TaskState.ALL)
            problems.append(Problem(f"{source}: unknown state '{state}' (one of {known})"))
        problems += _check_entry(entry, f"{source}: state '{state}'")
    return problems


def _check_entry(entry: Any, where: str) -> list[Problem]:
    if not isinstance(entry, dict):
        return [Problem(f"{where} must be an object of {', '.join(KINDS)}")]
    problems = []
    for kind, principals in entry.items():
        if kind not in KINDS:
            problems.append(Problem(f"{where}: unknown permission '{kind}' (one of {', '.join(KINDS)})"))
        elif not isinstance(principals, list) or not all(isinstance(p, str) for p in principals):
            problems.append(Problem(f"{where}: '{kind}' must be a list of principals"))
        else:
            reasons = [reason for principal in principals if (reason := _bad(principal, kind))]
            problems += [Problem(f"{where}: '{kind}': {reason}") for reason in reasons]
    return problems


def _bad(principal: str, kind: str) -> str | None:
    """Why `principal` cannot appear in `kind`, or None when it can."""
    if principal in (EVERYONE, ASSIGNEE):
        return "'*' may only view" if principal == EVERYONE and kind != VIEW else None
    scope, _, role = principal.rpartition(":")
    if scope and scope not in SCOPES:
        return f"unknown scope '{scope}' in '{principal}' (one of {', '.join(SCOPES)})"
    if role not in Role.ALL:
        return f"unknown role '{role}' in '{principal}' (one of {', '.join(Role.ALL)})"
    if role == Role.SUPERVISOR and kind != VIEW:
        return "supervisors read everything and change nothing: 'supervisor' may only view"
    return None


def load_permission_map(path: Path) -> dict | None:
    """The map in `path` (None when there is no such file), or a DefinitionError saying what is wrong."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise DefinitionError([Problem(f"{path.name}: not valid JSON: {error}")]) from None
    validate_permission_map(data, path.name)
    return data


def validate_permission_map(data: Any, source: str = "permissions") -> None:
    problems = check_permission_map(data, source)
    if problems:
        raise DefinitionError(problems)


# --- evaluating -----------------------------------------------------------------------------------


def permission_map_of(task: Task) -> dict:
    """The map the task follows now: its latest instance's definition's, its type's, or DEFAULT_MAP."""
    permissions = db.session.scalar(
        select(ProcessDefinition.permissions)
        .join(ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)
        .where(ProcessInstance.task_id == task.id)
        .order_by(ProcessInstance.id.desc())
        .limit(1)
    )
    if permissions is None and task.task_type:
        permissions = db.session.scalar(
            select(ProcessDefinition.permissions)
            .where(ProcessDefinition.key == task.task_type, ProcessDefinition.active.is_(True))
            .order_by(ProcessDefinition.version.desc())
            .limit(1)
        )
    return permissions or DEFAULT_MAP


def principals_for(task: Task, kind: str, permissions: dict | None = None) -> list[str]:
    """Who holds `kind` on the task in its current state."""
    permissions = permission_map_of(task) if permissions is None else permissions
    entry = (permissions.get("states") or {}).get(task.state) or {}
    if kind in entry:
        return list(entry[kind])
    return list((permissions.get("default") or {}).get(kind, []))


def granted_by_map(user: User | None, task: Task, kind: str) -> bool:
    """Whether the map itself grants `kind` to the user (no admin override)."""
    if user is None or not user.active:
        return False
    principals = principals_for(task, kind)
    item_units = _open_item_unit_ids(task) if any(p.startswith("item_unit:") for p in principals) else set()
    return any(_matches(user, task, principal, item_units) for principal in principals)


def _matches(user: User, task: Task, principal: str, item_units: set[int]) -> bool:
    if principal == EVERYONE:
        return True
    if principal == ASSIGNEE:
        return task.assignee_id is not None and task.assignee_id == user.id
    scope, _, role = principal.rpartition(":")
    if not user.has_role(role):
        return False
    if scope == "lead_unit":
        return user.unit_id in {task.lead_unit_id, task.lead_sub_unit_id} - {None}
    if scope == "item_unit":
        return user.unit_id in item_units
    return True


def _open_item_unit_ids(task: Task) -> set[int]:
    """The units open steps of the task are for, and their sub-units' parents serve them too."""
    ids = set(
        db.session.scalars(
            select(WorkItem.item_unit_id).where(
                WorkItem.task_id == task.id,
                WorkItem.status == WorkItemStatus.OPEN,
                WorkItem.item_unit_id.is_not(None),
            )
        )
    )
    parents = db.session.scalars(select(Unit.parent_id).where(Unit.id.in_(ids), Unit.parent_id.is_not(None)))
    return ids | set(parents)


def _allowed(user: User | None, task: Task, kind: str) -> bool:
    if user is None or not user.active:
        return False
    return user.has_role(Role.ADMIN) or granted_by_map(user, task, kind)


def may_view_task(user: User | None, task: Task) -> bool:
    """Supervisors audit everything, whatever a map says; everyone else as the map says."""
    if user is not None and user.active and user.has_role(Role.SUPERVISOR):
        return True
    return _allowed(user, task, VIEW)


def may_edit_fields(user: User | None, task: Task) -> bool:
    """May change the task's fields (assignee, expected result, deadline ...) in its current state."""
    return _allowed(user, task, EDIT_FIELDS)


def may_edit_files(user: User | None, task: Task) -> bool:
    """May add files to the task in its current state."""
    return _allowed(user, task, EDIT_FILES)


def is_override(user: User, task: Task, kind: str) -> bool:
    """An admin doing what the map does not allow in this state (allowed, but audited as such)."""
    return user.has_role(Role.ADMIN) and not granted_by_map(user, task, kind)


def audit_data(user: User, task: Task, kind: str) -> dict:
    """What an audited edit records about permissions: the task's state, and whether it was an override."""
    data: dict[str, Any] = {"state": task.state}
    if is_override(user, task, kind):
        data["override"] = True
    return data
