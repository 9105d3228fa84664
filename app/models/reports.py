"""The documents of the monthly reporting cycle: a unit's monthly report, Phòng Công nghệ thông tin's
consolidated report to UBND tỉnh, and the minutes of the review meeting on the 20th.

One row per (reporting task, period, kind), created when someone first edits the document or when the
reporting process approves it. While the document is a draft its text is what people wrote over the
defaults (app/services/report_content.py fills those from the workflow data, which stays live); when the
approval step completes, the row is frozen (`status` approved) with a snapshot of the data in `body`.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.plans import Task
from app.models.units import Unit
from app.models.users import User
from app.models.workflow import ProcessInstance


class ReportKind:
    UNIT = "unit"  # a unit's monthly report (task type monthly_report)
    CONSOLIDATED = "consolidated"  # the consolidated report to UBND tỉnh (monthly_consolidation)
    MINUTES = "minutes"  # the minutes of the review meeting on the 20th (monthly_consolidation)

    ALL = (UNIT, CONSOLIDATED, MINUTES)


class ReportStatus:
    DRAFT = "draft"
    APPROVED = "approved"

    ALL = (DRAFT, APPROVED)


class ReportDocument(db.Model):
    __tablename__ = "report_documents"
    __table_args__ = (UniqueConstraint("task_id", "period", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))  # "2025-03"
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # the reporting unit
    kind: Mapped[str] = mapped_column(String(20))
    parent_body: Mapped[str] = mapped_column(String(300))  # cơ quan chủ quản
    issuing_body: Mapped[str] = mapped_column(String(300))  # cơ quan ban hành
    number_symbol: Mapped[str] = mapped_column(String(100))  # số/ký hiệu: "/BC-SKHCN", "12/BC-CNTT"
    place: Mapped[str] = mapped_column(String(100))
    doc_date: Mapped[date] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(Text)  # trích yếu
    # {"sections": [{"key", "heading", "text", "edited"}], "secretary": {...}, "data": {...} once approved}
    body: Mapped[dict] = mapped_column(JSON, default=dict)
    signer_title: Mapped[str] = mapped_column(String(200))
    signer_name: Mapped[str] = mapped_column(String(200))
    recipients: Mapped[list] = mapped_column(JSON, default=list)  # nơi nhận, one entry a line
    status: Mapped[str] = mapped_column(String(20), default=ReportStatus.DRAFT)
    # counts the writes; an UPDATE from a stale read fails (SQLAlchemy's version counter): no lost update
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    task: Mapped[Task] = relationship()
    instance: Mapped[ProcessInstance | None] = relationship()
    unit: Mapped[Unit] = relationship()
    edited_by: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": revision}

    @property
    def approved(self) -> bool:
        return self.status == ReportStatus.APPROVED
