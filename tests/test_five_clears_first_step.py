""" "5 rõ" at the first step: every process opens by asking for what the task still lacks.

The demo plan names a lead unit and the work for every task, but no responsible person and (mostly) no
expected result; 9.b ("theo hướng dẫn của Trung ương") has no deadline either. The first step of each
process must ask for whichever is missing and cannot be completed without it; once given they are on
the task (audited as task.updated) and the step asks no more (it still offers the person and result).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, DuePrecision, TaskState
from app.services.five_clears import missing_clears
from app.services.task_types import record_guidance
from tests.engine_helpers import form_of, open_item, open_items, sample_data, task, user
from workflows.engine import advance, start_process
from workflows.errors import InvalidData
from workflows.periods import start_period

DRAFT = {"consulted_units": ["VP"], "summary": "Dự thảo"}
CLEARS = {"assignee": "cntt.cv", "expected_result": "Kế hoạch được UBND tỉnh ban hành"}


def actor_for(item) -> str:
    """The lead unit's specialist, or its head for a step only heads do (implement_report's `assign`)."""
    unit = item.candidate_unit.code.lower()
    return f"{unit}.cv" if "specialist" in item.roles else f"{unit}.tp"


def updates_of(task_obj) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.task_id == task_obj.id, AuditEvent.action == "task.updated")
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


def test_the_first_step_asks_for_the_missing_person_and_result_and_refuses_without_them(app):
    t1a = task("1.a")
    assert missing_clears(t1a) == ["person", "result"]
    start_process(t1a, user("cntt.cv"))
    draft = open_item(t1a, "draft")
    form = form_of(draft)
    assert {"assignee", "expected_result"} <= set(form["required"])
    assert "deadline" not in form["properties"]  # 1.a has its deadline
    with pytest.raises(InvalidData) as refused:
        advance(draft, user("cntt.cv"), DRAFT)
    assert set(refused.value.details) == {"assignee", "expected_result"}
    with pytest.raises(InvalidData) as refused:
        advance(draft, user("cntt.cv"), {**DRAFT, **CLEARS, "assignee": "admin"})
    assert set(refused.value.details) == {"assignee"}
    assert open_items(t1a, "draft") == [draft] and updates_of(t1a) == []


def test_given_at_the_first_step_they_are_on_the_task_audited_with_the_step(app):
    t1a = task("1.a")
    start_process(t1a, user("cntt.cv"))
    advance(open_item(t1a, "draft"), user("cntt.cv"), {**DRAFT, **CLEARS})
    assert (t1a.assignee.username, t1a.expected_result) == ("cntt.cv", CLEARS["expected_result"])
    assert missing_clears(t1a) == []
    [event] = updates_of(t1a)
    assert event.actor_username == "cntt.cv"
    assert event.data == {
        "before": {"assignee": None, "expected_result": None},
        "after": CLEARS,
        "at_step": True,
    }


def test_once_set_a_returned_first_step_no_longer_requires_them(app):
    t1a = task("1.a")
    start_process(t1a, user("cntt.cv"))
    advance(open_item(t1a, "draft"), user("cntt.cv"), {**DRAFT, **CLEARS})
    advance(open_item(t1a, "review_draft"), user("cntt.tp"), {"decision": "return"}, "Sửa lại")
    again = open_item(t1a, "draft")
    form = form_of(again)
    assert not {"assignee", "expected_result"} & set(form["required"])
    assert {"assignee", "expected_result"} <= set(form["properties"])  # offered to confirm or correct
    advance(again, user("cntt.cv"), DRAFT)
    assert len(updates_of(t1a)) == 1  # nothing changed the second time: nothing audited


def test_only_the_first_step_asks(app):
    t1a = task("1.a")
    start_process(t1a, user("cntt.cv"))
    advance(open_item(t1a, "draft"), user("cntt.cv"), {**DRAFT, **CLEARS})
    review = form_of(open_item(t1a, "review_draft"))
    assert "assignee" not in review["properties"] and "expected_result" not in review["properties"]


def test_a_task_without_a_deadline_gets_one_at_its_first_step(app):
    t9b = task("9.b")
    assert missing_clears(t9b) == ["person", "time", "result"]
    record_guidance(t9b, user("giamdoc"), "Số 12/BKHCN, ngày 01/03/2025: hướng dẫn triển khai")
    start_process(t9b, user("vp.cv"))
    [first] = open_items(t9b)
    form = form_of(first)
    assert {"deadline", "expected_result"} <= set(form["required"])
    data = sample_data(form, deadline="2025-09-30", expected_result="Báo cáo kết quả")
    advance(first, user(actor_for(first)), data)
    assert (t9b.due_date.isoformat(), t9b.due_precision) == ("2025-09-30", DuePrecision.DAY)
    assert missing_clears(t9b) == []


@pytest.mark.parametrize("code", ["3.b", "6"])
def test_every_process_type_opens_by_asking(app, code):
    """implement_report (3.b, its own `assignee` field becomes the task's person) and review_propose (6)."""
    the_task = task(code)
    lead = (the_task.lead_sub_unit or the_task.lead_unit).code.lower()
    start_process(the_task, user(f"{lead}.cv"))
    [first] = open_items(the_task)
    form = form_of(first)
    assert {"assignee", "expected_result"} <= set(form["required"])
    data = sample_data(form)
    advance(first, user(actor_for(first)), data)
    assert the_task.assignee.username == data["assignee"]
    assert missing_clears(the_task) == []


def test_a_standing_duty_period_asks_until_the_person_is_set(app):
    t2a = task("2.a")
    start_period(t2a, "2025-03")
    [first] = open_items(t2a)
    assert t2a.state == TaskState.IN_PROGRESS
    assert {"assignee", "expected_result"} <= set(form_of(first)["required"])


def test_the_step_page_offers_the_lead_unit_s_people_and_starts_from_the_task_s_values(app, client, auth):
    t1a = task("1.a")
    t1a.expected_result = "Kế hoạch tuyên truyền"
    db.session.commit()
    start_process(t1a, user("cntt.cv"))
    draft = open_item(t1a, "draft")
    auth.login("cntt.cv")
    page = client.get(f"/steps/{draft.id}").get_data(as_text=True)
    assert 'name="assignee"' in page and 'value="cntt.cv"' in page
    assert 'value="hts.cv"' not in page  # not of the lead unit
    assert 'value="admin"' not in page  # filed under CNTT, but an administrator is nobody's "person"
    assert "Kế hoạch tuyên truyền" in page  # the result the task already states, to confirm
    assert "rõ người" in page


def test_the_api_says_which_clears_a_task_still_lacks(app, client, api_token):
    headers = {"Authorization": f"Bearer {api_token('giamsat')}"}
    t1a = task("1.a")
    body = client.get(f"/api/v1/tasks/{t1a.id}", headers=headers).get_json()
    assert body["missing_clears"] == ["person", "result"]
    start_process(t1a, user("cntt.cv"))
    advance(open_item(t1a, "draft"), user("cntt.cv"), {**DRAFT, **CLEARS})
    body = client.get(f"/api/v1/tasks/{t1a.id}", headers=headers).get_json()
    assert body["missing_clears"] == []
