"""A known audit trail for tests/test_audit_page.py and tests/test_audit_api.py.

Task 1.a is driven through the engine (started, its "5 rõ" set, drafted, returned with a comment,
drafted again, approved), and a few rows are written through workflows.audit.record with chosen
times around the edges of March 2025 in Asia/Ho_Chi_Minh (UTC+7): local midnight of 1 March is
28/02 17:00 UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from inspect import signature

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Task, User, WorkItem, WorkItemStatus
from workflows.audit import Action, record
from workflows.engine import advance, start_process

RETURN_COMMENT = "Sửa lại phần mục tiêu, bổ sung chỉ tiêu"
VP_COMMENT = "Ý kiến của Văn phòng Sở: đồng ý, đề nghị rà soát lịch trình"
FIVE_CLEARS = {"assignee": "cntt.cv", "expected_result": "Kế hoạch được UBND tỉnh ban hành"}
DRAFT = {"consulted_units": ["VP"], "summary": "Dự thảo kế hoạch chuyển đổi số", **FIVE_CLEARS}


def user(username: str) -> User:
    return db.session.scalars(select(User).where(User.username == username)).one()


def task(code: str) -> Task:
    return db.session.scalars(select(Task).where(Task.code == code)).one()


def _open_item(task_obj: Task) -> WorkItem:
    query = select(WorkItem).where(WorkItem.task_id == task_obj.id, WorkItem.status == WorkItemStatus.OPEN)
    return db.session.scalars(query).one()


def drive_1a() -> Task:
    """Start 1.a and take it draft → returned → draft → approved: six audit rows (one task.updated)."""
    t1a = task("1.a")
    start_process(t1a, user("cntt.cv"))
    advance(_open_item(t1a), user("cntt.cv"), DRAFT, None)
    advance(_open_item(t1a), user("cntt.tp"), {"decision": "return"}, RETURN_COMMENT)
    advance(_open_item(t1a), user("cntt.cv"), DRAFT, None)
    advance(_open_item(t1a), user("cntt.tp"), {"decision": "approve"}, None)
    return t1a


def dated(action: str, username: str, at: datetime, task_obj: Task | None = None, comment=None) -> int:
    """One audit row through workflows.audit.record, with its time set to `at` (UTC)."""
    when = {"at": at} if "at" in signature(record).parameters else {}  # record(at=) with the hash chain
    event = record(action, user(username), task_obj, comment=comment, **when)
    event.at = at
    db.session.commit()
    return event.id


@dataclass
class Edges:
    before_march: int  # hts.cv, 28/02/2025 23:59:59 local
    march_first: int  # hts.cv, 01/03/2025 00:00:00 local
    march_last: int  # hts.cv returned, 31/03/2025 23:59:59 local
    after_march: int  # hts.cv, 01/04/2025 00:00:00 local
    vp_on_1a: int  # vp.cv on 1.a, 15/03/2025 10:00 local, with a Vietnamese comment
    hts_head: int  # hts.tp claimed, 10/03/2025 local


def edge_rows(t1a: Task) -> Edges:
    midnight = datetime(2025, 2, 28, 17, 0, tzinfo=UTC)  # 01/03/2025 00:00 in Asia/Ho_Chi_Minh
    end = datetime(2025, 3, 31, 17, 0, tzinfo=UTC)  # 01/04/2025 00:00 local
    second = timedelta(seconds=1)
    return Edges(
        before_march=dated(Action.STEP_COMPLETED, "hts.cv", midnight - second),
        march_first=dated(Action.STEP_COMPLETED, "hts.cv", midnight),
        march_last=dated(Action.STEP_RETURNED, "hts.cv", end - second),
        after_march=dated(Action.STEP_COMPLETED, "hts.cv", end),
        vp_on_1a=dated(
            Action.STEP_COMPLETED, "vp.cv", datetime(2025, 3, 15, 3, 0, tzinfo=UTC), t1a, VP_COMMENT
        ),
        hts_head=dated(Action.STEP_CLAIMED, "hts.tp", datetime(2025, 3, 10, 2, 0, tzinfo=UTC)),
    )


def bulk_rows(count: int = 130) -> list[int]:
    """`count` rows in January 2025, three at each instant (ties are ordered by id)."""
    start = datetime(2025, 1, 5, 1, 0, tzinfo=UTC)
    names = ["ttcntt.cv", "vp.tp", "giamdoc"]
    return [
        dated(Action.STEP_COMPLETED, names[i % 3], start + timedelta(minutes=i // 3)) for i in range(count)
    ]


def newest_first_ids() -> list[int]:
    """Every audit row, newest first, ordered in Python (ties by id)."""
    events = db.session.scalars(select(AuditEvent)).all()
    return [e.id for e in sorted(events, key=lambda e: (_utc(e.at), e.id), reverse=True)]


def ids_where(predicate) -> set[int]:
    return {e.id for e in db.session.scalars(select(AuditEvent)).all() if predicate(e)}


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
