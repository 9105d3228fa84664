"""The task-type rule (app.services.task_types) on the demo plan, at import, and the guidance gate."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Task, TaskState, User
from app.services.demo import DEMO_PLAN_PATH, DEMO_UNITS_PATH
from app.services.plan_import import import_plan_files
from app.services.task_types import (
    CONTINUOUS_DUTY,
    DRAFT_PLAN,
    GUIDANCE_RECEIVED,
    IMPLEMENT_REPORT,
    REVIEW_PROPOSE,
    TASK_TYPES,
    record_guidance,
    task_type_for,
)
from workflows.engine import start_process
from workflows.errors import Conflict, NotAllowed

# The whole mapping of the demo plan, as the rule gives it (see the report / docs/engine.md).
EXPECTED = {
    "1.a": DRAFT_PLAN,
    "1.b": DRAFT_PLAN,
    "2.a": CONTINUOUS_DUTY,
    "2.b": REVIEW_PROPOSE,
    "3.a": IMPLEMENT_REPORT,
    "3.b": IMPLEMENT_REPORT,
    "3.c": DRAFT_PLAN,
    "4.a": IMPLEMENT_REPORT,
    "4.b": DRAFT_PLAN,
    "4.c": DRAFT_PLAN,
    "4.d": IMPLEMENT_REPORT,
    "4.e": IMPLEMENT_REPORT,
    "4.f": IMPLEMENT_REPORT,
    "4.g": IMPLEMENT_REPORT,
    "4.h": REVIEW_PROPOSE,
    "5": DRAFT_PLAN,
    "6": REVIEW_PROPOSE,
    "7.a": REVIEW_PROPOSE,
    "7.b": DRAFT_PLAN,
    "7.c": IMPLEMENT_REPORT,
    "8.a": IMPLEMENT_REPORT,
    "8.b": DRAFT_PLAN,
    "8.c": CONTINUOUS_DUTY,
    "9.a": DRAFT_PLAN,
    "9.b": IMPLEMENT_REPORT,
    "10.a": CONTINUOUS_DUTY,
    "10.b": IMPLEMENT_REPORT,
    "10.c": DRAFT_PLAN,
}


def task(code: str) -> Task:
    return db.session.scalars(select(Task).where(Task.code == code)).one()


def user(username: str) -> User:
    return db.session.scalars(select(User).where(User.username == username)).one()


@pytest.mark.parametrize(
    ("code", "task_type"),
    [("1.a", DRAFT_PLAN), ("2.a", CONTINUOUS_DUTY), ("3.b", IMPLEMENT_REPORT), ("6", REVIEW_PROPOSE)],
)
def test_required_mappings(app, code, task_type):
    assert task(code).task_type == task_type


def test_9b_waits_for_central_guidance(app):
    assert task("9.b").state == TaskState.WAITING_GUIDANCE
    others = db.session.scalars(select(Task).where(Task.code != "9.b"))
    assert {t.state for t in others} == {TaskState.NOT_STARTED}


def test_every_demo_task_has_a_type_by_the_rule(app):
    tasks = db.session.scalars(select(Task).where(Task.kind == "plan")).all()  # not the reporting tasks
    assert len(tasks) == 28
    assert {t.code: t.task_type for t in tasks} == EXPECTED
    assert {t.task_type for t in tasks} <= set(TASK_TYPES)


def test_words_are_compared_in_nfc_and_case_insensitively():
    decomposed = "RÀ SOÁT quy trình".replace("À", "A\u0300")
    assert task_type_for(decomposed, None, ["none"], True) == REVIEW_PROPOSE
    assert task_type_for("Kế hoạch", "Tham mưu XÂY DỰNG và TRÌNH UBND TỈNH BAN HÀNH", [], True) == DRAFT_PLAN
    assert task_type_for("Rà soát", None, ["continuous"], False) == CONTINUOUS_DUTY
    assert task_type_for("Rà soát", None, ["continuous"], True) == REVIEW_PROPOSE
    assert task_type_for("Rà soát", None, ["on_guidance", "yearly"], False) == REVIEW_PROPOSE


def test_reimport_is_idempotent_and_keeps_a_type_already_set(app):
    t = task("3.b")
    t.task_type = "custom_process"
    db.session.commit()
    stats = import_plan_files(DEMO_PLAN_PATH, DEMO_UNITS_PATH)
    assert not stats.changed
    db.session.expire_all()
    assert task("3.b").task_type == "custom_process"
    assert task("1.a").task_type == DRAFT_PLAN


def test_reimport_types_an_untyped_task_without_touching_its_state(app):
    t = task("9.b")
    t.task_type, t.state = None, TaskState.NOT_STARTED
    db.session.commit()
    stats = import_plan_files(DEMO_PLAN_PATH)
    assert stats.tasks.describe("tasks") == "28 tasks (0 created, 1 updated, 27 unchanged)"
    db.session.expire_all()
    assert (task("9.b").task_type, task("9.b").state) == (IMPLEMENT_REPORT, TaskState.NOT_STARTED)
    assert not import_plan_files(DEMO_PLAN_PATH).changed


def test_9b_cannot_start_until_guidance_is_recorded(app):
    t = task("9.b")
    with pytest.raises(Conflict, match="waiting for central guidance"):
        start_process(t, user("giamdoc"), "draft_plan")
    assert t.state == TaskState.WAITING_GUIDANCE

    record_guidance(t, user("giamdoc"), "Đã có Thông tư hướng dẫn")
    db.session.expire_all()
    t = task("9.b")
    assert t.state == TaskState.NOT_STARTED
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == GUIDANCE_RECEIVED)).one()
    assert (event.task_id, event.actor_username) == (t.id, "giamdoc")
    assert (event.from_state, event.to_state) == (TaskState.WAITING_GUIDANCE, TaskState.NOT_STARTED)
    assert event.comment == "Đã có Thông tư hướng dẫn"

    result = start_process(t, user("giamdoc"), "draft_plan")  # its own process may not be deployed yet
    assert result.task.state not in (TaskState.WAITING_GUIDANCE, TaskState.NOT_STARTED)


def test_waiting_task_is_refused_through_the_api_too(app, client, api_token):
    t = task("9.b")
    response = client.post(
        f"/api/v1/tasks/{t.id}/start", headers={"Authorization": f"Bearer {api_token('giamdoc')}"}
    )
    assert response.status_code == 409
    assert "waiting for central guidance" in response.get_json()["error"]


@pytest.mark.parametrize("username", ["cntt.cv", "hts.tp", "giamsat", "vp.cv"])
def test_only_the_lead_unit_head_leaders_and_admins_record_guidance(app, username):
    t = task("9.b")
    before = db.session.scalar(select(db.func.count(AuditEvent.id)))
    with pytest.raises(NotAllowed):
        record_guidance(t, user(username), None)
    db.session.expire_all()
    assert task("9.b").state == TaskState.WAITING_GUIDANCE
    assert db.session.scalar(select(db.func.count(AuditEvent.id))) == before


@pytest.mark.parametrize("username", ["lead_head", "giamdoc", "admin"])
def test_the_lead_unit_head_leaders_and_admins_may_record_guidance(app, username):
    t = task("9.b")
    if username == "lead_head":
        username = f"{(t.lead_sub_unit or t.lead_unit).code.lower()}.tp"
    record_guidance(t, user(username))
    assert task("9.b").state == TaskState.NOT_STARTED


def test_recording_guidance_twice_is_a_conflict(app):
    t = task("9.b")
    record_guidance(t, user("giamdoc"))
    with pytest.raises(Conflict):
        record_guidance(t, user("giamdoc"))
    with pytest.raises(Conflict):
        record_guidance(task("1.a"), user("giamdoc"))
