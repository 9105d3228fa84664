"""The append-only audit trail: one row per transition. This module only ever inserts.

Tamper evidence: every row carries `prev_hash` (the hash of the row before it, by id; 64 zeros for the
first) and `hash`, SHA-256 over `canonical(...)` of its content with that `prev_hash`. Changing, removing,
inserting or reordering rows breaks the chain; workflows/audit_verify.py finds the first broken row.

The chain is linear because `record()` reads the last hash inside the writing transaction, while holding
the lock that every other writer of audit rows needs:
- PostgreSQL: `pg_advisory_xact_lock(CHAIN_LOCK)`, held until the transaction ends, taken before the last
  hash is read (in READ COMMITTED each statement sees what committed before it). Chain order = id order
  = commit order.
- SQLite: the database's single writer lock. The callers have written before they record (the engine,
  assignment, task editing, attachments, guidance); when nothing was written yet (a sign-in, a failed
  sign-in) `record()` takes the lock itself with `BEGIN IMMEDIATE`, which SQLite allows because pysqlite
  opens a transaction only at the first write.
Either way `prev_hash` is unique, so a fork would fail at the database rather than pass.
Rows recorded earlier in the same transaction and not flushed yet chain through `session.info`.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import AuditEvent, ProcessInstance, Task, User, WorkItem
from app.services.clock import as_utc, utcnow
from workflows.row_writes import insert_new

GENESIS = "0" * 64
# Every column of audit_events but `id` and `hash`, in a fixed list (a test checks it against the table):
# a new column must be added here and the chain of existing rows recomputed by its migration.
HASHED_FIELDS = (
    "at",
    "actor_id",
    "actor_username",
    "actor_name",
    "actor_unit_code",
    "action",
    "task_id",
    "instance_id",
    "work_item_id",
    "step",
    "step_name",
    "from_state",
    "to_state",
    "comment",
    "data",
    "prev_hash",
)
CHAIN_LOCK = 7_105_647_600_000_001  # pg_advisory_xact_lock key of the audit chain
_HEAD = "audit_chain_head"  # session.info: the hash of the last row recorded in this transaction


class Action:
    PROCESS_STARTED = "process.started"
    PROCESS_COMPLETED = "process.completed"
    STEP_COMPLETED = "step.completed"
    STEP_RETURNED = "step.returned"
    STEP_CLAIMED = "step.claimed"
    STEP_RELEASED = "step.released"
    STEP_DELEGATED = "step.delegated"
    STEP_REASSIGNED = "step.reassigned"
    TIMER_FIRED = "timer.fired"
    TASK_UPDATED = "task.updated"
    GUIDANCE_RECEIVED = "task.guidance_received"
    FILE_ADDED = "task.file_added"
    # without a task: who came in, what was deployed, imported, created
    SIGNED_IN = "auth.signed_in"
    SIGNED_OUT = "auth.signed_out"
    SIGN_IN_FAILED = "auth.sign_in_failed"
    TOKEN_ISSUED = "auth.token_issued"
    TOKEN_REFUSED = "auth.token_refused"
    DEFINITION_DEPLOYED = "definition.deployed"
    DRAFT_SAVED = "definition.draft_saved"
    DRAFT_DISCARDED = "definition.draft_discarded"
    INSTANCE_MIGRATED = "instance.migrated"
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    UNIT_CREATED = "unit.created"
    UNIT_UPDATED = "unit.updated"
    PLAN_IMPORTED = "plan.imported"
    PLAN_EXPORTED = "plan.exported"
    AUDIT_EXPORTED = "audit.exported"
    INDICATOR_VALUE_RECORDED = "indicator.value_recorded"


def record(
    action: str,
    actor: User | None,
    task: Task | None,
    *,
    instance: ProcessInstance | None = None,
    item: WorkItem | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    comment: str | None = None,
    data: dict | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add one audit row to the current transaction, with a snapshot of who the actor was, chained to
    the row before it. `at` (UTC; default now) is for tests and imports of older records. The row must
    not be changed afterwards: its hash is computed here."""
    values = {
        "at": as_utc(at) if at else utcnow(),
        "actor_id": actor.id if actor else None,
        "actor_username": actor.username if actor else None,
        "actor_name": actor.full_name if actor else None,
        "actor_unit_code": actor.unit.code if actor else None,
        "action": action,
        "task_id": task.id if task else None,
        "instance_id": instance.id if instance else None,
        "work_item_id": item.id if item else None,
        "step": item.step if item else None,
        "step_name": item.name if item else None,
        "from_state": from_state,
        "to_state": to_state,
        "comment": (comment or "").strip() or None,
        # as the JSON column will give it back (tuples as lists, keys as strings), so the hash matches
        "data": json.loads(json.dumps(data, ensure_ascii=False)) if data else None,
    }
    session = db.session()
    values["prev_hash"] = _chain_head(session)
    values["hash"] = content_hash(values)
    [event] = insert_new(AuditEvent, [values])  # now: the next row of the chain reads this one's hash
    session.info[_HEAD] = event.hash
    return event


def row_values(event: AuditEvent) -> dict[str, Any]:
    """The hashed content of a row: every field of HASHED_FIELDS."""
    return {name: getattr(event, name) for name in HASHED_FIELDS}


def canonical(values: Mapping[str, Any]) -> bytes:
    """The one serialization that is hashed: the fields of HASHED_FIELDS as a JSON object with sorted
    keys, timestamps as UTC ISO 8601 with microseconds, every string in Unicode NFC, UTF-8."""
    content = {name: _canonical_value(values[name]) for name in HASHED_FIELDS}
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def content_hash(values: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of `canonical(values)`; `values` includes `prev_hash`."""
    return hashlib.sha256(canonical(values)).hexdigest()


def _canonical_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_utc(value).isoformat(timespec="microseconds")
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, Mapping):
        return {unicodedata.normalize("NFC", str(k)): _canonical_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical_value(v) for v in value]
    return value


# Built once (every step reads it): a reused statement keeps its cache key. Of table columns: a select of
# mapped attributes goes through the ORM's loader.
_EVENTS = AuditEvent.__table__.c
_LAST_HASH = select(_EVENTS.hash).order_by(_EVENTS.id.desc()).limit(1)


def _chain_head(session: Session) -> str:
    """The hash of the last row, read under the chain's lock (see the module's docstring)."""
    head = session.info.get(_HEAD)
    if head is not None:
        return head
    _take_chain_lock(session)
    last = session.scalar(_LAST_HASH)
    return last or GENESIS


def _take_chain_lock(session: Session) -> None:
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})
    elif dialect == "sqlite":
        session.flush()  # the caller's pending changes: their first write takes the writer lock
        if not connection.connection.dbapi_connection.in_transaction:  # nothing written yet: lock now
            connection.exec_driver_sql("BEGIN IMMEDIATE")


@event.listens_for(Session, "after_transaction_end")
def _forget_head(session: Session, transaction) -> None:
    """A commit, a rollback or the end of a savepoint: read the last hash from the database again."""
    session.info.pop(_HEAD, None)
