"""Who holds a work item: claim, release, delegate, reassign. Each is audited and commits on its own."""

from __future__ import annotations

from sqlalchemy import select, update

from app.extensions import db
from app.models import Notification, NotificationKind, Role, User, WorkItem, WorkItemStatus
from app.services.clock import to_local, utcnow
from app.services.mail import Outgoing, deliver
from workflows import audit
from workflows.errors import Conflict, InvalidData, NotAllowed
from workflows.guards import eligible, heads_candidate_unit, may_act, may_release


def claim(item: WorkItem, user: User) -> WorkItem:
    """Take an unassigned item so that only `user` works on it (claiming one's own item is a no-op)."""
    _require_open(item)
    if item.assignee_id == user.id:
        return item
    if not eligible(user, item):
        raise NotAllowed("you may not take this step")
    _change_assignee(item, user, expected=None, new=user.id, action=audit.Action.STEP_CLAIMED)
    return item


def release(item: WorkItem, user: User) -> WorkItem:
    """Give an item back to its unit: by its holder, or by the head of its unit."""
    _require_open(item)
    if not may_release(user, item):
        raise NotAllowed("only the holder or the unit head may release this step")
    if item.assignee_id is None:
        return item
    _change_assignee(item, user, expected=item.assignee_id, new=None, action=audit.Action.STEP_RELEASED)
    return item


def delegate(item: WorkItem, user: User, to_username: str) -> WorkItem:
    """Hand the item to a named colleague who could do it (same unit and a role of the step)."""
    _require_open(item)
    if not (may_act(user, item) or heads_candidate_unit(user, item)):
        raise NotAllowed("you may not delegate this step")
    target = db.session.scalar(select(User).where(User.username == (to_username or "").strip()))
    if target is None or not eligible(target, item):
        raise InvalidData("that user may not do this step", {"to": "not a user who may do this step"})
    _change_assignee(
        item,
        user,
        expected=item.assignee_id,
        new=target.id,
        action=audit.Action.STEP_DELEGATED,
        data={"to": target.username},
    )
    return item


def may_reassign(user: User, item: WorkItem) -> bool:
    """The head of the item's candidate unit (or of its parent unit), leaders and admins."""
    if not user.active or item.status != WorkItemStatus.OPEN:
        return False
    return user.has_role(Role.LEADER, Role.ADMIN) or heads_candidate_unit(user, item)


def reassign(item: WorkItem, user: User, to_username: str) -> WorkItem:
    """Give an open item to an eligible colleague, whoever holds it now (Camunda's setAssignee).

    Refusals change nothing: Conflict 409 (not open, or someone changed the holder meanwhile),
    NotAllowed 403 (not the unit's head, a leader or an admin), InvalidData 422 (the target may not do
    the step; details {"to": ...}). Audited as step.reassigned with {"from": holder or None, "to": ...};
    the new holder gets an in-app notification. Giving it to its holder again is a no-op.
    """
    _require_open(item)
    if not may_reassign(user, item):
        raise NotAllowed("only the unit's head, leaders and admins may reassign this step")
    target = db.session.scalar(select(User).where(User.username == (to_username or "").strip()))
    if target is None or not eligible(target, item):
        raise InvalidData("that user may not do this step", {"to": "not a user who may do this step"})
    if item.assignee_id == target.id:
        return item
    previous = item.assignee.username if item.assignee is not None else None
    _change_assignee(
        item,
        user,
        expected=item.assignee_id,
        new=target.id,
        action=audit.Action.STEP_REASSIGNED,
        data={"from": previous, "to": target.username},
        notify=target,
    )
    return item


def reassign_candidates(item: WorkItem) -> list[User]:
    """The active users who may do the item (those `reassign` accepts), by name."""
    unit = item.candidate_unit
    query = select(User).where(User.active.is_(True)).order_by(User.full_name, User.username)
    if unit is not None:
        query = query.where(User.unit_id.in_({unit.id, unit.parent_id} - {None}))
    return [user for user in db.session.scalars(query) if eligible(user, item)]


def _assignment_notice(item: WorkItem, by: User, to: User) -> Notification:
    due = f" Hạn: {to_local(item.due_at):%d/%m/%Y %H:%M}." if item.due_at else ""
    return Notification(
        user_id=to.id,
        kind=NotificationKind.ASSIGNMENT,
        work_item_id=item.id,
        task_id=item.task_id,
        title=f"Được giao: {item.name} — nhiệm vụ {item.task.code}",
        body=f"{by.full_name} giao bước này cho bạn.{due} {item.task.title}",
        created_at=utcnow(),
    )


def _require_open(item: WorkItem) -> None:
    if item.status != WorkItemStatus.OPEN:
        raise Conflict("this step is no longer open")


def _change_assignee(
    item: WorkItem,
    user: User,
    expected,
    new,
    action: str,
    data: dict | None = None,
    notify: User | None = None,
) -> None:
    """Compare-and-set the assignee so two people cannot both take the item; audit (and notify) and commit."""
    condition = WorkItem.assignee_id.is_(None) if expected is None else WorkItem.assignee_id == expected
    try:
        changed = db.session.execute(
            update(WorkItem)
            .where(WorkItem.id == item.id, WorkItem.status == WorkItemStatus.OPEN, condition)
            .values(
                assignee_id=new, delegated_by_id=user.id if action == audit.Action.STEP_DELEGATED else None
            )
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:
            raise Conflict("someone else holds this step now")
        db.session.refresh(item)
        audit.record(
            action,
            user,
            item.task,
            instance=item.instance,
            item=item,
            from_state=item.task.state,
            to_state=item.task.state,
            data=data,
        )
        notice = _assignment_notice(item, user, notify) if notify is not None else None
        if notice is not None:
            db.session.add(notice)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if notice is not None:  # by e-mail (or the outbox) too, once the change is committed
        deliver(
            [
                Outgoing(
                    notify.email, notify.username, "assignment", notice.title, notice.body, notice.created_at
                )
            ]
        )
