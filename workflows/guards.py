"""Who may act on a work item: the Plone-style guard, in one place."""

from __future__ import annotations

from app.models import Role, Task, User, WorkItem, WorkItemStatus


def serves_unit(user: User, unit_id: int | None, parent_id: int | None) -> bool:
    """A unit's own people, and the people of its parent unit (e.g. Văn phòng Sở for its sections)."""
    return unit_id is None or user.unit_id in (unit_id, parent_id)


def eligible(user: User, item: WorkItem) -> bool:
    """Holds one of the step's roles in its candidate unit, whoever holds the item now."""
    if not user.active or not user.has_role(*(role for role in item.roles if role in Role.ACTING)):
        return False
    unit = item.candidate_unit
    return serves_unit(user, item.candidate_unit_id, unit.parent_id if unit is not None else None)


def may_act(user: User, item: WorkItem) -> bool:
    """May complete the item now: its assignee (or delegate), or, while nobody holds it, anyone eligible."""
    if item.status != WorkItemStatus.OPEN or not user.active:
        return False
    if item.assignee_id is not None:
        return item.assignee_id == user.id
    return eligible(user, item)


def heads_candidate_unit(user: User, item: WorkItem) -> bool:
    return user.has_role(Role.UNIT_HEAD) and item.candidate_unit_id is not None and eligible_unit(user, item)


def eligible_unit(user: User, item: WorkItem) -> bool:
    unit = item.candidate_unit
    return serves_unit(user, item.candidate_unit_id, unit.parent_id if unit is not None else None)


def may_see(user: User, item: WorkItem) -> bool:
    """Everyone who may act, the unit's people, leaders, supervisors and admins may look."""
    if user.has_role(Role.LEADER, Role.SUPERVISOR, Role.ADMIN):
        return True
    in_unit = item.candidate_unit_id is not None and eligible_unit(user, item)
    return may_act(user, item) or in_unit or item.assignee_id == user.id


def actions_for(user: User, item: WorkItem) -> list[str]:
    """What the user may do with the item now (⊆ complete, claim, release, delegate)."""
    if item.status != WorkItemStatus.OPEN:
        return []
    actions = []
    if may_act(user, item):
        actions.append("complete")
    if item.assignee_id is None and eligible(user, item):
        actions.append("claim")
    if item.assignee_id is not None and (item.assignee_id == user.id or heads_candidate_unit(user, item)):
        actions.append("release")
    if may_act(user, item) or heads_candidate_unit(user, item):
        actions.append("delegate")
    return actions


def may_release(user: User, item: WorkItem) -> bool:
    """Its holder or the head of its unit; while nobody holds it (a no-op), those who could take it."""
    if item.assignee_id is None:
        return eligible(user, item) or heads_candidate_unit(user, item)
    return item.assignee_id == user.id or heads_candidate_unit(user, item)


def may_start(user: User, task: Task) -> bool:
    """The lead unit's people (or its parent's), leaders and admins may start a task's process."""
    if not user.active:
        return False
    if user.has_role(Role.LEADER, Role.ADMIN):
        return True
    lead_ids = {task.lead_unit_id, task.lead_sub_unit_id} - {None}
    return user.unit_id in lead_ids and user.has_role(Role.SPECIALIST, Role.UNIT_HEAD)
