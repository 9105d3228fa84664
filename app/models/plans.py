"""Plans, their sections, tasks and indicators (chỉ tiêu)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.units import Unit
from app.models.users import User


class TaskState:
    """Workflow states a task can be in. Processes name the state of each of their steps."""

    NOT_STARTED = "not_started"
    WAITING_GUIDANCE = "waiting_guidance"
    IN_PROGRESS = "in_progress"
    DRAFTING = "drafting"
    REVIEWING = "reviewing"
    COLLECTING_OPINIONS = "collecting_opinions"
    CONSOLIDATING = "consolidating"
    AWAITING_APPROVAL = "awaiting_approval"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    RETURNED = "returned"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    ALL = (
        NOT_STARTED,
        WAITING_GUIDANCE,
        IN_PROGRESS,
        DRAFTING,
        REVIEWING,
        COLLECTING_OPINIONS,
        CONSOLIDATING,
        AWAITING_APPROVAL,
        SUBMITTED,
        UNDER_REVIEW,
        RETURNED,
        COMPLETED,
        CANCELLED,
    )
    CLOSED = (COMPLETED, CANCELLED)


class Recurrence:
    """How a deadline recurs, as the plan writes it."""

    NONE = "none"
    CONTINUOUS = "continuous"  # thường xuyên
    YEARLY = "yearly"  # hằng năm
    ON_GUIDANCE = "on_guidance"  # theo hướng dẫn của Trung ương
    ON_DEMAND = "on_demand"  # đột xuất

    ALL = (NONE, CONTINUOUS, YEARLY, ON_GUIDANCE, ON_DEMAND)


class TaskKind:
    """What a task row is: one of the plan's own tasks, or a reporting task the plan's reporting rules
    call for (one monthly report per unit, one consolidation; app/services/reporting.py)."""

    PLAN = "plan"
    REPORT = "report"

    ALL = (PLAN, REPORT)


class DuePrecision:
    DAY = "day"
    MONTH = "month"

    ALL = (DAY, MONTH)


class Plan(db.Model):
    __tablename__ = "plans"
    # the plan list, newest first, a page at a time (app/services/plan_list.py)
    __table_args__ = (Index("ix_plans_issued_on_id", "issued_on", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_key: Mapped[str] = mapped_column(String(300), unique=True)
    issuer_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    issuer_name: Mapped[str] = mapped_column(String(300))
    doc_type: Mapped[str] = mapped_column(String(100))
    number: Mapped[str | None] = mapped_column(String(50))
    number_symbol: Mapped[str] = mapped_column(String(100))
    issued_on: Mapped[date | None] = mapped_column(Date)
    title: Mapped[str] = mapped_column(Text)
    implements: Mapped[list] = mapped_column(JSON, default=list)
    replaces: Mapped[dict | None] = mapped_column(JSON)
    other_references: Mapped[list] = mapped_column(JSON, default=list)
    principle_5_ro: Mapped[dict | None] = mapped_column(JSON)
    purpose: Mapped[dict | None] = mapped_column(JSON)
    organisation: Mapped[dict | None] = mapped_column(JSON)
    reporting_rules: Mapped[dict | None] = mapped_column(JSON)
    signer: Mapped[dict | None] = mapped_column(JSON)
    recipients: Mapped[list] = mapped_column(JSON, default=list)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # who imported it from a workbook (app/services/plan_xlsx_import.py); None for the YAML import
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    issuer_unit: Mapped[Unit | None] = relationship()
    imported_by: Mapped[User | None] = relationship()
    sections: Mapped[list[PlanSection]] = relationship(
        back_populates="plan", order_by="PlanSection.position", cascade="all, delete-orphan"
    )
    tasks: Mapped[list[Task]] = relationship(
        back_populates="plan", order_by="Task.position", cascade="all, delete-orphan"
    )
    indicators: Mapped[list[Indicator]] = relationship(
        back_populates="plan", order_by="Indicator.position", cascade="all, delete-orphan"
    )

    @property
    def document_number(self) -> str:
        """Số/ký hiệu as written: the number may be blank (e.g. "/KH-SKHCN")."""
        return f"{self.number or ''}{self.number_symbol}"


class PlanSection(db.Model):
    __tablename__ = "plan_sections"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(20))
    heading: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)

    plan: Mapped[Plan] = relationship(back_populates="sections")


class TaskCoordination(db.Model):
    """A coordinating unit (phối hợp) of a task, in the order the plan lists them."""

    __tablename__ = "task_coordinations"

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)
    as_written: Mapped[str | None] = mapped_column(String(300))

    unit: Mapped[Unit] = relationship(lazy="joined")


# what the dashboard's counts by lead unit and state read, in the order of its GROUP BY (an index-only scan)
DASHBOARD_COUNT_COLUMNS = ("kind", "lead_unit_id", "state", "due_date", "id", "due_status", "progress")


class Task(db.Model):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("plan_id", "code"),
        # budgets are in million VND and never negative (named ck_tasks_budget_not_negative)
        CheckConstraint("budget_million_vnd IS NULL OR budget_million_vnd >= 0", name="budget_not_negative"),
        # The dashboard (app/services/dashboard.py, dashboard_lists.py): counts by unit and state read this
        # index alone; the lists walk one state's deadlines in order, for all plans, a unit or a plan;
        # tasks marked overdue by the scheduler are found by their mark.
        Index("ix_tasks_kind_unit_state", *DASHBOARD_COUNT_COLUMNS),
        Index("ix_tasks_kind_state_due", "kind", "state", "due_date"),
        Index("ix_tasks_plan_kind_state", "plan_id", "kind", "state", "due_date"),
        Index("ix_tasks_due_status_due", "due_status", "kind", "state", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("plan_sections.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer)
    item: Mapped[str | None] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(Text)
    content: Mapped[str | None] = mapped_column(Text)
    lead_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    lead_sub_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    lead_as_written: Mapped[str | None] = mapped_column(String(300))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    deadline_raw: Mapped[str | None] = mapped_column(String(300))
    due_date: Mapped[date | None] = mapped_column(Date, index=True)
    due_precision: Mapped[str | None] = mapped_column(String(10))
    recurrence: Mapped[list] = mapped_column(JSON, default=list)
    expected_result: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    budget_million_vnd: Mapped[Decimal | None] = mapped_column(Numeric(16, 3))
    task_type: Mapped[str | None] = mapped_column(String(40))
    # plan | report: lists and counts of the plan's tasks show kind `plan` only (see TaskKind)
    kind: Mapped[str] = mapped_column(
        String(10), default=TaskKind.PLAN, server_default=TaskKind.PLAN, index=True
    )
    state: Mapped[str] = mapped_column(String(30), default=TaskState.NOT_STARTED, index=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    # '' | due_soon | overdue: kept by the scheduler's marks_updated step (workflows/due_marks.py)
    due_status: Mapped[str] = mapped_column(String(20), default="", server_default="", index=True)
    ocr_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    plan: Mapped[Plan] = relationship(back_populates="tasks")
    section: Mapped[PlanSection] = relationship()
    lead_unit: Mapped[Unit] = relationship(foreign_keys=[lead_unit_id])
    lead_sub_unit: Mapped[Unit | None] = relationship(foreign_keys=[lead_sub_unit_id])
    assignee: Mapped[User | None] = relationship()
    coordinations: Mapped[list[TaskCoordination]] = relationship(
        order_by=TaskCoordination.position, cascade="all, delete-orphan"
    )

    @property
    def coordinating_units(self) -> list[Unit]:
        return [c.unit for c in self.coordinations]


class Indicator(db.Model):
    """A target of the plan's appendix (chỉ tiêu), kept as written."""

    __tablename__ = "indicators"
    __table_args__ = (UniqueConstraint("plan_id", "horizon", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    horizon: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    unit_of_measure: Mapped[str | None] = mapped_column(String(200))
    target: Mapped[str] = mapped_column(Text)
    responsible_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    responsible_as_written: Mapped[str | None] = mapped_column(String(300))
    number_as_read: Mapped[str | None] = mapped_column(String(20))
    ocr_note: Mapped[str | None] = mapped_column(Text)

    plan: Mapped[Plan] = relationship(back_populates="indicators")
    responsible_unit: Mapped[Unit | None] = relationship()
