"""Where the plans stand: the numbers of the dashboard, counted in a few grouped queries.

Only the plans' own tasks count (Task.kind == plan), not the reporting tasks. Every function reads a
fixed number of statements however many tasks there are (tests/test_dashboard.py counts them).

- not started: not started, or waiting for central guidance;
- in progress: any other state that is not closed (drafting, reviewing, ..., submitted);
- overdue: not closed, and past its deadline or marked overdue by the scheduler (Task.due_status);
- due soon: not closed, deadline from today to today + DUE_SOON_DAYS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload

from app import labels
from app.extensions import db
from app.models import AuditEvent, Plan, PlanSection, Task, TaskState, Unit
from app.models.plans import TaskKind
from app.services.audit_export import EXTRA_ACTION_LABELS
from app.services.five_clears import FIVE_CLEARS, missing_clears
from app.services.plan_queries import holding_plan_ids
from app.services.step_context import ACTION_LABELS

DUE_SOON_DAYS = 7
RECENT_EVENTS = 20
NOT_STARTED_STATES = (TaskState.NOT_STARTED, TaskState.WAITING_GUIDANCE)
OPEN_STATES = tuple(s for s in TaskState.ALL if s not in TaskState.CLOSED)


@dataclass(frozen=True)
class ProgressRow:
    """One unit's or section's counts."""

    key: int
    label: str
    code: str
    tasks: int
    completed: int
    in_progress: int
    not_started: int
    overdue: int
    average_progress: float


@dataclass(frozen=True)
class StateCount:
    state: str
    label: str
    count: int


@dataclass(frozen=True)
class GapCount:
    clear: str
    label: str
    count: int


@dataclass(frozen=True)
class TaskGap:
    task: Task
    missing: list[str]


@dataclass(frozen=True)
class Activity:
    at: datetime
    actor: str
    action: str
    action_label: str
    step_name: str | None
    task_id: int | None
    task_code: str | None
    task_title: str | None


@dataclass
class Dashboard:
    today: date
    total: int
    by_unit: list[ProgressRow]
    by_section: list[ProgressRow]
    by_state: list[StateCount]
    overdue: list[Task]
    due_soon: list[Task]
    gap_counts: list[GapCount]
    gaps: list[TaskGap]
    recent: list[Activity]
    plans: list[Plan] = field(default_factory=list)

    @property
    def summary(self) -> ProgressRow:
        """All tasks together (each task has one lead unit, so the units' rows add up to them)."""
        rows = self.by_unit
        tasks = sum(row.tasks for row in rows)
        weighted = sum(row.average_progress * row.tasks for row in rows)
        return ProgressRow(
            key=0,
            label="",
            code="",
            tasks=tasks,
            completed=sum(row.completed for row in rows),
            in_progress=sum(row.in_progress for row in rows),
            not_started=sum(row.not_started for row in rows),
            overdue=sum(row.overdue for row in rows),
            average_progress=round(weighted / tasks, 1) if tasks else 0.0,
        )

    def chart_data(self) -> dict:
        """What the charts draw (the same numbers as the tables under them), for JSON in the page."""
        return {
            "units": _series(self.by_unit),
            "sections": _series(self.by_section),
            "states": {
                "labels": [row.label for row in self.by_state],
                "keys": [row.state for row in self.by_state],
                "counts": [row.count for row in self.by_state],
            },
            "gaps": {
                "labels": [row.label for row in self.gap_counts],
                "counts": [row.count for row in self.gap_counts],
            },
            "legend": {
                "completed": str(labels.TASK_STATE_LABELS[TaskState.COMPLETED]),
                "in_progress": str(labels.TASK_STATE_LABELS[TaskState.IN_PROGRESS]),
                "not_started": str(labels.TASK_STATE_LABELS[TaskState.NOT_STARTED]),
            },
        }


def _series(rows: list[ProgressRow]) -> dict:
    return {
        "labels": [row.label for row in rows],
        "completed": [row.completed for row in rows],
        "in_progress": [row.in_progress for row in rows],
        "not_started": [row.not_started for row in rows],
    }


def overdue_condition(today: date):
    """Not closed, and past its deadline or marked overdue by the scheduler."""
    late = and_(Task.due_date.is_not(None), Task.due_date < today)
    return and_(Task.state.in_(OPEN_STATES), or_(late, Task.due_status == "overdue"))


def _counts(today: date) -> list:
    """The columns every progress row has, as SQL aggregates."""

    def number(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    in_progress = Task.state.not_in((*NOT_STARTED_STATES, *TaskState.CLOSED))
    return [
        func.count(Task.id),
        number(Task.state == TaskState.COMPLETED),
        number(in_progress),
        number(Task.state.in_(NOT_STARTED_STATES)),
        number(overdue_condition(today)),
        func.coalesce(func.avg(Task.progress), 0),
    ]


def _row(key, label, code, counts) -> ProgressRow:
    tasks, completed, in_progress, not_started, overdue, average = counts
    return ProgressRow(
        key=key,
        label=label,
        code=code,
        tasks=int(tasks),
        completed=int(completed),
        in_progress=int(in_progress),
        not_started=int(not_started),
        overdue=int(overdue),
        average_progress=round(float(average or 0), 1),
    )


def progress_by_unit(today: date) -> list[ProgressRow]:
    """Per lead unit, by unit name: one grouped query."""
    query = (
        select(Unit.id, Unit.name, Unit.code, *_counts(today))
        .join(Task, Task.lead_unit_id == Unit.id)
        .where(Task.kind == TaskKind.PLAN)
        .group_by(Unit.id, Unit.name, Unit.code)
        .order_by(Unit.name)
    )
    return [_row(uid, name, code, counts) for uid, name, code, *counts in db.session.execute(query)]


def progress_by_section(today: date) -> list[ProgressRow]:
    """Per section of the plans, in document order: one grouped query."""
    query = (
        select(PlanSection.id, PlanSection.number, PlanSection.heading, *_counts(today))
        .join(Task, Task.section_id == PlanSection.id)
        .where(Task.kind == TaskKind.PLAN)
        .group_by(
            PlanSection.id, PlanSection.number, PlanSection.heading, PlanSection.plan_id, PlanSection.position
        )
        .order_by(PlanSection.plan_id, PlanSection.position)
    )
    return [
        _row(sid, f"{number}. {heading}", number, counts)
        for sid, number, heading, *counts in db.session.execute(query)
    ]


def tasks_by_state() -> list[StateCount]:
    """How many tasks are in each state, states in their workflow order, empty states left out."""
    query = select(Task.state, func.count(Task.id)).where(Task.kind == TaskKind.PLAN).group_by(Task.state)
    counts = dict(db.session.execute(query).tuples().all())
    order = {state: position for position, state in enumerate(TaskState.ALL)}
    return [
        StateCount(state, str(labels.TASK_STATE_LABELS.get(state, state)), int(count))
        for state, count in sorted(counts.items(), key=lambda item: order.get(item[0], len(order)))
    ]


def _task_list(condition, order_by) -> list[Task]:
    query = (
        select(Task)
        .join(Task.lead_unit)
        .options(contains_eager(Task.lead_unit), joinedload(Task.lead_sub_unit))
        .where(Task.kind == TaskKind.PLAN, condition)
        .order_by(*order_by)
    )
    return list(db.session.scalars(query))


def overdue_tasks(today: date) -> list[Task]:
    return _task_list(overdue_condition(today), (Task.due_date.asc().nulls_last(), Task.position))


def due_soon_tasks(today: date, days: int = DUE_SOON_DAYS) -> list[Task]:
    """Open tasks whose deadline is today or in the next `days` days."""
    window = and_(
        Task.state.in_(OPEN_STATES),
        Task.due_date >= today,
        Task.due_date <= today + timedelta(days=days),
    )
    return _task_list(window, (Task.due_date, Task.position))


def five_clear_gaps() -> tuple[list[GapCount], list[TaskGap]]:
    """("5 rõ" clear -> how many tasks lack it, the tasks with what each lacks), from one query of the
    tasks that may lack something; app.services.five_clears decides what exactly."""
    maybe = or_(
        Task.assignee_id.is_(None),
        func.coalesce(func.trim(Task.content), "") == "",
        Task.due_date.is_(None),
        func.coalesce(func.trim(Task.expected_result), "") == "",
    )
    candidates = _task_list(maybe, (Task.plan_id, Task.position))
    gaps = [TaskGap(task, missing) for task in candidates if (missing := missing_clears(task))]
    counts = [
        GapCount(clear, str(labels.FIVE_CLEARS_LABELS[clear]), sum(clear in g.missing for g in gaps))
        for clear in FIVE_CLEARS
    ]
    return counts, gaps


def recent_activity(limit: int = RECENT_EVENTS) -> list[Activity]:
    """The newest audit events about tasks (not sign-ins and the like), newest first: one query."""
    names = {**ACTION_LABELS, **EXTRA_ACTION_LABELS}
    query = (
        select(AuditEvent, Task.code, Task.title)
        .join(Task, Task.id == AuditEvent.task_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return [
        Activity(
            at=event.at,
            actor=event.actor_name or event.actor_username or "",
            action=event.action,
            action_label=str(names.get(event.action, event.action)),
            step_name=event.step_name,
            task_id=event.task_id,
            task_code=code,
            task_title=title,
        )
        for event, code, title in db.session.execute(query)
    ]


def dashboard(today: date) -> Dashboard:
    by_state = tasks_by_state()
    gap_counts, gaps = five_clear_gaps()
    departments_plans = select(Plan).where(Plan.id.not_in(holding_plan_ids()))
    plans = list(db.session.scalars(departments_plans.order_by(Plan.issued_on.desc().nulls_last(), Plan.id)))
    return Dashboard(
        today=today,
        total=sum(row.count for row in by_state),
        by_unit=progress_by_unit(today),
        by_section=progress_by_section(today),
        by_state=by_state,
        overdue=overdue_tasks(today),
        due_soon=due_soon_tasks(today),
        gap_counts=gap_counts,
        gaps=gaps,
        recent=recent_activity(),
        plans=plans,
    )
