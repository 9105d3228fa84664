"""Process definitions, running instances, work items (the worklist) and the audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DDL,
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.plans import Task
from app.models.units import Unit
from app.models.users import Role, User


class ProcessDefinition(db.Model):
    """One immutable version of a BPMN process, with its forms and its parsed spec (stored once)."""

    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    bpmn_xml: Mapped[str] = mapped_column(Text, deferred=True)
    checksum: Mapped[str] = mapped_column(String(64))
    forms: Mapped[dict] = mapped_column(JSON, default=dict)
    # Who may view / edit fields / edit files per task state (workflows/permissions.py); None: the default.
    permissions: Mapped[dict | None] = mapped_column(JSON)
    spec: Mapped[dict] = mapped_column(JSON, deferred=True)  # read once per process (runtime cache)
    source: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    deployed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    deployed_by: Mapped[User | None] = relationship()


class InstanceStatus:
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    ALL = (RUNNING, COMPLETED, CANCELLED)


class ProcessInstance(db.Model):
    """A running (or finished) process for a task. Holds only the workflow state, never the spec."""

    __tablename__ = "process_instances"
    # One instance per period of a standing duty: a second start of the same period fails here.
    __table_args__ = (UniqueConstraint("task_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), index=True)
    state: Mapped[dict] = mapped_column(JSON, deferred=True)  # only the engine reads it
    serializer_version: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=InstanceStatus.RUNNING, index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False)
    # "2025-03" (monthly) or "2025" (yearly) for a standing duty's period instance; None otherwise.
    period: Mapped[str | None] = mapped_column(String(10))
    # When the earliest BPMN timer of this instance is due (UTC); fired by the tick (workflows/timers.py).
    next_timer_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)

    task: Mapped[Task] = relationship()
    definition: Mapped[ProcessDefinition] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}


class WorkItemStatus:
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    ALL = (OPEN, COMPLETED, CANCELLED)


# The condition of the partial index of held work items (the same text is in migration d8e9f0a1b2c3).
HELD_ITEMS = "assignee_id IS NOT NULL"


class WorkItem(db.Model):
    """The worklist row of one READY user task. Worklists read only this table."""

    __tablename__ = "work_items"
    # The worklist and its count (workflows/worklist.py) read the open items branch by branch, each an
    # index range in due order: the user's own (status, assignee), and the unassigned ones of a unit or of
    # no unit for one set of candidate roles (status, assignee NULL, candidate unit NULL or one served,
    # candidate roles equal to a set that holds one of the user's roles), so that nobody's list or count
    # reads the items waiting for other roles. The first holds only held items (partial: `assignee_id = ?`
    # implies it), so that an unassigned branch never walks it in due order.
    __table_args__ = (
        Index("ix_work_items_open_by_unit", "status", "candidate_unit_id"),
        Index(
            "ix_work_items_status_assignee_due",
            "status",
            "assignee_id",
            "due_at",
            "id",
            sqlite_where=text(HELD_ITEMS),
            postgresql_where=text(HELD_ITEMS),
        ),
        Index(
            "ix_work_items_status_assignee_unit_roles_due",
            "status",
            "assignee_id",
            "candidate_unit_id",
            "candidate_roles",
            "due_at",
            "id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    step: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(200))
    form_key: Mapped[str | None] = mapped_column(String(100))
    candidate_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    # ",specialist,unit_head,": the roles that act, in Role.ACTING's order (encode_roles), so that one set
    # of roles is always the same string and worklists find it by equality
    candidate_roles: Mapped[str] = mapped_column(String(100))
    item_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    delegated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    status: Mapped[str] = mapped_column(String(20), default=WorkItemStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    instance: Mapped[ProcessInstance] = relationship()
    task: Mapped[Task] = relationship()
    candidate_unit: Mapped[Unit | None] = relationship(foreign_keys=[candidate_unit_id])
    item_unit: Mapped[Unit | None] = relationship(foreign_keys=[item_unit_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])

    @property
    def roles(self) -> list[str]:
        return [role for role in self.candidate_roles.split(",") if role]

    @staticmethod
    def encode_roles(roles) -> str:
        """The roles as stored: those that act (no step waits for a supervisor), in Role.ACTING's order,
        each once, between commas."""
        wanted = set(roles)
        return "," + ",".join(role for role in Role.ACTING if role in wanted) + ","


class AuditEvent(db.Model):
    """One transition, append-only: nothing in the app updates or deletes these rows."""

    __tablename__ = "audit_events"
    # The audit page's filters, newest first (keyset on at, id): each stays an index range scan at a
    # million rows (bench/audit_query_cost.py). Each also serves lookups by its first column alone, so
    # no column has a single-column index: every audit row is written into every index.
    __table_args__ = (
        # the whole trail newest first (the audit list unfiltered, the dashboard's latest events): in
        # (at, id) order, so a page stops after its rows even where many rows share one instant
        Index("ix_audit_events_at_id", "at", "id"),
        Index("ix_audit_events_actor_id_at", "actor_id", "at", "id"),
        Index("ix_audit_events_actor_unit_code_at", "actor_unit_code", "at", "id"),
        Index("ix_audit_events_task_id_at", "task_id", "at", "id"),
        Index("ix_audit_events_action_at", "action", "at", "id"),
        # one process instance's rows in order: the step page's earlier entries, the reports
        Index("ix_audit_events_instance_id_at", "instance_id", "at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_username: Mapped[str | None] = mapped_column(String(80))
    actor_name: Mapped[str | None] = mapped_column(String(200))
    actor_unit_code: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(50))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_items.id"))
    step: Mapped[str | None] = mapped_column(String(100))
    step_name: Mapped[str | None] = mapped_column(String(300))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str | None] = mapped_column(String(30))
    comment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSON)
    # The hash chain (workflows/audit.py): `hash` is SHA-256 over this row's content with `prev_hash`, the
    # hash of the row before it (64 zeros for the first). `prev_hash` is unique, so the chain cannot fork;
    # `hash` needs no index of its own (nothing looks a row up by it; migration e4f5a6b7c8d0).
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64))


# PostgreSQL refuses every UPDATE, DELETE and TRUNCATE of the audit trail (the same SQL is in migration
# a1b2c3d4e5f6; `create_all` databases get it too). SQLite has no such trigger: the app never does either.
AUDIT_APPEND_ONLY_DDL = (
    """CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = 'audit_events is append-only: ' || TG_OP || ' refused';
END
$$""",
    """CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""",
    """CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()""",
)
for _statement in AUDIT_APPEND_ONLY_DDL:
    event.listen(AuditEvent.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
