"""The engine's service layer (workflows.engine) on the demo database, below the web and API layers.

Task 1.a of the demo plan (lead unit CNTT) runs the shipped `draft_plan` process. Every refused call
must leave the database exactly as it was: compared as a full dump of every table.
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager

import pytest
from SpiffWorkflow.util.task import TaskState as SpiffState
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

import workflows.audit
import workflows.engine
from app.extensions import db
from app.models import (
    AuditEvent,
    InstanceStatus,
    ProcessDefinition,
    ProcessInstance,
    TaskState,
    User,
    WorkItem,
    WorkItemStatus,
)
from app.services.working_days import working_due_at
from tests.engine_helpers import (
    as_json,
    dump_tables,
    form_of,
    instance_of,
    make_commit_fail,
    open_item,
    open_items,
    sample_data,
    task,
    user,
)
from workflows import signals
from workflows.assignment import claim, delegate, release
from workflows.engine import advance, start_process
from workflows.errors import Conflict, InvalidData, NotAllowed, WorkflowError
from workflows.guards import may_act
from workflows.runtime import complete_user_task, find_task, load_workflow, loaded_spec
from workflows.serializer import SERIALIZER_VERSION
from workflows.worklist import current_instance, history_of, worklist_count, worklist_for

CONSULTED = ["VP", "TTCNTT", "SO_NGANH_DP"]
# The first step also states the task's "5 rõ" the plan left open: who is responsible, what result.
FIVE_CLEARS = {"assignee": "cntt.cv", "expected_result": "Kế hoạch được UBND tỉnh ban hành"}
DRAFT = {"consulted_units": CONSULTED, "summary": "Dự thảo Kế hoạch tuyên truyền", **FIVE_CLEARS}
# who completes each step of 1.a (multi-instance: by consulted unit)
ACTORS = {
    "draft": "cntt.cv",
    "review_draft": "cntt.tp",
    ("collect_opinions", "VP"): "vp.cv",
    ("collect_opinions", "TTCNTT"): "ttcntt.tp",
    ("collect_opinions", "SO_NGANH_DP"): "cntt.cv",
    "consolidate": "cntt.cv",
    "leader_approval": "giamdoc",
    "submit_to_committee": "cntt.cv",
    "record_issuance": "cntt.cv",
}
SIGNAL_NAMES = ("step_completing", "step_completed", "process_started", "process_completed")
ALL_SIGNALS = (*SIGNAL_NAMES, "transition_committed")


@pytest.fixture
def t1a(app):
    return task("1.a")


def act(task_obj, step, data=None, comment=None, item_unit=None, username=None):
    """Complete the open `step` of the task as its usual actor, with sample data unless given."""
    item = open_item(task_obj, step, item_unit)
    username = username or ACTORS[(step, item_unit) if item_unit else step]
    return advance(item, user(username), sample_data(form_of(item)) if data is None else data, comment)


def to_review(task_obj):
    start_process(task_obj, user("cntt.cv"))
    act(task_obj, "draft", DRAFT)


def to_opinions(task_obj):
    to_review(task_obj)
    act(task_obj, "review_draft", {"decision": "approve"})


def to_consolidate(task_obj):
    to_opinions(task_obj)
    for code in CONSULTED:
        act(task_obj, "collect_opinions", item_unit=code)


def to_record_issuance(task_obj):
    to_consolidate(task_obj)
    for step in ("consolidate", "leader_approval", "submit_to_committee"):
        act(task_obj, step)


def audit_rows(task_obj) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.task_id == task_obj.id).order_by(AuditEvent.id)
        )
    )


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def committed_count(table: str) -> int:
    """Rows of a table as another connection sees them (only what is committed)."""
    with db.engine.connect() as connection:
        return connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


# --- starting ---------------------------------------------------------------------------------


def test_start_process_creates_instance_first_item_and_audit_row(t1a):
    cv = user("cntt.cv")
    result = start_process(t1a, cv)

    instance = instance_of(t1a)
    assert instance.serializer_version == SERIALIZER_VERSION
    assert instance.status == InstanceStatus.RUNNING and instance.started_by_id == cv.id
    assert instance.definition.key == "draft_plan" and instance.definition.version == 1
    [item] = open_items(t1a)
    assert result.next_items == [item] and result.task is t1a
    assert (item.step, item.candidate_unit.code, item.roles, item.form_key) == (
        "draft",
        "CNTT",
        ["specialist"],
        "draft",
    )
    assert item.item_unit is None and item.assignee is None and item.instance is instance
    assert t1a.state == TaskState.DRAFTING
    [event] = audit_rows(t1a)
    assert event.action == "process.started" and event.instance_id == instance.id
    assert (event.actor_id, event.actor_username, event.actor_name, event.actor_unit_code) == (
        cv.id,
        "cntt.cv",
        cv.full_name,
        "CNTT",
    )
    assert (event.from_state, event.to_state) == (TaskState.NOT_STARTED, TaskState.DRAFTING)
    assert event.data == {"process": "draft_plan", "version": 1}
    assert count(ProcessInstance) == 1


def test_a_second_start_is_a_conflict_and_writes_nothing(t1a):
    start_process(t1a, user("cntt.cv"))
    before = dump_tables()
    with pytest.raises(Conflict):
        start_process(task("1.a"), user("cntt.tp"))
    assert dump_tables() == before


@pytest.mark.parametrize("username", ["hts.cv", "giamsat", "vp.tp"])
def test_start_by_someone_outside_the_lead_unit_is_refused(t1a, username):
    before = dump_tables()
    with pytest.raises(NotAllowed):
        start_process(t1a, user(username))
    assert dump_tables() == before


def test_instance_stores_only_state_and_the_spec_is_stored_once(t1a):
    to_opinions(t1a)
    instance = instance_of(t1a)
    assert "spec" not in instance.state and "subprocess_specs" not in instance.state
    assert "task_specs" not in as_json(instance.state)
    definition = instance.definition
    assert set(definition.spec) == {"spec", "subprocess_specs"}
    assert "task_specs" in definition.spec["spec"]
    assert db.session.scalar(select(func.count()).where(ProcessDefinition.key == "draft_plan")) == 1


# --- advancing --------------------------------------------------------------------------------


def test_advance_writes_one_audit_row_with_data_and_comment(t1a):
    start_process(t1a, user("cntt.cv"))
    instance = instance_of(t1a)
    version, events = instance.lock_version, len(audit_rows(t1a))
    item = open_item(t1a, "draft")

    result = advance(item, user("cntt.cv"), DRAFT, "  Gửi trưởng phòng xem xét  ")

    rows = audit_rows(t1a)
    assert [row.action for row in rows[events:]] == ["task.updated", "step.completed"]  # 5 rõ, then the step
    event = rows[-1]
    assert (event.action, event.step, event.step_name, event.work_item_id) == (
        "step.completed",
        "draft",
        item.name,
        item.id,
    )
    assert event.data == DRAFT and event.comment == "Gửi trưởng phòng xem xét"
    assert (event.from_state, event.to_state) == (TaskState.DRAFTING, TaskState.REVIEWING)
    assert (event.actor_username, event.actor_unit_code, event.instance_id) == (
        "cntt.cv",
        "CNTT",
        instance.id,
    )
    db.session.refresh(instance)
    assert instance.lock_version > version
    assert item.status == WorkItemStatus.COMPLETED and item.completed_by.username == "cntt.cv"
    assert item.completed_at is not None
    [review] = result.next_items
    assert (review.step, review.candidate_unit.code, review.roles) == ("review_draft", "CNTT", ["unit_head"])
    assert open_items(t1a) == [review] and t1a.state == TaskState.REVIEWING


def test_every_step_adds_exactly_one_audit_row_and_bumps_the_lock_version(t1a):
    start_process(t1a, user("cntt.cv"))
    steps = [("draft", DRAFT, None), ("review_draft", {"decision": "approve"}, None)]
    for step, data, unit_code in [*steps, *(("collect_opinions", None, code) for code in CONSULTED)]:
        events, version = len(audit_rows(t1a)), instance_of(t1a).lock_version
        act(t1a, step, data, item_unit=unit_code)
        steps_written = [row for row in audit_rows(t1a)[events:] if row.action.startswith("step.")]
        assert len(steps_written) == 1
        assert instance_of(t1a).lock_version == version + 1


def test_return_produces_step_returned_and_reopens_the_draft(t1a):
    to_review(t1a)
    first_draft = db.session.scalars(select(WorkItem).where(WorkItem.step == "draft")).one()
    result = act(t1a, "review_draft", {"decision": "return"}, comment="Sửa lại phần mục tiêu")
    event = audit_rows(t1a)[-1]
    assert (event.action, event.step, event.comment) == (
        "step.returned",
        "review_draft",
        "Sửa lại phần mục tiêu",
    )
    assert (event.from_state, event.to_state) == (TaskState.REVIEWING, TaskState.DRAFTING)
    [draft] = result.next_items
    assert draft.step == "draft" and draft.id != first_draft.id
    assert draft.spiff_task_id != first_draft.spiff_task_id
    assert t1a.state == TaskState.DRAFTING


def test_multi_instance_items_by_consulted_unit(t1a):
    to_review(t1a)
    result = act(t1a, "review_draft", {"decision": "approve"})
    items = {item.item_unit.code: item for item in result.next_items}
    assert set(items) == set(CONSULTED) and len(result.next_items) == 3
    expected = {
        "VP": ("VP", ["specialist", "unit_head"], "collect_opinions"),
        "TTCNTT": ("TTCNTT", ["specialist", "unit_head"], "collect_opinions"),
        "SO_NGANH_DP": ("CNTT", ["specialist"], "collect_opinions_external"),
    }
    for code, item in items.items():
        assert (item.candidate_unit.code, item.roles, item.form_key) == expected[code], code
        assert item.step == "collect_opinions"
        # "trong thời hạn 10 ngày làm việc": ten working days (weekends and holidays skipped), end of day
        assert item.due_at == working_due_at(item.created_at, 10).astimezone(item.due_at.tzinfo)
    assert len({item.spiff_task_id for item in items.values()}) == 3
    assert t1a.state == TaskState.COLLECTING_OPINIONS


def test_opinions_collect_one_record_per_consulted_unit(t1a):
    to_consolidate(t1a)
    instance = instance_of(t1a)
    workflow = load_workflow(loaded_spec(instance.definition), instance.state)
    [consolidate] = [t for t in workflow.get_tasks(state=SpiffState.READY, manual=True)]
    opinions = consolidate.data["opinions"]
    assert [record["consulted_unit"] for record in opinions] == CONSULTED
    external = opinions[CONSULTED.index("SO_NGANH_DP")]
    assert {"document_number", "document_date", "opinion", "agree"} <= set(external)
    assert all("opinion" in record and "agree" in record for record in opinions)
    assert open_item(t1a, "consolidate").candidate_unit.code == "CNTT"
    assert t1a.state == TaskState.CONSOLIDATING


def test_ready_steps_are_the_ones_spiffworkflow_itself_finds_at_every_stage(t1a):
    """The engine scans the task dictionaries for READY user tasks instead of walking the tree; both
    must agree before, during and after the fan-out, and after a return loop."""
    from workflows.runtime import ready_user_tasks

    def assert_same_ready():
        instance = instance_of(t1a)
        workflow = load_workflow(loaded_spec(instance.definition), instance.state)
        walked = workflow.get_tasks(state=SpiffState.READY, manual=True)
        assert {t.id for t in ready_user_tasks(workflow)} == {t.id for t in walked}
        return len(walked)

    to_review(t1a)
    assert assert_same_ready() == 1
    act(t1a, "review_draft", {"decision": "return"}, "Sửa lại")
    act(t1a, "draft", DRAFT)
    act(t1a, "review_draft", {"decision": "approve"})
    assert assert_same_ready() == 3  # one opinion per consulted body
    act(t1a, "collect_opinions", item_unit="VP")
    assert assert_same_ready() == 2


def test_the_whole_run_completes(t1a):
    to_consolidate(t1a)
    act(t1a, "consolidate")
    act(t1a, "leader_approval", {"decision": "return"}, comment="Bổ sung giải trình")
    act(t1a, "consolidate", {"accepted": "Đã bổ sung", "explanation": "Giải trình"})
    act(t1a, "leader_approval", {"decision": "approve"})
    act(t1a, "submit_to_committee")
    result = act(
        t1a,
        "record_issuance",
        {"issued_number": "123/KH-UBND", "issued_date": "2025-04-01", "result": "Kế hoạch đã ban hành"},
    )
    assert result.next_items == [] and open_items(t1a) == []
    assert (t1a.state, t1a.progress, t1a.result) == (TaskState.COMPLETED, 100, "Kế hoạch đã ban hành")
    instance = instance_of(t1a)
    assert instance.status == InstanceStatus.COMPLETED and instance.ended_at is not None
    actions = [(e.action, e.step) for e in audit_rows(t1a)]
    assert actions == [
        ("process.started", None),
        ("task.updated", None),  # the first step stated who is responsible and the expected result
        ("step.completed", "draft"),
        ("step.completed", "review_draft"),
        *[("step.completed", "collect_opinions")] * 3,
        ("step.completed", "consolidate"),
        ("step.returned", "leader_approval"),
        ("step.completed", "consolidate"),
        ("step.completed", "leader_approval"),
        ("step.completed", "submit_to_committee"),
        ("step.completed", "record_issuance"),
        ("process.completed", None),
    ]
    last = audit_rows(t1a)[-1]
    assert (last.from_state, last.to_state, last.actor_username) == (
        TaskState.SUBMITTED,
        TaskState.COMPLETED,
        "cntt.cv",
    )
    assert db.session.scalar(select(func.count()).select_from(WorkItem).where(WorkItem.status == "open")) == 0


# --- guards: refused calls write nothing ------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "username"),
    [
        ("draft", "hts.cv"),  # another unit
        ("draft", "vp.cv"),  # another unit, right role
        ("draft", "giamsat"),  # supervisor: reads everything, changes nothing
        ("draft", "cntt.tp"),  # right unit, wrong role
        ("draft", "giamdoc"),  # leader: not the step's role
        ("review_draft", "cntt.cv"),  # specialist on the head's step
        ("review_draft", "admin"),
    ],
)
def test_not_allowed_writes_nothing(t1a, step, username):
    to_review(t1a) if step == "review_draft" else start_process(t1a, user("cntt.cv"))
    item = open_item(t1a, step)
    data = DRAFT if step == "draft" else {"decision": "approve"}
    before = dump_tables()
    with pytest.raises(NotAllowed) as error:
        advance(item, user(username), data)
    assert error.value.status == 403
    assert dump_tables() == before


def test_consulted_unit_item_is_only_for_that_unit(t1a):
    to_opinions(t1a)
    before = dump_tables()
    for code, username in [("TTCNTT", "vp.cv"), ("VP", "cntt.cv"), ("SO_NGANH_DP", "vp.cv")]:
        with pytest.raises(NotAllowed):
            advance(open_item(t1a, "collect_opinions", code), user(username), {"opinion": "x", "agree": True})
    assert dump_tables() == before


def _nobody_may_answer(task_obj) -> list[str]:
    people = list(db.session.scalars(select(User)))
    return [
        f"{item.step}/{item.item_unit.code if item.item_unit else '-'}"
        for item in open_items(task_obj)
        if not any(may_act(person, item) for person in people)
    ]


def test_every_offered_consulted_unit_gets_an_item_someone_may_answer(t1a):
    from app.services.form_options import consultable_units

    codes = [code for code, _ in consultable_units(t1a)]
    start_process(t1a, user("cntt.cv"))
    act(t1a, "draft", {"consulted_units": codes, "summary": "Tất cả đơn vị", **FIVE_CLEARS})
    act(t1a, "review_draft", {"decision": "approve"})
    assert len(open_items(t1a, "collect_opinions")) == len(codes)
    assert _nobody_may_answer(t1a) == []


def test_a_unit_nobody_can_answer_for_is_refused_or_answerable(t1a):
    start_process(t1a, user("cntt.cv"))
    try:
        act(
            t1a,
            "draft",
            {"consulted_units": ["LDS", "VP"], "summary": "Xin ý kiến Lãnh đạo Sở", **FIVE_CLEARS},
        )
    except InvalidData as error:
        assert "consulted_units" in error.details
        return
    act(t1a, "review_draft", {"decision": "approve"})
    assert _nobody_may_answer(t1a) == []


def test_completed_item_is_a_conflict(t1a):
    start_process(t1a, user("cntt.cv"))
    item = open_item(t1a, "draft")
    advance(item, user("cntt.cv"), DRAFT)
    before = dump_tables()
    with pytest.raises(Conflict) as error:
        advance(item, user("cntt.cv"), DRAFT)
    assert error.value.status == 409
    assert dump_tables() == before


def _forge_completed(instance, item):
    """Complete the item's Spiff task in the stored state behind the engine's back."""
    loaded = loaded_spec(instance.definition)
    workflow = load_workflow(loaded, instance.state)
    complete_user_task(workflow, find_task(workflow, item.spiff_task_id), DRAFT)
    return workflow


def _forge_cancelled(instance, item):
    state = dict(instance.state)
    state["tasks"] = dict(state["tasks"])
    state["tasks"][item.spiff_task_id] = {**state["tasks"][item.spiff_task_id], "state": SpiffState.CANCELLED}
    return state


@pytest.mark.parametrize("forge", ["completed", "cancelled"])
def test_spiff_task_no_longer_ready_is_a_conflict(t1a, forge):
    from workflows.runtime import dump_workflow

    start_process(t1a, user("cntt.cv"))
    item, instance = open_item(t1a, "draft"), instance_of(t1a)
    if forge == "completed":
        instance.state = dump_workflow(_forge_completed(instance, item))
    else:
        instance.state = _forge_cancelled(instance, item)
    db.session.commit()
    before = dump_tables()
    with pytest.raises(Conflict) as error:
        advance(item, user("cntt.cv"), DRAFT)
    assert "no longer waiting" in error.value.message
    assert dump_tables() == before


def test_invalid_data_names_each_field_and_writes_nothing(t1a):
    start_process(t1a, user("cntt.cv"))
    item = open_item(t1a, "draft")
    before = dump_tables()
    with pytest.raises(InvalidData) as error:
        advance(item, user("cntt.cv"), {})
    assert error.value.status == 422
    # the form's own fields, and the "5 rõ" the first step asks for: 1.a names no person and no result
    assert set(error.value.details) == {"consulted_units", "summary", "assignee", "expected_result"}
    with pytest.raises(InvalidData) as error:
        advance(
            item,
            user("cntt.cv"),
            {
                "consulted_units": ["VP", "NO_SUCH_UNIT"],
                "summary": 5,
                "assignee": "hts.cv",
                "expected_result": "",
            },
        )
    assert set(error.value.details) == {"consulted_units", "summary", "assignee", "expected_result"}
    assert "NO_SUCH_UNIT" in error.value.details["consulted_units"]
    with pytest.raises(InvalidData) as error:
        advance(item, user("cntt.cv"), {**DRAFT, "extra": 1})
    assert "extra" in error.value.details["data"]
    with pytest.raises(InvalidData) as error:
        advance(item, user("cntt.cv"), ["not", "an", "object"])
    assert set(error.value.details) == {"data"}
    assert dump_tables() == before


def test_return_without_comment_is_invalid(t1a):
    to_review(t1a)
    before = dump_tables()
    with pytest.raises(InvalidData) as error:
        act(t1a, "review_draft", {"decision": "return"}, comment="   ")
    assert set(error.value.details) == {"comment"}
    assert dump_tables() == before


def test_instance_changed_under_the_step_is_a_conflict(t1a):
    """Another writer bumps the instance's lock_version mid-step: StaleDataError -> Conflict, nothing kept."""
    start_process(t1a, user("cntt.cv"))
    item = open_item(t1a, "draft")
    before = dump_tables()

    def concurrent_writer(sender, **kwargs):
        db.session.execute(text("UPDATE process_instances SET lock_version = lock_version + 1"))

    with signals.step_completing.connected_to(concurrent_writer), pytest.raises(Conflict) as error:
        advance(item, user("cntt.cv"), DRAFT)
    assert error.value.status == 409
    assert dump_tables() == before


# --- worklist and assignment ------------------------------------------------------------------


def test_worklist_shows_exactly_the_items_each_user_may_complete(t1a):
    to_opinions(t1a)
    items = open_items(t1a)
    for person in db.session.scalars(select(User).order_by(User.username)):
        expected = {item.id for item in items if may_act(person, item)}
        assert {item.id for item in worklist_for(person)} == expected, person.username
        assert worklist_count(person) == len(expected), person.username
    assert {i.id for i in worklist_for(user("cntt.cv"))} == {
        open_item(t1a, "collect_opinions", "SO_NGANH_DP").id
    }


def test_claim_release_delegate_are_audited_and_steer_who_may_act(t1a):
    to_opinions(t1a)
    item = open_item(t1a, "collect_opinions", "VP")
    claim(item, user("vp.cv"))
    assert item.assignee.username == "vp.cv"
    assert worklist_for(user("vp.tp")) == []
    before = dump_tables()
    with pytest.raises(NotAllowed):
        advance(item, user("vp.tp"), {"opinion": "x", "agree": True})
    with pytest.raises(Conflict):
        claim(item, user("vp.tp"))
    assert dump_tables() == before
    release(item, user("vp.tp"))  # the unit head may release
    delegate(item, user("vp.tp"), "vp.cv")
    before = dump_tables()
    with pytest.raises(InvalidData) as error:
        delegate(item, user("vp.tp"), "hts.cv")
    assert set(error.value.details) == {"to"}
    assert dump_tables() == before
    advance(item, user("vp.cv"), {"opinion": "Nhất trí", "agree": True})
    actions = [(e.action, e.actor_username, e.step) for e in history_of(t1a)][-4:]
    assert actions == [
        ("step.claimed", "vp.cv", "collect_opinions"),
        ("step.released", "vp.tp", "collect_opinions"),
        ("step.delegated", "vp.tp", "collect_opinions"),
        ("step.completed", "vp.cv", "collect_opinions"),
    ]
    assert history_of(t1a)[-2].data == {"to": "vp.cv"}


def test_history_is_the_audit_trail_oldest_first(t1a):
    to_opinions(t1a)
    assert [e.id for e in history_of(t1a)] == [e.id for e in audit_rows(t1a)]
    assert current_instance(t1a) is instance_of(t1a)


# --- signals ----------------------------------------------------------------------------------


@contextmanager
def recording():
    """Every engine signal, as (name, sender, kwargs), in the order sent."""
    calls: list[tuple] = []

    def receiver(name):
        return lambda sender, **kwargs: calls.append((name, sender, kwargs))

    with ExitStack() as stack:
        for name in ALL_SIGNALS:
            stack.enter_context(getattr(signals, name).connected_to(receiver(name)))
        yield calls


def test_start_signals(t1a):
    cv = user("cntt.cv")
    with recording() as calls:
        start_process(t1a, cv)
    instance = instance_of(t1a)
    assert [name for name, _, _ in calls] == ["process_started", "transition_committed"]
    assert calls[0][1:] == (instance, {"user": cv})
    assert calls[1][1] is t1a
    assert [e.action for e in calls[1][2]["events"]] == ["process.started"]


def test_advance_signals_in_order_with_their_arguments(t1a):
    start_process(t1a, user("cntt.cv"))
    item, cv = open_item(t1a, "draft"), user("cntt.cv")
    seen = {}

    def at_completing(sender, **kwargs):
        seen["completing_audit"] = count(AuditEvent)

    def at_completed(sender, **kwargs):
        seen["completed_audit"] = count(AuditEvent)
        seen["completed_committed"] = committed_count("audit_events")

    def at_committed(sender, **kwargs):
        seen["committed"] = committed_count("audit_events")

    events_before = count(AuditEvent)
    with (
        recording() as calls,
        signals.step_completing.connected_to(at_completing),
        signals.step_completed.connected_to(at_completed),
        signals.transition_committed.connected_to(at_committed),
    ):
        result = advance(item, cv, DRAFT, "Gửi")

    assert [name for name, _, _ in calls] == ["step_completing", "step_completed", "transition_committed"]
    assert calls[0][1:] == (item, {"user": cv, "data": DRAFT, "comment": "Gửi"})
    assert calls[1][1:] == (
        item,
        {"user": cv, "data": DRAFT, "comment": "Gửi", "next_items": result.next_items},
    )
    assert calls[2][1] is t1a
    updated, event = calls[2][2]["events"]  # the first step set the task's 5 rõ, then completed
    assert updated.action == "task.updated"
    assert (event.action, event.step, event.work_item_id) == ("step.completed", "draft", item.id)
    # step_completing before any write; step_completed inside the transaction; transition_committed after it
    assert seen == {
        "completing_audit": events_before,
        "completed_audit": events_before + 2,
        "completed_committed": events_before,
        "committed": events_before + 2,
    }


def test_last_step_signals_process_completed(t1a):
    to_record_issuance(t1a)
    item, cv = open_item(t1a, "record_issuance"), user("cntt.cv")
    data = sample_data(form_of(item))
    with recording() as calls:
        advance(item, cv, data)
    instance = instance_of(t1a)
    names = [name for name, _, _ in calls]
    assert names == ["step_completing", "step_completed", "process_completed", "transition_committed"]
    assert calls[2][1:] == (instance, {"user": cv})
    assert [e.action for e in calls[3][2]["events"]] == ["step.completed", "process.completed"]


def test_a_veto_refuses_the_step_and_writes_nothing(t1a):
    start_process(t1a, user("cntt.cv"))
    item = open_item(t1a, "draft")
    before = dump_tables()

    def veto(sender, **kwargs):
        raise signals.StepVetoed("Chưa đủ hồ sơ")

    with signals.step_completing.connected_to(veto), recording() as calls:
        with pytest.raises(signals.StepVetoed, match="Chưa đủ hồ sơ"):
            advance(item, user("cntt.cv"), DRAFT)
    assert {name for name, _, _ in calls} <= {"step_completing"}  # nothing after the veto
    assert dump_tables() == before
    advance(open_item(t1a, "draft"), user("cntt.cv"), DRAFT)
    assert t1a.state == TaskState.REVIEWING


@pytest.mark.parametrize("signal_name", ["step_completed", "process_completed"])
def test_a_failing_in_transaction_receiver_rolls_everything_back(t1a, signal_name):
    to_record_issuance(t1a)
    item = open_item(t1a, "record_issuance")
    before = dump_tables()

    def fail(sender, **kwargs):
        raise RuntimeError("receiver failed")

    with getattr(signals, signal_name).connected_to(fail), pytest.raises(RuntimeError, match="receiver"):
        advance(item, user("cntt.cv"), sample_data(form_of(item)))
    assert dump_tables() == before


def test_a_failing_after_commit_receiver_does_not_undo_the_step(t1a):
    """`transition_committed` runs after the commit: its failure surfaces but the step stays done."""
    start_process(t1a, user("cntt.cv"))

    def fail(sender, **kwargs):
        raise RuntimeError("notification failed")

    with signals.transition_committed.connected_to(fail), pytest.raises(RuntimeError):
        advance(open_item(t1a, "draft"), user("cntt.cv"), DRAFT)
    assert [item.step for item in open_items(t1a)] == ["review_draft"]


# --- fault injection: every stage of advance rolls back completely ----------------------------


class Boom(Exception):
    pass


def _boom(*args, **kwargs):
    raise Boom("injected fault")


def _commit_that_fails_after_flush():
    db.session.flush()
    raise OperationalError("COMMIT", {}, Exception("disk I/O error"))


FAULTS = {
    "load_workflow": (workflows.engine, "load_workflow", _boom),
    "complete_user_task": (workflows.engine, "complete_user_task", _boom),
    "dump_workflow": (workflows.engine, "dump_workflow", _boom),
    "sync_work_items": (workflows.engine, "sync_work_items", _boom),
    "state_while_open": (workflows.engine, "state_while_open", _boom),
    "audit.record": (workflows.audit, "record", _boom),
    "commit": (db.session, "commit", _boom),
    "commit-after-flush": (db.session, "commit", _commit_that_fails_after_flush),
}
# (name, how to get there, the step, its consulted unit): a plain step, the fan-out, the last step
SCENARIOS = {
    "draft": (lambda t: start_process(t, user("cntt.cv")), "draft", None),
    "fan-out": (to_review, "review_draft", None),
    "last-step": (to_record_issuance, "record_issuance", None),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("fault", FAULTS)
def test_fault_at_each_stage_changes_nothing_and_a_retry_succeeds(t1a, monkeypatch, fault, scenario):
    if (fault, scenario) == ("state_while_open", "last-step"):
        pytest.skip("the last step completes the process: no open state to compute")
    prepare, step, item_unit = SCENARIOS[scenario]
    prepare(t1a)
    item = open_item(t1a, step, item_unit)
    data = DRAFT if step == "draft" else sample_data(form_of(item))
    username = ACTORS[step]
    before = dump_tables()
    target, name, replacement = FAULTS[fault]
    monkeypatch.setattr(target, name, replacement)
    with pytest.raises((Boom, OperationalError)):
        advance(item, user(username), data, "thử")
    monkeypatch.undo()
    assert dump_tables() == before

    result = advance(open_item(t1a, step, item_unit), user(username), data, "thử")
    after = dump_tables()
    assert len(after["audit_events"]) > len(before["audit_events"])
    assert result.task.state != TaskState.NOT_STARTED
    if scenario == "last-step":
        assert t1a.state == TaskState.COMPLETED
    else:
        assert result.next_items and all(i.status == WorkItemStatus.OPEN for i in result.next_items)


def test_a_deadlock_ending_the_step_is_a_conflict_to_retry(t1a, monkeypatch):
    """PostgreSQL ends one of two transactions waiting for each other's locks: that step is a 409 with
    nothing written, and sending it again succeeds."""
    start_process(t1a, user("cntt.cv"))
    item = open_item(t1a, "draft", None)
    before = dump_tables()

    make_commit_fail(monkeypatch, "40P01")  # psycopg's errors.DeadlockDetected
    with pytest.raises(Conflict, match="try again"):
        advance(item, user("cntt.cv"), DRAFT, None)
    monkeypatch.undo()
    assert dump_tables() == before
    result = advance(open_item(t1a, "draft", None), user("cntt.cv"), DRAFT, None)
    assert [i.step for i in result.next_items] == ["review_draft"]


@pytest.mark.parametrize(
    "fault",
    [
        (workflows.engine, "new_workflow"),
        (workflows.engine, "dump_workflow"),
        (workflows.engine, "sync_work_items"),
        (workflows.audit, "record"),
        (db.session, "commit"),
    ],
    ids=lambda f: f[1],
)
def test_fault_while_starting_changes_nothing(t1a, monkeypatch, fault):
    before = dump_tables()
    monkeypatch.setattr(*fault, _boom)
    with pytest.raises(Boom):
        start_process(t1a, user("cntt.cv"))
    monkeypatch.undo()
    assert dump_tables() == before
    start_process(task("1.a"), user("cntt.cv"))
    assert [item.step for item in open_items(t1a)] == ["draft"]


def test_engine_errors_are_workflow_errors_with_a_client_status():
    """Every error the engine raises on purpose maps to a 4xx (the views rely on WorkflowError.status)."""
    from workflows.errors import ProcessFailed

    expected = {NotAllowed: 403, Conflict: 409, InvalidData: 422, ProcessFailed: 422, signals.StepVetoed: 409}
    for error, status in expected.items():
        assert issubclass(error, WorkflowError) and error.status == status, error


def test_a_completed_task_cannot_be_started_again(t1a):
    t1a.state = TaskState.COMPLETED
    db.session.commit()
    before = dump_tables()
    with pytest.raises(Conflict):
        start_process(t1a, user("cntt.cv"))
    assert dump_tables() == before
