"""Shared by tests/test_migration.py and tests/test_migration_views.py: version 2 of draft_plan with a legal
review step (or without the unit head's review), and instances of 1.a, 1.b, ... at a given step."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, ProcessDefinition
from tests.engine_helpers import form_of, instance_of, open_item, sample_data, task, user
from workflows.deploy import SHIPPED_BPMN_DIR, deploy
from workflows.engine import advance, start_process
from workflows.forms import load_forms
from workflows.migration import INSTANCE_MIGRATED
from workflows.permissions import load_permission_map

SHIPPED_XML = (SHIPPED_BPMN_DIR / "draft_plan.bpmn").read_text(encoding="utf-8")
SHIPPED_FORMS = load_forms(SHIPPED_BPMN_DIR / "forms" / "draft_plan")
PERMISSIONS = load_permission_map(SHIPPED_BPMN_DIR / "permissions" / "draft_plan.json")
LEGAL_REVIEW = """<bpmn:userTask id="legal_review" name="Thẩm định pháp lý">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="unit" value="lead" />
          <spiffworkflow:property name="roles" value="unit_head" />
          <spiffworkflow:property name="task_state" value="reviewing" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_review_approve</bpmn:incoming>
      <bpmn:outgoing>flow_legal_opinions</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="flow_legal_opinions" sourceRef="legal_review" targetRef="collect_opinions" />

    """
ACTORS = {"draft": "cntt.cv", "review_draft": "cntt.tp", "legal_review": "cntt.tp", "consolidate": "cntt.cv"}


def with_legal_review(xml: str = SHIPPED_XML) -> str:
    xml = xml.replace(
        '<bpmn:userTask id="collect_opinions"', LEGAL_REVIEW + '<bpmn:userTask id="collect_opinions"'
    )
    xml = xml.replace(
        'sourceRef="review_decision" targetRef="collect_opinions"',
        'sourceRef="review_decision" targetRef="legal_review"',
    )
    xml = xml.replace(
        "<bpmn:incoming>flow_review_approve</bpmn:incoming>\n      <bpmn:outgoing>flow_opinions_consolidate",
        "<bpmn:incoming>flow_legal_opinions</bpmn:incoming>\n      <bpmn:outgoing>flow_opinions_consolidate",
    )
    lane_ref = "<bpmn:flowNodeRef>review_decision</bpmn:flowNodeRef>"
    xml = xml.replace(lane_ref, lane_ref + "\n        <bpmn:flowNodeRef>legal_review</bpmn:flowNodeRef>")
    assert xml.count("legal_review") == 4
    return xml


def without_review(xml: str = SHIPPED_XML) -> str:
    """The unit head's review removed: the draft goes straight to the consultation."""
    for pattern in (
        r'<bpmn:userTask id="review_draft".*?</bpmn:userTask>',
        r'<bpmn:exclusiveGateway id="review_decision".*?</bpmn:exclusiveGateway>',
        r'<bpmn:sequenceFlow id="flow_review_(gateway|approve)"[^>]*/>',
        r'<bpmn:sequenceFlow id="flow_review_return".*?</bpmn:sequenceFlow>',
        r"<bpmn:flowNodeRef>review_d\w+</bpmn:flowNodeRef>",
        r'<bpmndi:BPMN(Shape|Edge) id="(review_d\w+|flow_review_\w+)_di".*?</bpmndi:BPMN(Shape|Edge)>',
        r"<bpmn:incoming>flow_review_return</bpmn:incoming>",
    ):
        xml = re.sub(pattern, "", xml, flags=re.S)
    xml = xml.replace(
        'sourceRef="draft" targetRef="review_draft"', 'sourceRef="draft" targetRef="collect_opinions"'
    )
    xml = xml.replace(
        "<bpmn:incoming>flow_review_approve</bpmn:incoming>",
        "<bpmn:incoming>flow_draft_review</bpmn:incoming>",
    )
    assert "review_draft" not in xml
    return xml


def deploy_version(xml: str) -> ProcessDefinition:
    result = deploy(xml, dict(SHIPPED_FORMS), source="draft_plan.bpmn", permissions=PERMISSIONS)
    db.session.commit()
    assert result.created
    return db.session.scalar(
        select(ProcessDefinition).where(
            ProcessDefinition.key == "draft_plan", ProcessDefinition.version == result.version
        )
    )


def act(
    task_obj, step: str, item_unit: str | None = None, username: str | None = None, data: dict | None = None
):
    item = open_item(task_obj, step, item_unit)
    return advance(item, user(username or ACTORS[step]), data or sample_data(form_of(item)))


def started(code: str, *steps: str):
    """Task `code` with its process started and `steps` completed (the review approves)."""
    task_obj = task(code)
    start_process(task_obj, user("cntt.cv"))
    for step in steps:
        act(task_obj, step)
    return task_obj


def at_consultation(code: str):
    return started(code, "draft", "review_draft")


def by_instance(candidates) -> dict:
    return {candidate.instance.id: candidate for candidate in candidates}


def version_of(task_obj) -> int:
    db.session.expire_all()
    return instance_of(task_obj).definition.version


def migrated_events() -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == INSTANCE_MIGRATED).order_by(AuditEvent.id)
    return list(db.session.scalars(query))
