"""A commune builds its plan from the department's published framework, and submits it through the
process `commune_plan` (bpmn/commune_plan.bpmn) run by the engine.

Decision — where the process runs: the engine attaches every instance to a Task (ProcessInstance.task_id),
so each commune plan gets one Task row, kind `commune` (not one of the plan's own tasks, so plan lists,
counts and reports leave it out), task type `commune_plan`, in the department plan of the framework (one
Plan row per framework, "Khung kế hoạch cấp xã", made with its first commune plan). The task's lead unit is
the commune; its lead sub-unit the commune office of the specialist who created the plan (normally Văn phòng
HĐND-UBND), so the engine's guards give `draft`/`revise` to that office's specialists and
`chairman_approval` to the commune's heads; `department_review` goes to the department's leaders.

Every state change is the engine's (start_process / advance, audited there); the plan's status is its
task's state. Its content (sections, targets, tasks) changes only while `draft` or `revise` is open, by
whoever may complete that step (audited `commune_plan.updated`). Two vetoes on the `step_completing`
signal: the plan cannot be submitted incomplete (409, details say what is missing), and only a head of the
commune itself (its chairman), not of one of its offices, decides `chairman_approval` (403).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Plan, PlanSection, Task, TaskState, Unit, UnitKind, User, WorkItem, WorkItemStatus
from app.models.commune_plans import (
    CommunePlan,
    CommunePlanSection,
    CommunePlanTarget,
    CommunePlanTask,
    FrameworkTask,
    PlanFramework,
)
from app.services import commune_plan_values as values
from app.services.clock import to_local, utcnow
from app.services.commune_plan_access import (
    DRAFTING_STEPS,
    commune_of,
    drafting_item,
    may_create_plan,
    may_read_plan,
)
from app.services.commune_plan_content import apply_content, read_content
from workflows import audit, signals
from workflows.engine import start_process
from workflows.errors import Conflict, NotAllowed
from workflows.guards import may_act

PROCESS_KEY = "commune_plan"
TASK_KIND = "commune"  # Task.kind of a commune plan's task (String(10))
COMMUNE_PLAN_UPDATED = "commune_plan.updated"


def plan_for(framework: PlanFramework, commune: Unit) -> CommunePlan | None:
    query = select(CommunePlan).where(
        CommunePlan.framework_id == framework.id, CommunePlan.commune_unit_id == commune.id
    )
    return db.session.scalar(query)


def plan_of_task(task_id: int) -> CommunePlan | None:
    return db.session.scalar(select(CommunePlan).where(CommunePlan.task_id == task_id))


def commune_offices(commune: Unit) -> list[Unit]:
    query = select(Unit).where(
        Unit.parent_id == commune.id, Unit.kind == UnitKind.COMMUNE_OFFICE, Unit.active.is_(True)
    )
    return list(db.session.scalars(query.order_by(Unit.id)))


def communes() -> list[Unit]:
    query = select(Unit).where(Unit.kind == UnitKind.COMMUNE, Unit.active.is_(True)).order_by(Unit.name)
    return list(db.session.scalars(query))


# --- creating ----------------------------------------------------------------------------------------


def create_commune_plan(framework: PlanFramework, user: User) -> CommunePlan:
    """The caller's commune's plan from the framework, prefilled with its suggested tasks, and its process
    started (the `draft` step opens for the commune office). One transaction; Conflict if it exists."""
    if not may_create_plan(user):
        raise NotAllowed("only a commune's specialists build its plan")
    if not framework.is_published:
        raise Conflict("the framework is not published")
    commune = commune_of(user)
    existing = plan_for(framework, commune)
    if existing is not None:
        raise Conflict("the commune already has a plan from this framework", {"commune_plan_id": existing.id})
    try:
        plan = _new_plan(framework, commune, user)
    except IntegrityError:
        db.session.rollback()
        raise Conflict("the commune's plan was being created at the same time; reload the page") from None
    start_process(plan.task, user, PROCESS_KEY)  # commits the plan with its process, or rolls all back
    return plan


def _new_plan(framework: PlanFramework, commune: Unit, user: User) -> CommunePlan:
    offices = commune_offices(commune)
    task = _new_task(framework, commune, user)
    plan = CommunePlan(
        framework=framework, commune=commune, task=task, created_by_id=user.id, updated_by_id=user.id
    )
    plan.sections = [CommunePlanSection(framework_section_id=s.id, content="") for s in framework.sections]
    plan.targets = [CommunePlanTarget(framework_indicator_id=i.id) for i in framework.indicators]
    plan.tasks = [_suggested(t, offices) for t in framework.tasks]
    db.session.add(plan)
    db.session.flush()
    return plan


def _framework_plan(framework: PlanFramework) -> tuple[Plan, PlanSection]:
    """The department plan holding the framework's commune tasks (made once)."""
    if framework.plan is None:
        issuer = framework.issuer_unit
        published = to_local(framework.published_at).date() if framework.published_at else None
        framework.plan = Plan(
            source_key=f"commune-framework/{framework.id}",
            issuer_unit=issuer,
            issuer_name=issuer.name,
            doc_type="Khung kế hoạch cấp xã",
            number=None,
            number_symbol="",
            issued_on=published,
            title=framework.title,
        )
        db.session.add(
            PlanSection(plan=framework.plan, number="I", heading="Kế hoạch của các xã, phường", position=1)
        )
        db.session.flush()
    return framework.plan, framework.plan.sections[0]


def _new_task(framework: PlanFramework, commune: Unit, user: User) -> Task:
    plan, section = _framework_plan(framework)
    office = user.unit if user.unit.kind == UnitKind.COMMUNE_OFFICE else None
    code = commune.code if len(commune.code) <= 20 else f"X{commune.id}"
    task = Task(
        plan=plan,
        section=section,
        code=code,
        position=len(plan.tasks) + 1,
        title=f"Xây dựng kế hoạch năm {framework.year} của {commune.name} theo khung của Sở",
        lead_unit=commune,
        lead_sub_unit=office,
        lead_as_written=commune.name,
        assignee=user,
        due_date=framework.submission_due,
        due_precision="day" if framework.submission_due else None,
        recurrence=[],
        expected_result=f"Kế hoạch năm {framework.year} của {commune.name} được Sở tiếp nhận",
        task_type=PROCESS_KEY,
        kind=TASK_KIND,
        state=TaskState.NOT_STARTED,
        content=(  # the step and task pages link to the plan itself (commune_plan_of)
            f"{commune.name} xây dựng kế hoạch theo {framework.title}, trình Chủ tịch UBND phê duyệt và gửi "
            "Sở tiếp nhận."
        ),
    )
    db.session.add(task)
    return task


def _fold(text: str | None) -> str:
    return unicodedata.normalize("NFC", " ".join((text or "").split())).casefold()


def _office_named(name: str | None, offices: list[Unit]) -> Unit | None:
    """The commune office a framework names ("Văn phòng HĐND-UBND"): by name, short name or alias."""
    wanted = _fold(name)
    if not wanted:
        return None
    for office in offices:
        names = [office.name, office.short_name or "", *(office.aliases or [])]
        if wanted in {_fold(n) for n in names if n}:
            return office
    return None


def _suggested(suggestion: FrameworkTask, offices: list[Unit]) -> CommunePlanTask:
    lead = _office_named(suggestion.lead_office, offices)
    coordinating = [_office_named(name, offices) for name in suggestion.coordinating_offices or []]
    codes = [o.code for o in coordinating if o is not None and o is not lead]
    return CommunePlanTask(
        position=suggestion.position,
        framework_task_id=suggestion.id,
        title=suggestion.title,
        lead_office=lead,
        coordinating_offices=list(dict.fromkeys(codes)),
        expected_result=suggestion.expected_result,
        budget_million_vnd=suggestion.budget_million_vnd,
        completion_time=suggestion.completion_time,
    )


# --- editing -----------------------------------------------------------------------------------------


def update_content(plan: CommunePlan, user: User, payload: Any) -> CommunePlan:
    """Change the plan's sections, targets and/or tasks (app/services/commune_plan_content.py). Commits."""
    if not may_read_plan(user, plan):
        raise NotAllowed("you may not see this commune plan")
    item = drafting_item(plan)
    if item is None:
        raise Conflict("the plan changes only while the commune office drafts or revises it")
    if not may_act(user, item):
        raise NotAllowed("only whoever may complete the drafting step edits the plan")
    parts = read_content(plan, payload, {o.code: o for o in commune_offices(plan.commune)})
    try:
        _hold_open(item)
        apply_content(plan, parts)
        plan.updated_by_id, plan.updated_at = user.id, utcnow()
        db.session.flush()
        data = {"commune_plan_id": plan.id, "parts": sorted(parts)}
        audit.record(COMMUNE_PLAN_UPDATED, user, plan.task, item=item, to_state=plan.task.state, data=data)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return plan


def _hold_open(item: WorkItem) -> None:
    """Lock the drafting step's row while it is still open: a submit at the same moment waits for this
    edit (PostgreSQL row lock; SQLite writer lock), and an edit after the submit is refused."""
    items = WorkItem.__table__.c
    held = db.session.execute(
        update(WorkItem.__table__)
        .where(items.id == item.id, items.status == WorkItemStatus.OPEN)
        .values(status=WorkItemStatus.OPEN)
    )
    if held.rowcount != 1:
        raise Conflict("the plan was submitted meanwhile; it no longer changes")


# --- submitting --------------------------------------------------------------------------------------


def missing_parts(plan: CommunePlan) -> dict[str, Any]:
    """What the plan still lacks before it can be submitted: section ids without content, indicator ids
    without a target, no task, or tasks without a lead office (their positions)."""
    missing: dict[str, Any] = {}
    sections = [row.framework_section_id for row in plan.sections if not (row.content or "").strip()]
    targets = [row.framework_indicator_id for row in plan.targets if row.target is None]
    if sections:
        missing["sections"] = sorted(sections)
    if targets:
        missing["targets"] = sorted(targets)
    if not plan.tasks:
        missing["tasks"] = f"{values.REQUIRED}: at least one task"
    elif unled := [row.position for row in plan.tasks if row.lead_office_id is None]:
        missing["tasks"] = {"without_lead_office": unled}
    return missing


def _incomplete_message(missing: dict[str, Any]) -> str:
    parts = []
    if "sections" in missing:
        count = len(missing["sections"])
        parts.append(ngettext("%(num)d section without content", "%(num)d sections without content", count))
    if "targets" in missing:
        count = len(missing["targets"])
        parts.append(
            ngettext("%(num)d indicator without a target", "%(num)d indicators without a target", count)
        )
    if "tasks" in missing:
        parts.append(_("tasks: at least one, each with a lead office"))
    return _(
        "The plan is not complete: %(parts)s. Complete it on the commune plan page.", parts="; ".join(parts)
    )


@signals.step_completing.connect
def _check_before_completing(item: WorkItem, user: User, **_kwargs) -> None:
    """Refuse submitting an incomplete plan, and a chairman's decision by anyone but the commune's head."""
    if item.step not in (*DRAFTING_STEPS, "chairman_approval"):
        return
    if item.instance.definition.key != PROCESS_KEY:
        return
    plan = plan_of_task(item.task_id)
    if plan is None:
        return
    if item.step == "chairman_approval":
        if user.unit_id != plan.commune_unit_id:
            raise NotAllowed("only the commune's chairman (a head of the commune itself) decides this step")
        return
    missing = missing_parts(plan)
    if missing:
        raise signals.StepVetoed(_incomplete_message(missing), missing)
