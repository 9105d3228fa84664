"""The plan's monthly reporting cycle as tasks of kind `report`, run by the period scheduler.

The plan's reporting rules (`Plan.reporting_rules`, from the file's `reporting:`): every unit (phòng,
đơn vị thuộc Sở) reports the results of its tasks to Phòng Công nghệ thông tin (`monthly_report.to`)
by the 15th of each month; that unit consolidates them for UBND tỉnh, the leader approves, and the
review meeting on the 20th is recorded.

`ensure_reporting_tasks(plan)` turns this into task rows of kind `report` (never listed or counted
with the plan's own tasks): one consolidation task `BC-TH` led by the receiving unit (task type
`monthly_consolidation`) and one report task `BC-<unit code>` per reporting unit (task type
`monthly_report`). The reporting units are the staffed units (not the leadership) that lead, or lead
as a sub-unit, at least one of the plan's tasks. The tasks sit after the plan's tasks, in its last
section (a task needs one), with recurrence `continuous`, so workflows/periods.py starts one instance
of each per month. Matched by code; only values that differ are written, so running it twice changes
nothing. A reporting task whose unit no longer leads anything is kept (it has its history).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import (
    InstanceStatus,
    Plan,
    ProcessInstance,
    Recurrence,
    Task,
    Unit,
    UnitKind,
    WorkItem,
    WorkItemStatus,
)
from app.models.plans import TaskKind

MONTHLY_REPORT = "monthly_report"
MONTHLY_CONSOLIDATION = "monthly_consolidation"
REPORTING_TYPES = (MONTHLY_REPORT, MONTHLY_CONSOLIDATION)

CONSOLIDATION_CODE = "BC-TH"
REPORT_CODE_PREFIX = "BC-"
DEFAULT_REPORT_DAY = 15
DEFAULT_REVIEW_DAY = 20


@dataclass(frozen=True)
class Outcome:
    """What ensuring one reporting task did."""

    code: str
    created: bool
    changed: bool


def _rules(plan: Plan) -> tuple[dict, dict]:
    rules = plan.reporting_rules or {}
    return rules.get("monthly_report") or {}, rules.get("monthly_review_meeting") or {}


def _unit_code(value: Any) -> str | None:
    return value.get("code") if isinstance(value, dict) else value or None


def receiving_unit(plan: Plan) -> Unit | None:
    """The unit the monthly reports go to (Phòng Công nghệ thông tin in the demo plan)."""
    code = _unit_code(_rules(plan)[0].get("to"))
    return db.session.scalar(select(Unit).where(Unit.code == code)) if code else None


def reporting_units(plan: Plan) -> list[Unit]:
    """Staffed units (not the leadership) leading or sub-leading a plan task, in the units file's order."""
    plan_tasks = select(Task).where(Task.plan_id == plan.id, Task.kind == TaskKind.PLAN).subquery()
    leads = select(plan_tasks.c.lead_unit_id).union(
        select(plan_tasks.c.lead_sub_unit_id).where(plan_tasks.c.lead_sub_unit_id.is_not(None))
    )
    staffed = [kind for kind in UnitKind.STAFFED if kind != UnitKind.LEADERSHIP]
    query = select(Unit).where(Unit.id.in_(leads), Unit.kind.in_(staffed)).order_by(Unit.id)
    return list(db.session.scalars(query))


def _common(section_id: int, position: int) -> dict[str, Any]:
    return {
        "kind": TaskKind.REPORT,
        "section_id": section_id,
        "position": position,
        "recurrence": [Recurrence.CONTINUOUS],
        "due_date": None,
        "due_precision": None,
        "lead_sub_unit_id": None,
    }


def _consolidation_values(plan: Plan, to: Unit) -> dict[str, Any]:
    report, review = _rules(plan)
    report_day = report.get("day_of_month") or DEFAULT_REPORT_DAY
    review_day = review.get("day_of_month") or DEFAULT_REVIEW_DAY
    content = " ".join(text for text in (report.get("text"), review.get("text")) if text) or None
    return {
        "task_type": MONTHLY_CONSOLIDATION,
        "title": "Tổng hợp báo cáo tháng kết quả thực hiện Kế hoạch gửi UBND tỉnh",
        "content": content,
        "lead_unit_id": to.id,
        "lead_as_written": to.name,
        "deadline_raw": f"Ngày {review_day} hằng tháng",
        "expected_result": (
            f"Báo cáo tháng tổng hợp kết quả thực hiện Kế hoạch từ báo cáo của các phòng, đơn vị "
            f"(gửi trước ngày {report_day}), được Lãnh đạo Sở phê duyệt, gửi UBND tỉnh; biên bản và "
            f"kết luận cuộc họp đánh giá kết quả thực hiện ngày {review_day} hằng tháng."
        ),
    }


def _report_values(plan: Plan, unit: Unit, to: Unit) -> dict[str, Any]:
    report, _review = _rules(plan)
    day = report.get("day_of_month") or DEFAULT_REPORT_DAY
    return {
        "task_type": MONTHLY_REPORT,
        "title": f"Báo cáo tháng kết quả thực hiện Kế hoạch của {unit.name}",
        "content": (
            f"Báo cáo kết quả thực hiện các nhiệm vụ được giao tại Kế hoạch trong tháng, gửi {to.name} "
            f"trước ngày {day} hằng tháng để tổng hợp báo cáo UBND tỉnh; giải trình các nhiệm vụ chậm "
            f"tiến độ, nêu khó khăn, vướng mắc và đề xuất, kiến nghị (nếu có)."
        ),
        "lead_unit_id": unit.id,
        "lead_as_written": unit.name,
        "deadline_raw": f"Ngày {day} hằng tháng",
        "expected_result": f"Báo cáo tháng của {unit.name} được Trưởng đơn vị ký, gửi {to.name}.",
    }


def _upsert(plan: Plan, existing: dict[str, Task], code: str, values: dict[str, Any]) -> Outcome:
    task = existing.get(code)
    created = task is None
    if task is None:
        task = Task(plan_id=plan.id, code=code)
        db.session.add(task)
    changed = False
    for key, value in values.items():
        if getattr(task, key) != value:
            setattr(task, key, value)
            changed = True
    return Outcome(code, created, created or changed)


def ensure_reporting_tasks(plan: Plan) -> list[Outcome]:
    """Create or update the plan's reporting tasks (see the module docstring); flushes, does not commit.

    Nothing when the plan sets no monthly report, names no stored receiving unit, or has no section.
    """
    to = receiving_unit(plan)
    sections = sorted(plan.sections, key=lambda s: s.position)
    if to is None or not sections or not _rules(plan)[0]:
        return []
    db.session.flush()
    last_position = db.session.scalar(
        select(Task.position)
        .where(Task.plan_id == plan.id, Task.kind == TaskKind.PLAN)
        .order_by(Task.position.desc())
        .limit(1)
    )
    existing = {task.code: task for task in reporting_tasks(plan)}
    planned = [(CONSOLIDATION_CODE, _consolidation_values(plan, to))]
    planned += [(f"{REPORT_CODE_PREFIX}{u.code}", _report_values(plan, u, to)) for u in reporting_units(plan)]
    outcomes = []
    for offset, (code, values) in enumerate(planned, start=1):
        common = _common(sections[-1].id, (last_position or 0) + offset)
        outcomes.append(_upsert(plan, existing, code, common | values))
    db.session.flush()
    return outcomes


def reporting_tasks(plan: Plan) -> list[Task]:
    query = select(Task).where(Task.plan_id == plan.id, Task.kind == TaskKind.REPORT).order_by(Task.position)
    return list(db.session.scalars(query))


def period_of_day(day: date) -> str:
    """The monthly period a day falls in ("2025-03")."""
    return f"{day.year:04d}-{day.month:02d}"


@dataclass
class ReportingRow:
    """One reporting task and its instance for the period: not started, running (with its open
    steps) or completed."""

    task: Task
    period: str
    status: str | None = None  # None: no instance for the period yet
    open_steps: list[str] = field(default_factory=list)
    due_at: datetime | None = None

    @property
    def month(self) -> str:
        """The period as the pages write a month: "03/2025"."""
        year, month = self.period.split("-")
        return f"{month}/{year}"


def reporting_overview(plan: Plan, today: date) -> list[ReportingRow]:
    """The plan's reporting tasks with the state of this month's instance, in three queries."""
    period = period_of_day(today)
    rows = {task.id: ReportingRow(task, period) for task in reporting_tasks(plan)}
    if not rows:
        return []
    instances = db.session.execute(
        select(ProcessInstance.id, ProcessInstance.task_id, ProcessInstance.status).where(
            ProcessInstance.task_id.in_(rows), ProcessInstance.period == period
        )
    ).all()
    by_instance = {}
    for instance_id, task_id, status in instances:
        rows[task_id].status = status
        by_instance[instance_id] = rows[task_id]
    running = [i for i, _t, status in instances if status == InstanceStatus.RUNNING]
    items = db.session.scalars(
        select(WorkItem)
        .where(WorkItem.instance_id.in_(running), WorkItem.status == WorkItemStatus.OPEN)
        .order_by(WorkItem.id)
    )
    for item in items:
        row = by_instance[item.instance_id]
        row.open_steps.append(item.name)
        if item.due_at is not None and (row.due_at is None or item.due_at < row.due_at):
            row.due_at = item.due_at
    return list(rows.values())
