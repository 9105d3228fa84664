"""The `implement_report` process (tasks 3.b, 4.a, 4.d, 8.a: implement and report) on plain SpiffWorkflow.

No Flask here: the BPMN file is parsed with SpiffWorkflow's XSD validator, its forms are checked as
JSON Schema 2020-12 documents, and the whole path (the "not finished yet" progress loop and both
"return" loops) is run with the sandboxed script engine and a save/restore round trip before every
user step, continuing on restored workflows only, as the web views will.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from lxml import etree
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from workflows.forms import validate_form
from workflows.sandbox import SafeScriptEngine, check_expression

REPO_ROOT = Path(__file__).resolve().parent.parent
BPMN_FILE = REPO_ROOT / "bpmn" / "implement_report.bpmn"
FORMS_DIR = REPO_ROOT / "bpmn" / "forms" / "implement_report"
PROCESS_ID = "implement_report"

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}

LANES = {"Chuyên viên", "Trưởng đơn vị", "Lãnh đạo Sở"}

# bpmn id -> (lane, unit, roles, task_state, form)
USER_TASKS = {
    "assign": ("Trưởng đơn vị", "lead", "unit_head", "in_progress", "assign"),
    "record_progress": ("Chuyên viên", "lead", "specialist", "in_progress", "record_progress"),
    "submit_result": ("Chuyên viên", "lead", "specialist", "in_progress", "submit_result"),
    "head_confirm": ("Trưởng đơn vị", "lead", "unit_head", "reviewing", "head_confirm"),
    "leader_acceptance": ("Lãnh đạo Sở", "any", "leader", "awaiting_approval", "leader_acceptance"),
}

FORM_KEYS = set(USER_TASKS)
RETURN_FLOWS = {"flow_progress_continue", "flow_confirm_return", "flow_acceptance_return"}

SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
SAFE_ENGINE = SafeScriptEngine()


# --------------------------------------------------------------------------- helpers


def parse(text: bytes | None = None) -> SpiffBpmnParser:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    if text is None:
        parser.add_bpmn_file(str(BPMN_FILE))
    else:
        parser.add_bpmn_str(text)
    return parser


@pytest.fixture(scope="module")
def parser() -> SpiffBpmnParser:
    return parse()


@pytest.fixture(scope="module")
def spec(parser):
    return parser.get_spec(PROCESS_ID)


def user_task_specs(spec) -> dict[str, UserTask]:
    """User task specs by BPMN id."""
    found: dict[str, UserTask] = {}
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, UserTask):
            assert task_spec.bpmn_id not in found, task_spec.bpmn_id
            found[task_spec.bpmn_id] = task_spec
    return found


def load_form(key: str) -> dict:
    return json.loads((FORMS_DIR / f"{key}.json").read_text(encoding="utf-8"))


def form_validator(key: str) -> Draft202012Validator:
    return Draft202012Validator(load_form(key), format_checker=FormatChecker())


def assert_form_accepts(key: str, data: dict) -> None:
    errors = [e.message for e in form_validator(key).iter_errors(data)]
    assert not errors, (key, data, errors)


def round_trip(wf: BpmnWorkflow) -> BpmnWorkflow:
    """Save, restore, save again: both documents must be equal; continue on the restored copy."""
    first = SERIALIZER.serialize_json(wf)
    restored = SERIALIZER.deserialize_json(first)
    second = SERIALIZER.serialize_json(restored)
    assert json.loads(first) == json.loads(second)
    ready_before = {t.id for t in wf.get_tasks(state=TaskState.READY, manual=True)}
    ready_after = {t.id for t in restored.get_tasks(state=TaskState.READY, manual=True)}
    assert ready_before == ready_after
    restored.script_engine = SAFE_ENGINE  # the deserializer brings back the unrestricted default
    return restored


def ready_user_tasks(wf: BpmnWorkflow):
    return wf.get_tasks(state=TaskState.READY, manual=True)


def complete(wf: BpmnWorkflow, bpmn_id: str, data: dict):
    """Restore, complete the single READY task `bpmn_id` with `data`; return (workflow, task id)."""
    wf = round_trip(wf)
    ready = ready_user_tasks(wf)
    assert [t.task_spec.bpmn_id for t in ready] == [bpmn_id]
    task = ready[0]
    lane, _unit, _roles, task_state, form_key = USER_TASKS[bpmn_id]
    assert task.task_spec.lane == lane
    assert task.task_spec.extensions["properties"]["task_state"] == task_state
    assert_form_accepts(form_key, data)
    task.set_data(**data)
    task.run()
    wf.do_engine_steps()
    return wf, task.id


def new_workflow(parser) -> BpmnWorkflow:
    wf = BpmnWorkflow(parser.get_spec(PROCESS_ID), parser.get_subprocess_specs(PROCESS_ID))
    wf.script_engine = SAFE_ENGINE
    wf.do_engine_steps()
    return wf


def completed_counts(wf: BpmnWorkflow) -> dict[str, int]:
    completed = [t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.COMPLETED, manual=True)]
    return {bpmn_id: completed.count(bpmn_id) for bpmn_id in USER_TASKS}


def assert_ended(wf: BpmnWorkflow) -> None:
    wf = round_trip(wf)
    assert wf.is_completed()
    assert ready_user_tasks(wf) == []
    end = [t for t in wf.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id == "end_event"]
    assert len(end) == 1


# --------------------------------------------------------------------------- structure


def test_parses_with_xsd_validator_and_has_one_executable_process(parser):
    assert parser.get_process_ids() == [PROCESS_ID]
    tree = etree.parse(str(BPMN_FILE))
    process = tree.find("bpmn:process", NS)
    assert process.get("isExecutable") == "true"
    participants = tree.findall("bpmn:collaboration/bpmn:participant", NS)
    assert [p.get("processRef") for p in participants] == [PROCESS_ID]
    ids = {el.get("id") for el in tree.iter() if el.get("id")}
    assert not ids & {"Start", "End", "Root"}


def test_user_task_ids_are_exactly_the_five_steps(spec):
    assert set(user_task_specs(spec)) == set(USER_TASKS)


@pytest.mark.parametrize("bpmn_id", sorted(USER_TASKS))
def test_user_task_lane_properties_and_documentation(spec, bpmn_id):
    task_spec = user_task_specs(spec)[bpmn_id]
    lane, unit, roles, task_state, form = USER_TASKS[bpmn_id]
    props = task_spec.extensions["properties"]
    assert {"unit", "roles", "task_state", "form"} <= set(props)
    assert (task_spec.lane, props["unit"], props["roles"], props["task_state"], props["form"]) == (
        lane,
        unit,
        roles,
        task_state,
        form,
    )
    assert task_spec.documentation and task_spec.documentation.strip()
    assert unicodedata.is_normalized("NFC", task_spec.documentation)
    assert unicodedata.is_normalized("NFC", task_spec.bpmn_name)


def test_task_states_are_known():
    from app.models.plans import TaskState as PlanTaskState

    assert {state for *_, state, _form in USER_TASKS.values()} <= set(PlanTaskState.ALL)


def test_no_multi_instance_step(spec):
    assert not any(type(ts).__name__.endswith("MultiInstanceTask") for ts in spec.task_specs.values())


def test_gateways_have_default_and_loop_conditions():
    tree = etree.parse(str(BPMN_FILE))
    for gateway, loop, default, back_to, condition_text in (
        (
            "progress_decision",
            "flow_progress_continue",
            "flow_progress_done",
            "record_progress",
            "finished == False",
        ),
        (
            "confirm_decision",
            "flow_confirm_return",
            "flow_confirm_approve",
            "record_progress",
            'decision == "return"',
        ),
        (
            "acceptance_decision",
            "flow_acceptance_return",
            "flow_acceptance_approve",
            "record_progress",
            'decision == "return"',
        ),
    ):
        node = tree.find(f"bpmn:process/bpmn:exclusiveGateway[@id='{gateway}']", NS)
        assert node.get("default") == default
        flow = tree.find(f"bpmn:process/bpmn:sequenceFlow[@id='{loop}']", NS)
        assert flow.get("sourceRef") == gateway and flow.get("targetRef") == back_to
        condition = flow.find("bpmn:conditionExpression", NS)
        assert condition.text.strip() == condition_text
        check_expression(condition_text)  # the sandbox allows it
        default_flow = tree.find(f"bpmn:process/bpmn:sequenceFlow[@id='{default}']", NS)
        assert default_flow.find("bpmn:conditionExpression", NS) is None


def test_every_lane_is_one_of_the_roles_lanes(spec):
    tree = etree.parse(str(BPMN_FILE))
    names = [lane.get("name") for lane in tree.iterfind(".//bpmn:lane", NS)]
    assert sorted(names) == sorted(LANES)
    lanes_in_spec = {ts.lane for ts in spec.task_specs.values() if getattr(ts, "lane", None)}
    assert lanes_in_spec <= LANES


# --------------------------------------------------------------------------- forms


def test_every_form_key_named_by_a_task_has_a_file(spec):
    named = {ts.extensions["properties"]["form"] for ts in user_task_specs(spec).values()}
    assert named == FORM_KEYS
    assert {p.stem for p in FORMS_DIR.glob("*.json")} == FORM_KEYS


@pytest.mark.parametrize("key", sorted(FORM_KEYS))
def test_form_is_a_valid_2020_12_schema_with_vietnamese_titles(key):
    raw = (FORMS_DIR / f"{key}.json").read_text(encoding="utf-8")
    assert unicodedata.is_normalized("NFC", raw)
    schema = json.loads(raw)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["title"].strip() and schema["description"].strip()
    assert schema["required"] and set(schema["required"]) <= set(schema["properties"])
    for name, prop in schema["properties"].items():
        where = f"{key}.{name}"
        assert prop.get("title", "").strip(), where
        assert prop.get("description", "").strip(), where
        if "enum" in prop:
            assert set(prop["x-enum-labels"]) == set(prop["enum"]), where


@pytest.mark.parametrize("key", ["head_confirm", "leader_acceptance"])
def test_decision_forms_require_a_comment_when_returning(key):
    schema = load_form(key)
    assert schema["x-requires-comment"] == {"decision": ["return"]}
    assert schema["properties"]["decision"]["enum"] == ["approve", "return"]
    assert "comment" not in schema["properties"]

    def errors(data, comment=None):
        return validate_form(schema, data, comment, unit_exists=lambda code: True)

    assert errors({"decision": "approve"}) == {}
    assert set(errors({"decision": "return"})) == {"comment"}
    assert set(errors({"decision": "return"}, "  ")) == {"comment"}
    assert errors({"decision": "return"}, "Bổ sung minh chứng.") == {}
    assert set(errors({"decision": "maybe"})) == {"decision"}


def test_forms_reject_bad_data():
    assign = form_validator("assign")
    assert assign.is_valid({"assignee": "cntt.cv", "plan": "Triển khai trong quý II."})
    assert not assign.is_valid({"assignee": "", "plan": "Kế hoạch"})
    assert not assign.is_valid({"plan": "Kế hoạch"})
    progress = form_validator("record_progress")
    good = {"percent": 40, "done": "Đã khảo sát 3 đơn vị.", "finished": False}
    assert progress.is_valid(good)
    assert progress.is_valid({**good, "difficulties": "Thiếu kinh phí."})
    assert progress.is_valid({**good, "difficulties": ""})  # optional
    assert progress.is_valid({**good, "percent": 0}) and progress.is_valid({**good, "percent": 100})
    assert not progress.is_valid({**good, "percent": 101})
    assert not progress.is_valid({**good, "percent": -1})
    assert not progress.is_valid({**good, "percent": 12.5})
    assert not progress.is_valid({**good, "finished": "có"})
    assert not progress.is_valid({"percent": 40, "done": "x"})  # the loop needs `finished`
    assert "difficulties" not in load_form("record_progress")["required"]
    result = form_validator("submit_result")
    assert result.is_valid({"result": "Hoàn thành.", "evidence": "Báo cáo số 12/BC-CNTT."})
    assert not result.is_valid({"result": "Hoàn thành."})
    assert not result.is_valid({"result": "", "evidence": "x"})


# --------------------------------------------------------------------------- diagram interchange


def test_every_element_has_di_and_layout_is_tidy():
    tree = etree.parse(str(BPMN_FILE))
    process = tree.find("bpmn:process", NS)
    plane = tree.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    assert plane.get("bpmnElement") == tree.find("bpmn:collaboration", NS).get("id")

    shapes = {}
    for shape in plane.iterfind("bpmndi:BPMNShape", NS):
        b = shape.find("dc:Bounds", NS)
        shapes[shape.get("bpmnElement")] = tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))
    edges = {
        edge.get("bpmnElement"): [
            (float(w.get("x")), float(w.get("y"))) for w in edge.iterfind("di:waypoint", NS)
        ]
        for edge in plane.iterfind("bpmndi:BPMNEdge", NS)
    }

    flow_node_tags = {"startEvent", "endEvent", "userTask", "exclusiveGateway"}
    nodes = [el for el in process if isinstance(el.tag, str) and etree.QName(el).localname in flow_node_tags]
    assert len(nodes) == 10
    lanes = process.findall(".//bpmn:lane", NS)
    flows = process.findall("bpmn:sequenceFlow", NS)
    participant = tree.find("bpmn:collaboration/bpmn:participant", NS).get("id")

    expected_shapes = {el.get("id") for el in nodes} | {ln.get("id") for ln in lanes} | {participant}
    assert set(shapes) == expected_shapes
    assert set(edges) == {f.get("id") for f in flows}
    for flow_id, points in edges.items():
        assert len(points) >= 2, flow_id
        for (x1, y1), (x2, y2) in zip(points, points[1:], strict=False):
            assert x1 == x2 or y1 == y2, f"{flow_id}: not orthogonal"

    def inside(inner, outer):
        return (
            inner[0] >= outer[0]
            and inner[1] >= outer[1]
            and inner[0] + inner[2] <= outer[0] + outer[2]
            and inner[1] + inner[3] <= outer[1] + outer[3]
        )

    def overlap(a, b):
        return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]

    lane_boxes = [shapes[ln.get("id")] for ln in lanes]
    for box in lane_boxes:
        assert inside(box, shapes[participant])
    for i, a in enumerate(lane_boxes):
        for b in lane_boxes[i + 1 :]:
            assert not overlap(a, b)

    for lane in lanes:
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            assert inside(shapes[ref.text], shapes[lane.get("id")]), ref.text
    node_boxes = {el.get("id"): shapes[el.get("id")] for el in nodes}
    ids = sorted(node_boxes)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            assert not overlap(node_boxes[a], node_boxes[b]), (a, b)

    for flow in flows:
        src, dst = node_boxes[flow.get("sourceRef")], node_boxes[flow.get("targetRef")]
        if flow.get("id") in RETURN_FLOWS:
            assert dst[0] < src[0]
        else:
            assert dst[0] > src[0], flow.get("id")
        first, last = edges[flow.get("id")][0], edges[flow.get("id")][-1]
        for point, box in ((first, src), (last, dst)):
            on_x = box[0] <= point[0] <= box[0] + box[2]
            on_y = box[1] <= point[1] <= box[1] + box[3]
            assert on_x and on_y, flow.get("id")


# --------------------------------------------------------------------------- execution


def progress(percent: int, finished: bool, **extra) -> dict:
    return {"percent": percent, "done": f"Đã thực hiện {percent}% khối lượng.", "finished": finished, **extra}


def test_full_path_with_progress_loop_and_both_return_loops_across_restores(parser):
    wf = new_workflow(parser)
    wf, _ = complete(wf, "assign", {"assignee": "cntt.cv", "plan": "Triển khai trong quý II."})

    # Not finished: the progress step comes back, as a new task.
    wf, first_progress = complete(wf, "record_progress", progress(30, False, difficulties="Chậm kinh phí."))
    wf, second_progress = complete(wf, "record_progress", progress(70, False))
    assert second_progress != first_progress
    wf, _ = complete(wf, "record_progress", progress(100, True))
    result = {"result": "Đã hoàn thành nhiệm vụ.", "evidence": "Báo cáo số 12/BC-CNTT."}
    wf, _ = complete(wf, "submit_result", result)

    # The unit head returns it: progress again (the old `finished` is overwritten by the new form).
    wf, _ = complete(wf, "head_confirm", {"decision": "return"})
    wf, _ = complete(wf, "record_progress", progress(90, False))
    wf, _ = complete(wf, "record_progress", progress(100, True))
    wf, _ = complete(wf, "submit_result", result)
    wf, _ = complete(wf, "head_confirm", {"decision": "approve"})

    # The leader returns it: progress again.
    wf, _ = complete(wf, "leader_acceptance", {"decision": "return"})
    wf, _ = complete(wf, "record_progress", progress(100, True))
    wf, _ = complete(wf, "submit_result", {**result, "result": "Đã hoàn thành, bổ sung số liệu."})
    wf, _ = complete(wf, "head_confirm", {"decision": "approve"})
    wf, last = complete(wf, "leader_acceptance", {"decision": "approve"})

    assert_ended(wf)
    final = wf.get_task_from_id(last).data
    assert final["assignee"] == "cntt.cv"
    assert final["percent"] == 100 and final["finished"] is True
    assert final["result"] == "Đã hoàn thành, bổ sung số liệu."
    assert final["decision"] == "approve"
    assert completed_counts(wf) == {
        "assign": 1,
        "record_progress": 6,
        "submit_result": 3,
        "head_confirm": 3,
        "leader_acceptance": 2,
    }


def test_finished_at_once_is_the_straight_path(parser):
    wf = new_workflow(parser)
    wf, _ = complete(wf, "assign", {"assignee": "cntt.cv", "plan": "Kế hoạch."})
    wf, _ = complete(wf, "record_progress", progress(100, True))
    wf, _ = complete(wf, "submit_result", {"result": "Hoàn thành.", "evidence": "Biên bản."})
    wf, _ = complete(wf, "head_confirm", {"decision": "approve"})
    wf, _ = complete(wf, "leader_acceptance", {"decision": "approve"})
    assert_ended(wf)
    assert completed_counts(wf) == dict.fromkeys(USER_TASKS, 1)
