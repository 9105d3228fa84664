"""What the monthly reporting documents say, gathered from the workflow data. Reads only.

Three kinds (app.models.reports.ReportKind): a unit's monthly report (task type `monthly_report`, the
tasks the unit leads and the indicators it answers for), Phòng Công nghệ thông tin's consolidated report
to UBND tỉnh and the minutes of the review meeting on the 20th (both `monthly_consolidation`: every plan
task, every indicator, every unit's report).

The data: per task its state, progress and result (the task row), and what people wrote at the steps of
its process up to now (`done` / `results` / `result`, `difficulties`); overdue when the scheduler marked it
(Task.due_status) or its day-precise deadline has ended; per indicator the latest value up to the end of
the period. The texts: what the units wrote at their reporting steps (`unit_report`: summary,
overdue_explanations, proposals; `consolidate_reports`: report; `record_meeting`: meeting_date, minutes,
decisions), in the sentences of a Vietnamese administrative report. The document is Vietnamese whatever
the page's language; the texts of the sections are in app/services/report_texts.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from flask_babel import force_locale
from sqlalchemy import or_, select

from app import labels
from app.extensions import db
from app.models import (
    AuditEvent,
    DuePrecision,
    Indicator,
    IndicatorValue,
    Plan,
    ProcessInstance,
    Task,
    TaskState,
    Unit,
    UnitKind,
)
from app.models.plans import TaskKind
from app.models.reports import ReportKind
from app.services import indicator_values
from app.services.clock import to_local
from app.services.reporting import MONTHLY_CONSOLIDATION, MONTHLY_REPORT
from workflows.audit import Action
from workflows.due_marks import OVERDUE, deadline_end

KINDS_BY_TYPE = {
    MONTHLY_REPORT: (ReportKind.UNIT,),
    MONTHLY_CONSOLIDATION: (ReportKind.CONSOLIDATED, ReportKind.MINUTES),
}
ENTERED = (Action.STEP_COMPLETED, Action.STEP_RETURNED)
RESULT_KEYS = ("result", "results", "done")  # submit_result, period_report, record_progress
INDICATOR_STATUS_VI = {
    "achieved": "Đạt",
    "on_track": "Đúng tiến độ",
    "behind": "Chậm so với lộ trình",
    "not_measurable": "Đánh giá định tính",
    None: "Chưa có số liệu",
}


@dataclass
class Section:
    """A part of the body: a heading (may be empty), its text (paragraphs split by new lines) and the
    table printed after it ("tasks", "overdue" or "indicators")."""

    key: str
    heading: str
    text: str
    table: str | None = None
    edited: bool = False


@dataclass
class TaskLine:
    code: str
    title: str
    lead_unit: str
    deadline: str
    due_date: date | None
    state: str
    state_label: str
    progress: int
    result: str
    difficulties: str
    overdue: bool

    def as_json(self) -> dict:
        return asdict(self) | {"due_date": self.due_date.isoformat() if self.due_date else None}

    @classmethod
    def from_json(cls, data: dict) -> TaskLine:
        due = data.get("due_date")
        return cls(**(data | {"due_date": date.fromisoformat(due) if due else None}))


@dataclass
class IndicatorLine:
    code: str  # "2030-3"
    name: str
    target: str
    value: str  # "" without a value
    value_period: str
    status_label: str
    responsible: str

    def as_json(self) -> dict:
        return asdict(self)


@dataclass
class Submission:
    """One unit's monthly report for the period, as the consolidation sees it."""

    unit_name: str
    sent_on: date | None  # the day its head signed; None: not sent
    data: dict = field(default_factory=dict)


@dataclass
class Facts:
    """Everything the texts of a document are written from."""

    kind: str
    task: Task
    instance: ProcessInstance
    plan: Plan
    unit: Unit
    department: Unit | None
    today: date
    tasks: list[TaskLine]
    indicators: list[IndicatorLine]
    steps: dict[str, dict]  # step id -> the data last entered there in this instance
    step_actors: dict[str, str]  # step id -> who entered it
    submissions: list[Submission] = field(default_factory=list)

    @property
    def period(self) -> str:
        return self.instance.period or ""

    @property
    def overdue(self) -> list[TaskLine]:
        return [line for line in self.tasks if line.overdue]


def kinds_for(task: Task) -> tuple[str, ...]:
    """The documents a reporting task has: () for any other task."""
    if task.kind != TaskKind.REPORT:
        return ()
    return KINDS_BY_TYPE.get(task.task_type or "", ())


def period_instance(task: Task, period: str) -> ProcessInstance | None:
    query = select(ProcessInstance).where(
        ProcessInstance.task_id == task.id, ProcessInstance.period == period
    )
    return db.session.scalar(query)


def periods_of(task: Task) -> list[str]:
    """The periods the task has an instance for, newest first."""
    query = select(ProcessInstance.period).where(
        ProcessInstance.task_id == task.id, ProcessInstance.period.is_not(None)
    )
    return sorted(db.session.scalars(query), reverse=True)


def gather(
    task: Task, instance: ProcessInstance, kind: str, now: datetime, entered: dict[str, dict] | None = None
) -> Facts:
    """The facts of `kind` for the task's period instance as of `now`; `entered` adds step data not yet
    in the audit trail (step id -> data)."""
    plan, unit = task.plan, task.lead_unit
    steps, actors = step_entries(instance)
    steps |= entered or {}
    facts = Facts(
        kind=kind,
        task=task,
        instance=instance,
        plan=plan,
        unit=unit,
        department=department_of(plan),
        today=to_local(now).date(),
        tasks=task_lines(plan_tasks(plan, None if kind != ReportKind.UNIT else unit), now),
        indicators=indicator_lines(
            plan, instance.period or "", None if kind != ReportKind.UNIT else unit, now
        ),
        steps=steps,
        step_actors=actors,
    )
    if kind != ReportKind.UNIT:
        facts.submissions = submissions(plan, instance.period or "")
    return facts


def department_of(plan: Plan) -> Unit | None:
    if plan.issuer_unit is not None:
        return plan.issuer_unit
    return db.session.scalar(select(Unit).where(Unit.kind == UnitKind.DEPARTMENT).order_by(Unit.id))


def step_entries(instance: ProcessInstance) -> tuple[dict[str, dict], dict[str, str]]:
    """Step id -> the data last entered at that step of the instance (and who entered it)."""
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.instance_id == instance.id, AuditEvent.action.in_(ENTERED))
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    data: dict[str, dict] = {}
    actors: dict[str, str] = {}
    for event in events:
        if event.step and event.data:
            data[event.step] = dict(event.data)
            actors[event.step] = event.actor_name or event.actor_username or ""
    return data, actors


def plan_tasks(plan: Plan, unit: Unit | None) -> list[Task]:
    """The plan's own tasks (not the reporting ones), or those `unit` leads or sub-leads."""
    query = select(Task).where(Task.plan_id == plan.id, Task.kind == TaskKind.PLAN)
    if unit is not None:
        query = query.where(or_(Task.lead_unit_id == unit.id, Task.lead_sub_unit_id == unit.id))
    return list(db.session.scalars(query.order_by(Task.position)))


def is_overdue(task: Task, now: datetime) -> bool:
    if task.state in TaskState.CLOSED:
        return False
    end = deadline_end(task)
    return task.due_status == OVERDUE or (end is not None and end < now)


def deadline_text(task: Task) -> str:
    if task.deadline_raw:
        return task.deadline_raw
    if task.due_date is None:
        return ""
    if task.due_precision == DuePrecision.MONTH:
        return f"Tháng {task.due_date.month}/{task.due_date.year}"
    return task.due_date.strftime("%d/%m/%Y")


def task_lines(tasks: list[Task], now: datetime) -> list[TaskLine]:
    written = _written(tasks, now)
    with force_locale("vi"):
        states = {state: str(label) for state, label in labels.TASK_STATE_LABELS.items()}
    lines = []
    for task in tasks:
        entered = written.get(task.id, {})
        lead = task.lead_sub_unit or task.lead_unit
        lines.append(
            TaskLine(
                code=task.code,
                title=task.title,
                lead_unit=lead.name if lead is not None else "",
                deadline=deadline_text(task),
                due_date=task.due_date,
                state=task.state,
                state_label=states.get(task.state, task.state),
                progress=int(task.progress or 0),
                result=(task.result or entered.get("result") or "").strip(),
                difficulties=(entered.get("difficulties") or "").strip(),
                overdue=is_overdue(task, now),
            )
        )
    return lines


def _written(tasks: list[Task], now: datetime) -> dict[int, dict[str, str]]:
    """Task id -> the latest result and difficulties written at its steps up to `now`."""
    ids = [task.id for task in tasks]
    if not ids:
        return {}
    events = db.session.execute(
        select(AuditEvent.task_id, AuditEvent.data)
        .where(AuditEvent.task_id.in_(ids), AuditEvent.action.in_(ENTERED), AuditEvent.at <= now)
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    written: dict[int, dict[str, str]] = {}
    for task_id, data in events:
        if not isinstance(data, dict):
            continue
        entry = written.setdefault(task_id, {})
        for key in RESULT_KEYS:
            if isinstance(data.get(key), str) and data[key].strip():
                entry["result"] = data[key]
        if isinstance(data.get("difficulties"), str):
            entry["difficulties"] = data["difficulties"]
    return written


def period_end(period: str) -> date:
    try:
        return indicator_values.period_bounds(period)[1]
    except ValueError:
        return date.max


def indicator_lines(plan: Plan, period: str, unit: Unit | None, now: datetime) -> list[IndicatorLine]:
    """The plan's indicators (those `unit` answers for) with the latest value up to the period's end."""
    indicators = list(
        db.session.scalars(
            select(Indicator)
            .where(Indicator.plan_id == plan.id)
            .order_by(Indicator.horizon, Indicator.position)
        )
    )
    responsible = {i.id: indicator_values.responsible_unit(i) for i in indicators}
    if unit is not None:
        indicators = [
            i for i in indicators if responsible[i.id] is not None and responsible[i.id].id == unit.id
        ]
    latest: dict[int, IndicatorValue] = {}
    if indicators:
        query = (
            select(IndicatorValue)
            .where(
                IndicatorValue.indicator_id.in_([i.id for i in indicators]),
                IndicatorValue.period_end <= period_end(period),
            )
            .order_by(
                IndicatorValue.period_end.desc(), IndicatorValue.entered_at.desc(), IndicatorValue.id.desc()
            )
        )
        for row in db.session.scalars(query):
            latest.setdefault(row.indicator_id, row)
    today = to_local(now).date()
    lines = []
    for indicator in indicators:
        value = latest.get(indicator.id)
        status = indicator_values.status_of(indicator, value, today)
        measure = f" ({indicator.unit_of_measure})" if indicator.unit_of_measure else ""
        lines.append(
            IndicatorLine(
                code=f"{indicator.horizon}-{indicator.number}",
                name=indicator.name,
                target=f"{indicator.target}{measure}",
                value=value.value_text if value else "",
                value_period=value.period if value else "",
                status_label=INDICATOR_STATUS_VI.get(status, status or ""),
                responsible=responsible[indicator.id].name if responsible[indicator.id] else "",
            )
        )
    return lines


def submissions(plan: Plan, period: str) -> list[Submission]:
    """Each unit's monthly report of the period: when its head signed it, and what it says."""
    rows = db.session.execute(
        select(Task, ProcessInstance)
        .outerjoin(ProcessInstance, (ProcessInstance.task_id == Task.id) & (ProcessInstance.period == period))
        .where(Task.plan_id == plan.id, Task.kind == TaskKind.REPORT, Task.task_type == MONTHLY_REPORT)
        .order_by(Task.position)
    ).all()
    result = []
    for task, instance in rows:
        sent_on, data = None, {}
        if instance is not None:
            data = step_entries(instance)[0].get("unit_report", {})
            if instance.ended_at is not None:
                sent_on = to_local(instance.ended_at).date()
        result.append(Submission(task.lead_unit.name, sent_on, data))
    return result


# --- how documents write things ---------------------------------------------------------------------


def month_text(period: str) -> str:
    """ "2025-03" -> "3/2025"."""
    year, _sep, month = period.partition("-")
    return f"{int(month)}/{year}" if month.isdigit() else period


def date_words(day: date) -> str:
    """ "ngày 05 tháng 3 năm 2026" (NĐ 30/2020: a day below 10 and the months 1 and 2 take a 0)."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def short_date(day: date | None) -> str:
    """ "04/3/2025" as a document's text writes a date."""
    if day is None:
        return ""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{day.day:02d}/{month}/{day.year}"


def place_and_date(place: str, day: date) -> str:
    """ "Hải Dương, ngày 16 tháng 3 năm 2026"."""
    return f"{place}, {date_words(day)}" if place else date_words(day).capitalize()
