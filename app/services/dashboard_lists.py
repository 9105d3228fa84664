"""The dashboard's task lists, the most urgent first, a page at a time, with their totals: overdue tasks,
tasks due in the next days, and tasks lacking some of the "5 rõ"; for every plan, one plan, one lead
unit, or both.

- overdue: not closed, and past its deadline or marked overdue by the scheduler (Task.due_status); the
  longest overdue first (the earliest deadline), then those whose step is late, then by id;
- due soon: not closed, deadline from today to today + DUE_SOON_DAYS; the nearest deadline first;
- "5 rõ" gaps (one plan only): open tasks before closed ones, the nearest deadline first, then in the
  plan's order; what each lacks is decided by app.services.five_clears.

Nothing here reads more rows than the page it shows: a list is one walk per open state along that
state's deadlines (indexes ix_tasks_kind_state_due, ix_tasks_kind_unit_state for a unit,
ix_tasks_plan_kind_state for a plan; app/models/plans.py), each stopping after the page, merged in one
statement; tasks marked overdue with a later or no deadline are found by their mark, state by state
(ix_tasks_due_status_due). A total is a count over the same index ranges (the dashboard's first page
takes its totals from its tallies instead: app.services.dashboard_figures). The "5 rõ" gaps need a plan:
they are read from the plan's tasks, which do not grow with the other plans.
"""

from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

from sqlalchemy import Date, Integer, Select, and_, bindparam, func, or_, select, union_all
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Plan, Task, TaskState, Unit
from app.models.plans import TaskKind
from app.services.five_clears import missing_clears
from app.services.plan_queries import holding_plan_ids

OVERDUE, DUE_SOON, GAPS = "overdue", "due_soon", "gaps"
KINDS = (OVERDUE, DUE_SOON, GAPS)
DUE_SOON_DAYS = 7
TOP = 10  # what the dashboard shows of each list
PAGE_SIZE = 50  # a page of the full list
MAX_PAGE = 10_000
OPEN_STATES = tuple(state for state in TaskState.ALL if state not in TaskState.CLOSED)


@dataclass(frozen=True)
class Scope:
    """Which tasks: every plan's (None) or one plan's, of every lead unit (None) or one."""

    plan: Plan | None = None
    unit: Unit | None = None

    def args(self) -> dict[str, str | int]:
        """The scope as query arguments of the dashboard's links."""
        args: dict[str, str | int] = {}
        if self.plan is not None:
            args["plan"] = self.plan.id
        if self.unit is not None:
            args["unit"] = self.unit.code
        return args


@dataclass(frozen=True)
class TaskGap:
    task: Task
    missing: list[str]


@dataclass
class TaskList:
    """One page of a list and how many tasks the whole list has."""

    kind: str
    tasks: list[Task]
    total: int
    page: int = 1
    size: int = TOP
    missing: dict[int, list[str]] = field(default_factory=dict)  # "5 rõ" gaps: task id -> what it lacks

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def more(self) -> int:
        """How many tasks of the list are not on this page's end (for "see all")."""
        return max(0, self.total - (self.page - 1) * self.size - len(self.tasks))

    @property
    def gaps(self) -> list[TaskGap]:
        return [TaskGap(task, self.missing.get(task.id, [])) for task in self.tasks]


def overdue_condition(today: date):
    """Not closed, and past its deadline or marked overdue by the scheduler."""
    late = and_(Task.due_date.is_not(None), Task.due_date < today)
    return and_(Task.state.in_(OPEN_STATES), or_(late, Task.due_status == "overdue"))


DISPLAYED = (joinedload(Task.lead_unit), joinedload(Task.lead_sub_unit), joinedload(Task.plan))

# The statements are built once per shape (list, with or without a plan, a unit) with bound parameters:
# a union of some thirty index walks is costly to build and to key for SQLAlchemy's statement cache, and
# a statement object keeps its cache key once made.
_TODAY, _END = bindparam("today", type_=Date), bindparam("soon_end", type_=Date)
_PLAN, _UNIT = bindparam("plan_id", type_=Integer), bindparam("unit_id", type_=Integer)
_TAKE, _OFFSET, _SIZE = (bindparam(name, type_=Integer) for name in ("take", "offset", "size"))


def _plan_tasks(shape: tuple[bool, bool], columns: list, *conditions) -> Select:
    has_plan, has_unit = shape
    query = select(*columns).where(Task.kind == TaskKind.PLAN, *conditions)
    if has_plan:
        query = query.where(Task.plan_id == _PLAN)
    if has_unit:
        query = query.where(Task.lead_unit_id == _UNIT)
    return query


def _windows(kind: str, states) -> list[tuple]:
    """The conditions of each index walk of a list, for each state of `states` (one state: `==`;
    several, for a count: `IN`)."""
    state = Task.state == states[0] if len(states) == 1 else Task.state.in_(states)
    if kind == DUE_SOON:
        return [(state, Task.due_date >= _TODAY, Task.due_date <= _END)]
    # late by the deadline; then a late step, with a later deadline or none: found by the scheduler's mark
    marked = Task.due_status == "overdue"
    return [
        (state, Task.due_date < _TODAY),
        (marked, state, Task.due_date >= _TODAY),
        (marked, state, Task.due_date.is_(None)),
    ]


@cache
def _page_statement(kind: str, shape: tuple[bool, bool]) -> Select:
    """The tasks of one page: the union of the walks (per state), each stopping after `take` rows."""
    walks = [
        _plan_tasks(shape, [Task.id, Task.due_date], *window).order_by(Task.due_date, Task.id).limit(_TAKE)
        for state in OPEN_STATES
        for window in _windows(kind, [state])
    ]
    subqueries = [walk.subquery() for walk in walks]
    ranked = union_all(*(select(sub.c.id, sub.c.due_date) for sub in subqueries)).subquery("ranked")
    query = (
        select(Task)
        .join(ranked, ranked.c.id == Task.id)
        .order_by(ranked.c.due_date.asc().nulls_last(), Task.id)
        .offset(_OFFSET)
        .limit(_SIZE)
    )
    return query.options(*DISPLAYED)


@cache
def _count_statement(kind: str, shape: tuple[bool, bool]) -> Select:
    """The list's total: counts over the index ranges the walks read (all open states at once)."""
    counts = [
        _plan_tasks(shape, [func.count(Task.id)], *window).scalar_subquery()
        for window in _windows(kind, OPEN_STATES)
    ]
    return select(functools.reduce(operator.add, counts))


def _parameters(scope: Scope, today: date) -> dict:
    return {
        "today": today,
        "soon_end": today + timedelta(days=DUE_SOON_DAYS),
        "plan_id": scope.plan.id if scope.plan is not None else None,
        "unit_id": scope.unit.id if scope.unit is not None else None,
    }


def _shape(scope: Scope) -> tuple[bool, bool]:
    return scope.plan is not None, scope.unit is not None


def dated_list(
    scope: Scope, today: date, kind: str, page: int = 1, size: int = TOP, total: int | None = None
) -> TaskList:
    """The overdue or due-soon tasks of one page, and the list's total: two statements, one when the
    caller knows the total (the dashboard's tallies, which may be the scheduler's of a minute ago: never
    fewer than the tasks shown)."""
    offset = (page - 1) * size
    values = _parameters(scope, today)
    page_values = values | {"take": offset + size, "offset": offset, "size": size}
    tasks = list(db.session.scalars(_page_statement(kind, _shape(scope)), page_values).unique())
    if total is None:
        total = db.session.scalar(_count_statement(kind, _shape(scope)), values)
    return TaskList(kind, tasks, max(int(total or 0), offset + len(tasks)), page, size)


def gap_candidates(plan: Plan) -> list[TaskGap]:
    """The plan's tasks lacking some of the "5 rõ", the most urgent first: one query of the plan's tasks
    that may lack something (bounded by the plan's size); five_clears decides what exactly."""
    maybe = or_(
        Task.assignee_id.is_(None),
        func.coalesce(func.trim(Task.content), "") == "",
        Task.due_date.is_(None),
        func.coalesce(func.trim(Task.expected_result), "") == "",
    )
    query = select(Task).where(Task.plan_id == plan.id, Task.kind == TaskKind.PLAN, maybe)
    tasks = db.session.scalars(query.options(*DISPLAYED)).unique()
    gaps = [TaskGap(task, missing) for task in tasks if (missing := missing_clears(task))]
    return sorted(gaps, key=_urgency)


def _urgency(gap: TaskGap) -> tuple:
    task = gap.task
    return (task.state in TaskState.CLOSED, task.due_date is None, task.due_date or date.min, task.position)


def gap_list(gaps: list[TaskGap], page: int = 1, size: int = TOP) -> TaskList:
    shown = gaps[(page - 1) * size : page * size]
    missing = {gap.task.id: gap.missing for gap in shown}
    return TaskList(GAPS, [gap.task for gap in shown], len(gaps), page, size, missing)


def task_list(scope: Scope, today: date, kind: str, page: int = 1, size: int = PAGE_SIZE) -> TaskList:
    """One page of a full list (the dashboard's "see all"); the "5 rõ" gaps need `scope.plan`."""
    if kind == GAPS:
        assert scope.plan is not None, "the gaps are listed for one plan"
        gaps = gap_candidates(scope.plan)
        if scope.unit is not None:
            gaps = [gap for gap in gaps if gap.task.lead_unit_id == scope.unit.id]
        return gap_list(gaps, page, size)
    return dated_list(scope, today, kind, page, size)


# --- parameters of the pages -----------------------------------------------------------------------


class InvalidListRequest(ValueError):
    """Parameters that name nothing: `details` maps each parameter to what is wrong with it."""

    def __init__(self, details: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in details.items()))
        self.details = details


@dataclass(frozen=True)
class ListRequest:
    kind: str = OVERDUE
    scope: Scope = Scope()
    page: int = 1


def department_plan(value: str | None, errors: dict[str, str]) -> Plan | None:
    """The plan a `plan` argument names (a department's plan, not a framework's holder), or None."""
    text = (value or "").strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        errors["plan"] = "a plan id"
        return None
    query = select(Plan).where(Plan.id == int(text), Plan.id.not_in(holding_plan_ids()))
    plan = db.session.scalar(query)
    if plan is None:
        errors["plan"] = "no such plan"
    return plan


def _unit(value: str | None, errors: dict[str, str]) -> Unit | None:
    code = (value or "").strip()
    if not code:
        return None
    unit = None if len(code) > 40 else db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        errors["unit"] = "no such unit"
    return unit


def _page(value: str | None, errors: dict[str, str]) -> int:
    text = (value or "").strip()
    if not text:
        return 1
    if not (text.isascii() and text.isdigit() and len(text) <= 6 and 1 <= int(text) <= MAX_PAGE):
        errors["page"] = f"a page number from 1 to {MAX_PAGE}"
        return 1
    return int(text)


def list_request(args) -> ListRequest:
    """`show` (overdue, due_soon or gaps), `plan` (id), `unit` (lead unit code) and `page` of the full
    list; raises InvalidListRequest. The "5 rõ" gaps need a plan."""
    errors: dict[str, str] = {}
    kind = (args.get("show") or "").strip() or OVERDUE
    if kind not in KINDS:
        errors["show"] = f"one of {', '.join(KINDS)}"
    plan = department_plan(args.get("plan"), errors)
    unit = _unit(args.get("unit"), errors)
    page = _page(args.get("page"), errors)
    if kind == GAPS and plan is None and "plan" not in errors:
        errors["plan"] = "the “5 rõ” gaps are listed for one plan"
    if errors:
        raise InvalidListRequest(errors)
    return ListRequest(kind, Scope(plan, unit), page)
