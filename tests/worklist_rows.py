"""Open work items as plain rows, for the worklist tests (tests/test_worklist_count.py and
tests/test_worklist_paging.py): each copies the instance and task of one real draft step of task 1.a,
and sets what the worklist reads (status, candidate unit and roles, assignee, due time) as given."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select

from app.extensions import db
from app.models import Task, Unit, User, WorkItem, WorkItemStatus
from app.services.clock import utcnow
from workflows.engine import start_process


def user(username: str) -> User:
    return db.session.scalars(select(User).where(User.username == username)).one()


def unit_id(code: str) -> int:
    return db.session.scalars(select(Unit.id).where(Unit.code == code)).one()


def anchor_item() -> WorkItem:
    """The draft step of task 1.a, started by cntt.cv (CNTT, specialist): the rows below copy it."""
    task = db.session.scalars(select(Task).where(Task.code == "1.a", Task.kind == "plan")).one()
    (item,) = start_process(task, user("cntt.cv")).next_items
    return item


def add_item(
    anchor: WorkItem,
    *,
    unit: int | None,
    roles: list[str],
    assignee_id: int | None = None,
    delegated_by_id: int | None = None,
    due_at: datetime | None = None,
    status: str = WorkItemStatus.OPEN,
) -> WorkItem:
    item = WorkItem(
        instance_id=anchor.instance_id,
        task_id=anchor.task_id,
        spiff_task_id=str(uuid.uuid4()),
        step=anchor.step,
        name=anchor.name,
        lane=anchor.lane,
        form_key=anchor.form_key,
        candidate_unit_id=unit,
        candidate_roles=WorkItem.encode_roles(roles),
        assignee_id=assignee_id,
        delegated_by_id=delegated_by_id,
        due_at=due_at,
        status=status,
        created_at=utcnow(),
    )
    db.session.add(item)
    return item


def remove_items_after(item_id: int) -> None:
    db.session.execute(delete(WorkItem).where(WorkItem.id > item_id))
    db.session.commit()
