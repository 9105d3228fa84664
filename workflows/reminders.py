"""Reminders before a step is due and escalation after: each (work item, kind) goes out once.

`send_due_reminders(now)` and `escalate_overdue(now)` are called by the scheduler's tick. A reminder goes to
the item's holder, or to everyone eligible for it while nobody holds it; an overdue item goes to the head(s)
of its candidate unit, and after ESCALATE_TO_LEADER_AFTER_DAYS to the leader(s). The unique
(work_item_id, kind) row of `ReminderSent` is inserted first, so two ticks at once send it once.
After the rows are committed, each notification is also delivered outside the application
(app/services/mail.py): e-mailed when MAIL_SERVER is set, else appended as one JSON line to OUTBOX_PATH.
A delivery failure loses nothing (the notification is in the database) and shows as a line
"<kind> #<item> mail failed ..." in the tick's report.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import (
    Notification,
    NotificationKind,
    ReminderSent,
    Role,
    User,
    UserRole,
    WorkItem,
    WorkItemStatus,
)
from app.services.clock import as_utc, to_local
from app.services.mail import Outgoing, deliver
from workflows.guards import eligible

ESCALATE_HEAD = "escalate-head"
ESCALATE_LEADER = "escalate-leader"


def send_due_reminders(now: datetime) -> list[str]:
    """Remind of items due within a configured number of days: the most urgent reminder not yet sent."""
    offsets = sorted(int(days) for days in current_app.config.get("REMINDER_DAYS", (7, 3, 1)))
    sent = []
    for item, due in _open_items_with_due(now):
        if now >= due:
            continue
        days = next((d for d in offsets if now >= due - timedelta(days=d)), None)
        if days is None:
            continue
        kind = f"remind-{days}d"
        title = f"Sắp đến hạn: {item.name} — nhiệm vụ {item.task.code}"
        recipients = _reminder_recipients(item)
        problems = _send_once(item, kind, NotificationKind.REMINDER, recipients, title, due, now)
        if problems is not None:
            sent += _report(f"{kind} #{item.id}", problems)
    return sent


def escalate_overdue(now: datetime) -> list[str]:
    """Overdue items to the candidate unit's head(s), and some days later to the leader(s)."""
    leader_after = timedelta(days=int(current_app.config.get("ESCALATE_TO_LEADER_AFTER_DAYS", 3)))
    sent = []
    for item, due in _open_items_with_due(now):
        if now < due:
            continue
        title = f"Quá hạn: {item.name} — nhiệm vụ {item.task.code}"
        steps = [(ESCALATE_HEAD, _unit_heads(item))]
        if now >= due + leader_after:
            steps.append((ESCALATE_LEADER, _users_with_role(Role.LEADER)))
        for kind, recipients in steps:
            problems = _send_once(item, kind, NotificationKind.ESCALATION, recipients, title, due, now)
            if problems is not None:
                sent += _report(f"{kind} #{item.id}", problems)
    return sent


def _report(line: str, problems: list[str]) -> list[str]:
    """The tick's line for one sent notification, then one line per delivery problem."""
    return [line, *(f"{line} {problem}" for problem in problems)]


def _open_items_with_due(now: datetime) -> list[tuple[WorkItem, datetime]]:
    query = (
        select(WorkItem)
        .where(WorkItem.status == WorkItemStatus.OPEN, WorkItem.due_at.is_not(None))
        .options(joinedload(WorkItem.task), joinedload(WorkItem.candidate_unit))
        .order_by(WorkItem.id)
    )
    return [(item, as_utc(item.due_at)) for item in db.session.scalars(query).unique()]


def _users_with_role(role: str, unit_ids: Iterable[int] | None = None) -> list[User]:
    query = select(User).join(UserRole).where(User.active.is_(True), UserRole.role == role)
    if unit_ids is not None:
        query = query.where(User.unit_id.in_(list(unit_ids)))
    return list(db.session.scalars(query.order_by(User.id)).unique())


def _reminder_recipients(item: WorkItem) -> list[User]:
    if item.assignee is not None:
        return [item.assignee] if item.assignee.active else []
    candidates = _users_with_role_any(item.roles)
    return [user for user in candidates if eligible(user, item)]


def _users_with_role_any(roles: list[str]) -> list[User]:
    query = select(User).join(UserRole).where(User.active.is_(True), UserRole.role.in_(roles))
    return list(db.session.scalars(query.order_by(User.id)).unique())


def _unit_heads(item: WorkItem) -> list[User]:
    """The heads of the candidate unit (else the task's lead unit), or of its parent unit if it has none."""
    unit = item.candidate_unit or item.task.lead_unit
    heads = _users_with_role(Role.UNIT_HEAD, [unit.id])
    if not heads and unit.parent_id is not None:
        heads = _users_with_role(Role.UNIT_HEAD, [unit.parent_id])
    return heads


def _send_once(
    item: WorkItem, kind: str, category: str, recipients: list[User], title: str, due: datetime, now: datetime
) -> list[str] | None:
    """Record (item, kind) and notify the recipients in one transaction, then deliver the notifications
    outside the application: the delivery problems, or None if it was already sent."""
    item_id, task_id = item.id, item.task_id
    body = f"Hạn: {to_local(due):%d/%m/%Y %H:%M}. {item.task.title}"
    try:
        db.session.add(ReminderSent(work_item_id=item_id, kind=kind, created_at=now))
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return None
    notes = [
        Notification(
            user_id=user.id,
            kind=category,
            work_item_id=item_id,
            task_id=task_id,
            title=title,
            body=body,
            created_at=now,
        )
        for user in recipients
    ]
    db.session.add_all(notes)
    outgoing = [
        Outgoing(to=user.email, username=user.username, kind=kind, subject=title, body=body, at=now)
        for user in recipients
    ]
    db.session.commit()
    return deliver(outgoing)
