"""The one path for every workflow change: start a process, advance a step.

`advance` follows a fixed order, like DCWorkflow's `_executeTransition`:
 1. the item is open and the user passes the guard          (else 409 / 403, nothing written)
 2. the data passes the step's form                          (else 422, nothing written)
 3. lock the instance row and take the item: a conditional UPDATE open -> completed (a second taker
    gets 409); on PostgreSQL the instance's lock first, in one statement (see _take_item)
 4. load the instance's workflow                             (the READY check: else 409)
 5. `step_completing` (may veto), run the step and the engine steps with the restricted engine
 6. write the state, the work items, the task's state and the audit rows
 7. `step_completed` / `process_completed`, then COMMIT — all or nothing
 8. after the commit: `transition_committed` for notifications
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import undefer
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.models import (
    InstanceStatus,
    ProcessDefinition,
    ProcessInstance,
    Task,
    TaskState,
    User,
    WorkItem,
    WorkItemStatus,
)
from app.services.clock import utcnow
from app.services.task_editing import apply_first_step_fields
from app.services.task_types import PERIODIC_TYPES
from workflows import audit, signals
from workflows.errors import Conflict, InvalidData, NotAllowed, ProcessFailed, must_try_again
from workflows.guards import may_act, may_start
from workflows.loop_compaction import compact_loops
from workflows.row_reads import on_postgresql
from workflows.row_writes import update_instance_reading_open_items, update_task
from workflows.runtime import (
    complete_user_task,
    dump_workflow,
    find_task,
    is_ready,
    load_workflow,
    loaded_spec,
    new_workflow,
)
from workflows.sandbox import UnsafeCode
from workflows.serializer import SERIALIZER_VERSION
from workflows.step_data import is_first_step, step_data_errors
from workflows.timers import fire_due, next_timer_at, timer_names
from workflows.work_items import SyncedItems, state_while_open, sync_work_items

DEFAULT_PROCESS = "draft_plan"


@dataclass
class StepResult:
    task: Task
    next_items: list[WorkItem]
    instance: ProcessInstance | None = None  # the instance that was started or advanced
    # Every open item of that instance afterwards (None: not known); the response shows them without
    # reading them again.
    open_items: list[WorkItem] | None = None


def latest_definition(key: str) -> ProcessDefinition | None:
    query = (
        select(ProcessDefinition)
        .where(ProcessDefinition.key == key, ProcessDefinition.active.is_(True))
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    )
    return db.session.scalar(query)


def running_instance(task: Task) -> ProcessInstance | None:
    query = select(ProcessInstance).where(
        ProcessInstance.task_id == task.id, ProcessInstance.status == InstanceStatus.RUNNING
    )
    return db.session.scalar(query)


def start_process(task: Task, user: User, process_key: str | None = None) -> StepResult:
    """Start the task's process (by default the one its task type names) and commit."""
    if not may_start(user, task):
        raise NotAllowed("only the lead unit, leaders and admins may start this task's process")
    if task.state == TaskState.WAITING_GUIDANCE:
        raise Conflict("waiting for central guidance: record that it arrived before starting")
    if task.task_type in PERIODIC_TYPES:
        raise Conflict("this task runs one process per period, started by the scheduler")
    key = process_key or task.task_type or DEFAULT_PROCESS
    definition = latest_definition(key)
    if definition is None:
        raise InvalidData(f"unknown process '{key}'", {"process": f"no deployed process '{key}'"})
    try:
        # Take the task's row first: concurrent starts of one task queue here (row lock / SQLite writer lock).
        db.session.execute(update(Task).where(Task.id == task.id).values(updated_at=func.now()))
        if running_instance(task) is not None:
            raise Conflict("a process is already running for this task")
        if task.state in TaskState.CLOSED:
            raise Conflict("this task is already completed or cancelled")
        if task.state == TaskState.WAITING_GUIDANCE:
            raise Conflict("waiting for central guidance: record that it arrived before starting")
        result = _start(task, user, definition)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    signals.transition_committed.send(task, events=result[1])
    return result[0]


def _start(
    task: Task,
    user: User | None,
    definition: ProcessDefinition,
    *,
    period: str | None = None,
    now=None,
):
    """Create the instance, its first work items and the audit row; flush, do not commit.

    `user` None is the system (the scheduler). A `period` instance (one month or year of a standing duty,
    see workflows/periods.py) carries its period in the instance and the workflow data; it moves the task
    to in_progress only from not_started, and never completes the task.
    """
    now = now or utcnow()
    loaded = loaded_spec(definition)
    initial = _initial_data(task) | ({"period": period} if period else {})
    with _engine_errors():
        workflow = new_workflow(loaded, initial)
    instance = ProcessInstance(
        task=task,
        definition=definition,
        state=dump_workflow(workflow),
        serializer_version=SERIALIZER_VERSION,
        next_timer_at=next_timer_at(workflow),
        status=InstanceStatus.RUNNING,
        started_at=now,
        started_by_id=user.id if user else None,
        period=period,
    )
    db.session.add(instance)
    db.session.flush()
    synced = sync_work_items(instance, workflow, loaded, task, now, open_rows=[])
    before = task.state
    if period is None:
        task.state = state_while_open(loaded, workflow) or TaskState.IN_PROGRESS
    elif before == TaskState.NOT_STARTED:
        task.state = TaskState.IN_PROGRESS
    db.session.flush()
    started = {"process": definition.key, "version": definition.version}
    events = [
        audit.record(
            audit.Action.PROCESS_STARTED,
            user,
            task,
            instance=instance,
            from_state=before,
            to_state=task.state,
            data=started | ({"period": period} if period else {}),
        )
    ]
    signals.process_started.send(instance, user=user)
    events += _finish_if_completed(instance, workflow, task, user, now)
    return StepResult(task, synced.created, instance, synced.open), events


@contextmanager
def _engine_errors():
    """SpiffWorkflow failures (a refused or failing expression, a broken diagram) as a WorkflowError."""
    try:
        yield
    except (SpiffWorkflowException, UnsafeCode) as error:
        reason = str(error).split("\n")[0]
        raise ProcessFailed("the process could not continue", {"process": reason}) from error


def _initial_data(task: Task) -> dict:
    lead = task.lead_sub_unit or task.lead_unit
    return {"task_id": task.id, "task_code": task.code, "lead_unit": lead.code}


def advance(item: WorkItem, user: User, data: dict, comment: str | None = None) -> StepResult:
    """Complete a step as `user` with the form `data`; one transaction, or a WorkflowError and no change."""
    _check_before_writing(item, user, data, comment)
    try:
        result, events = _advance(item, user, data, comment)
        _commit_keeping_loaded()
    except StaleDataError:
        db.session.rollback()
        raise Conflict(
            "the process changed while this step was being completed; reload and try again"
        ) from None
    except DBAPIError as error:
        db.session.rollback()
        if must_try_again(error):
            raise Conflict("the step met another change of the same data; try again") from None
        raise
    except Exception:
        db.session.rollback()
        raise
    signals.transition_committed.send(result.task, events=events)
    return result


def _commit_keeping_loaded() -> None:
    """Commit without expiring what the session holds: the caller answers from the rows just written
    (as flushed), instead of reading them all again."""
    session = db.session()
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        db.session.commit()
    finally:
        session.expire_on_commit = expire


def _check_before_writing(item: WorkItem, user: User, data, comment) -> None:
    if item.status != WorkItemStatus.OPEN:
        raise Conflict("this step is no longer open")
    if not may_act(user, item):
        raise NotAllowed("you may not complete this step")
    errors = step_data_errors(item, data, comment)
    if errors:
        raise InvalidData("the data does not fit the step's form", errors)


# The statements every step runs, built once: a reused statement keeps its cache key, which saves
# building the query and its key again on each step (SQLAlchemy's compiled cache then does the rest).
_ITEMS, _INSTANCES = WorkItem.__table__.c, ProcessInstance.__table__.c
_TAKE_ITEM = (
    update(WorkItem.__table__)
    .where(_ITEMS.id == bindparam("item_id"), _ITEMS.status == WorkItemStatus.OPEN)
    .values(
        status=WorkItemStatus.COMPLETED,
        completed_at=bindparam("done_at"),
        completed_by_id=bindparam("done_by"),
    )
)
_LOCK_INSTANCE = (
    select(_INSTANCES.state, _INSTANCES.lock_version, _INSTANCES.status)
    .where(_INSTANCES.id == bindparam("instance_id"))
    .with_for_update()
)
# PostgreSQL: both in one statement, the instance's row lock taken before the item's (the UPDATE only
# reaches the item through the locked row).
_LOCKED = (
    select(_INSTANCES.id, _INSTANCES.state, _INSTANCES.lock_version, _INSTANCES.status)
    .where(_INSTANCES.id == bindparam("locked_id"))  # not `instance_id`: the UPDATE would SET that column
    .with_for_update()
    .cte("locked")
)
_TAKEN = _TAKE_ITEM.where(_ITEMS.instance_id.in_(select(_LOCKED.c.id))).returning(_ITEMS.id).cte("taken")
_LOCK_INSTANCE_TAKE_ITEM = select(
    _LOCKED.c.state,
    _LOCKED.c.lock_version,
    _LOCKED.c.status,
    select(func.count()).select_from(_TAKEN).scalar_subquery().label("taken"),
)


def _advance(item: WorkItem, user: User, data: dict, comment: str | None):
    now = utcnow()
    instance = item.instance
    _take_item(item, instance, user, now)
    loaded = loaded_spec(instance.definition)
    workflow = load_workflow(loaded, instance.state)
    spiff_task = find_task(workflow, item.spiff_task_id)
    if not is_ready(spiff_task):
        raise Conflict("this step is no longer waiting (it was cancelled or the process moved on)")
    signals.step_completing.send(item, user=user, data=data, comment=comment)
    cleared = apply_first_step_fields(item.task, user, data) if is_first_step(item) else None
    with _engine_errors():
        complete_user_task(workflow, spiff_task, data)
    result, events = _write_step(instance, workflow, loaded, item, user, data, comment, now)
    return result, ([cleared] if cleared is not None else []) + events


def _take_item(item: WorkItem, instance: ProcessInstance, user: User, now: datetime) -> None:
    """Mark the item completed if it is still open (else Conflict: someone else took it first) and lock
    the instance's row, reading its current state and version: what the conditional UPDATE on the version
    column checks against.

    PostgreSQL: one statement that locks the instance's row first, then the item's. Whoever changes an
    instance's work items (a step, a timer firing, a migration) holds the instance's lock before touching
    them, so two of them never wait for each other's locks in opposite orders (a deadlock: a step holding
    its item while a timer holding the instance cancels that item). SQLite: the item's UPDATE takes the
    database's single writer lock, then the instance is read."""
    params = {"item_id": item.id, "done_at": now, "done_by": user.id}
    if on_postgresql():
        row = db.session.execute(_LOCK_INSTANCE_TAKE_ITEM, params | {"locked_id": instance.id}).one_or_none()
        taken = row.taken if row is not None else 0
    else:
        taken = db.session.execute(_TAKE_ITEM, params).rowcount
        row = db.session.execute(_LOCK_INSTANCE, {"instance_id": instance.id}).one() if taken == 1 else None
    if taken != 1:
        raise Conflict("this step has just been completed by someone else")
    for name, value in (
        ("status", WorkItemStatus.COMPLETED),
        ("completed_at", now),
        ("completed_by_id", user.id),
    ):
        set_committed_value(item, name, value)
    for name in ("state", "lock_version", "status"):
        set_committed_value(instance, name, getattr(row, name))


def _write_state(instance, workflow, loaded, task: Task, now) -> tuple[list[WorkItem], str]:
    """Store the workflow's state and next timer, open/cancel work items, move the task's state.
    Returns the new work items and the task's state before."""
    synced, before = _store_state(instance, workflow, loaded, task, now)
    return synced.created, before


def _store_state(instance, workflow, loaded, task: Task, now) -> tuple[SyncedItems, str]:
    compact_loops(workflow)
    open_rows = update_instance_reading_open_items(
        instance,
        state=dump_workflow(workflow),
        serializer_version=SERIALIZER_VERSION,
        next_timer_at=next_timer_at(workflow),
    )
    synced = sync_work_items(instance, workflow, loaded, task, now, open_rows)
    before = task.state
    if not workflow.is_completed() and instance.period is None:
        update_task(task, now, state=state_while_open(loaded, workflow) or task.state)
    return synced, before


def _write_step(instance, workflow, loaded, item, user, data, comment, now):
    task = item.task
    synced, before = _store_state(instance, workflow, loaded, task, now)
    next_items = synced.created
    action = audit.Action.STEP_RETURNED if data.get("decision") == "return" else audit.Action.STEP_COMPLETED
    db.session.flush()
    events = [
        audit.record(
            action,
            user,
            task,
            instance=instance,
            item=item,
            from_state=before,
            to_state=task.state,
            comment=comment,
            data=data,
        )
    ]
    signals.step_completed.send(item, user=user, data=data, comment=comment, next_items=next_items)
    events += _finish_if_completed(instance, workflow, task, user, now)
    return StepResult(task, next_items, instance, synced.open), events


@dataclass
class FiredTimers:
    task_code: str
    names: list[str]


def fire_timers(instance_id: int, now: datetime) -> FiredTimers | None:
    """Fire the instance's BPMN timers due by `now`, as the system; one transaction, audited as
    `timer.fired`. None when nothing is due any more (another server fired them, or the process moved on).

    PostgreSQL: the row is taken with FOR UPDATE SKIP LOCKED, so a server never waits for another's
    firing. SQLite: a conditional no-op UPDATE takes the writer lock first; the version column catches
    the rest."""
    try:
        instance = _take_due_instance(instance_id, now)
        if instance is None:
            db.session.rollback()
            return None
        loaded = loaded_spec(instance.definition)
        workflow = load_workflow(loaded, instance.state)
        with _engine_errors():
            fired = fire_due(workflow, now)
        task = instance.task
        next_items, before = _write_state(instance, workflow, loaded, task, now)
        db.session.flush()
        events = [
            audit.record(
                audit.Action.TIMER_FIRED,
                None,
                task,
                instance=instance,
                from_state=before,
                to_state=task.state,
                data={"timers": timer_names(fired)},
            )
        ]
        events += _finish_if_completed(instance, workflow, task, None, now)
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        return None
    except Exception:
        db.session.rollback()
        raise
    signals.transition_committed.send(task, events=events)
    return FiredTimers(task.code, timer_names(fired))


def _take_due_instance(instance_id: int, now: datetime) -> ProcessInstance | None:
    due = (
        ProcessInstance.id == instance_id,
        ProcessInstance.status == InstanceStatus.RUNNING,
        ProcessInstance.next_timer_at <= now,
    )
    query = select(ProcessInstance).where(*due).options(undefer(ProcessInstance.state))
    if on_postgresql():
        return db.session.scalar(query.with_for_update(skip_locked=True))
    taken = db.session.execute(
        update(ProcessInstance)
        .where(*due)
        .values(next_timer_at=ProcessInstance.next_timer_at)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return None
    return db.session.scalar(query.execution_options(populate_existing=True))


def _finish_if_completed(instance, workflow, task: Task, user: User | None, now) -> list:
    if not workflow.is_completed():
        return []
    before = task.state
    instance.status, instance.ended_at = InstanceStatus.COMPLETED, now
    period = instance.period
    if period is None:  # a period instance ends one period of a standing duty; the duty goes on
        task.state, task.progress = TaskState.COMPLETED, 100
        final_data = {**workflow.data, **(workflow.last_task.data if workflow.last_task else {})}
        if final_data.get("result"):
            task.result = final_data["result"]
    db.session.flush()
    event = audit.record(
        audit.Action.PROCESS_COMPLETED,
        user,
        task,
        instance=instance,
        from_state=before,
        to_state=task.state,
        data={"period": period} if period else None,
    )
    signals.process_completed.send(instance, user=user)
    return [event]
