"""A whole plan as an `.xlsx` workbook: the template's sheets filled in, so that importing the export
gives the same plan (app.services.plan_xlsx_import), then where the plan stands.

- "Kế hoạch", "Nhiệm vụ", "Chỉ tiêu": as the template (plan_xlsx_template), one row per task of the plan
  (kind `plan`: the reporting tasks its rules create are not part of the document) and per indicator.
  A task's deadline is written as the plan wrote it when that text reads back as the stored date and
  precision, else as the stored date ("30/06/2025", "Tháng 9/2025"); its recurrences always in "Lặp lại".
- the progress sheet: per task its state, progress, assignee, result, due mark, and a history summary:
  the steps done (completed or returned), the last change of state with who and when (local time,
  Asia/Ho_Chi_Minh, dd/mm/yyyy hh:mm);
- the indicator tracking sheet: per indicator its target, latest value, period, entry date, status;
- "Đơn vị", "Hướng dẫn" as the template.

Whoever may read the plan may export it (every signed-in user); the export is audited `plan.exported`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment
from sqlalchemy import select

from app import labels
from app.extensions import db
from app.models import AuditEvent, Plan, Task, Unit, UnitKind, User
from app.models.plans import TaskKind
from app.services import indicator_values
from app.services.clock import local_today, to_local, utcnow
from app.services.plan_xlsx_template import (
    SHEET_INDICATORS,
    SHEET_PLAN,
    SHEET_TASKS,
    PlanSheets,
    plan_workbook,
    style_header,
    workbook_bytes,
)
from app.services.plan_xlsx_values import CellError, deadline_of, due_text, recurrence_text
from app.services.step_context import ACTION_LABELS
from workflows import audit

PLAN_EXPORTED = "plan.exported"
STEP_ACTIONS = (audit.Action.STEP_COMPLETED, audit.Action.STEP_RETURNED)
MOMENT_FORMAT = "dd/mm/yyyy hh:mm"


@dataclass
class HistorySummary:
    steps: int = 0
    last: AuditEvent | None = None  # the last event that changed the task's state


def may_export_plan(user: object, plan: Plan) -> bool:
    """Every signed-in user reads every plan, so may export it."""
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "active", False))


def export_plan(plan: Plan, user: User) -> bytes:
    """The workbook's bytes; the export is audited and committed once the workbook is built."""
    tasks = plan_tasks(plan)
    workbook = plan_workbook(plan_sheets(plan, tasks), reference_units())
    _progress_sheet(workbook, tasks)
    _tracking_sheet(workbook, plan)
    for offset, name in enumerate((SHEET_PLAN, SHEET_TASKS, SHEET_INDICATORS)):
        workbook.move_sheet(name, offset=offset - workbook.sheetnames.index(name))
    content = workbook_bytes(workbook)
    data = {"plan_id": plan.id, "tasks": len(tasks), "indicators": len(plan.indicators)}
    audit.record(PLAN_EXPORTED, user, None, data=data)
    db.session.commit()
    return content


def export_filename(plan: Plan) -> str:
    return f"ke-hoach-{plan.id}-{to_local(utcnow()).strftime('%Y%m%d-%H%M')}.xlsx"


def plan_tasks(plan: Plan) -> list[Task]:
    return [task for task in plan.tasks if task.kind == TaskKind.PLAN]


def reference_units() -> list[Unit]:
    """The active units, for the units sheet and the drop-down lists: by kind, then code."""
    units = db.session.scalars(select(Unit).where(Unit.active.is_(True)))
    order = {kind: index for index, kind in enumerate(UnitKind.ALL)}
    return sorted(units, key=lambda unit: (order.get(unit.kind, len(order)), unit.code))


# --- the importable sheets ------------------------------------------------------------------------


def plan_sheets(plan: Plan, tasks: list[Task]) -> PlanSheets:
    header = {
        "number": plan.document_number,
        "date": plan.issued_on.strftime("%d/%m/%Y") if plan.issued_on else None,
        "title": plan.title,
        "issuer": plan.issuer_name,
        "doc_type": plan.doc_type,
    }
    return PlanSheets(
        header, [task_values(task) for task in tasks], [_indicator_values(i) for i in plan.indicators]
    )


def task_values(task: Task) -> dict[str, object]:
    lead = task.lead_sub_unit or task.lead_unit
    return {
        "code": task.code,
        "section": f"{task.section.number}. {task.section.heading}",
        "title": task.title,
        "content": task.content,
        "lead": task.lead_as_written or lead.name,
        "coordinating": "; ".join(row.as_written or row.unit.name for row in task.coordinations) or None,
        "deadline": deadline_cell(task),
        "recurrence": recurrence_text(task.recurrence) if task.recurrence else None,
        "expected_result": task.expected_result,
        "budget": task.budget_million_vnd,
    }


def deadline_cell(task: Task) -> str | None:
    """The deadline as written when it reads back as the stored date and precision, else the date."""
    if task.deadline_raw:
        try:
            _raw, due, precision, _recurrences = deadline_of(task.deadline_raw)
        except CellError:
            due, precision = None, "unreadable"
        if (due, precision) == (task.due_date, task.due_precision if task.due_date else None):
            return task.deadline_raw
    return due_text(task.due_date, task.due_precision)


def _indicator_values(indicator) -> dict[str, object]:
    responsible = indicator.responsible_unit
    return {
        "horizon": indicator.horizon,
        "number": indicator.number,
        "name": indicator.name,
        "unit": indicator.unit_of_measure,
        "target": indicator.target,
        "responsible": indicator.responsible_as_written or (responsible.name if responsible else None),
    }


# --- where the plan stands ------------------------------------------------------------------------


def history_summaries(tasks: list[Task]) -> dict[int, HistorySummary]:
    """Per task id: the steps done and the last change of state, from the audit trail (one query)."""
    summaries = {task.id: HistorySummary() for task in tasks}
    query = select(AuditEvent).where(AuditEvent.task_id.in_(summaries)).order_by(AuditEvent.at, AuditEvent.id)
    for event in db.session.scalars(query):
        summary = summaries[event.task_id]
        summary.steps += event.action in STEP_ACTIONS
        if event.to_state is not None and event.from_state != event.to_state:
            summary.last = event
    return summaries


def _moment(value: datetime | None) -> datetime | None:
    return to_local(value).replace(tzinfo=None) if value else None


def _progress_sheet(workbook: Workbook, tasks: list[Task]) -> None:
    sheet = workbook.create_sheet(_("Progress")[:31])
    headers = [
        _("Code"), _("Task"), _("Lead unit"), _("State"), _("Progress (%)"), _("Assignee"), _("Result"),
        _("Due mark"), _("Steps done"), _("Last change of state"), _("By"), _("When"),
    ]  # fmt: skip
    sheet.append(headers)
    summaries = history_summaries(tasks)
    states = labels.TASK_STATE_LABELS
    marks = {"overdue": _("Overdue"), "due_soon": _("Due soon")}
    for task in tasks:
        summary = summaries[task.id]
        last = summary.last
        change = _change_text(last) if last is not None else None
        sheet.append([
            task.code, task.title, task.lead_unit.name, str(states.get(task.state, task.state)),
            task.progress, task.assignee.full_name if task.assignee else None, task.result,
            marks.get(task.due_status),
            summary.steps, change, (last.actor_name or last.actor_username) if last else None,
            _moment(last.at) if last else None,
        ])  # fmt: skip
        sheet.cell(sheet.max_row, len(headers)).number_format = MOMENT_FORMAT
    _finish(sheet, (9, 48, 30, 26, 10, 26, 40, 12, 10, 48, 26, 17))


def _change_text(event: AuditEvent) -> str:
    """ "Completed the step: Drafting → Being reviewed by the unit head"."""
    states = labels.TASK_STATE_LABELS
    before, after = (str(states.get(state, state or "—")) for state in (event.from_state, event.to_state))
    return f"{ACTION_LABELS.get(event.action, event.action)}: {before} → {after}"


def _tracking_sheet(workbook: Workbook, plan: Plan) -> None:
    sheet = workbook.create_sheet(_("Indicator tracking")[:31])
    headers = [
        _("Horizon"), _("No."), _("Indicator"), _("Unit of measure"), _("Target"),
        _("Unit responsible for tracking"), _("Latest value"), _("Period"), _("Entered on"), _("Status"),
    ]  # fmt: skip
    sheet.append(headers)
    statuses = {
        "achieved": _("Achieved"), "on_track": _("On track"), "behind": _("Behind"),
        "not_measurable": _("Not measurable"), None: _("No value yet"),
    }  # fmt: skip
    for _horizon, rows in indicator_values.plan_rows(plan, local_today()):
        for row in rows:
            indicator, current = row.indicator, row.current
            responsible = indicator_values.responsible_unit(indicator)
            sheet.append([
                indicator.horizon, indicator.number, indicator.name, indicator.unit_of_measure,
                indicator.target, responsible.name if responsible else None,
                current.value_text if current else None,
                current.period if current else None, _moment(current.entered_at) if current else None,
                statuses.get(row.status, row.status),
            ])  # fmt: skip
            sheet.cell(sheet.max_row, 9).number_format = MOMENT_FORMAT
    _finish(sheet, (9, 6, 50, 14, 30, 34, 16, 10, 17, 16))


def _finish(sheet, widths: tuple[int, ...]) -> None:
    style_header(sheet, widths)
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.auto_filter.ref = sheet.dimensions
