"""Plans built by communes (kế hoạch cấp xã) from a framework the department publishes.

A `PlanFramework` (khung kế hoạch) is issued by the department for a year: sections with the content each
commune must write, indicators with the department's target for the year, and suggested tasks (lead and
coordinating offices named as communes usually call them, expected result, budget, completion time).

A `CommunePlan` is one commune's plan from one framework: its content per section, its target per
indicator, and its tasks (the framework's suggestions, edited, plus its own) led by the commune's own
offices. Its workflow runs on a Task row (kind `commune`, task type `commune_plan`) in the department
plan of the framework (`PlanFramework.plan`, made at the first commune plan), because the engine attaches
every process instance to a Task; the commune plan's status is that task's state (see `status`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.plans import Plan, Task, TaskState
from app.models.units import Unit
from app.models.users import User


class FrameworkStatus:
    DRAFT = "draft"
    PUBLISHED = "published"

    ALL = (DRAFT, PUBLISHED)


class CommunePlanStatus:
    """Where a commune plan stands; `NONE` only in overviews (the commune has not started one)."""

    NONE = "none"
    DRAFTING = "drafting"  # the commune office writes it
    RETURNED = "returned"  # sent back by the chairman or the department: the office revises it
    AWAITING_APPROVAL = "awaiting_approval"  # with the commune's chairman
    SUBMITTED = "submitted"  # with the department
    ACKNOWLEDGED = "acknowledged"  # the department acknowledged it

    ALL = (NONE, DRAFTING, RETURNED, AWAITING_APPROVAL, SUBMITTED, ACKNOWLEDGED)
    EDITABLE = (DRAFTING, RETURNED)
    # the task's state (named by the steps of bpmn/commune_plan.bpmn) -> the plan's status
    BY_TASK_STATE = {
        TaskState.NOT_STARTED: DRAFTING,
        TaskState.DRAFTING: DRAFTING,
        TaskState.RETURNED: RETURNED,
        TaskState.AWAITING_APPROVAL: AWAITING_APPROVAL,
        TaskState.UNDER_REVIEW: SUBMITTED,
        TaskState.COMPLETED: ACKNOWLEDGED,
    }


class PlanFramework(db.Model):
    __tablename__ = "plan_frameworks"

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    introduction: Mapped[str | None] = mapped_column(Text)
    submission_due: Mapped[date | None] = mapped_column(Date)  # when communes must send their plans
    status: Mapped[str] = mapped_column(String(20), default=FrameworkStatus.DRAFT, index=True)
    # The department's plan holding one task per commune plan (made with the first commune plan).
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    issuer_unit: Mapped[Unit] = relationship()
    plan: Mapped[Plan | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])
    sections: Mapped[list[FrameworkSection]] = relationship(
        back_populates="framework", order_by="FrameworkSection.position", cascade="all, delete-orphan"
    )
    indicators: Mapped[list[FrameworkIndicator]] = relationship(
        back_populates="framework", order_by="FrameworkIndicator.position", cascade="all, delete-orphan"
    )
    tasks: Mapped[list[FrameworkTask]] = relationship(
        back_populates="framework", order_by="FrameworkTask.position", cascade="all, delete-orphan"
    )

    @property
    def is_published(self) -> bool:
        return self.status == FrameworkStatus.PUBLISHED


class FrameworkSection(db.Model):
    """A section of the plan every commune writes, with what it must contain."""

    __tablename__ = "plan_framework_sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(
        ForeignKey("plan_frameworks.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(20))
    heading: Mapped[str] = mapped_column(Text)
    required_content: Mapped[str | None] = mapped_column(Text)

    framework: Mapped[PlanFramework] = relationship(back_populates="sections")


class FrameworkIndicator(db.Model):
    """An indicator with the department's target for the framework's year."""

    __tablename__ = "plan_framework_indicators"

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(
        ForeignKey("plan_frameworks.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    unit_of_measure: Mapped[str] = mapped_column(String(100))
    target: Mapped[Decimal] = mapped_column(Numeric(16, 3))

    framework: Mapped[PlanFramework] = relationship(back_populates="indicators")


class FrameworkTask(db.Model):
    """A task the department suggests; offices are named as communes usually call them."""

    __tablename__ = "plan_framework_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(
        ForeignKey("plan_frameworks.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    lead_office: Mapped[str | None] = mapped_column(String(300))
    coordinating_offices: Mapped[list] = mapped_column(JSON, default=list)
    expected_result: Mapped[str | None] = mapped_column(Text)
    budget_million_vnd: Mapped[Decimal | None] = mapped_column(Numeric(16, 3))
    completion_time: Mapped[str | None] = mapped_column(String(100))

    framework: Mapped[PlanFramework] = relationship(back_populates="tasks")


class CommunePlan(db.Model):
    __tablename__ = "commune_plans"
    __table_args__ = (UniqueConstraint("framework_id", "commune_unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("plan_frameworks.id"), index=True)
    commune_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    framework: Mapped[PlanFramework] = relationship()
    commune: Mapped[Unit] = relationship()
    task: Mapped[Task] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])
    sections: Mapped[list[CommunePlanSection]] = relationship(
        back_populates="commune_plan", cascade="all, delete-orphan"
    )
    targets: Mapped[list[CommunePlanTarget]] = relationship(
        back_populates="commune_plan", cascade="all, delete-orphan"
    )
    tasks: Mapped[list[CommunePlanTask]] = relationship(
        back_populates="commune_plan", order_by="CommunePlanTask.position", cascade="all, delete-orphan"
    )

    @property
    def status(self) -> str:
        """The process decides: the status follows the task's state (CommunePlanStatus.BY_TASK_STATE)."""
        return CommunePlanStatus.BY_TASK_STATE.get(self.task.state, CommunePlanStatus.DRAFTING)


class CommunePlanSection(db.Model):
    __tablename__ = "commune_plan_sections"
    __table_args__ = (UniqueConstraint("commune_plan_id", "framework_section_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_plan_id: Mapped[int] = mapped_column(
        ForeignKey("commune_plans.id", ondelete="CASCADE"), index=True
    )
    framework_section_id: Mapped[int] = mapped_column(ForeignKey("plan_framework_sections.id"))
    content: Mapped[str] = mapped_column(Text, default="")

    commune_plan: Mapped[CommunePlan] = relationship(back_populates="sections")
    framework_section: Mapped[FrameworkSection] = relationship()


class CommunePlanTarget(db.Model):
    __tablename__ = "commune_plan_targets"
    __table_args__ = (UniqueConstraint("commune_plan_id", "framework_indicator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_plan_id: Mapped[int] = mapped_column(
        ForeignKey("commune_plans.id", ondelete="CASCADE"), index=True
    )
    framework_indicator_id: Mapped[int] = mapped_column(ForeignKey("plan_framework_indicators.id"))
    target: Mapped[Decimal | None] = mapped_column(Numeric(16, 3))
    note: Mapped[str | None] = mapped_column(Text)

    commune_plan: Mapped[CommunePlan] = relationship(back_populates="targets")
    indicator: Mapped[FrameworkIndicator] = relationship()


class CommunePlanTask(db.Model):
    """A task of the commune's plan: from a suggestion of the framework (`framework_task_id`) or its own."""

    __tablename__ = "commune_plan_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_plan_id: Mapped[int] = mapped_column(
        ForeignKey("commune_plans.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    framework_task_id: Mapped[int | None] = mapped_column(ForeignKey("plan_framework_tasks.id"))
    title: Mapped[str] = mapped_column(Text)
    lead_office_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    # unit codes of the commune's offices, in the order given
    coordinating_offices: Mapped[list] = mapped_column(JSON, default=list)
    expected_result: Mapped[str | None] = mapped_column(Text)
    budget_million_vnd: Mapped[Decimal | None] = mapped_column(Numeric(16, 3))
    completion_time: Mapped[str | None] = mapped_column(String(100))

    commune_plan: Mapped[CommunePlan] = relationship(back_populates="tasks")
    framework_task: Mapped[FrameworkTask | None] = relationship()
    lead_office: Mapped[Unit | None] = relationship()
