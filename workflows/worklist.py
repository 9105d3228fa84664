"""Reading the worklist and the history. Reads only the work item and audit tables, never a workflow."""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import (
    AuditEvent,
    ProcessDefinition,
    ProcessInstance,
    Task,
    Unit,
    User,
    WorkItem,
    WorkItemStatus,
)

# Acting on a step reads its instance and the identity of its definition (forms and spec come from the
# per-version caches of workflows/runtime.py): one statement. Units and users are mostly in the session
# already (the caller's own unit), so they load lazily; eager joins cost more than they save here.
_DEFINITION_IDENTITY = (
    ProcessDefinition.id,
    ProcessDefinition.key,
    ProcessDefinition.version,
    ProcessDefinition.checksum,
)
_ITEM_CONTEXT = (
    joinedload(WorkItem.instance).joinedload(ProcessInstance.definition).load_only(*_DEFINITION_IDENTITY),
    joinedload(WorkItem.task).joinedload(Task.section),
)


def load_work_item(item_id: int) -> WorkItem | None:
    """The work item with everything acting on it and showing it reads, or None."""
    return db.session.scalar(select(WorkItem).where(WorkItem.id == item_id).options(*_ITEM_CONTEXT))


def _served_unit_ids(user: User):
    """The user's unit and its sub-units (Văn phòng Sở also serves Bộ phận Kế hoạch Tài chính)."""
    return select(Unit.id).where(or_(Unit.id == user.unit_id, Unit.parent_id == user.unit_id))


def _worklist_condition(user: User):
    roles = [WorkItem.candidate_roles.like(f"%,{role},%") for role in user.roles]
    unassigned_for_me = and_(
        WorkItem.assignee_id.is_(None),
        or_(*roles) if roles else False,
        or_(WorkItem.candidate_unit_id.is_(None), WorkItem.candidate_unit_id.in_(_served_unit_ids(user))),
    )
    return and_(
        WorkItem.status == WorkItemStatus.OPEN, or_(WorkItem.assignee_id == user.id, unassigned_for_me)
    )


def worklist_for(user: User, limit: int = 500) -> list[WorkItem]:
    """Open items the user may act on now: theirs, and their unit's nobody has taken; soonest due first."""
    if not user.active:
        return []
    query = (
        select(WorkItem)
        .where(_worklist_condition(user))
        .options(
            joinedload(WorkItem.task),
            joinedload(WorkItem.candidate_unit),
            joinedload(WorkItem.item_unit),
            joinedload(WorkItem.assignee),
            joinedload(WorkItem.instance).joinedload(ProcessInstance.definition),
        )
        .order_by(WorkItem.due_at.is_(None), WorkItem.due_at, WorkItem.id)
        .limit(limit)
    )
    return list(db.session.scalars(query).unique())


def worklist_count(user: User) -> int:
    if not user.active:
        return 0
    return db.session.scalar(select(func.count(WorkItem.id)).where(_worklist_condition(user)))


_OPEN_ITEM_CONTEXT = (
    joinedload(WorkItem.candidate_unit),
    joinedload(WorkItem.item_unit),
    joinedload(WorkItem.assignee),
    joinedload(WorkItem.instance).joinedload(ProcessInstance.definition).load_only(*_DEFINITION_IDENTITY),
)


def open_items_of(task: Task) -> list[WorkItem]:
    query = (
        select(WorkItem)
        .where(WorkItem.task_id == task.id, WorkItem.status == WorkItemStatus.OPEN)
        .options(*_OPEN_ITEM_CONTEXT)
        .order_by(WorkItem.id)
    )
    return list(db.session.scalars(query))


def open_items_by_task(task_ids: list[int]) -> dict[int, list[WorkItem]]:
    """`open_items_of` for many tasks in one statement: task id -> its open items (absent: none)."""
    found: dict[int, list[WorkItem]] = {}
    if not task_ids:
        return found
    query = (
        select(WorkItem)
        .where(WorkItem.task_id.in_(task_ids), WorkItem.status == WorkItemStatus.OPEN)
        .options(*_OPEN_ITEM_CONTEXT)
        .order_by(WorkItem.id)
    )
    for item in db.session.scalars(query).unique():
        found.setdefault(item.task_id, []).append(item)
    return found


def current_instances(task_ids: list[int]) -> dict[int, ProcessInstance]:
    """`current_instance` for many tasks in one statement, with the identity of each definition."""
    if not task_ids:
        return {}
    latest = (
        select(func.max(ProcessInstance.id))
        .where(ProcessInstance.task_id.in_(task_ids))
        .group_by(ProcessInstance.task_id)
    )
    query = (
        select(ProcessInstance)
        .where(ProcessInstance.id.in_(latest))
        .options(joinedload(ProcessInstance.definition).load_only(*_DEFINITION_IDENTITY))
    )
    return {instance.task_id: instance for instance in db.session.scalars(query)}


def history_of(task: Task) -> list[AuditEvent]:
    """Every audited transition of the task, oldest first (like Plone's review history)."""
    query = select(AuditEvent).where(AuditEvent.task_id == task.id).order_by(AuditEvent.at, AuditEvent.id)
    return list(db.session.scalars(query))


def current_instance(task: Task) -> ProcessInstance | None:
    """The task's most recent process instance (running or finished)."""
    query = (
        select(ProcessInstance)
        .where(ProcessInstance.task_id == task.id)
        .order_by(ProcessInstance.id.desc())
        .limit(1)
    )
    return db.session.scalar(query)
