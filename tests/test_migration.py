"""Moving running instances to a newer version of their process: the rules of workflows/migration.py.

Version 2 of draft_plan adds "Thẩm định pháp lý" (legal_review) between the unit head's review and the
consultation. SpiffWorkflow 3.2 then counts as changed the review's gateway (review_decision: its outgoing
flows, conditions and default flow) and collect_opinions (its incoming flows): an instance that has passed
the review completed a changed element and stays on version 1; one still drafting or in review moves.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.models import TaskState
from tests.engine_helpers import dump_tables, instance_of, open_item, open_items, task, user
from tests.migration_helpers import (
    SHIPPED_XML,
    act,
    at_consultation,
    by_instance,
    deploy_version,
    migrated_events,
    started,
    version_of,
    with_legal_review,
    without_review,
)
from workflows import engine
from workflows.errors import Conflict, NotAllowed
from workflows.migration import migrate, preview
from workflows.runtime import dump_workflow, load_workflow, loaded_spec, ready_user_tasks

# --- what can move ------------------------------------------------------------------------------


def test_preview_moves_what_has_not_passed_a_changed_element(app):
    drafting, reviewing = started("1.a"), started("1.b", "draft")
    consulting = at_consultation("3.c")
    consolidating = at_consultation("4.b")
    for code in ("VP", "SO_NGANH_DP"):
        act(consolidating, "collect_opinions", code, "vp.cv" if code == "VP" else "cntt.cv")
    v2 = deploy_version(with_legal_review())

    found = by_instance(preview(v2))

    assert set(found) == {instance_of(t).id for t in (drafting, reviewing, consulting, consolidating)}
    assert found[instance_of(drafting).id].movable and found[instance_of(reviewing).id].movable
    assert [s.step for s in found[instance_of(drafting).id].steps] == ["draft"]
    assert [s.step for s in found[instance_of(reviewing).id].steps] == ["review_draft"]
    assert found[instance_of(drafting).id].from_version == 1
    # waiting in the consultation: it completed the changed gateway and waits on the changed step
    consulting_reasons = {
        (r.kind, r.element_id, r.completed) for r in found[instance_of(consulting).id].reasons
    }
    assert consulting_reasons == {
        ("changed", "review_decision", True),
        ("changed", "collect_opinions", False),
    }
    assert [s.step for s in found[instance_of(consulting).id].steps] == ["collect_opinions"]
    # past the changed part: it completed both, so by the rule it stays on version 1 as well
    past = {(r.kind, r.element_id, r.completed) for r in found[instance_of(consolidating).id].reasons}
    assert past == {("changed", "review_decision", True), ("changed", "collect_opinions", True)}
    gateway = next(r for r in found[instance_of(consulting).id].reasons if r.element_id == "review_decision")
    assert gateway.changes == ("outputs", "cond_task_specs", "default_task_spec")
    assert gateway.text == (
        "Bước 'Đồng ý?' (review_decision), mà hồ sơ này đã hoàn thành, đã được sửa đổi ở phiên bản 2 "
        "(luồng đi ra, điều kiện, luồng mặc định)."
    )
    waiting = next(r for r in found[instance_of(consulting).id].reasons if r.element_id == "collect_opinions")
    assert waiting.element_name == "Góp ý dự thảo"
    assert "đang chờ" in waiting.text and "(luồng đi vào)" in waiting.text


def test_an_instance_whose_waiting_step_was_removed_cannot_move(app):
    reviewing = started("1.a", "draft")
    v2 = deploy_version(without_review())

    [candidate] = preview(v2)

    assert not candidate.movable
    reasons = {(r.kind, r.element_id, r.completed) for r in candidate.reasons}
    assert ("removed", "review_draft", False) in reasons
    assert ("changed", "draft", True) in reasons  # its outgoing flow now goes to the consultation
    removed = next(r for r in candidate.reasons if r.kind == "removed")
    assert removed.text == (
        "Bước 'Trưởng đơn vị xem xét dự thảo' (review_draft), mà hồ sơ này đang chờ, đã bị xoá ở phiên bản 2."
    )
    before = dump_tables()
    result = migrate(v2, None, user("admin"))
    assert result.migrated == []
    assert [s.instance_id for s in result.skipped] == [instance_of(reviewing).id]
    assert "review_draft" in result.skipped[0].reason
    assert dump_tables() == before


def test_instances_on_this_version_or_closed_are_not_candidates(app):
    done = started("1.a")
    v2 = deploy_version(with_legal_review())
    on_v2 = started("1.b")
    assert version_of(on_v2) == 2
    instance = instance_of(done)
    instance.status = "cancelled"
    db.session.commit()
    assert preview(v2) == []
    result = migrate(v2, [instance.id, instance_of(on_v2).id, 999_999], user("admin"))
    assert result.migrated == []
    assert sorted(s.instance_id for s in result.skipped) == sorted(
        [instance.id, instance_of(on_v2).id, 999_999]
    )


# --- moving -------------------------------------------------------------------------------------


def test_a_drafting_instance_moves_and_continues_through_the_new_step(app):
    drafting = started("1.a")
    draft_item = open_item(drafting, "draft")
    v2 = deploy_version(with_legal_review())

    result = migrate(v2, [instance_of(drafting).id], user("admin"))

    assert result.migrated == [instance_of(drafting).id] and result.skipped == []
    assert version_of(drafting) == 2
    assert open_items(drafting) == [draft_item]  # the same open step, untouched
    [event] = migrated_events()
    assert (event.actor_username, event.task_id, event.instance_id) == (
        "admin",
        drafting.id,
        instance_of(drafting).id,
    )
    assert event.data == {"process": "draft_plan", "from_version": 1, "to_version": 2}

    act(drafting, "draft")
    act(drafting, "review_draft")
    legal = open_item(drafting, "legal_review")
    assert (legal.name, legal.candidate_unit.code, legal.roles) == (
        "Thẩm định pháp lý",
        "CNTT",
        ["unit_head"],
    )
    assert task("1.a").state == TaskState.REVIEWING
    act(drafting, "legal_review", data={"decision": "approve"})
    assert {item.item_unit.code for item in open_items(drafting, "collect_opinions")} == {"VP", "SO_NGANH_DP"}


def test_the_moved_state_restores_with_the_new_spec(app):
    drafting = started("1.a")
    v2 = deploy_version(with_legal_review())
    migrate(v2, None, user("admin"))
    db.session.expire_all()
    instance = instance_of(drafting)
    workflow = load_workflow(loaded_spec(v2), instance.state)
    assert dump_workflow(workflow) == instance.state
    [ready] = ready_user_tasks(workflow)
    assert str(ready.id) == open_item(drafting, "draft").spiff_task_id
    assert "legal_review" in workflow.spec.task_specs


def test_a_consultation_in_progress_keeps_each_unit_s_item(app):
    """SpiffWorkflow's migrate resets waiting tasks (a multi-instance child forgets its unit): the
    migration puts their data back, so the remaining unit's answer is still recorded under its code."""
    consulting = at_consultation("1.a")
    act(consulting, "collect_opinions", "VP", "vp.cv")
    renamed = SHIPPED_XML.replace('name="Cập nhật văn bản được ban hành"', 'name="Cập nhật văn bản ban hành"')
    v2 = deploy_version(renamed)
    [candidate] = preview(v2)
    assert candidate.movable

    assert migrate(v2, None, user("admin")).migrated == [instance_of(consulting).id]

    act(consulting, "collect_opinions", "SO_NGANH_DP", "cntt.cv")
    open_item(consulting, "consolidate")
    workflow = load_workflow(loaded_spec(v2), instance_of(consulting).state)
    [ready] = ready_user_tasks(workflow)
    assert [o["consulted_unit"] for o in ready.data["opinions"]] == ["VP", "SO_NGANH_DP"]


def test_a_step_completed_after_the_preview_is_skipped_not_half_moved(app):
    reviewing = started("1.a", "draft")
    v2 = deploy_version(with_legal_review())
    [candidate] = preview(v2)
    assert candidate.movable
    act(reviewing, "review_draft")  # meanwhile, the unit head approves: it has passed the gateway
    before = dump_tables()

    result = migrate(v2, [instance_of(reviewing).id], user("admin"))

    assert result.migrated == []
    [skipped] = result.skipped
    assert skipped.instance_id == instance_of(reviewing).id and "review_decision" in skipped.reason
    assert dump_tables() == before


def test_migrating_is_all_or_nothing(app, monkeypatch):
    first, second = started("1.a"), started("1.b", "draft")
    v2 = deploy_version(with_legal_review())
    before = dump_tables()
    original, calls = engine._write_state, []

    def fail_on_the_second(*args, **kwargs):
        calls.append(args[0].id)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return original(*args, **kwargs)

    monkeypatch.setattr(engine, "_write_state", fail_on_the_second)
    with pytest.raises(RuntimeError):
        migrate(v2, None, user("admin"))

    assert calls == sorted([instance_of(first).id, instance_of(second).id])
    assert dump_tables() == before
    assert version_of(first) == version_of(second) == 1


def test_a_step_completed_while_moving_moves_nothing(app, monkeypatch):
    """Another request writes an instance between our read and our write. PostgreSQL: our FOR UPDATE
    makes it wait (here: give up), and the migration goes on. SQLite: the version column notices, and
    nothing moves (409)."""
    first, second = started("1.a"), started("1.b")
    v2 = deploy_version(with_legal_review())
    original, first_id, refused = engine._write_state, instance_of(first).id, []
    on_postgres = db.engine.dialect.name == "postgresql"

    def someone_else_first(instance, *args, **kwargs):
        if instance.id == first_id:
            try:
                with db.engine.begin() as other:  # another connection, committed at once
                    if on_postgres:
                        other.execute(text("SET LOCAL lock_timeout = '200ms'"))
                    bump = "UPDATE process_instances SET lock_version = lock_version + 1 WHERE id = :id"
                    other.execute(text(bump), {"id": instance.id})
            except OperationalError:
                refused.append(instance.id)
        return original(instance, *args, **kwargs)

    monkeypatch.setattr(engine, "_write_state", someone_else_first)
    if on_postgres:
        assert len(migrate(v2, None, user("admin")).migrated) == 2
        assert refused == [first_id] and (version_of(first), version_of(second)) == (2, 2)
        return
    with pytest.raises(Conflict):
        migrate(v2, None, user("admin"))
    assert refused == []
    assert (version_of(first), version_of(second)) == (1, 1)
    assert migrated_events() == []


def test_only_admins_migrate(app):
    drafting = started("1.a")
    v2 = deploy_version(with_legal_review())
    before = dump_tables()
    for username in ("cntt.tp", "giamdoc", "giamsat"):
        with pytest.raises(NotAllowed):
            migrate(v2, None, user(username))
    assert dump_tables() == before
    assert version_of(drafting) == 1
