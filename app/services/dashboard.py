"""Where the plans stand: the numbers of the dashboard, for every plan of the department or for one.

Only the plans' own tasks count (Task.kind == plan), not the reporting tasks.

- not started: not started, or waiting for central guidance;
- in progress: any other state that is not closed (drafting, reviewing, ..., submitted);
- overdue, due soon, "5 rõ" gaps: see app.services.dashboard_lists, which lists them.

What the page costs does not grow with the tasks: the tasks by lead unit and state are one grouped
query that reads one index alone (ix_tasks_kind_unit_state; for one plan, the plan's rows), and the
units, states, sections and totals (with the overdue and due-soon lists' totals) are its sums. For every
plan, the scheduler's tick counts and sums once a minute and the page reads the sums
(app.services.dashboard_figures), saying when they were counted; one plan's page counts live. The page
shows the TOP_UNITS units with the most overdue tasks (all of them on request), the first tasks of each
list with its total and a link to the whole list (app.services.dashboard_lists), the latest
RECENT_EVENTS events. Progress by section and the "5 rõ" gaps are a plan's: they are shown when one plan
is chosen. Every function reads a fixed number of statements however many tasks there are
(tests/test_dashboard.py, tests/test_query_counts.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Select, and_, case, func, or_, select

from app import labels
from app.extensions import db
from app.models import AuditEvent, Plan, PlanSection, Task, TaskState, Unit
from app.models.plans import TaskKind
from app.services.audit_export import EXTRA_ACTION_LABELS
from app.services.clock import LOCAL_TZ, utcnow
from app.services.dashboard_figures import (
    NOT_STARTED_STATES,
    CountRow,
    Tallies,
    Tally,
    store_tallies,
    stored_tallies,
)
from app.services.dashboard_lists import (
    DUE_SOON,
    DUE_SOON_DAYS,
    OVERDUE,
    TOP,
    Scope,
    TaskList,
    dated_list,
    gap_candidates,
    gap_list,
    overdue_condition,
)
from app.services.five_clears import FIVE_CLEARS
from app.services.plan_list import newest_plans
from app.services.step_context import ACTION_LABELS

RECENT_EVENTS = 20
TOP_UNITS = 15
PLAN_CHOICES = 15


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
    scope: Scope
    summary: ProgressRow
    by_unit: list[ProgressRow]  # the units shown: TOP_UNITS of them unless every unit was asked for
    unit_count: int  # how many lead units have tasks
    by_state: list[StateCount]
    overdue: TaskList
    due_soon: TaskList
    recent: list[Activity]
    by_section: list[ProgressRow] = field(default_factory=list)  # one plan only
    gap_counts: list[GapCount] = field(default_factory=list)  # one plan only
    gaps: TaskList | None = None  # one plan only
    plans: list[Plan] = field(default_factory=list)  # the plan choice: the newest, and the one chosen
    counted_at: datetime | None = None  # when the scheduler counted the numbers (None: counted now)

    @property
    def total(self) -> int:
        return self.summary.tasks

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


def _of_scope(query: Select, scope: Scope) -> Select:
    """The scope's plan tasks. For one plan, `kind` is compared through an expression so that the plan's
    rows are read (ix_tasks_plan_kind_state): SQLite without statistics would otherwise walk every plan's
    entries of ix_tasks_kind_unit_state to spare itself sorting the plan's few groups."""
    if scope.plan is None:
        return query.where(Task.kind == TaskKind.PLAN)
    return query.where(Task.plan_id == scope.plan.id, func.coalesce(Task.kind, "") == TaskKind.PLAN)


def _number(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _counts(today: date) -> list:
    """The columns every progress row has, as SQL aggregates."""
    in_progress = Task.state.not_in((*NOT_STARTED_STATES, *TaskState.CLOSED))
    return [
        func.count(Task.id),
        _number(Task.state == TaskState.COMPLETED),
        _number(in_progress),
        _number(Task.state.in_(NOT_STARTED_STATES)),
        _number(overdue_condition(today)),
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


def _unit_row(tally: Tally, key: int = 0, label: str = "", code: str = "") -> ProgressRow:
    counts = (tally.tasks, tally.completed, tally.in_progress, tally.not_started, tally.overdue)
    return _row(key, label, code, (*counts, tally.average_progress))


def unit_state_counts(scope: Scope, today: date) -> list[CountRow]:
    """(lead unit id, state, tasks, sum of progress, overdue, due soon) per unit and state: one grouped
    query, the one read of the page that grows with the number of tasks (an index-only scan, kept as
    light as it can be: whether a state is closed is decided here per group, not in SQL per row)."""
    late = _number(or_(Task.due_date < today, Task.due_status == "overdue"))
    soon = _number(and_(Task.due_date >= today, Task.due_date <= today + timedelta(days=DUE_SOON_DAYS)))
    query = select(
        Task.lead_unit_id, Task.state, func.count(), func.coalesce(func.sum(Task.progress), 0), late, soon
    ).group_by(Task.lead_unit_id, Task.state)
    return [
        (unit_id, state, count, progress, *((late, soon) if state not in TaskState.CLOSED else (0, 0)))
        for unit_id, state, count, progress, late, soon in db.session.execute(_of_scope(query, scope))
    ]


def refresh_department_figures(now: datetime) -> list[str]:
    """The scheduler's step: count every plan's tasks by lead unit and state for the local day of `now`,
    sum them up and store that for the dashboard (app.services.dashboard_figures); a line when the
    figures changed."""
    today = now.astimezone(LOCAL_TZ).date()
    rows = unit_state_counts(Scope(None), today)
    tallies = Tallies.of(rows)
    if not store_tallies(tallies, today, now):
        return []
    return [f"{tallies.total.tasks} tasks in {len(rows)} groups by lead unit and state"]


def _tallies_of(scope: Scope, today: date) -> tuple[Tallies, datetime | None]:
    """The scope's tallies and when they were counted: for every plan, as the scheduler stored them when
    fresh; else now (None)."""
    if scope.plan is None:
        stored = stored_tallies(today, utcnow())
        if stored is not None:
            return stored.tallies, stored.computed_at
    return Tallies.of(unit_state_counts(scope, today)), None


def _progress(tallies: Tallies, all_units: bool):
    """(summary, the units' rows to show, how many units, tasks by state)."""
    units = tallies.units
    # the units with the most overdue tasks first, then the most unfinished ones
    ranked = sorted(
        units, key=lambda uid: (-units[uid].overdue, -(units[uid].tasks - units[uid].completed), uid)
    )
    shown = ranked if all_units else ranked[:TOP_UNITS]
    names = {}
    if shown:
        query = select(Unit.id, Unit.name, Unit.code).where(Unit.id.in_(shown))
        names = {uid: (name, code) for uid, name, code in db.session.execute(query)}
    rows = [_unit_row(units[uid], uid, *names.get(uid, ("", ""))) for uid in shown]
    return _unit_row(tallies.total), rows, len(units), _by_state(tallies.states)


def _by_state(counts: dict[str, int]) -> list[StateCount]:
    """States in their workflow order, empty states left out."""
    order = {state: position for position, state in enumerate(TaskState.ALL)}
    return [
        StateCount(state, str(labels.TASK_STATE_LABELS.get(state, state)), count)
        for state, count in sorted(counts.items(), key=lambda item: order.get(item[0], len(order)))
    ]


def progress_by_section(plan: Plan, today: date) -> list[ProgressRow]:
    """Per section of the plan, in document order: one grouped query of the plan's tasks."""
    query = (
        select(PlanSection.id, PlanSection.number, PlanSection.heading, *_counts(today))
        .join(Task, Task.section_id == PlanSection.id)
        .where(PlanSection.plan_id == plan.id)
        .group_by(PlanSection.id, PlanSection.number, PlanSection.heading, PlanSection.position)
        .order_by(PlanSection.position)
    )
    return [
        _row(sid, f"{number}. {heading}", number, counts)
        for sid, number, heading, *counts in db.session.execute(_of_scope(query, Scope(plan)))
    ]


def recent_activity(scope: Scope, limit: int = RECENT_EVENTS) -> list[Activity]:
    """The newest audit events about tasks (not sign-ins and the like), newest first: one query; for one
    plan, its tasks' events (ix_audit_events_task_id_at, the plan's rows)."""
    names = {**ACTION_LABELS, **EXTRA_ACTION_LABELS}
    query = (
        select(AuditEvent, Task.code, Task.title)
        .join(Task, Task.id == AuditEvent.task_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    if scope.plan is not None:
        query = query.where(AuditEvent.task_id.in_(select(Task.id).where(Task.plan_id == scope.plan.id)))
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


def dashboard(today: date, plan: Plan | None = None, all_units: bool = False) -> Dashboard:
    """The whole department's plans, or one plan's: a fixed number of statements."""
    scope = Scope(plan)
    tallies, counted_at = _tallies_of(scope, today)
    summary, by_unit, unit_count, by_state = _progress(tallies, all_units)
    plans = newest_plans(PLAN_CHOICES)
    if plan is not None and plan not in plans:
        plans.append(plan)
    board = Dashboard(
        today=today,
        scope=scope,
        summary=summary,
        by_unit=by_unit,
        unit_count=unit_count,
        by_state=by_state,
        # the lists' totals are the tallies' (counted with them): no count of their own
        overdue=dated_list(scope, today, OVERDUE, 1, TOP, total=tallies.total.overdue),
        due_soon=dated_list(scope, today, DUE_SOON, 1, TOP, total=tallies.total.due_soon),
        recent=recent_activity(scope),
        plans=plans,
        counted_at=counted_at,
    )
    if plan is not None:
        gaps = gap_candidates(plan)
        board.by_section = progress_by_section(plan, today)
        board.gap_counts = [
            GapCount(clear, str(labels.FIVE_CLEARS_LABELS[clear]), sum(clear in g.missing for g in gaps))
            for clear in FIVE_CLEARS
        ]
        board.gaps = gap_list(gaps, 1, TOP)
    return board
