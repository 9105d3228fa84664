"""Task types: which process a plan task runs, by one rule over its deadline recurrence and words.

The rule (texts compared in NFC, case-insensitively; first match wins):

1. **Waits for central guidance.** A recurrence containing `on_guidance` ("theo hướng dẫn của Trung
   ương") does not decide the type: the type comes from the words (steps 3–5), and a new task is put
   in the state `waiting_guidance`. Its process cannot be started (409) until a unit head of its lead
   unit, a leader or an admin records that the guidance arrived (`record_guidance`: state
   `not_started`, audited as `task.guidance_received`).
2. **A standing duty.** A recurrence containing `continuous` ("thường xuyên") or `yearly` ("hằng
   năm") and no single due date → `continuous_duty` (e.g. 2.a, 8.c, 10.a). A task that recurs *and*
   has a due date (2.b "thường xuyên; hoàn thành trước 31/5/2025", 4.e, 4.g) has a concrete deliverable
   by that date, so its words decide (steps 3–5).
3. **A draft for the Province.** The title or content says "dự thảo", "xin ý kiến", or "xây dựng …
   trình UBND tỉnh ban hành" → `draft_plan`.
4. **Review and propose.** The title contains "rà soát" or "đề xuất" → `review_propose`.
5. Otherwise → `implement_report` (carry it out and report on it).

Import applies the rule to every task whose file gives no `task_type`, and never overwrites a type
already stored, so importing twice changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from app.extensions import db
from app.models import Recurrence, Role, Task, TaskState, User
from app.services.reporting import MONTHLY_CONSOLIDATION, MONTHLY_REPORT
from workflows import audit
from workflows.errors import Conflict, InvalidData, NotAllowed

DRAFT_PLAN = "draft_plan"
REVIEW_PROPOSE = "review_propose"
IMPLEMENT_REPORT = "implement_report"
CONTINUOUS_DUTY = "continuous_duty"
TASK_TYPES = (DRAFT_PLAN, REVIEW_PROPOSE, IMPLEMENT_REPORT, CONTINUOUS_DUTY)
# Run one instance per period, started by the scheduler (workflows/periods.py), never by hand: standing
# duties and the monthly reporting cycle (app/services/reporting.py).
PERIODIC_TYPES = (CONTINUOUS_DUTY, MONTHLY_REPORT, MONTHLY_CONSOLIDATION)

GUIDANCE_RECEIVED = audit.Action.GUIDANCE_RECEIVED

MAX_NOTE_LENGTH = 4000
NOTE_REQUIRED = "required: the number, date and summary of the guidance document"
NOTE_TOO_LONG = f"at most {MAX_NOTE_LENGTH} characters"

_DRAFT_WORDS = re.compile(r"dự thảo|xin ý kiến|xây dựng\b.*\btrình ubnd tỉnh ban hành", re.DOTALL)
_REVIEW_WORDS = re.compile(r"rà soát|đề xuất")


def _fold(text: str | None) -> str:
    return unicodedata.normalize("NFC", text or "").casefold()


def type_by_words(title: str | None, content: str | None) -> str:
    """Steps 3–5 of the rule: draft_plan, review_propose or implement_report."""
    title_text = _fold(title)
    if _DRAFT_WORDS.search(f"{title_text}\n{_fold(content)}"):
        return DRAFT_PLAN
    if _REVIEW_WORDS.search(title_text):
        return REVIEW_PROPOSE
    return IMPLEMENT_REPORT


def waits_for_guidance(recurrence: list[str] | None) -> bool:
    return Recurrence.ON_GUIDANCE in (recurrence or [])


def task_type_for(
    title: str | None, content: str | None, recurrence: list[str] | None, has_due_date: bool
) -> str:
    """The task type the rule gives (see the module docstring)."""
    recurs = {Recurrence.CONTINUOUS, Recurrence.YEARLY} & set(recurrence or [])
    if recurs and not has_due_date and not waits_for_guidance(recurrence):
        return CONTINUOUS_DUTY
    return type_by_words(title, content)


def classify(task: Task) -> str:
    return task_type_for(task.title, task.content, task.recurrence, task.due_date is not None)


def apply_rule(task: Task, *, created: bool) -> bool:
    """Give an untyped task its type; a new task waiting for guidance starts in `waiting_guidance`.

    A type already set is kept. Says whether anything changed. Does not flush or commit.
    """
    changed = False
    if task.task_type is None:
        task.task_type = classify(task)
        changed = True
    if created and waits_for_guidance(task.recurrence) and task.state in (None, TaskState.NOT_STARTED):
        task.state = TaskState.WAITING_GUIDANCE
        changed = True
    return changed


def may_record_guidance(user: User, task: Task) -> bool:
    """Unit heads of the lead unit (or its sub-unit), leaders and admins."""
    if not user.active:
        return False
    if user.has_role(Role.LEADER, Role.ADMIN):
        return True
    lead_ids = {task.lead_unit_id, task.lead_sub_unit_id} - {None}
    return user.unit_id in lead_ids and user.has_role(Role.UNIT_HEAD)


def guidance_note(number: str, issued: date | None, summary: str) -> str:
    """One line naming the guidance document: "Số 12/2025/TT-BKHCN, ngày 05/03/2025: summary"."""
    parts = [f"Số {number.strip()}" if number.strip() else ""]
    if issued is not None:
        parts.append(f"ngày {issued:%d/%m/%Y}")
    head = ", ".join(part for part in parts if part)
    summary = summary.strip()
    return f"{head}: {summary}" if head and summary else head or summary


def record_guidance(task: Task, user: User, note: str | None = None, *, note_required: bool = False) -> Task:
    """Record that the central guidance arrived: the task may now be started. Audited; commits.

    Checked in this order, changing nothing on refusal: NotAllowed 403, Conflict 409 (not waiting),
    InvalidData 422 (`note_required` and the note is blank, or longer than MAX_NOTE_LENGTH; details
    {"note": ...}).
    """
    if not may_record_guidance(user, task):
        raise NotAllowed("only the lead unit's head, leaders and admins may record the guidance")
    if task.state != TaskState.WAITING_GUIDANCE:
        raise Conflict("this task is not waiting for central guidance")
    if note_required and not (note or "").strip():
        raise InvalidData("a note of the guidance document is required", {"note": NOTE_REQUIRED})
    if len(note or "") > MAX_NOTE_LENGTH:
        raise InvalidData("the note is too long", {"note": NOTE_TOO_LONG})
    try:
        before, task.state = task.state, TaskState.NOT_STARTED
        audit.record(GUIDANCE_RECEIVED, user, task, from_state=before, to_state=task.state, comment=note)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return task
