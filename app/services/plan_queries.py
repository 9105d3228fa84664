"""Reading plans for the pages: the list with task counts, tasks under their sections, indicators."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from itertools import groupby

from sqlalchemy import select

from app.extensions import db
from app.models import Indicator, Plan, PlanSection, Task
from app.models.commune_plans import PlanFramework


@dataclass(frozen=True)
class PlanRow:
    plan: Plan
    task_count: int


@dataclass
class SectionBlock:
    section: PlanSection
    tasks: list[Task] = field(default_factory=list)


@dataclass
class HorizonBlock:
    horizon: int
    indicators: list[Indicator]


def holding_plan_ids():
    """The plans that only hold the commune plans' processes of a framework ("Khung kế hoạch cấp xã",
    PlanFramework.plan): not plans the department carries out, so lists of plans leave them out."""
    return select(PlanFramework.plan_id).where(PlanFramework.plan_id.is_not(None))


def framework_held_by(plan: Plan) -> int | None:
    """The id of the framework whose commune plans this plan holds, or None for a department's plan."""
    return db.session.scalar(select(PlanFramework.id).where(PlanFramework.plan_id == plan.id))


def tasks_by_section(plan: Plan, tasks: list[Task]) -> list[SectionBlock]:
    """The tasks under their section headings in document order; sections with no task are left out."""
    blocks = {section.id: SectionBlock(section) for section in plan.sections}
    for task in tasks:
        block = blocks.get(task.section_id)
        if block is not None:
            block.tasks.append(task)
    return [block for block in blocks.values() if block.tasks]


def indicators_by_horizon(plan: Plan) -> list[HorizonBlock]:
    """The appendix indicators grouped by target year, nearest horizon first, rows in document order."""
    query = (
        select(Indicator).where(Indicator.plan_id == plan.id).order_by(Indicator.horizon, Indicator.position)
    )
    indicators = db.session.scalars(query)
    return [HorizonBlock(horizon, list(rows)) for horizon, rows in groupby(indicators, lambda i: i.horizon)]


def reporting_summary(plan: Plan) -> dict:
    """The reporting rules the plan sets, in the few fields the plan page shows.

    Keys: report_day, report_to, report_for, review_day (each None when the plan does not say).
    """
    rules = plan.reporting_rules or {}
    report = rules.get("monthly_report") or {}
    review = rules.get("monthly_review_meeting") or {}
    return {
        "report_day": report.get("day_of_month"),
        "report_to": _unit_name(report.get("to")),
        "report_for": _unit_name(report.get("consolidated_for")),
        "review_day": review.get("day_of_month"),
    }


def _unit_name(value) -> str | None:
    if isinstance(value, dict):
        return value.get("name") or value.get("code")
    return value or None


@dataclass(frozen=True)
class DocumentRef:
    """A document the plan names (e.g. "Kế hoạch 726/KH-UBND"), as stored in the plan's JSON."""

    ref: str
    kind: str | None = None
    issuer: str | None = None
    issued_on: date | None = None


def implemented_documents(plan: Plan) -> list[DocumentRef]:
    """The documents the plan carries out, in the order it names them."""
    return [_document_ref(item) for item in plan.implements or [] if item]


def _document_ref(item) -> DocumentRef:
    if not isinstance(item, dict):
        return DocumentRef(ref=str(item))
    return DocumentRef(
        ref=str(item.get("ref") or ""),
        kind=item.get("kind"),
        issuer=item.get("issuer"),
        issued_on=_as_date(item.get("date")),
    )


def _as_date(value) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
