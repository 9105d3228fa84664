"""A plan's timeline: each task a bar from its start to its deadline, grouped by lead unit.

A task starts when its first process instance started, else on the plan's issue date. Positions are
percentages of the shown span (which always includes today), so a page draws them with plain CSS.
Tasks without a date (standing duties, "as guided") get no bar. Two queries whatever the plan's size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import contains_eager

from app.extensions import db
from app.models import Plan, ProcessInstance, Task, TaskState, Unit
from app.models.plans import TaskKind
from app.services.clock import to_local
from app.services.dashboard import NOT_STARTED_STATES
from app.services.task_queries import InvalidFilter

MIN_WIDTH = 0.6  # percent: a one-day task stays visible


@dataclass(frozen=True)
class TimelineFilter:
    unit: str | None = None  # lead unit code (a lead sub-unit counts too)
    section_id: int | None = None

    @classmethod
    def from_args(cls, plan: Plan, args) -> TimelineFilter:
        """Read `unit` and `section` (a section id of the plan); raise InvalidFilter naming what is wrong."""
        details = {}
        unit = (args.get("unit") or "").strip() or None
        section_raw = (args.get("section") or "").strip()
        if unit and ("\x00" in unit or db.session.scalar(select(Unit.id).where(Unit.code == unit)) is None):
            details["unit"] = f"unknown unit '{unit}'"
        section_id = int(section_raw) if section_raw.isdigit() and len(section_raw) < 10 else None
        if section_raw and section_id not in {section.id for section in plan.sections}:
            details["section"] = f"not a section of this plan: '{section_raw}'"
        if details:
            raise InvalidFilter(details)
        return cls(unit=unit, section_id=section_id)


@dataclass(frozen=True)
class Bar:
    task: Task
    start: date | None
    end: date | None
    status: str  # completed | overdue | running | not_started | cancelled
    left: float = 0.0
    width: float = 0.0

    @property
    def has_bar(self) -> bool:
        return self.end is not None


@dataclass
class UnitLane:
    unit: Unit
    bars: list[Bar] = field(default_factory=list)


@dataclass(frozen=True)
class Tick:
    day: date
    left: float


@dataclass
class Timeline:
    first: date
    last: date
    today: date
    today_left: float
    lanes: list[UnitLane]
    ticks: list[Tick]

    @property
    def task_count(self) -> int:
        return sum(len(lane.bars) for lane in self.lanes)


def bar_status(task: Task, today: date) -> str:
    if task.state == TaskState.COMPLETED:
        return "completed"
    if task.state == TaskState.CANCELLED:
        return "cancelled"
    if (task.due_date is not None and task.due_date < today) or task.due_status == "overdue":
        return "overdue"
    return "not_started" if task.state in NOT_STARTED_STATES else "running"


def plan_timeline(plan: Plan, timeline_filter: TimelineFilter, today: date) -> Timeline:
    tasks = _tasks(plan, timeline_filter)
    started = _process_starts(plan)
    default_start = plan.issued_on or to_local(plan.imported_at).date()
    raw = []
    for task in tasks:
        start = started.get(task.id, default_start)
        if task.due_date is not None:
            start = min(start, task.due_date)
        raw.append((task, start, task.due_date))
    dated = [(start, end) for _, start, end in raw if end is not None]
    first = min([today, default_start, *(start for start, _ in dated)])
    last = max([today, *(end for _, end in dated)])
    first, last = first - timedelta(days=3), last + timedelta(days=3)
    span = (last - first).days or 1

    def position(day: date) -> float:
        return round((day - first).days / span * 100, 3)

    lanes: dict[int, UnitLane] = {}
    for task, start, end in raw:
        bar = Bar(task, start if end else None, end, bar_status(task, today))
        if end is not None:
            left = position(start)
            bar = Bar(task, start, end, bar.status, left, round(max(position(end) - left, MIN_WIDTH), 3))
        lanes.setdefault(task.lead_unit_id, UnitLane(task.lead_unit)).bars.append(bar)
    ordered = sorted(lanes.values(), key=lambda lane: lane.unit.name)
    return Timeline(first, last, today, position(today), ordered, _ticks(first, last, position))


def _tasks(plan: Plan, timeline_filter: TimelineFilter) -> list[Task]:
    query = (
        select(Task)
        .join(Task.lead_unit)
        .options(contains_eager(Task.lead_unit))
        .where(Task.plan_id == plan.id, Task.kind == TaskKind.PLAN)
        .order_by(Task.position)
    )
    if timeline_filter.unit:
        unit_id = select(Unit.id).where(Unit.code == timeline_filter.unit).scalar_subquery()
        query = query.where(or_(Task.lead_unit_id == unit_id, Task.lead_sub_unit_id == unit_id))
    if timeline_filter.section_id is not None:
        query = query.where(Task.section_id == timeline_filter.section_id)
    return list(db.session.scalars(query))


def _process_starts(plan: Plan) -> dict[int, date]:
    """task id -> the local day its first process instance started: one grouped query."""
    query = (
        select(ProcessInstance.task_id, func.min(ProcessInstance.started_at))
        .join(Task, Task.id == ProcessInstance.task_id)
        .where(Task.plan_id == plan.id, Task.kind == TaskKind.PLAN)
        .group_by(ProcessInstance.task_id)
    )
    return {task_id: to_local(at).date() for task_id, at in db.session.execute(query) if at is not None}


def _ticks(first: date, last: date, position) -> list[Tick]:
    """The first day of each month in the span (of each quarter, or year, when the span is long)."""
    months = (last.year - first.year) * 12 + last.month - first.month
    step = 1 if months <= 18 else 3 if months <= 48 else 12
    year, month = first.year, first.month
    ticks = []
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        day = date(year, month, 1)
        if day > last:
            return ticks
        if (month - 1) % step == 0:
            ticks.append(Tick(day, position(day)))
