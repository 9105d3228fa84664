"""In-app notifications, and the record of which reminder or escalation went out for which work item."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.plans import Task
from app.models.workflow import WorkItem


class NotificationKind:
    REMINDER = "reminder"
    ESCALATION = "escalation"
    ASSIGNMENT = "assignment"  # a step was given to the user (workflows.assignment.reassign)

    ALL = (REMINDER, ESCALATION, ASSIGNMENT)


class Notification(db.Model):
    """One message for one user; unread while read_at is empty."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_items.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    work_item: Mapped[WorkItem | None] = relationship()
    task: Mapped[Task | None] = relationship()


class ReminderSent(db.Model):
    """A reminder or escalation already sent for a work item: the unique pair makes each go out once."""

    __tablename__ = "reminders_sent"
    __table_args__ = (UniqueConstraint("work_item_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"))
    # remind-7d, remind-3d, remind-1d, escalate-head, escalate-leader
    kind: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
