"""The `review_propose` process (tasks 2.a, 3.a, 6, 7.a: review and propose) on plain SpiffWorkflow.

No Flask here: the BPMN file is parsed with SpiffWorkflow's XSD validator, its forms are checked as
JSON Schema 2020-12 documents, and the whole path (both "return" loops, the parallel multi-instance
contribution round, and a run where no unit is asked to contribute) is run with a save/restore round
trip before every user step, continuing on restored workflows only, as the web views will.
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

REPO_ROOT = Path(__file__).resolve().parent.parent
BPMN_FILE = REPO_ROOT / "bpmn" / "review_propose.bpmn"
FORMS_DIR = REPO_ROOT / "bpmn" / "forms" / "review_propose"
PROCESS_ID = "review_propose"

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}

LANES = {"Chuyên viên", "Trưởng đơn vị", "Đơn vị được xin ý kiến", "Lãnh đạo Sở"}

# bpmn id -> (lane, unit, roles, task_state, form)
USER_TASKS = {
    "review": ("Chuyên viên", "lead", "specialist", "in_progress", "review"),
    "contribute": ("Đơn vị được xin ý kiến", "item", "specialist,unit_head", "in_progress", "contribute"),
    "compile_proposals": ("Chuyên viên", "lead", "specialist", "consolidating", "compile_proposals"),
    "head_check": ("Trưởng đơn vị", "lead", "unit_head", "reviewing", "head_check"),
    "leader_approval": ("Lãnh đạo Sở", "any", "leader", "awaiting_approval", "leader_approval"),
}

FORM_KEYS = {
    "review",
    "contribute",
    "contribute_external",
    "compile_proposals",
    "head_check",
    "leader_approval",
}
RETURN_FLOWS = {"flow_check_return", "flow_approval_return"}

SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
COORDINATING = ["VP", "TTCNTT", "SO_NGANH_DP"]


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
    """User task specs by BPMN id (for `contribute`, the `contribute [child]` UserTask)."""
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


def test_contribute_is_parallel_multi_instance_with_extra_properties(spec):
    mi = spec.task_specs["contribute"]
    assert type(mi).__name__ == "ParallelMultiInstanceTask"
    assert mi.data_input.bpmn_id == "coordinating_units"
    assert mi.data_output.bpmn_id == "contributions"
    assert mi.input_item.bpmn_id == "coordinating_unit"
    assert mi.output_item.bpmn_id == "contribution"
    props = user_task_specs(spec)["contribute"].extensions["properties"]
    assert props["external_form"] == "contribute_external"
    assert props["external_roles"] == "specialist"
    assert props["due"] == "P10D"
    tree = etree.parse(str(BPMN_FILE))
    declared = {p.get("id") for p in tree.iterfind("bpmn:process/bpmn:property", NS)}
    assert {"coordinating_units", "contributions"} <= declared


def test_gateways_have_default_and_return_conditions():
    tree = etree.parse(str(BPMN_FILE))
    for gateway, ret, default, back_to in (
        ("check_decision", "flow_check_return", "flow_check_approve", "compile_proposals"),
        ("approval_decision", "flow_approval_return", "flow_approval_approve", "compile_proposals"),
    ):
        node = tree.find(f"bpmn:process/bpmn:exclusiveGateway[@id='{gateway}']", NS)
        assert node.get("default") == default
        flow = tree.find(f"bpmn:process/bpmn:sequenceFlow[@id='{ret}']", NS)
        assert flow.get("sourceRef") == gateway and flow.get("targetRef") == back_to
        condition = flow.find("bpmn:conditionExpression", NS)
        assert condition.text.strip() == 'decision == "return"'
        default_flow = tree.find(f"bpmn:process/bpmn:sequenceFlow[@id='{default}']", NS)
        assert default_flow.find("bpmn:conditionExpression", NS) is None


def test_every_lane_is_one_of_the_four_roles_lanes(spec):
    tree = etree.parse(str(BPMN_FILE))
    names = [lane.get("name") for lane in tree.iterfind(".//bpmn:lane", NS)]
    assert sorted(names) == sorted(LANES)
    lanes_in_spec = {ts.lane for ts in spec.task_specs.values() if getattr(ts, "lane", None)}
    assert lanes_in_spec <= LANES


# --------------------------------------------------------------------------- forms


def test_every_form_key_named_by_a_task_has_a_file(spec):
    named = set()
    for task_spec in user_task_specs(spec).values():
        props = task_spec.extensions["properties"]
        named.add(props["form"])
        if "external_form" in props:
            named.add(props["external_form"])
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
        if prop.get("format") == "date":
            assert prop["type"] == "string", where


@pytest.mark.parametrize("key", ["head_check", "leader_approval"])
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
    assert errors({"decision": "return"}, "Bổ sung số liệu.") == {}
    assert set(errors({"decision": "maybe"})) == {"decision"}


def test_forms_reject_bad_data():
    review = form_validator("review")
    assert review.is_valid({"findings": "Rà soát", "coordinating_units": ["VP"]})
    assert review.is_valid({"findings": "Rà soát", "coordinating_units": []})  # nobody to ask
    assert not review.is_valid({"findings": "Rà soát"})
    assert not review.is_valid({"findings": "", "coordinating_units": []})
    assert not review.is_valid({"findings": "Rà soát", "coordinating_units": ["VP", "VP"]})
    assert not review.is_valid({"findings": "x", "coordinating_units": [], "other": 1})
    assert load_form("review")["properties"]["coordinating_units"]["x-options"] == "consultable_units"
    contribute = form_validator("contribute")
    assert contribute.is_valid({"findings": "Đã rà soát", "proposals": "Đề xuất"})
    assert not contribute.is_valid({"findings": "Đã rà soát"})
    external = form_validator("contribute_external")
    good = {
        "findings": "Đã rà soát",
        "proposals": "Đề xuất",
        "document_number": "12/SNN",
        "document_date": "2025-03-05",
    }
    assert external.is_valid(good)
    assert not external.is_valid({**good, "document_date": "05/03/2025"})
    compile_form = form_validator("compile_proposals")
    assert compile_form.is_valid({"proposals": "Đề xuất sửa đổi Quy chế."})
    assert not compile_form.is_valid({"proposals": ""})
    assert not compile_form.is_valid({})


def test_an_empty_unit_list_passes_the_engine_form_check():
    schema = load_form("review")
    data = {"findings": "Không cần phối hợp.", "coordinating_units": []}
    assert validate_form(schema, data, None, unit_exists=lambda code: False) == {}


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
    assert len(nodes) == 9
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


def test_full_path_with_both_return_loops_across_restores(parser):
    wf = new_workflow(parser)
    review = {"findings": "Rà soát Quy chế quản lý nhiệm vụ KH&CN.", "coordinating_units": list(COORDINATING)}
    wf, _ = complete(wf, "review", review)

    # Parallel multi-instance: one READY child per coordinating unit, addressed by id.
    wf = round_trip(wf)
    children = ready_user_tasks(wf)
    assert len(children) == 3
    assert {t.task_spec.bpmn_id for t in children} == {"contribute"}
    by_unit = {t.data["coordinating_unit"]: t.id for t in children}
    assert set(by_unit) == set(COORDINATING)
    mi_task = children[0].parent
    assert mi_task.task_spec.name == "contribute" and mi_task.state == TaskState.STARTED

    for index, unit in enumerate(COORDINATING):
        wf = round_trip(wf)
        task = wf.get_task_from_id(by_unit[unit])
        assert task.state == TaskState.READY
        assert task.task_spec.lane == "Đơn vị được xin ý kiến"
        if unit == "SO_NGANH_DP":
            form_key = "contribute_external"
            form = {
                "findings": f"Kết quả rà soát của {unit}",
                "proposals": "Đề xuất bổ sung",
                "document_number": "15/SNN",
                "document_date": "2025-03-10",
            }
        else:
            form_key = "contribute"
            form = {"findings": f"Kết quả rà soát của {unit}", "proposals": f"Đề xuất của {unit}"}
        assert_form_accepts(form_key, form)
        task.set_data(contribution={"coordinating_unit": unit, **form})
        task.run()
        wf.do_engine_steps()
        remaining = {t.id for t in ready_user_tasks(wf)}
        if index < len(COORDINATING) - 1:
            assert remaining == {by_unit[u] for u in COORDINATING[index + 1 :]}

    wf, first_compile = complete(wf, "compile_proposals", {"proposals": "Đề xuất sửa đổi Điều 5."})
    assert len(wf.get_task_from_id(first_compile).data["contributions"]) == 3

    wf, _ = complete(wf, "head_check", {"decision": "return"})
    wf, second_compile = complete(wf, "compile_proposals", {"proposals": "Đề xuất sửa đổi Điều 5, 7."})
    assert second_compile != first_compile
    wf, _ = complete(wf, "head_check", {"decision": "approve"})
    wf, _ = complete(wf, "leader_approval", {"decision": "return"})
    wf, _ = complete(wf, "compile_proposals", {"proposals": "Đề xuất đã hoàn thiện."})
    wf, _ = complete(wf, "head_check", {"decision": "approve"})
    wf, last = complete(wf, "leader_approval", {"decision": "approve"})

    assert_ended(wf)
    final = wf.get_task_from_id(last).data
    assert [c["coordinating_unit"] for c in final["contributions"]] == COORDINATING
    assert final["proposals"] == "Đề xuất đã hoàn thiện."
    assert final["decision"] == "approve"
    assert completed_counts(wf) == {
        "review": 1,
        "contribute": 3,
        "compile_proposals": 3,
        "head_check": 3,
        "leader_approval": 2,
    }


def test_no_coordinating_unit_skips_the_contribution_round(parser):
    """An empty list gives the multi-instance step no instance: SpiffWorkflow goes straight on."""
    wf = new_workflow(parser)
    wf, _ = complete(wf, "review", {"findings": "Không cần phối hợp.", "coordinating_units": []})
    wf = round_trip(wf)
    ready = ready_user_tasks(wf)
    assert [t.task_spec.bpmn_id for t in ready] == ["compile_proposals"]
    assert ready[0].data["contributions"] == []
    wf, _ = complete(wf, "compile_proposals", {"proposals": "Đề xuất của đơn vị."})
    wf, _ = complete(wf, "head_check", {"decision": "approve"})
    wf, _ = complete(wf, "leader_approval", {"decision": "approve"})
    assert_ended(wf)
    assert completed_counts(wf) == {
        "review": 1,
        "contribute": 0,
        "compile_proposals": 1,
        "head_check": 1,
        "leader_approval": 1,
    }
