"""Thông báo: the signed-in user's reminders and escalations, and the unread count beside the menu link."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint
from flask_login import current_user
from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Notification, User

bp = Blueprint("notifications", __name__)


def notifications_for(user: User, limit: int = 200) -> list[Notification]:
    query = (
        select(Notification)
        .where(Notification.user_id == user.id)
        .options(joinedload(Notification.task))
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query).unique())


def unread_count(user: User) -> int:
    query = select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    return db.session.scalar(query)


def mark_all_read(user: User, now: datetime) -> int:
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now)
    )
    db.session.commit()
    return result.rowcount


def notifications_badge() -> int | None:
    """How many unread notifications the signed-in user has (None for visitors, or if it cannot be read)."""
    if not current_user.is_authenticated:
        return None
    try:
        return unread_count(current_user._get_current_object())
    except SQLAlchemyError:  # an error page after a failed transaction still renders its menu
        return None


@bp.app_context_processor
def inject_notifications_badge() -> dict:
    return {"notifications_badge": notifications_badge}


from app.notifications import routes  # noqa: E402,F401
