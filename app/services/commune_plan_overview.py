"""What the department sees of a framework: where each commune's plan stands (with its dates), and the
consolidated table of the communes' indicator targets (communes × indicators, with the department's
target), also as an .xlsx workbook. Reads only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import AuditEvent, Unit
from app.models.commune_plans import CommunePlan, CommunePlanStatus, FrameworkIndicator, PlanFramework
from app.services.commune_plans import communes
from workflows.audit import Action

STATUS_TEXT = {  # the workbook's words (Vietnamese, like the document it stands for)
    CommunePlanStatus.NONE: "Chưa lập",
    CommunePlanStatus.DRAFTING: "Đang xây dựng",
    CommunePlanStatus.RETURNED: "Bị trả lại, đang chỉnh sửa",
    CommunePlanStatus.AWAITING_APPROVAL: "Chờ Chủ tịch UBND phê duyệt",
    CommunePlanStatus.SUBMITTED: "Đã gửi Sở",
    CommunePlanStatus.ACKNOWLEDGED: "Sở đã tiếp nhận",
}


@dataclass
class CommuneRow:
    commune: Unit
    plan: CommunePlan | None
    status: str
    submitted_at: datetime | None = None  # the chairman's last approval (sent to the department)
    acknowledged_at: datetime | None = None
    returns: int = 0

    @property
    def has_submitted(self) -> bool:
        return self.status in (CommunePlanStatus.SUBMITTED, CommunePlanStatus.ACKNOWLEDGED)


@dataclass
class TargetsRow:
    commune: Unit
    plan: CommunePlan | None
    status: str
    targets: list[Decimal | None]


@dataclass
class TargetsTable:
    framework: PlanFramework
    indicators: list[FrameworkIndicator]
    rows: list[TargetsRow]


def plans_by_commune(framework: PlanFramework, with_targets: bool = False) -> dict[int, CommunePlan]:
    """The framework's commune plans by commune, with their tasks (a plan's status is its task's state)
    and, if asked, their targets: a statement for each, not one per plan."""
    loads = [selectinload(CommunePlan.task)]
    if with_targets:
        loads.append(selectinload(CommunePlan.targets))
    query = select(CommunePlan).where(CommunePlan.framework_id == framework.id).options(*loads)
    return {plan.commune_unit_id: plan for plan in db.session.scalars(query)}


def submission_overview(framework: PlanFramework) -> list[CommuneRow]:
    """Every active commune, by name, with its plan's status and dates (none: not started)."""
    plans = plans_by_commune(framework)
    dates = _dates({plan.task_id for plan in plans.values()})
    rows = []
    for commune in communes():
        plan = plans.get(commune.id)
        if plan is None:
            rows.append(CommuneRow(commune, None, CommunePlanStatus.NONE))
            continue
        submitted, acknowledged, returns = dates.get(plan.task_id, (None, None, 0))
        rows.append(CommuneRow(commune, plan, plan.status, submitted, acknowledged, returns))
    return rows


def _dates(task_ids: set[int]) -> dict[int, tuple[datetime | None, datetime | None, int]]:
    """Per task: the last submission to the department, the acknowledgement, the number of returns."""
    if not task_ids:
        return {}
    query = (
        select(AuditEvent.task_id, AuditEvent.action, AuditEvent.step, AuditEvent.data, AuditEvent.at)
        .where(
            AuditEvent.task_id.in_(task_ids),
            AuditEvent.action.in_((Action.STEP_COMPLETED, Action.STEP_RETURNED, Action.PROCESS_COMPLETED)),
        )
        .order_by(AuditEvent.id)
    )
    found: dict[int, list] = {task_id: [None, None, 0] for task_id in task_ids}
    for task_id, action, step, _data, at in db.session.execute(query):
        entry = found[task_id]
        if action == Action.STEP_COMPLETED and step == "chairman_approval":
            entry[0] = at
        elif action == Action.PROCESS_COMPLETED:
            entry[1] = at
        elif action == Action.STEP_RETURNED:
            entry[2] += 1
    return {task_id: (e[0], e[1], e[2]) for task_id, e in found.items()}


def targets_table(framework: PlanFramework) -> TargetsTable:
    """Communes × indicators: each commune's target (None: not given), with its plan's status."""
    indicators = list(framework.indicators)
    plans = plans_by_commune(framework, with_targets=True)
    rows = []
    for commune in communes():
        plan = plans.get(commune.id)
        by_indicator = {t.framework_indicator_id: t.target for t in plan.targets} if plan else {}
        rows.append(
            TargetsRow(
                commune,
                plan,
                plan.status if plan else CommunePlanStatus.NONE,
                [by_indicator.get(indicator.id) for indicator in indicators],
            )
        )
    return TargetsTable(framework, indicators, rows)


def targets_xlsx(table: TargetsTable) -> bytes:
    """The consolidated table as a workbook: a title, a header row (frozen, filterable), the department's
    targets, then one row per commune."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Chỉ tiêu các xã"
    bold = Font(bold=True, name="Times New Roman")
    plain = Font(name="Times New Roman")
    framework = table.framework
    width = 3 + len(table.indicators)
    sheet.cell(
        row=1, column=1, value=f"TỔNG HỢP CHỈ TIÊU CỦA CÁC XÃ, PHƯỜNG NĂM {framework.year}"
    ).font = bold
    sheet.cell(row=2, column=1, value=f"Theo: {framework.title}").font = plain
    header = ["STT", "Xã, phường", "Tình trạng kế hoạch"]
    header += [f"{i.name} ({i.unit_of_measure})" for i in table.indicators]
    for column, value in enumerate(header, start=1):
        cell = sheet.cell(row=4, column=column, value=value)
        cell.font, cell.alignment = bold, Alignment(wrap_text=True, vertical="top")
    department = ["", "Chỉ tiêu của Sở", ""] + [float(i.target) for i in table.indicators]
    for column, value in enumerate(department, start=1):
        sheet.cell(row=5, column=column, value=value).font = bold
    for number, row in enumerate(table.rows, start=1):
        cells = [number, row.commune.name, STATUS_TEXT.get(row.status, row.status)]
        cells += [float(value) if value is not None else None for value in row.targets]
        for column, value in enumerate(cells, start=1):
            sheet.cell(row=5 + number, column=column, value=value).font = plain
    sheet.freeze_panes = "D5"
    sheet.auto_filter.ref = f"A4:{get_column_letter(width)}{5 + len(table.rows)}"
    for column in range(1, width + 1):
        sheet.column_dimensions[get_column_letter(column)].width = (
            (6, 28, 26)[column - 1] if column <= 3 else 22
        )
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def latest_return(plan: CommunePlan) -> AuditEvent | None:
    """The last time the plan was sent back (by the chairman or the department), while it is being revised."""
    if plan.status != CommunePlanStatus.RETURNED:
        return None
    query = (
        select(AuditEvent)
        .where(AuditEvent.task_id == plan.task_id, AuditEvent.action == Action.STEP_RETURNED)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    return db.session.scalar(query)
