"""The periodic processes on plain SpiffWorkflow: one period (a month or a year) per instance.

- `continuous_duty` (tasks 2.a, 8.c, 10.a): period_report → head_review (return → period_report).
- `monthly_report` (one per unit and month): unit_report → unit_head_sign (return → unit_report).
- `monthly_consolidation` (Phòng CNTT, one per month): consolidate_reports → leader_approval
  (return → consolidate_reports) → record_meeting.

A scheduler starts each instance with `period` ("2025-03" or "2025") in the instance data; nothing
loops over periods inside an instance. No Flask here: each file is parsed with SpiffWorkflow's XSD
validator, its forms are checked as JSON Schema 2020-12 documents, and every path (with each
"return" loop) is run with a save/restore round trip before every user step, continuing on the
restored workflow only.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
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

from app.models import TaskState as PlanTaskState
from workflows.forms import validate_form

BPMN_DIR = Path(__file__).resolve().parent.parent / "bpmn"
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
CV, TDV, LDS = "Chuyên viên", "Trưởng đơn vị", "Lãnh đạo Sở"


@dataclass(frozen=True)
class Process:
    key: str
    name: str
    lanes: frozenset[str]
    # bpmn id -> (lane, unit, roles, task_state, form)
    user_tasks: dict[str, tuple[str, str, str, str, str]]
    # (gateway, return flow, default flow, back to)
    gateways: tuple[tuple[str, str, str, str], ...]
    decision_forms: tuple[str, ...]
    flow_nodes: int
    period: str
    # The path to run: (step, data); a "return" decision goes back.
    path: tuple[tuple[str, dict], ...]
    # How often each step completes on that path.
    counts: dict[str, int]

    @property
    def file(self) -> Path:
        return BPMN_DIR / f"{self.key}.bpmn"

    @property
    def forms_dir(self) -> Path:
        return BPMN_DIR / "forms" / self.key

    @property
    def form_keys(self) -> set[str]:
        return {form for *_rest, form in self.user_tasks.values()}


REPORT = {"done": "Rà soát, cập nhật dữ liệu.", "results": "Cập nhật 120 hồ sơ.", "percent": 40}
UNIT_REPORT = {"summary": "Hoàn thành 3/4 nhiệm vụ trong tháng."}
RETURN = {"decision": "return"}
APPROVE = {"decision": "approve"}

PROCESSES = {
    "continuous_duty": Process(
        key="continuous_duty",
        name="Nhiệm vụ thường xuyên (một kỳ)",
        lanes=frozenset({CV, TDV}),
        user_tasks={
            "period_report": (CV, "lead", "specialist", "in_progress", "period_report"),
            "head_review": (TDV, "lead", "unit_head", "reviewing", "head_review"),
        },
        gateways=(
            ("head_decision", "flow_head_decision_return", "flow_head_decision_approve", "period_report"),
        ),
        decision_forms=("head_review",),
        flow_nodes=5,
        period="2025-03",
        path=(
            ("period_report", REPORT),
            ("head_review", RETURN),
            ("period_report", {**REPORT, "difficulties": "Thiếu nhân lực.", "percent": 100}),
            ("head_review", APPROVE),
        ),
        counts={"period_report": 2, "head_review": 2},
    ),
    "monthly_report": Process(
        key="monthly_report",
        name="Báo cáo tháng",
        lanes=frozenset({CV, TDV}),
        user_tasks={
            "unit_report": (CV, "lead", "specialist", "in_progress", "unit_report"),
            "unit_head_sign": (TDV, "lead", "unit_head", "reviewing", "unit_head_sign"),
        },
        gateways=(
            ("sign_decision", "flow_sign_decision_return", "flow_sign_decision_approve", "unit_report"),
        ),
        decision_forms=("unit_head_sign",),
        flow_nodes=5,
        period="2025-04",
        path=(
            ("unit_report", UNIT_REPORT),
            ("unit_head_sign", RETURN),
            (
                "unit_report",
                {
                    **UNIT_REPORT,
                    "overdue_explanations": "Nhiệm vụ 1.b chậm do chờ ý kiến góp ý.",
                    "proposals": "Đề nghị gia hạn đến 30/5.",
                },
            ),
            ("unit_head_sign", APPROVE),
        ),
        counts={"unit_report": 2, "unit_head_sign": 2},
    ),
    "monthly_consolidation": Process(
        key="monthly_consolidation",
        name="Tổng hợp báo cáo tháng",
        lanes=frozenset({CV, LDS}),
        user_tasks={
            "consolidate_reports": (CV, "lead", "specialist", "consolidating", "consolidate_reports"),
            "leader_approval": (LDS, "any", "leader", "awaiting_approval", "leader_approval"),
            "record_meeting": (CV, "lead", "specialist", "submitted", "record_meeting"),
        },
        gateways=(
            ("approval_decision", "flow_approval_return", "flow_approval_approve", "consolidate_reports"),
        ),
        decision_forms=("leader_approval",),
        flow_nodes=6,
        period="2025-05",
        path=(
            ("consolidate_reports", {"report": "Báo cáo tổng hợp tháng 5."}),
            ("leader_approval", RETURN),
            ("consolidate_reports", {"report": "Báo cáo tổng hợp tháng 5 (bổ sung số liệu)."}),
            ("leader_approval", APPROVE),
            (
                "record_meeting",
                {"meeting_date": "2025-05-20", "minutes": "Họp đánh giá.", "decisions": "Đẩy nhanh 1.b."},
            ),
        ),
        counts={"consolidate_reports": 2, "leader_approval": 2, "record_meeting": 1},
    ),
}
KEYS = sorted(PROCESSES)
ALL_FORMS = sorted((key, form) for key in KEYS for form in PROCESSES[key].form_keys)
DECISION_FORMS = sorted((key, form) for key in KEYS for form in PROCESSES[key].decision_forms)


# --------------------------------------------------------------------------- helpers


def parse(process: Process) -> SpiffBpmnParser:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(process.file))
    return parser


def tree(process: Process):
    return etree.parse(str(process.file))


def user_task_specs(process: Process) -> dict[str, UserTask]:
    spec = parse(process).get_spec(process.key)
    found: dict[str, UserTask] = {}
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, UserTask):
            assert task_spec.bpmn_id not in found, task_spec.bpmn_id
            found[task_spec.bpmn_id] = task_spec
    return found


def load_form(key: str, form: str) -> dict:
    return json.loads((BPMN_DIR / "forms" / key / f"{form}.json").read_text(encoding="utf-8"))


def form_validator(key: str, form: str) -> Draft202012Validator:
    return Draft202012Validator(load_form(key, form), format_checker=FormatChecker())


def round_trip(wf: BpmnWorkflow) -> BpmnWorkflow:
    """Save, restore, save again: both documents must be equal; continue on the restored copy."""
    first = SERIALIZER.serialize_json(wf)
    restored = SERIALIZER.deserialize_json(first)
    assert json.loads(first) == json.loads(SERIALIZER.serialize_json(restored))
    ready_before = {t.id for t in wf.get_tasks(state=TaskState.READY, manual=True)}
    ready_after = {t.id for t in restored.get_tasks(state=TaskState.READY, manual=True)}
    assert ready_before == ready_after
    return restored


def ready_user_tasks(wf: BpmnWorkflow):
    return wf.get_tasks(state=TaskState.READY, manual=True)


# --------------------------------------------------------------------------- structure


@pytest.mark.parametrize("key", KEYS)
def test_parses_with_xsd_validator_and_has_one_executable_process(key):
    process = PROCESSES[key]
    assert parse(process).get_process_ids() == [key]
    doc = tree(process)
    node = doc.find("bpmn:process", NS)
    assert node.get("isExecutable") == "true"
    assert node.get("name") == process.name
    participants = doc.findall("bpmn:collaboration/bpmn:participant", NS)
    assert [p.get("processRef") for p in participants] == [key]
    ids = {el.get("id") for el in doc.iter() if el.get("id")}
    assert not ids & {"Start", "End", "Root"}


@pytest.mark.parametrize("key", KEYS)
def test_user_task_ids_are_exactly_the_steps(key):
    assert set(user_task_specs(PROCESSES[key])) == set(PROCESSES[key].user_tasks)


@pytest.mark.parametrize(("key", "bpmn_id"), [(k, t) for k in KEYS for t in sorted(PROCESSES[k].user_tasks)])
def test_user_task_lane_properties_and_documentation(key, bpmn_id):
    task_spec = user_task_specs(PROCESSES[key])[bpmn_id]
    lane, unit, roles, task_state, form = PROCESSES[key].user_tasks[bpmn_id]
    props = task_spec.extensions["properties"]
    assert set(props) == {"unit", "roles", "task_state", "form"}
    assert (task_spec.lane, props["unit"], props["roles"], props["task_state"], props["form"]) == (
        lane,
        unit,
        roles,
        task_state,
        form,
    )
    assert task_state in PlanTaskState.ALL
    assert task_spec.documentation and task_spec.documentation.strip()
    assert unicodedata.is_normalized("NFC", task_spec.documentation)
    assert unicodedata.is_normalized("NFC", task_spec.bpmn_name)


@pytest.mark.parametrize("key", KEYS)
def test_gateways_have_default_and_return_conditions(key):
    doc = tree(PROCESSES[key])
    gateways = doc.findall("bpmn:process/bpmn:exclusiveGateway", NS)
    assert {g.get("id") for g in gateways} == {g for g, *_ in PROCESSES[key].gateways}
    for gateway, ret, default, back_to in PROCESSES[key].gateways:
        node = doc.find(f"bpmn:process/bpmn:exclusiveGateway[@id='{gateway}']", NS)
        assert node.get("default") == default
        flow = doc.find(f"bpmn:process/bpmn:sequenceFlow[@id='{ret}']", NS)
        assert flow.get("sourceRef") == gateway and flow.get("targetRef") == back_to
        assert flow.find("bpmn:conditionExpression", NS).text.strip() == 'decision == "return"'
        default_flow = doc.find(f"bpmn:process/bpmn:sequenceFlow[@id='{default}']", NS)
        assert default_flow.find("bpmn:conditionExpression", NS) is None
    conditions = doc.findall(".//bpmn:conditionExpression", NS)
    assert len(conditions) == len(PROCESSES[key].gateways)


@pytest.mark.parametrize("key", KEYS)
def test_lanes_are_the_roles_lanes(key):
    names = [lane.get("name") for lane in tree(PROCESSES[key]).iterfind(".//bpmn:lane", NS)]
    assert sorted(names) == sorted(PROCESSES[key].lanes)


@pytest.mark.parametrize("key", KEYS)
def test_no_timers_loops_or_scripts(key):
    """One period per instance: the scheduler starts instances; nothing waits or loops over periods."""
    doc = tree(PROCESSES[key])
    for tag in ("timerEventDefinition", "standardLoopCharacteristics", "multiInstanceLoopCharacteristics"):
        assert doc.find(f".//bpmn:{tag}", NS) is None, tag
    for tag in ("scriptTask", "serviceTask", "businessRuleTask", "subProcess", "callActivity"):
        assert doc.find(f".//bpmn:{tag}", NS) is None, tag


# --------------------------------------------------------------------------- forms


@pytest.mark.parametrize("key", KEYS)
def test_every_form_key_named_by_a_task_has_a_file(key):
    process = PROCESSES[key]
    named = {t.extensions["properties"]["form"] for t in user_task_specs(process).values()}
    assert named == process.form_keys
    assert {p.stem for p in process.forms_dir.glob("*.json")} == process.form_keys


@pytest.mark.parametrize(("key", "form"), ALL_FORMS)
def test_form_is_a_valid_2020_12_schema_with_vietnamese_titles(key, form):
    raw = (BPMN_DIR / "forms" / key / f"{form}.json").read_text(encoding="utf-8")
    assert unicodedata.is_normalized("NFC", raw)
    schema = json.loads(raw)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["title"].strip() and schema["description"].strip()
    assert schema["required"] and set(schema["required"]) <= set(schema["properties"])
    for name, prop in schema["properties"].items():
        where = f"{key}/{form}.{name}"
        assert prop.get("title", "").strip(), where
        assert prop.get("description", "").strip(), where
        if "enum" in prop:
            assert set(prop["x-enum-labels"]) == set(prop["enum"]), where
        if prop.get("format") == "date":
            assert prop["type"] == "string", where
        if prop.get("type") == "string" and "format" not in prop and "enum" not in prop:
            assert prop["x-widget"] == "textarea", where
            assert prop["maxLength"] > 0, where
            assert (prop.get("minLength", 0) >= 1) == (name in schema["required"]), where


@pytest.mark.parametrize(("key", "form"), DECISION_FORMS)
def test_decision_forms_require_a_comment_when_returning(key, form):
    schema = load_form(key, form)
    assert schema["x-requires-comment"] == {"decision": ["return"]}
    assert schema["properties"]["decision"]["enum"] == ["approve", "return"]
    assert set(schema["properties"]) == {"decision"}

    def errors(data, comment=None):
        return validate_form(schema, data, comment, unit_exists=lambda code: True)

    assert errors({"decision": "approve"}) == {}
    assert set(errors({"decision": "return"})) == {"comment"}
    assert set(errors({"decision": "return"}, "  ")) == {"comment"}
    assert errors({"decision": "return"}, "Bổ sung số liệu.") == {}
    assert set(errors({"decision": "maybe"})) == {"decision"}


def test_forms_accept_good_and_reject_bad_data():
    period = form_validator("continuous_duty", "period_report")
    assert period.is_valid(REPORT)
    assert period.is_valid({**REPORT, "percent": 0}) and period.is_valid({**REPORT, "percent": 100})
    for bad in (101, -1, "50", 50.5, None):
        assert not period.is_valid({**REPORT, "percent": bad}), bad
    assert not period.is_valid({k: v for k, v in REPORT.items() if k != "percent"})
    assert not period.is_valid({**REPORT, "done": ""})
    assert not period.is_valid({**REPORT, "other": 1})
    assert period.is_valid({**REPORT, "difficulties": ""})
    assert load_form("continuous_duty", "period_report")["required"] == ["done", "results", "percent"]

    unit_report = form_validator("monthly_report", "unit_report")
    assert unit_report.is_valid(UNIT_REPORT)
    assert unit_report.is_valid({**UNIT_REPORT, "overdue_explanations": "", "proposals": ""})
    assert not unit_report.is_valid({"summary": ""})
    assert not unit_report.is_valid({"overdue_explanations": "x"})

    assert not form_validator("monthly_consolidation", "consolidate_reports").is_valid({"report": ""})
    meeting = form_validator("monthly_consolidation", "record_meeting")
    good = {"meeting_date": "2025-05-20", "minutes": "Họp đánh giá."}
    assert meeting.is_valid(good) and meeting.is_valid({**good, "decisions": "Kết luận."})
    assert not meeting.is_valid({**good, "meeting_date": "20/05/2025"})
    assert not meeting.is_valid({"meeting_date": "2025-05-20"})


# --------------------------------------------------------------------------- diagram interchange


@pytest.mark.parametrize("key", KEYS)
def test_every_element_has_di_and_layout_is_tidy(key):
    process = PROCESSES[key]
    doc = tree(process)
    node = doc.find("bpmn:process", NS)
    plane = doc.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    assert plane.get("bpmnElement") == doc.find("bpmn:collaboration", NS).get("id")

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
    nodes = [el for el in node if isinstance(el.tag, str) and etree.QName(el).localname in flow_node_tags]
    assert len(nodes) == process.flow_nodes
    lanes = node.findall(".//bpmn:lane", NS)
    flows = node.findall("bpmn:sequenceFlow", NS)
    participant = doc.find("bpmn:collaboration/bpmn:participant", NS).get("id")

    assert set(shapes) == {el.get("id") for el in nodes} | {ln.get("id") for ln in lanes} | {participant}
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

    # Every flow node is referenced by exactly one lane and sits inside its band; no two overlap.
    refs = [ref.text for lane in lanes for ref in lane.iterfind("bpmn:flowNodeRef", NS)]
    assert sorted(refs) == sorted(el.get("id") for el in nodes)
    for lane in lanes:
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            assert inside(shapes[ref.text], shapes[lane.get("id")]), ref.text
    node_boxes = {el.get("id"): shapes[el.get("id")] for el in nodes}
    ids = sorted(node_boxes)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            assert not overlap(node_boxes[a], node_boxes[b]), (a, b)

    # Left to right: forward flows go rightwards; only the return flows go back.
    returns = {ret for _g, ret, _d, _b in process.gateways}
    for flow in flows:
        src, dst = node_boxes[flow.get("sourceRef")], node_boxes[flow.get("targetRef")]
        if flow.get("id") in returns:
            assert dst[0] < src[0]
        else:
            assert dst[0] > src[0], flow.get("id")
        first, last = edges[flow.get("id")][0], edges[flow.get("id")][-1]
        for point, box in ((first, src), (last, dst)):
            on_x = box[0] <= point[0] <= box[0] + box[2]
            on_y = box[1] <= point[1] <= box[1] + box[3]
            assert on_x and on_y, flow.get("id")


# --------------------------------------------------------------------------- execution


@pytest.mark.parametrize("key", KEYS)
def test_full_path_with_return_loop_across_restores(key):
    process = PROCESSES[key]
    parser = parse(process)
    wf = BpmnWorkflow(parser.get_spec(key), parser.get_subprocess_specs(key))
    wf.task_tree.data.update({"period": process.period, "lead_unit": "CNTT"})  # as the scheduler starts it
    wf.do_engine_steps()

    seen: dict[str, list] = {}
    last = None
    for bpmn_id, data in process.path:
        wf = round_trip(wf)
        ready = ready_user_tasks(wf)
        assert [t.task_spec.bpmn_id for t in ready] == [bpmn_id]
        task = ready[0]
        lane, _unit, _roles, task_state, form = process.user_tasks[bpmn_id]
        assert task.task_spec.lane == lane
        assert task.task_spec.extensions["properties"]["task_state"] == task_state
        assert task.data["period"] == process.period  # the period reaches every step
        assert task.id not in seen.get(bpmn_id, [])  # a returned step is a new task
        errors = [e.message for e in form_validator(key, form).iter_errors(data)]
        assert not errors, (bpmn_id, data, errors)
        task.set_data(**data)
        task.run()
        wf.do_engine_steps()
        seen.setdefault(bpmn_id, []).append(task.id)
        last = task.id

    wf = round_trip(wf)
    assert wf.is_completed()
    assert ready_user_tasks(wf) == []
    final = wf.get_task_from_id(last).data
    assert final["period"] == process.period
    assert final["decision"] == "approve"
    for bpmn_id, data in reversed(process.path):  # the last data of each step is what remains
        if bpmn_id in process.decision_forms:
            continue
        assert {k: final[k] for k in data} == data
        break

    completed = [t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.COMPLETED, manual=True)]
    assert {bpmn_id: completed.count(bpmn_id) for bpmn_id in process.user_tasks} == process.counts
    end = [t for t in wf.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id == "end_event"]
    assert len(end) == 1
