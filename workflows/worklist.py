"""Reading the worklist and the history. Reads only the work item and audit tables, never a workflow."""

from __future__ import annotations

import base64
import binascii
import operator
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache, reduce
from itertools import combinations
from typing import NamedTuple

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select, union, union_all
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import (
    AuditEvent,
    PlanSection,
    ProcessDefinition,
    ProcessInstance,
    Role,
    Task,
    TaskCoordination,
    Unit,
    User,
    WorkItem,
    WorkItemStatus,
)
from app.services.clock import as_utc
from workflows.row_reads import RowShape, joins_in_written_order, row_objects

# A definition as steps read it: its identity (forms and spec come from the per-version caches of
# workflows/runtime.py).
_DEFINITION_IDENTITY = (
    ProcessDefinition.id,
    ProcessDefinition.key,
    ProcessDefinition.version,
    ProcessDefinition.checksum,
)
# The work item with what acting on it and answering about it read, in one statement of plain columns
# made into the session's objects (workflows/row_reads.py: the ORM's loader costs 0.2 ms more here):
# the item, its instance (not its state) and definition (identity only), the task with its section,
# lead unit and assignee. Built once: a reused statement keeps its cache key.
_LEAD_UNITS, _ASSIGNEES = Unit.__table__.alias("lead_units"), User.__table__.alias("assignees")
_ITEM_SHAPES = (
    RowShape(WorkItem),
    RowShape(ProcessInstance),
    RowShape(ProcessDefinition, only=[column.key for column in _DEFINITION_IDENTITY]),
    RowShape(Task),
    RowShape(PlanSection),
    RowShape(Unit, table=_LEAD_UNITS),
    RowShape(User, table=_ASSIGNEES),
)
_ITEMS_T, _INSTANCES_T, _DEFINITIONS_T, _TASKS_T, _SECTIONS_T = (
    model.__table__ for model in (WorkItem, ProcessInstance, ProcessDefinition, Task, PlanSection)
)
_ITEM_BY_ID = (  # tables, not entities: an ORM-enabled select would go through the ORM's loader again
    select(*(column for shape in _ITEM_SHAPES for column in shape.columns))
    .select_from(
        _ITEMS_T.join(_INSTANCES_T, _INSTANCES_T.c.id == _ITEMS_T.c.instance_id)
        .join(_DEFINITIONS_T, _DEFINITIONS_T.c.id == _INSTANCES_T.c.definition_id)
        .join(_TASKS_T, _TASKS_T.c.id == _ITEMS_T.c.task_id)
        .join(_SECTIONS_T, _SECTIONS_T.c.id == _TASKS_T.c.section_id)
        .join(_LEAD_UNITS, _LEAD_UNITS.c.id == _TASKS_T.c.lead_unit_id)
        .outerjoin(_ASSIGNEES, _ASSIGNEES.c.id == _TASKS_T.c.assignee_id)
    )
    .where(_ITEMS_T.c.id == bindparam("item_id"))
)
_ITEM_LINKS = (  # (object index, relationship, related object index)
    (0, "instance", 1),
    (1, "definition", 2),
    (0, "task", 3),
    (1, "task", 3),
    (3, "section", 4),
    (3, "lead_unit", 5),
    (3, "assignee", 6),
)


def load_work_item(item_id: int, *, with_coordinating_units: bool = False) -> WorkItem | None:
    """The work item with everything acting on it and showing it reads, or None. With its task's
    coordinating units too when the caller shows the task (read now, in the same transaction, rather
    than after the step's commit opens another)."""
    session = db.session()
    row = session.execute(_ITEM_BY_ID, {"item_id": item_id}).first()
    if row is None:
        return None
    found = row_objects(session, row, _ITEM_SHAPES)
    for owner, name, related in _ITEM_LINKS:
        obj, new = found[owner]
        if new:
            set_committed_value(obj, name, found[related][0])
    task = found[3][0]
    if with_coordinating_units and "coordinations" not in task.__dict__:
        _load_coordinations(session, task)
    return found[0][0]


_COORDINATION_SHAPES = (RowShape(TaskCoordination), RowShape(Unit))
_COORDINATIONS_T = TaskCoordination.__table__
_COORDINATIONS_OF_TASK = (
    select(*(column for shape in _COORDINATION_SHAPES for column in shape.columns))
    .select_from(_COORDINATIONS_T.join(Unit.__table__, Unit.__table__.c.id == _COORDINATIONS_T.c.unit_id))
    .where(_COORDINATIONS_T.c.task_id == bindparam("task_id"))
    .order_by(_COORDINATIONS_T.c.position)
)


def _load_coordinations(session, task: Task) -> None:
    coordinations = []
    for row in session.execute(_COORDINATIONS_OF_TASK, {"task_id": task.id}):
        (coordination, new), (unit, _) = row_objects(session, row, _COORDINATION_SHAPES)
        if new:
            set_committed_value(coordination, "unit", unit)
        coordinations.append(coordination)
    set_committed_value(task, "coordinations", coordinations)


def _served_unit_ids(user: User):
    """The user's unit and its sub-units (Văn phòng Sở also serves Bộ phận Kế hoạch Tài chính)."""
    return select(Unit.id).where(or_(Unit.id == user.unit_id, Unit.parent_id == user.unit_id))


_SOONEST_DUE_FIRST = (WorkItem.due_at.is_(None), WorkItem.due_at, WorkItem.id)


@lru_cache(maxsize=32)
def _role_sets_with(acting: frozenset[str]) -> tuple[str, ...]:
    """Every stored set of candidate roles (WorkItem.encode_roles) that holds one of `acting`."""
    sizes = range(1, len(Role.ACTING) + 1)
    subsets = (subset for size in sizes for subset in combinations(Role.ACTING, size))
    return tuple(WorkItem.encode_roles(subset) for subset in subsets if acting.intersection(subset))


def _role_sets(user: User) -> tuple[str, ...]:
    """The sets of candidate roles that let the user act: 8 for one role, 15 for all four."""
    return _role_sets_with(frozenset(role for role in user.roles if role in Role.ACTING))


class _Branch(NamedTuple):
    condition: ColumnElement[bool]
    index_prefix: tuple  # the columns of its index before due_at, all fixed by the condition


_HELD = (WorkItem.status, WorkItem.assignee_id)  # ix_work_items_status_assignee_due
_OFFERED = (  # ix_work_items_status_assignee_unit_roles_due
    WorkItem.status,
    WorkItem.assignee_id,
    WorkItem.candidate_unit_id,
    WorkItem.candidate_roles,
)
_OPEN = WorkItem.status == WorkItemStatus.OPEN
_UNASSIGNED = and_(_OPEN, WorkItem.assignee_id.is_(None))


def _held_branch(user: User) -> _Branch:
    return _Branch(and_(_OPEN, WorkItem.assignee_id == user.id), _HELD)


def _in_unit(unit_id):
    return WorkItem.candidate_unit_id.is_(None) if unit_id is None else WorkItem.candidate_unit_id == unit_id


def _waiting_for(user: User) -> list[ColumnElement[bool]]:
    """The unassigned open items whose candidate roles are a set holding one of the user's roles (by
    equality, so the items for other roles are not read): those of a unit the user serves (found by a
    subquery), and those of no unit. None for a user without a role that acts."""
    role_sets = _role_sets(user)
    if not role_sets:
        return []
    offered = and_(_UNASSIGNED, WorkItem.candidate_roles.in_(role_sets))
    in_served_unit = WorkItem.candidate_unit_id.in_(_served_unit_ids(user))
    return [and_(offered, in_served_unit), and_(offered, _in_unit(None))]


def _count_branches(user: User) -> list[_Branch]:
    """The worklist's condition as disjoint branches, each a few equality lookups in an index (see
    WorkItem.__table_args__): the items assigned to the user, and those waiting for the user's roles."""
    return [_held_branch(user), *(_Branch(condition, _OFFERED) for condition in _waiting_for(user))]


def _offers(user: User) -> list[tuple[int | None, str]]:
    """The (candidate unit, candidate roles) pairs under which unassigned open items wait for the user.
    One statement that reads the index entries of the items the count counts (so it grows with the
    user's own list, not with anyone else's)."""
    conditions = _waiting_for(user)
    if not conditions:
        return []
    pair = (WorkItem.candidate_unit_id, WorkItem.candidate_roles)
    found = union(*(select(*pair).where(condition) for condition in conditions))
    return [(unit_id, role_set) for unit_id, role_set in db.session.execute(found)]


def _page_branches(user: User) -> list[_Branch]:
    """The count's branches with one per (unit, roles) pair that has items waiting (`_offers`), so that
    each is a walk in due order along the index."""
    offered = [
        _Branch(and_(_UNASSIGNED, _in_unit(unit_id), WorkItem.candidate_roles == role_set), _OFFERED)
        for unit_id, role_set in _offers(user)
    ]
    return [_held_branch(user), *offered]


@dataclass(frozen=True)
class WorklistPosition:
    """Where a page of the worklist ends: its last item's due time (None: undated, listed last) and id;
    `seen` counts the items before and on that page (shown as "51–100"; it selects nothing)."""

    due_at: datetime | None
    item_id: int
    seen: int = 0


def _walks(branch: _Branch, after: WorklistPosition | None, limit: int) -> list[Select]:
    """A branch's first `limit` items after `after` as two walks along its index: the dated items by
    (due_at, id), then the undated ones by id. Each stops after `limit` rows, so a page reads about
    `limit` index entries per branch however many items wait. Each is ordered by the index's own
    columns (those before due_at are fixed by the condition, so the order is the same): no other index
    gives that order, so neither SQLite nor PostgreSQL walks another one hoping to stop early."""
    columns = (WorkItem.id, WorkItem.due_at)
    order = (*branch.index_prefix, WorkItem.due_at, WorkItem.id)
    walks = []
    if after is None or after.due_at is not None:
        dated = select(*columns).where(branch.condition, WorkItem.due_at.is_not(None))
        if after is not None:
            dated = dated.where(
                WorkItem.due_at >= after.due_at,
                or_(WorkItem.due_at > after.due_at, WorkItem.id > after.item_id),
            )
        walks.append(dated.order_by(*order).limit(limit))
    undated = select(*columns).where(branch.condition, WorkItem.due_at.is_(None))
    if after is not None and after.due_at is None:
        undated = undated.where(WorkItem.id > after.item_id)
    walks.append(undated.order_by(*order).limit(limit))
    return walks


def worklist_for(user: User, limit: int = 500, after: WorklistPosition | None = None) -> list[WorkItem]:
    """Open items the user may act on now: theirs, and their unit's nobody has taken; soonest due first
    (undated last, then by id), at most `limit`, after `after` (a previous page's last item)."""
    if not user.active or limit < 1:
        return []
    # One walk per (unit, roles) pair with items waiting, each in due order: a walk over an IN of units
    # or of role sets goes one value after the other, so its first `limit` rows are not the soonest due
    # of them all. The pairs are found first (one statement).
    walks = [walk.subquery() for branch in _page_branches(user) for walk in _walks(branch, after, limit)]
    candidates = union_all(*(select(walk.c.id, walk.c.due_at) for walk in walks)).subquery()
    # The page's ids first (at most `limit` of a few walks' rows), then their rows and what they show.
    page = (
        select(candidates.c.id)
        .order_by(candidates.c.due_at.is_(None), candidates.c.due_at, candidates.c.id)
        .limit(limit)
        .subquery()
    )
    query = (
        select(WorkItem)
        .join(page, page.c.id == WorkItem.id)
        .options(
            joinedload(WorkItem.task),
            joinedload(WorkItem.candidate_unit),
            joinedload(WorkItem.item_unit),
            joinedload(WorkItem.assignee),
            joinedload(WorkItem.instance).joinedload(ProcessInstance.definition),
        )
        .order_by(*_SOONEST_DUE_FIRST)
    )
    with joins_in_written_order():
        return list(db.session.scalars(query).unique())


def worklist_count(user: User) -> int:
    """How many items `worklist_for` would list without a limit: one index count per branch."""
    if not user.active:
        return 0
    counts = [
        select(func.count()).select_from(WorkItem).where(branch.condition).scalar_subquery()
        for branch in _count_branches(user)
    ]
    return db.session.scalar(select(reduce(operator.add, counts)))


@dataclass
class WorklistPage:
    items: list[WorkItem]
    next_cursor: str | None
    first_number: int  # the position of the page's first item in the whole list, from 1


def page_of(found: list[WorkItem], limit: int, after: WorklistPosition | None = None) -> WorklistPage:
    """A page from `worklist_for(user, limit + 1, after)`: the extra item only says that more follow."""
    items, seen = found[:limit], after.seen if after else 0
    more = len(found) > limit and bool(items)
    return WorklistPage(items, encode_cursor(items[-1], seen + len(items)) if more else None, seen + 1)


def worklist_page(user: User, limit: int, after: WorklistPosition | None = None) -> WorklistPage:
    return page_of(worklist_for(user, limit + 1, after), limit, after)


# --- paging parameters ----------------------------------------------------------------------------


class BadWorklistRequest(ValueError):
    """A `limit` or `cursor` this list cannot use; `details` names each parameter."""

    def __init__(self, details: dict[str, str]):
        super().__init__(details)
        self.details = details


_CURSOR_VERSION = "w1"
_NUMBER = re.compile(r"[0-9]{1,12}")


def encode_cursor(item: WorkItem, seen: int) -> str:
    due = as_utc(item.due_at).isoformat(timespec="microseconds") if item.due_at else ""
    raw = f"{_CURSOR_VERSION}|{due}|{item.id}|{seen}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> WorklistPosition:
    """The position a cursor of `encode_cursor` stands for; BadWorklistRequest for anything else."""
    try:
        if len(cursor) > 120:
            raise ValueError(cursor)
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, due_text, id_text, seen_text = raw.split("|")
        if version != _CURSOR_VERSION or not (_NUMBER.fullmatch(id_text) and _NUMBER.fullmatch(seen_text)):
            raise ValueError(raw)
        due = datetime.fromisoformat(due_text) if due_text else None
        if due is not None and due.tzinfo is None:
            raise ValueError(raw)
        return WorklistPosition(due.astimezone(UTC) if due else None, int(id_text), int(seen_text))
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise BadWorklistRequest({"cursor": "not a cursor of this worklist"}) from None


def parse_paging(
    limit_text: str | None, cursor: str | None, default: int, maximum: int
) -> tuple[int, WorklistPosition | None]:
    """`limit` (1..maximum; absent or blank: `default`) and the position of `cursor` (absent: the start)."""
    details: dict[str, str] = {}
    limit = default
    if limit_text is not None and limit_text.strip():
        text = limit_text.strip()
        if _NUMBER.fullmatch(text) and 1 <= int(text) <= maximum:
            limit = int(text)
        else:
            details["limit"] = f"a whole number from 1 to {maximum}"
    after = None
    if cursor:
        try:
            after = decode_cursor(cursor)
        except BadWorklistRequest as error:
            details.update(error.details)
    if details:
        raise BadWorklistRequest(details)
    return limit, after


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
