"""What the step, worklist and task pages show around a work item: its form, what earlier steps
entered, the history in words, and where to send the user next. Reads only; never changes a workflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import labels
from app.extensions import db
from app.models import (
    AuditEvent,
    InstanceStatus,
    ProcessInstance,
    Task,
    TaskState,
    User,
    WorkItem,
    WorkItemStatus,
)
from app.services.clock import utcnow
from app.services.five_clears import first_step_values
from app.services.form_options import OPTION_SOURCES, unit_names
from app.services.task_types import PERIODIC_TYPES
from workflows.audit import Action
from workflows.engine import running_instance
from workflows.guards import actions_for, may_act, may_see, may_start
from workflows.runtime import loaded_spec
from workflows.step_data import is_first_step, step_form
from workflows.worklist import current_instance, history_of, open_items_of

ACTION_LABELS = {
    "report.edited": _l("Edited a monthly report document"),
    "instance.migrated": _l("Moved a running process to a newer version"),
    Action.PROCESS_STARTED: _l("Started the process"),
    Action.PROCESS_COMPLETED: _l("Process completed"),
    Action.STEP_COMPLETED: _l("Completed the step"),
    Action.STEP_RETURNED: _l("Returned"),
    Action.STEP_CLAIMED: _l("Took the step"),
    Action.STEP_RELEASED: _l("Gave the step back to the unit"),
    Action.STEP_DELEGATED: _l("Handed the step over"),
    Action.STEP_REASSIGNED: _l("Gave the step to someone else"),
    Action.TIMER_FIRED: _l("Time limit reached"),
    Action.TASK_UPDATED: _l("Changed the task"),
    Action.GUIDANCE_RECEIVED: _l("Recorded that central guidance arrived"),
}

INSTANCE_STATUS_LABELS = {
    InstanceStatus.RUNNING: _l("Running"),
    InstanceStatus.COMPLETED: _l("Finished"),
    InstanceStatus.CANCELLED: _l("Cancelled"),
}

ITEM_STATUS_LABELS = {
    WorkItemStatus.OPEN: _l("Open"),
    WorkItemStatus.COMPLETED: _l("Done"),
    WorkItemStatus.CANCELLED: _l("Cancelled"),
}

ENTERED_ACTIONS = (Action.STEP_COMPLETED, Action.STEP_RETURNED)


def form_schema(item: WorkItem) -> dict:
    """The JSON Schema of the item's form (the engine validates against the same one)."""
    return step_form(item)


def documentation(item: WorkItem) -> str | None:
    """The BPMN documentation of the step, else the form's description."""
    step = loaded_spec(item.instance.definition).steps.get(item.step)
    text = step.documentation if step is not None else None
    return (text or "").strip() or form_schema(item).get("description")


def is_item_overdue(item: WorkItem, now: datetime | None = None) -> bool:
    if item.due_at is None or item.status != WorkItemStatus.OPEN:
        return False
    due = item.due_at if item.due_at.tzinfo else item.due_at.replace(tzinfo=UTC)
    return due < (now or utcnow())


def role_names(item: WorkItem) -> str:
    return ", ".join(str(labels.ROLE_LABELS.get(role, role)) for role in item.roles)


def next_item_for(user: User, items: list[WorkItem]) -> WorkItem | None:
    """The first newly opened item the same user may complete right away (e.g. the next step is theirs)."""
    return next((item for item in items if may_act(user, item)), None)


def finished_message(item: WorkItem, data: dict) -> str:
    """What to tell the user once their step went through."""
    if data.get("decision") == "return":
        return str(_l("Step “%(step)s”: returned for revision.", step=item.name))
    return str(_l("Completed the step “%(step)s”.", step=item.name))


# --- values as people read them ---------------------------------------------------------------


def display_value(field_schema: dict, value, names: dict[str, str]) -> str:
    """One entered value in words: unit names for unit codes, Có/Không, dd/mm/yyyy, enum labels."""
    if isinstance(value, bool):
        return str(_l("Yes") if value else _l("No"))
    if isinstance(value, list):
        return "; ".join(display_value(field_schema.get("items") or {}, v, names) for v in value)
    enum_labels = field_schema.get("x-enum-labels") or {}
    if isinstance(value, str) and value in enum_labels:
        return enum_labels[value]
    if field_schema.get("format") == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value).strftime("%d/%m/%Y")
        except ValueError:
            return value
    if _is_unit_field(field_schema) and isinstance(value, str):
        return names.get(value, value)
    return "" if value is None else str(value)


def _is_unit_field(field_schema: dict) -> bool:
    return field_schema.get("format") == "unit-code" or field_schema.get("x-options") in OPTION_SOURCES


def _codes_in(data: dict) -> set[str]:
    codes = set()
    for value in data.values():
        codes.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
    return codes


@dataclass
class EnteredStep:
    """What one completed step entered, for those who work on the later steps."""

    step_name: str
    unit_name: str | None
    actor_name: str | None
    at: datetime
    fields: list[tuple[str, str]] = field(default_factory=list)


def earlier_inputs(item: WorkItem) -> list[EnteredStep]:
    """The latest entry of every earlier step of the item's process (one per consulted unit),
    in the order they were made; decisions alone are left to the history."""
    rows = db.session.execute(
        select(AuditEvent, WorkItem)
        .join(WorkItem, WorkItem.id == AuditEvent.work_item_id)
        .where(
            AuditEvent.instance_id == item.instance_id,
            AuditEvent.action.in_(ENTERED_ACTIONS),
            AuditEvent.work_item_id != item.id,
        )
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    latest: dict[tuple, tuple[AuditEvent, WorkItem]] = {}
    for event, done in rows:
        if event.data and set(event.data) - {"decision"}:
            latest.pop((done.step, done.item_unit_id), None)
            latest[(done.step, done.item_unit_id)] = (event, done)
    forms = item.instance.definition.forms
    names = unit_names(set().union(*(_codes_in(e.data) for e, _ in latest.values())))
    return [
        _entered(event, done, forms.get(done.form_key or done.step) or {}, names)
        for event, done in latest.values()
    ]


def _entered(event: AuditEvent, done: WorkItem, schema: dict, names: dict[str, str]) -> EnteredStep:
    properties = schema.get("properties") or {}
    fields = [
        (properties.get(key, {}).get("title", key), display_value(properties.get(key, {}), value, names))
        for key, value in event.data.items()
        if key in properties or not properties
    ]
    return EnteredStep(
        step_name=event.step_name or done.name,
        unit_name=done.item_unit.name if done.item_unit is not None else None,
        actor_name=event.actor_name,
        at=event.at,
        fields=fields,
    )


def previous_values(item: WorkItem, schema: dict) -> dict:
    """What was entered the last time this step ran in the process (a returned draft comes back
    filled in); choices such as decisions start empty again."""
    event = db.session.scalar(
        select(AuditEvent)
        .where(
            AuditEvent.instance_id == item.instance_id,
            AuditEvent.step == item.step,
            AuditEvent.action.in_(ENTERED_ACTIONS),
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(1)
    )
    start = first_step_values(item.task) if is_first_step(item) else {}  # the task's "5 rõ" so far
    if event is None or not event.data or item.item_unit_id is not None:
        return start
    properties = schema.get("properties") or {}
    entered = {k: v for k, v in event.data.items() if k in properties and "enum" not in properties[k]}
    return start | entered


# --- the history, like Plone's review history ---------------------------------------------------


@dataclass
class HistoryRow:
    at: datetime
    action: str
    action_label: str
    actor_name: str | None
    actor_unit: str | None
    step_name: str | None
    from_label: str | None
    to_label: str | None
    comment: str | None
    note: str | None


HANDED_OVER = (Action.STEP_DELEGATED, Action.STEP_REASSIGNED)


def history_rows(task: Task) -> list[HistoryRow]:
    """Every audited transition of the task in words, oldest first."""
    events = history_of(task)
    units = unit_names({e.actor_unit_code for e in events if e.actor_unit_code})
    delegates = _full_names({(e.data or {}).get("to") for e in events if e.action in HANDED_OVER})
    return [_row(event, units, delegates) for event in events]


def _row(event: AuditEvent, units: dict[str, str], delegates: dict[str, str]) -> HistoryRow:
    changed = event.from_state != event.to_state
    note = None
    if event.action in HANDED_OVER and event.data and event.data.get("to"):
        to = event.data["to"]
        note = str(_l("To: %(name)s", name=delegates.get(to, to)))
    elif event.action == Action.TIMER_FIRED and event.data and event.data.get("timers"):
        note = ", ".join(event.data["timers"])
    return HistoryRow(
        at=event.at,
        action=event.action,
        action_label=str(ACTION_LABELS.get(event.action, event.action)),
        actor_name=event.actor_name or event.actor_username,
        actor_unit=units.get(event.actor_unit_code, event.actor_unit_code),
        step_name=event.step_name,
        from_label=_state_label(event.from_state) if changed else None,
        to_label=_state_label(event.to_state) if changed else None,
        comment=event.comment,
        note=note,
    )


def _state_label(state: str | None) -> str | None:
    return None if state is None else str(labels.TASK_STATE_LABELS.get(state, state))


def _full_names(usernames) -> dict[str, str]:
    usernames = [u for u in usernames if u]
    if not usernames:
        return {}
    rows = db.session.execute(select(User.username, User.full_name).where(User.username.in_(usernames)))
    return dict(rows.tuples().all())


# --- the task page's workflow panel ---------------------------------------------------------------


@dataclass
class OpenStep:
    item: WorkItem
    actions: list[str]
    visible: bool


@dataclass
class TaskWorkflow:
    instance: ProcessInstance | None
    can_start: bool
    open_steps: list[OpenStep]
    history: list[HistoryRow]


def task_workflow(task: Task, user: User) -> TaskWorkflow:
    """The task's process, its open steps as the user may use them, and its history.

    The start button is offered while nothing runs, except on a completed or cancelled task, a task
    still waiting for central guidance, and a periodic one (the scheduler starts each period).
    """
    return TaskWorkflow(
        instance=current_instance(task),
        can_start=task.state not in TaskState.CLOSED
        and task.state != TaskState.WAITING_GUIDANCE
        and task.task_type not in PERIODIC_TYPES
        and may_start(user, task)
        and running_instance(task) is None,
        open_steps=[OpenStep(i, actions_for(user, i), may_see(user, i)) for i in open_items_of(task)],
        history=history_rows(task),
    )
