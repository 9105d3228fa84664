"""The `draft_plan` process (task 1.a: draft, consult, submit for issuance) on plain SpiffWorkflow.

No Flask here: the BPMN file is parsed with SpiffWorkflow's XSD validator, its forms are checked as
JSON Schema 2020-12 documents, and the whole path (with both "return" loops and the parallel
multi-instance opinion round) is run with a save/restore round trip before every user step, so the
run continues on restored workflows only, as the web views will.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from workflows.forms import validate_form

REPO_ROOT = Path(__file__).resolve().parent.parent
BPMN_FILE = REPO_ROOT / "bpmn" / "draft_plan.bpmn"
FORMS_DIR = REPO_ROOT / "bpmn" / "forms" / "draft_plan"
PROCESS_ID = "draft_plan"

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}

LANES = {"Chuyên viên", "Trưởng đơn vị", "Đơn vị được xin ý kiến", "Lãnh đạo Sở"}

# bpmn id -> (lane, unit, roles, task_state, form)
USER_TASKS = {
    "draft": ("Chuyên viên", "lead", "specialist", "drafting", "draft"),
    "review_draft": ("Trưởng đơn vị", "lead", "unit_head", "reviewing", "review_draft"),
    "collect_opinions": (
        "Đơn vị được xin ý kiến",
        "item",
        "specialist,unit_head",
        "collecting_opinions",
        "collect_opinions",
    ),
    "consolidate": ("Chuyên viên", "lead", "specialist", "consolidating", "consolidate"),
    "leader_approval": ("Lãnh đạo Sở", "any", "leader", "awaiting_approval", "leader_approval"),
    "submit_to_committee": (
        "Chuyên viên",
        "lead",
        "specialist",
        "awaiting_approval",
        "submit_to_committee",
    ),
    "record_issuance": ("Chuyên viên", "lead", "specialist", "submitted", "record_issuance"),
}

FORM_KEYS = {
    "draft",
    "review_draft",
    "collect_opinions",
    "collect_opinions_external",
    "consolidate",
    "leader_approval",
    "submit_to_committee",
    "record_issuance",
}

SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
CONSULTED = ["VP", "TTCNTT", "SO_NGANH_DP"]


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
    """User task specs by BPMN id.

    The multi-instance element is split by SpiffWorkflow into a `ParallelMultiInstanceTask` named
    `collect_opinions` (no lane, no extensions) and the `UserTask` `collect_opinions [child]` that
    carries the BPMN id, lane and properties: keep the latter.
    """
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


def complete(wf: BpmnWorkflow, bpmn_id: str, data: dict, *, form: str | None = None):
    """Restore, complete the single READY task `bpmn_id` with `data`; return (workflow, task id)."""
    wf = round_trip(wf)
    ready = ready_user_tasks(wf)
    assert [t.task_spec.bpmn_id for t in ready] == [bpmn_id]
    task = ready[0]
    assert task.state == TaskState.READY
    lane, _unit, _roles, task_state, form_key = USER_TASKS[bpmn_id]
    assert task.task_spec.lane == lane
    assert task.task_spec.extensions["properties"]["task_state"] == task_state
    assert_form_accepts(form or form_key, data)
    task.set_data(**data)
    task.run()
    wf.do_engine_steps()
    return wf, task.id


# --------------------------------------------------------------------------- structure


def test_parses_with_xsd_validator_and_has_one_executable_process(parser):
    assert parser.get_process_ids() == [PROCESS_ID]
    tree = etree.parse(str(BPMN_FILE))
    process = tree.find("bpmn:process", NS)
    assert process.get("isExecutable") == "true"
    participants = tree.findall("bpmn:collaboration/bpmn:participant", NS)
    assert [p.get("processRef") for p in participants] == [PROCESS_ID]
    ids = {el.get("id") for el in tree.iter() if el.get("id")}
    assert not ids & {"Start", "End"}


def test_user_task_ids_are_exactly_the_seven_steps(spec):
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


def test_collect_opinions_is_parallel_multi_instance_with_extra_properties(spec):
    mi = spec.task_specs["collect_opinions"]
    assert type(mi).__name__ == "ParallelMultiInstanceTask"
    assert mi.data_input.bpmn_id == "consulted_units"
    assert mi.data_output.bpmn_id == "opinions"
    assert mi.input_item.bpmn_id == "consulted_unit"
    assert mi.output_item.bpmn_id == "opinion"
    props = user_task_specs(spec)["collect_opinions"].extensions["properties"]
    assert props["external_form"] == "collect_opinions_external"
    assert props["external_roles"] == "specialist"
    assert props["due"] == "P10D"
    # bpmn-moddle resolves loopDataInputRef/loopDataOutputRef as id references: without a declared
    # element it warns "unresolved reference" and a bpmn-js modeler export drops both refs.
    tree = etree.parse(str(BPMN_FILE))
    declared = {p.get("id") for p in tree.iterfind("bpmn:process/bpmn:property", NS)}
    assert {"consulted_units", "opinions"} <= declared


def test_gateways_have_default_and_return_conditions():
    tree = etree.parse(str(BPMN_FILE))
    for gateway, ret, default, back_to in (
        ("review_decision", "flow_review_return", "flow_review_approve", "draft"),
        ("approval_decision", "flow_approval_return", "flow_approval_approve", "consolidate"),
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


def test_xsd_ordering_of_multi_instance_children_is_enforced():
    """loopDataInputRef, loopDataOutputRef, inputDataItem, outputDataItem: in this order only."""
    text = BPMN_FILE.read_text(encoding="utf-8")
    swapped = re.sub(
        r"(<bpmn:loopDataOutputRef>.*?</bpmn:loopDataOutputRef>)(\s*)(<bpmn:inputDataItem [^>]*/>)",
        r"\3\2\1",
        text,
    )
    assert swapped != text
    with pytest.raises(ValidationException):
        parse(swapped.encode("utf-8"))


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


def _walk_properties(schema: dict, where: str):
    for name, prop in schema.get("properties", {}).items():
        yield f"{where}.{name}", prop


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
    for where, prop in _walk_properties(schema, key):
        assert prop.get("title", "").strip(), where
        assert prop.get("description", "").strip(), where
        if "enum" in prop:
            assert set(prop["x-enum-labels"]) == set(prop["enum"]), where
        if prop.get("format") == "date":
            assert prop["type"] == "string", where


@pytest.mark.parametrize("key", ["review_draft", "leader_approval"])
def test_decision_forms_require_a_comment_when_returning(key):
    schema = load_form(key)
    assert schema["x-requires-comment"] == {"decision": ["return"]}
    assert schema["properties"]["decision"]["enum"] == ["approve", "return"]
    # The comment travels beside the data (it goes to the audit trail); the form says when it is required.
    assert "comment" not in schema["properties"]

    def errors(data, comment=None):
        return validate_form(schema, data, comment, unit_exists=lambda code: True)

    assert errors({"decision": "approve"}) == {}
    assert set(errors({"decision": "return"})) == {"comment"}
    assert set(errors({"decision": "return"}, "  ")) == {"comment"}
    assert errors({"decision": "return"}, "Bổ sung nội dung.") == {}
    assert set(errors({"decision": "maybe"})) == {"decision"}


def test_forms_reject_bad_data():
    draft = form_validator("draft")
    assert draft.is_valid({"consulted_units": ["VP"], "summary": "Dự thảo"})
    assert not draft.is_valid({"consulted_units": [], "summary": "Dự thảo"})
    assert not draft.is_valid({"consulted_units": ["VP", "VP"], "summary": "Dự thảo"})
    assert not draft.is_valid({"consulted_units": ["VP"], "summary": ""})
    assert not draft.is_valid({"consulted_units": ["VP"], "summary": "x", "other": 1})
    assert load_form("draft")["properties"]["consulted_units"]["x-options"] == "consultable_units"
    external = form_validator("collect_opinions_external")
    good = {"opinion": "Nhất trí", "agree": True, "document_number": "12/UBND", "document_date": "2025-03-05"}
    assert external.is_valid(good)
    assert not external.is_valid({**good, "document_date": "05/03/2025"})
    assert not form_validator("collect_opinions").is_valid({"opinion": "Nhất trí", "agree": "có"})
    assert form_validator("consolidate").is_valid({"accepted": "Tiếp thu toàn bộ"})


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
    assert len(nodes) == 11
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

    # Lanes: horizontal bands stacked inside the pool, not overlapping one another.
    lane_boxes = [shapes[ln.get("id")] for ln in lanes]
    for box in lane_boxes:
        assert inside(box, shapes[participant])
    for i, a in enumerate(lane_boxes):
        for b in lane_boxes[i + 1 :]:
            assert not overlap(a, b)

    # Each flow node sits inside the band of the lane that references it; no two nodes overlap.
    for lane in lanes:
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            assert inside(shapes[ref.text], shapes[lane.get("id")]), ref.text
    node_boxes = {el.get("id"): shapes[el.get("id")] for el in nodes}
    ids = sorted(node_boxes)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            assert not overlap(node_boxes[a], node_boxes[b]), (a, b)

    # Left to right: every forward flow goes rightwards; only the two return flows go back.
    for flow in flows:
        src, dst = node_boxes[flow.get("sourceRef")], node_boxes[flow.get("targetRef")]
        if flow.get("id") in {"flow_review_return", "flow_approval_return"}:
            assert dst[0] < src[0]
        else:
            assert dst[0] > src[0], flow.get("id")
        # Edges start and end on their shapes' borders.
        first, last = edges[flow.get("id")][0], edges[flow.get("id")][-1]
        for point, box in ((first, src), (last, dst)):
            on_x = box[0] <= point[0] <= box[0] + box[2]
            on_y = box[1] <= point[1] <= box[1] + box[3]
            assert on_x and on_y, flow.get("id")


# --------------------------------------------------------------------------- execution


def test_full_path_with_both_return_loops_across_restores(parser):
    wf = BpmnWorkflow(parser.get_spec(PROCESS_ID), parser.get_subprocess_specs(PROCESS_ID))
    wf.do_engine_steps()

    draft_data = {"consulted_units": list(CONSULTED), "summary": "Dự thảo Kế hoạch tuyên truyền năm 2025."}
    wf, first_draft = complete(wf, "draft", draft_data)
    wf, _ = complete(wf, "review_draft", {"decision": "return"})

    # Returned: a new READY draft task (a new task, not the completed one).
    wf, second_draft = complete(wf, "draft", {**draft_data, "summary": "Dự thảo đã chỉnh sửa."})
    assert second_draft != first_draft
    wf, _ = complete(wf, "review_draft", {"decision": "approve"})

    # Parallel multi-instance: one READY child per consulted unit, addressed by id.
    wf = round_trip(wf)
    children = ready_user_tasks(wf)
    assert len(children) == 3
    assert {t.task_spec.bpmn_id for t in children} == {"collect_opinions"}
    assert {t.task_spec.name for t in children} == {"collect_opinions [child]"}
    by_unit = {t.data["consulted_unit"]: t.id for t in children}
    assert set(by_unit) == set(CONSULTED)
    mi_task = children[0].parent
    assert mi_task.task_spec.name == "collect_opinions" and mi_task.state == TaskState.STARTED

    for index, unit in enumerate(CONSULTED):
        wf = round_trip(wf)  # restore before every child: merge must still happen afterwards
        task = wf.get_task_from_id(by_unit[unit])
        assert task.state == TaskState.READY
        assert task.task_spec.extensions["properties"]["task_state"] == "collecting_opinions"
        form = {"opinion": f"Ý kiến của {unit}", "agree": unit != "TTCNTT"}
        assert_form_accepts("collect_opinions", form)
        task.set_data(opinion={"unit": unit, **form})
        task.run()
        wf.do_engine_steps()
        remaining = {t.id for t in ready_user_tasks(wf)}
        if index < len(CONSULTED) - 1:
            assert remaining == {by_unit[u] for u in CONSULTED[index + 1 :]}

    wf, first_consolidate = complete(
        wf, "consolidate", {"accepted": "Tiếp thu ý kiến của VP và SO_NGANH_DP."}
    )
    consolidate_task = wf.get_task_from_id(first_consolidate)
    assert len(consolidate_task.data["opinions"]) == 3

    wf, _ = complete(wf, "leader_approval", {"decision": "return"})
    wf, second_consolidate = complete(
        wf,
        "consolidate",
        {"accepted": "Đã bổ sung kinh phí.", "explanation": "Không tiếp thu ý kiến của TTCNTT vì trùng lặp."},
    )
    assert second_consolidate != first_consolidate
    wf, _ = complete(wf, "leader_approval", {"decision": "approve"})
    wf, _ = complete(
        wf, "submit_to_committee", {"submission_number": "45/TTr-SKHCN", "submission_date": "2025-04-02"}
    )
    wf, last = complete(
        wf,
        "record_issuance",
        {"issued_number": "88/KH-UBND", "issued_date": "2025-04-15", "result": "Kế hoạch đã được ban hành."},
    )

    wf = round_trip(wf)
    assert wf.is_completed()
    assert ready_user_tasks(wf) == []
    final = wf.get_task_from_id(last).data
    opinions = final["opinions"]
    assert len(opinions) == 3
    assert [o["unit"] for o in opinions] == CONSULTED
    assert [o["agree"] for o in opinions] == [True, False, True]
    assert final["issued_number"] == "88/KH-UBND"
    assert final["decision"] == "approve"

    # The path actually taken: each step completed the expected number of times.
    completed = [t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.COMPLETED, manual=True)]
    counts = {bpmn_id: completed.count(bpmn_id) for bpmn_id in USER_TASKS}
    assert counts == {
        "draft": 2,
        "review_draft": 2,
        "collect_opinions": 3,
        "consolidate": 2,
        "leader_approval": 2,
        "submit_to_committee": 1,
        "record_issuance": 1,
    }
    end = [t for t in wf.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id == "end_event"]
    assert len(end) == 1
