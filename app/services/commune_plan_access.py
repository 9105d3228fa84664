"""Who may do what with plan frameworks and commune plans — one place, used by pages and API alike.

Communes (units of kind `commune`) have their own offices (kind `commune_office`, children of the
commune) and people:
- the commune office's specialists (e.g. of Văn phòng HĐND-UBND) create the commune's plan from a
  published framework and write it while its `draft` / `revise` step is open (whoever may complete that
  step: workflows.guards.may_act);
- the commune's chairman is a user of the commune unit itself holding the role `unit_head`; only such a
  user approves (`chairman_approval`: the engine's guard lets the lead unit's and its parent's heads act,
  and the veto in app/services/commune_plans.py narrows it to the commune's own heads);
- the department: its leaders and admins create and publish frameworks; its leaders receive and
  acknowledge (or return) the plans (`department_review`); leaders, supervisors and admins read every
  commune's plan, the submission overview and the consolidated targets.
A commune's people read their own commune's plans only, and published frameworks.
"""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Role, Unit, UnitKind, User, WorkItem, WorkItemStatus
from app.models.commune_plans import CommunePlan, PlanFramework
from workflows.guards import may_act

DRAFTING_STEPS = ("draft", "revise")


def commune_of(user: User) -> Unit | None:
    """The commune a user works for: their own unit if it is a commune, or the commune of their office."""
    unit = user.unit
    if unit is None:
        return None
    if unit.kind == UnitKind.COMMUNE:
        return unit
    if (
        unit.kind == UnitKind.COMMUNE_OFFICE
        and unit.parent is not None
        and unit.parent.kind == UnitKind.COMMUNE
    ):
        return unit.parent
    return None


def oversees_communes(user: User) -> bool:
    """The department's leaders, supervisors and admins: every commune's plan, overview, targets."""
    return (
        user.active and commune_of(user) is None and user.has_role(Role.LEADER, Role.SUPERVISOR, Role.ADMIN)
    )


def may_manage_frameworks(user: User) -> bool:
    """Create, edit and publish frameworks: the department's leaders and admins."""
    return user.active and commune_of(user) is None and user.has_role(Role.LEADER, Role.ADMIN)


def may_read_framework(user: User, framework: PlanFramework) -> bool:
    return user.active and (framework.is_published or oversees_communes(user))


def may_read_plan(user: User, plan: CommunePlan) -> bool:
    if not user.active:
        return False
    commune = commune_of(user)
    return (commune is not None and commune.id == plan.commune_unit_id) or oversees_communes(user)


def may_create_plan(user: User) -> bool:
    """A specialist of a commune (the commune office drafts the plan)."""
    return user.active and commune_of(user) is not None and user.has_role(Role.SPECIALIST)


def drafting_item(plan: CommunePlan) -> WorkItem | None:
    """The open `draft` or `revise` step of the plan's task: while it is open, the plan may change."""
    query = (
        select(WorkItem)
        .where(
            WorkItem.task_id == plan.task_id,
            WorkItem.status == WorkItemStatus.OPEN,
            WorkItem.step.in_(DRAFTING_STEPS),
        )
        .order_by(WorkItem.id)
        .limit(1)
    )
    return db.session.scalar(query)


def may_edit_plan(user: User, plan: CommunePlan, item: WorkItem | None = None) -> bool:
    """Whoever may complete the open drafting step (none open: nobody)."""
    item = item or drafting_item(plan)
    return item is not None and may_read_plan(user, plan) and may_act(user, item)


def open_items(plan: CommunePlan) -> list[WorkItem]:
    query = select(WorkItem).where(WorkItem.task_id == plan.task_id, WorkItem.status == WorkItemStatus.OPEN)
    return list(db.session.scalars(query.order_by(WorkItem.id)))
