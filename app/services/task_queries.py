"""Reading tasks of a plan with the filters that pages and the API share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Plan, Task, TaskCoordination, TaskState, Unit
from app.models.plans import TaskKind


class InvalidFilter(ValueError):
    """A filter value that names nothing; `details` maps the parameter to what is wrong."""

    def __init__(self, details: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in details.items()))
        self.details = details


@dataclass(frozen=True)
class TaskFilter:
    unit: str | None = None  # lead unit code (a sub-unit counts for its task too)
    state: str | None = None
    overdue: bool | None = None
    kind: str = TaskKind.PLAN  # the plan's own tasks unless `report` (its reporting tasks) is asked for

    @classmethod
    def from_args(cls, args) -> TaskFilter:
        """Read `unit`, `state`, `overdue` and `kind` from request arguments; blank means "any" (for
        `kind`: the plan's own tasks)."""
        details = {}
        kind = (args.get("kind") or "").strip() or TaskKind.PLAN
        if kind not in TaskKind.ALL:
            details["kind"] = f"unknown kind; one of {', '.join(TaskKind.ALL)}"
        unit = (args.get("unit") or "").strip() or None
        state = (args.get("state") or "").strip() or None
        overdue_raw = (args.get("overdue") or "").strip().lower()
        # A NUL byte names no unit; PostgreSQL refuses it in a query parameter (SQLite just finds nothing).
        if unit and ("\x00" in unit or db.session.scalar(select(Unit.id).where(Unit.code == unit)) is None):
            details["unit"] = f"unknown unit '{unit}'"
        if state and state not in TaskState.ALL:
            details["state"] = f"unknown state '{state}'; one of {', '.join(TaskState.ALL)}"
        overdue = {"": None, "true": True, "1": True, "false": False, "0": False}.get(overdue_raw, "bad")
        if overdue == "bad":
            details["overdue"] = "must be true or false"
        if details:
            raise InvalidFilter(details)
        return cls(unit=unit, state=state, overdue=overdue, kind=kind)


def plan_tasks(plan: Plan, task_filter: TaskFilter, today: date) -> list[Task]:
    """The plan's tasks of the filter's kind in document order, with what a list shows loaded up front."""
    query = (
        select(Task)
        .where(Task.plan_id == plan.id, Task.kind == task_filter.kind)
        .options(
            selectinload(Task.lead_unit),
            selectinload(Task.lead_sub_unit),
            selectinload(Task.assignee),
            selectinload(Task.section),
            selectinload(Task.coordinations).selectinload(TaskCoordination.unit),
        )
        .order_by(Task.position)
    )
    if task_filter.unit:
        unit_ids = select(Unit.id).where(Unit.code == task_filter.unit).scalar_subquery()
        query = query.where(or_(Task.lead_unit_id == unit_ids, Task.lead_sub_unit_id == unit_ids))
    if task_filter.state:
        query = query.where(Task.state == task_filter.state)
    if task_filter.overdue is not None:
        late = Task.due_date.is_not(None) & (Task.due_date < today) & Task.state.not_in(TaskState.CLOSED)
        query = query.where(late if task_filter.overdue else ~late)
    return list(db.session.scalars(query))


def lead_units_of(plan: Plan) -> list[Unit]:
    """Units that lead at least one of the plan's own tasks, for the filter menu."""
    leads = select(Task.lead_unit_id).where(Task.plan_id == plan.id, Task.kind == TaskKind.PLAN)
    query = select(Unit).where(Unit.id.in_(leads)).order_by(Unit.name)
    return list(db.session.scalars(query))
