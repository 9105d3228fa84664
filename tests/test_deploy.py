"""Deploying process definitions: immutable versions, and every reason a document cannot run here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select

import workflows.bpmn_xml
from app.extensions import db
from app.models import ProcessDefinition
from tests.engine_helpers import dump_tables, form_of, instance_of, open_item, sample_data, task, user
from workflows.bpmn_xml import MAX_BPMN_BYTES, DocumentTooLarge
from workflows.deploy import SHIPPED_BPMN_DIR, deploy, sync_shipped
from workflows.engine import advance, latest_definition, start_process
from workflows.forms import DEFAULT_DECISION_FORM, load_forms
from workflows.problems import DefinitionError, Problem
from workflows.runtime import loaded_spec, new_workflow, ready_user_tasks

SHIPPED_XML = (SHIPPED_BPMN_DIR / "draft_plan.bpmn").read_text(encoding="utf-8")
SHIPPED_FORMS = load_forms(SHIPPED_BPMN_DIR / "forms" / "draft_plan")
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs" targetNamespace="http://x">
  <bpmn:process id="mini" name="Quy trình nhỏ" isExecutable="{executable}">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_a" name="{lane}"><bpmn:flowNodeRef>step_x</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start_event"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:{kind} id="step_x" name="Bước X">{extensions}
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:{kind}>
    <bpmn:endEvent id="end_event"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start_event" targetRef="step_x" />
    <bpmn:sequenceFlow id="f2" sourceRef="step_x" targetRef="end_event" />
  </bpmn:process>
</bpmn:definitions>
"""


def minimal(executable="true", lane="Chuyên viên", kind="userTask", extensions="") -> str:
    return MINIMAL.format(executable=executable, lane=lane, kind=kind, extensions=extensions)


def line_of(xml: str, needle: str) -> int:
    return next(number for number, line in enumerate(xml.splitlines(), 1) if needle in line)


def refused(xml: str | bytes, forms=None) -> list[Problem]:
    """The problems of a refused deploy, after checking nothing was stored."""
    before = dump_tables()
    with pytest.raises(DefinitionError) as error:
        deploy(xml, SHIPPED_FORMS if forms is None else forms, source="test.bpmn")
    db.session.rollback()
    assert dump_tables() == before
    assert error.value.problems and str(error.value)
    return error.value.problems


def definitions(key="draft_plan") -> list[ProcessDefinition]:
    query = select(ProcessDefinition).where(ProcessDefinition.key == key).order_by(ProcessDefinition.version)
    return list(db.session.scalars(query))


def snapshot(definition: ProcessDefinition) -> tuple:
    return (
        definition.version,
        definition.bpmn_xml,
        definition.checksum,
        json.dumps(definition.forms, sort_keys=True),
        json.dumps(definition.spec, sort_keys=True),
        definition.active,
        definition.deployed_at,
    )


@pytest.fixture
def bpmn_copy(tmp_path) -> Path:
    """A private copy of bpmn/ to edit."""
    return Path(shutil.copytree(SHIPPED_BPMN_DIR, tmp_path / "bpmn"))


# --- versions ---------------------------------------------------------------------------------


def test_sync_shipped_twice_creates_no_version(app):
    count = db.session.scalar(select(func.count()).select_from(ProcessDefinition))
    first, second = sync_shipped(), sync_shipped()
    db.session.commit()
    assert [r.created for r in second] == [False] * len(second)
    assert [(r.key, r.version) for r in first] == [(r.key, r.version) for r in second]
    assert db.session.scalar(select(func.count()).select_from(ProcessDefinition)) == count
    assert {r.key for r in second} == {p.stem for p in SHIPPED_BPMN_DIR.glob("*.bpmn")}


def _edit_form(directory: Path) -> None:
    path = directory / "forms" / "draft_plan" / "consolidate.json"
    form = json.loads(path.read_text(encoding="utf-8"))
    form["title"] = "Tổng hợp ý kiến (sửa đổi)"
    path.write_text(json.dumps(form, ensure_ascii=False), encoding="utf-8")


def _edit_diagram(directory: Path) -> None:
    path = directory / "draft_plan.bpmn"
    xml = path.read_text(encoding="utf-8")
    path.write_text(xml.replace('name="Soạn thảo dự thảo Kế hoạch"', 'name="Soạn thảo dự thảo"'), "utf-8")


@pytest.mark.parametrize("edit", [_edit_form, _edit_diagram], ids=["form", "diagram"])
def test_a_change_makes_version_2_and_keeps_version_1(app, bpmn_copy, edit):
    [v1] = definitions()
    kept = snapshot(v1)
    edit(bpmn_copy)
    [result] = [r for r in sync_shipped(bpmn_copy) if r.key == "draft_plan"]
    db.session.commit()
    assert (result.key, result.version, result.created) == ("draft_plan", 2, True)
    v1, v2 = definitions()
    assert snapshot(v1) == kept
    assert v2.checksum != v1.checksum and latest_definition("draft_plan") is v2
    workflow = new_workflow(loaded_spec(v1), {"lead_unit": "CNTT"})
    assert [t.task_spec.bpmn_id for t in ready_user_tasks(workflow)] == ["draft"]
    if edit is _edit_form:
        assert (
            v2.forms["consolidate"]["title"]
            == "Tổng hợp ý kiến (sửa đổi)"
            != v1.forms["consolidate"]["title"]
        )
    else:
        assert loaded_spec(v2).steps["draft"].name == "Soạn thảo dự thảo"
        assert loaded_spec(v1).steps["draft"].name == "Soạn thảo dự thảo Kế hoạch"
    assert not any(r.created for r in sync_shipped(bpmn_copy))


def test_running_instances_stay_on_their_version(app, bpmn_copy):
    t1a, cv = task("1.a"), user("cntt.cv")
    start_process(t1a, cv)
    _edit_diagram(bpmn_copy)
    sync_shipped(bpmn_copy)
    db.session.commit()
    draft = open_item(t1a, "draft")
    advance(draft, cv, sample_data(form_of(draft)))  # the form with the "5 rõ" the first step asks for
    assert instance_of(t1a).definition.version == 1
    assert open_item(t1a, "review_draft").name == "Trưởng đơn vị xem xét dự thảo"
    t1b = task("1.b")
    start_process(t1b, user("cntt.cv"))
    assert instance_of(t1b).definition.version == 2
    assert open_item(t1b, "draft").name == "Soạn thảo dự thảo"


def test_deploy_does_not_commit(app):
    result = deploy(minimal(), {}, source="mini.bpmn")
    assert (result.key, result.version, result.created) == ("mini", 1, True)
    assert definitions("mini")[0].forms == {"step_x": DEFAULT_DECISION_FORM}
    db.session.rollback()
    assert definitions("mini") == []


# --- hostile or broken documents --------------------------------------------------------------

XXE = '<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    + "]>\n"
)


def _with_doctype(doctype: str, reference: str) -> str:
    body = SHIPPED_XML.removeprefix(DECLARATION).replace('name="Bắt đầu"', f'name="{reference}"')
    return DECLARATION + doctype + body


@pytest.mark.parametrize(
    "xml",
    [
        _with_doctype(XXE, "&xxe;"),
        _with_doctype(LAUGHS, "&lol9;"),
        _with_doctype(XXE.replace("DOCTYPE", "doctype"), "&xxe;"),
        DECLARATION
        + '<!ENTITY % remote SYSTEM "http://example.invalid/x.dtd">\n'
        + SHIPPED_XML[len(DECLARATION) :],
    ],
    ids=["external-entity", "billion-laughs", "lowercase-doctype", "parameter-entity"],
)
def test_dtds_and_entities_are_refused_before_parsing(app, monkeypatch, xml):
    def no_parsing(*args, **kwargs):
        raise AssertionError("the document reached the XML parser")

    monkeypatch.setattr(workflows.bpmn_xml.etree, "fromstring", no_parsing)
    [problem] = refused(xml)
    assert "DTD" in problem.message and problem.line == 2


def test_xinclude_is_not_processed(app):
    xml = SHIPPED_XML.replace(
        "<bpmn:documentation>Soạn thảo",
        '<bpmn:documentation><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
        'href="file:///etc/passwd" parse="text"/>Soạn thảo',
    )
    try:
        result = deploy(xml, SHIPPED_FORMS, source="xinclude.bpmn")
    except DefinitionError:
        return  # refused is fine too
    assert result.created
    stored = db.session.scalars(
        select(ProcessDefinition).where(ProcessDefinition.version == result.version)
    ).one()
    assert "root:" not in json.dumps(stored.spec)


@pytest.mark.parametrize(
    ("doctype", "where"),
    [(XXE, "attribute"), (XXE, "text"), (LAUGHS, "attribute"), (LAUGHS, "text")],
    ids=["xxe-attribute", "xxe-text", "laughs-attribute", "laughs-text"],
)
def test_utf16_document_with_entities_does_not_leak(app, doctype, where):
    """UTF-16 bytes slip past the byte-level DTD check and reach lxml, which must still not expand them."""
    reference = "&xxe;" if doctype is XXE else "&lol9;"
    xml = _with_doctype(doctype, reference if where == "attribute" else "Bắt đầu")
    if where == "text":
        xml = xml.replace("<bpmn:documentation>Soạn thảo", f"<bpmn:documentation>{reference}Soạn thảo", 1)
    raw = xml.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    try:
        root = workflows.bpmn_xml.parse_bpmn_xml(raw)
    except DefinitionError:
        return
    text = etree.tostring(root, encoding="unicode")
    assert "root:" not in text and "lollollol" not in text


def test_malformed_xml_is_a_problem_with_its_line(app):
    xml = SHIPPED_XML.replace('<bpmn:userTask id="consolidate"', '<bpmn:userTask id="consolidate" <oops', 1)
    [problem] = refused(xml)
    assert problem.message.startswith("malformed XML")
    assert problem.line == line_of(xml, "<oops")


def test_a_document_over_2_mb_is_too_large(app):
    padding = "<!--" + "x" * MAX_BPMN_BYTES + "-->\n"
    xml = SHIPPED_XML.replace("<bpmn:collaboration", padding + "<bpmn:collaboration", 1)
    before = dump_tables()
    with pytest.raises(DocumentTooLarge) as error:
        deploy(xml, SHIPPED_FORMS)
    assert "2 MB" in error.value.problems[0].message
    assert dump_tables() == before


def test_a_descriptive_diagram_cannot_run(app):
    [problem] = refused(minimal(executable="false"), {})
    assert "cannot run" in problem.message and 'isExecutable="false"' in problem.message


def test_user_task_in_unknown_lane_without_roles(app):
    xml = minimal(lane="Kế toán")
    [problem] = refused(xml, {})
    assert (problem.element_id, problem.element_name) == ("step_x", "Bước X")
    assert problem.line == line_of(xml, '<bpmn:userTask id="step_x"')
    assert "no role" in problem.message and "Kế toán" in problem.message


def test_roles_property_makes_an_unknown_lane_fine(app):
    roles = (
        '<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="roles" '
        'value="specialist" /></spiffworkflow:properties></bpmn:extensionElements>'
    )
    assert deploy(minimal(lane="Kế toán", extensions=roles), {}).created


def test_no_step_waits_for_a_supervisor(app):
    """Supervisors read everything and change nothing: neither a "supervisor" lane nor the role property
    makes one a step's candidate."""
    [problem] = refused(minimal(lane="supervisor"), {})
    assert "no role" in problem.message
    roles = (
        '<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="roles" '
        'value="supervisor" /></spiffworkflow:properties></bpmn:extensionElements>'
    )
    [problem] = refused(minimal(lane="Kế toán", extensions=roles), {})
    assert "'supervisor' cannot act" in problem.message


OPERATOR = (
    '<bpmn:extensionElements><spiffworkflow:serviceTaskOperator id="http/GetRequest">'
    '<spiffworkflow:parameters><spiffworkflow:parameter id="url" type="str" value="\'http://x\'" />'
    "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>"
)


@pytest.mark.parametrize(
    ("kind", "extensions", "reason"),
    [
        ("serviceTask", OPERATOR, "no implementation here"),  # refused by our engine
        ("serviceTask", "", "must have an operator"),  # refused by SpiffWorkflow's parser already
        ("businessRuleTask", "", "DMN"),
    ],
    ids=["service-task-with-operator", "bare-service-task", "business-rule-task"],
)
def test_service_and_business_rule_tasks_are_refused(app, kind, extensions, reason):
    xml = minimal(kind=kind, extensions=extensions)
    problems = refused(xml, {})
    assert [(p.element_id, p.element_name) for p in problems] == [("step_x", "Bước X")]
    assert reason in problems[0].message
    assert problems[0].line == line_of(xml, f'<bpmn:{kind} id="step_x"')


@pytest.mark.parametrize(
    "schema", [{"type": "objekt"}, {"properties": 5}, {"required": "decision"}, {"minLength": -1}]
)
def test_a_form_that_is_not_a_json_schema(app, schema):
    forms = {**SHIPPED_FORMS, "consolidate": schema}
    problems = refused(SHIPPED_XML, forms)
    assert [p.message.split(":")[0] for p in problems] == ["form 'consolidate' is not a valid JSON Schema"]


def test_a_missing_form_names_the_step(app):
    forms = {k: v for k, v in SHIPPED_FORMS.items() if k != "consolidate"}
    [problem] = refused(SHIPPED_XML, forms)
    assert (problem.element_id, problem.message) == ("consolidate", "no form 'consolidate'")
    assert problem.line == line_of(SHIPPED_XML, '<bpmn:userTask id="consolidate"')


def test_every_problem_is_reported_at_once(app):
    xml = SHIPPED_XML.replace('decision == "return"', "__import__('os').getcwd()", 1)
    forms = {**SHIPPED_FORMS, "draft": {"type": 1}}
    forms.pop("record_issuance")
    problems = refused(xml, forms)
    assert {p.element_id for p in problems} == {"flow_review_return", None, "record_issuance"}


def _renamed(xml: str, old: str, new: str) -> str:
    for pattern in ('id="{}"', 'sourceRef="{}"', 'targetRef="{}"', ">{}<"):
        xml = xml.replace(pattern.format(old), pattern.format(new))
    return xml


@pytest.mark.parametrize(("old", "reserved"), [("start_event", "Start"), ("step_x", "Root")])
def test_ids_reserved_by_spiffworkflow_are_refused(app, old, reserved):
    problems = refused(_renamed(minimal(), old, reserved), {})
    assert reserved in [p.element_id for p in problems]
