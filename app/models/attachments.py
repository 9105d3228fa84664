"""Files of a task (the draft, opinions received, the Tờ trình, the issued document, evidence of results).

The bytes live outside the database, content-addressed by SHA-256 under ATTACHMENTS_DIR; a row says
which task (and optionally which step) a version of a logically named file belongs to, and who gave it.
A new upload under the same name on the same task is the next version; every version is kept.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.plans import Task
from app.models.users import User
from app.models.workflow import WorkItem


class Attachment(db.Model):
    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("task_id", "name", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_items.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))  # the logical name, e.g. "Tờ trình"
    filename: Mapped[str] = mapped_column(String(255))  # the uploaded name, sanitized; never part of a path
    stored_path: Mapped[str] = mapped_column(String(100))  # "ab/<sha256>", relative to ATTACHMENTS_DIR
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    task: Mapped[Task] = relationship()
    work_item: Mapped[WorkItem | None] = relationship()
    uploaded_by: Mapped[User | None] = relationship()
