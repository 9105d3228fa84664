"""BPMN timers fired by the scheduler's tick: a boundary timer on a step that nobody completes in time.

The diagram: `wait_reply` (the lead unit's specialist) carries an interrupting boundary timer of three
days; when it fires, the step is cancelled and `follow_up` opens for the unit head. The engine keeps the
earliest due timer of each instance in `ProcessInstance.next_timer_at`; `tick` fires what is due.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, InstanceStatus, TaskState, WorkItem, WorkItemStatus
from app.services.clock import utcnow
from tests.engine_helpers import instance_of, open_item, open_items, task, user
from workflows.deploy import deploy
from workflows.engine import advance, fire_timers, start_process
from workflows.problems import DefinitionError
from workflows.scheduler import tick

TIMER_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="defs" targetNamespace="http://tiendo.local/test">
  <bpmn:process id="timer_demo" name="Chờ trả lời" isExecutable="true">
    <bpmn:startEvent id="start_event"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="wait_reply" name="Chờ văn bản trả lời">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="roles" value="specialist" />
        <spiffworkflow:property name="task_state" value="collecting_opinions" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="reply_overdue" name="Quá hạn trả lời" attachedToRef="wait_reply">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition id="reply_overdue_timer">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{duration}</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="follow_up" name="Đôn đốc trả lời">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="roles" value="unit_head" />
        <spiffworkflow:property name="task_state" value="consolidating" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end_replied"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_followed"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start_event" targetRef="wait_reply" />
    <bpmn:sequenceFlow id="f2" sourceRef="wait_reply" targetRef="end_replied" />
    <bpmn:sequenceFlow id="f3" sourceRef="reply_overdue" targetRef="follow_up" />
    <bpmn:sequenceFlow id="f4" sourceRef="follow_up" targetRef="end_followed" />
  </bpmn:process>
</bpmn:definitions>
"""


FIVE_CLEARS = {"assignee": "cntt.cv", "expected_result": "Văn bản trả lời"}  # asked at the first step


def deploy_timer_demo(duration: str = '"P3D"') -> None:
    deploy(TIMER_BPMN.format(duration=duration), {}, source="timer_demo.bpmn")
    db.session.commit()


@pytest.fixture
def started(app):
    """1.a running `timer_demo`: its wait_reply step open, the timer due in three days."""
    deploy_timer_demo()
    t1a = task("1.a")
    before = utcnow()
    start_process(t1a, user("cntt.cv"), "timer_demo")
    return t1a, before


def timer_events(task_obj) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.task_id == task_obj.id, AuditEvent.action == "timer.fired")
    return list(db.session.scalars(query))


def test_start_stores_when_the_timer_is_due(started):
    t1a, before = started
    due = instance_of(t1a).next_timer_at
    assert due is not None
    assert before + timedelta(days=3) - timedelta(seconds=5) <= due.replace(tzinfo=before.tzinfo)
    assert due.replace(tzinfo=before.tzinfo) <= utcnow() + timedelta(days=3)


def test_tick_before_the_timer_is_due_fires_nothing(started):
    t1a, before = started
    report = tick(before + timedelta(days=2))
    assert report.done["timers_fired"] == []
    assert [item.step for item in open_items(t1a)] == ["wait_reply"]
    assert timer_events(t1a) == []


def test_a_due_timer_cancels_the_step_and_opens_the_next_one(started):
    t1a, before = started
    instance_id = instance_of(t1a).id
    report = tick(before + timedelta(days=3, minutes=1))

    assert report.done["timers_fired"] == [f"1.a #{instance_id}: Quá hạn trả lời"]
    db.session.expire_all()
    items = db.session.scalars(select(WorkItem).where(WorkItem.task_id == t1a.id).order_by(WorkItem.id)).all()
    assert [(item.step, item.status) for item in items] == [
        ("wait_reply", WorkItemStatus.CANCELLED),
        ("follow_up", WorkItemStatus.OPEN),
    ]
    assert items[1].roles == ["unit_head"]
    [event] = timer_events(t1a)
    assert event.actor_id is None and event.actor_username is None  # the system
    assert (event.from_state, event.to_state) == (TaskState.COLLECTING_OPINIONS, TaskState.CONSOLIDATING)
    assert event.data == {"timers": ["Quá hạn trả lời"]}
    assert instance_of(t1a).next_timer_at is None  # nothing else waits


def test_ticking_twice_at_the_same_moment_fires_once(started):
    t1a, before = started
    moment = before + timedelta(days=4)
    assert len(tick(moment).done["timers_fired"]) == 1
    assert tick(moment).done["timers_fired"] == []
    instance_id = instance_of(t1a).id
    assert fire_timers(instance_id, moment) is None  # another server's late attempt
    assert len(timer_events(t1a)) == 1
    assert [item.step for item in open_items(t1a)] == ["follow_up"]


def test_completing_the_step_in_time_disarms_the_timer(started):
    t1a, before = started
    advance(open_item(t1a, "wait_reply"), user("cntt.cv"), {"decision": "approve", **FIVE_CLEARS})
    instance = instance_of(t1a)
    assert instance.status == InstanceStatus.COMPLETED
    assert instance.next_timer_at is None
    assert tick(before + timedelta(days=10)).done["timers_fired"] == []
    assert timer_events(t1a) == []


def test_the_follow_up_after_a_fired_timer_completes_the_process(started):
    t1a, before = started
    tick(before + timedelta(days=3, minutes=1))
    db.session.expire_all()
    advance(open_item(t1a, "follow_up"), user("cntt.tp"), {"decision": "approve"})  # not a first step
    assert instance_of(t1a).status == InstanceStatus.COMPLETED
    assert task("1.a").state == TaskState.COMPLETED


def test_a_tick_before_the_due_moment_leaves_the_stored_due_moment_alone(started):
    """Nothing due: the tick neither loads the workflow nor moves `next_timer_at`."""
    t1a, before = started
    first_due = instance_of(t1a).next_timer_at
    report = tick(before + timedelta(days=1))  # loads nothing: nothing due
    assert report.done["timers_fired"] == []
    assert instance_of(t1a).next_timer_at == first_due


@pytest.mark.parametrize(
    "expression",
    ["__import__('os').system('true')", "().__class__.__base__.__subclasses__()", "open('/etc/passwd')"],
)
def test_an_unsafe_timer_expression_is_refused_at_deploy(app, expression):
    with pytest.raises(DefinitionError) as error:
        deploy_timer_demo(expression)
    db.session.rollback()
    assert any(problem.element_id == "reply_overdue" for problem in error.value.problems)
