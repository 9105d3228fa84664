"""Shared helpers for the plain-SpiffWorkflow BPMN tests (tests/test_bpmn_*_raw.py).

Plain functions, parameterised by the diagram path, process id or forms directory: parsing with the
XSD validator, loading and checking forms, the save/restore round trip, completing the single READY
task of a step, and the BPMN DI completeness/layout checks.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path

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
BPMN_DIR = REPO_ROOT / "bpmn"

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}

SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))

# bpmn id -> (lane, unit, roles, task_state, form)
UserTasks = Mapping[str, tuple[str, str, str, str, str]]


# --------------------------------------------------------------------------- parsing


def parse(bpmn_file: Path, text: bytes | None = None) -> SpiffBpmnParser:
    """Parse `bpmn_file` (or `text` instead) with SpiffWorkflow's XSD validator."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    if text is None:
        parser.add_bpmn_file(str(bpmn_file))
    else:
        parser.add_bpmn_str(text)
    return parser


def user_task_specs(spec) -> dict[str, UserTask]:
    """User task specs by BPMN id.

    A multi-instance element is split by SpiffWorkflow into a `ParallelMultiInstanceTask` named after
    it (no lane, no extensions) and the `UserTask` `<id> [child]` that carries the BPMN id, lane and
    properties: the latter is kept.
    """
    found: dict[str, UserTask] = {}
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, UserTask):
            assert task_spec.bpmn_id not in found, task_spec.bpmn_id
            found[task_spec.bpmn_id] = task_spec
    return found


def assert_one_executable_process(parser: SpiffBpmnParser, bpmn_file: Path, process_id: str, forbidden_ids):
    """One executable process, referenced by the only participant; none of `forbidden_ids` used."""
    assert parser.get_process_ids() == [process_id]
    tree = etree.parse(str(bpmn_file))
    process = tree.find("bpmn:process", NS)
    assert process.get("isExecutable") == "true"
    participants = tree.findall("bpmn:collaboration/bpmn:participant", NS)
    assert [p.get("processRef") for p in participants] == [process_id]
    ids = {el.get("id") for el in tree.iter() if el.get("id")}
    assert not ids & set(forbidden_ids)
    return tree


def assert_user_task_properties(task_spec: UserTask, expected: tuple, *, exact_keys: bool = False) -> None:
    """Lane and properties as `expected` (lane, unit, roles, task_state, form); NFC documentation."""
    lane, unit, roles, task_state, form = expected
    props = task_spec.extensions["properties"]
    if exact_keys:
        assert set(props) == {"unit", "roles", "task_state", "form"}
    else:
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


def assert_lanes(bpmn_file: Path, lanes: Iterable[str], spec=None) -> None:
    """The diagram's lanes are exactly `lanes`; the spec's task lanes (if given) are among them."""
    tree = etree.parse(str(bpmn_file))
    names = [lane.get("name") for lane in tree.iterfind(".//bpmn:lane", NS)]
    assert sorted(names) == sorted(lanes)
    if spec is not None:
        lanes_in_spec = {ts.lane for ts in spec.task_specs.values() if getattr(ts, "lane", None)}
        assert lanes_in_spec <= set(lanes)


# --------------------------------------------------------------------------- forms


def load_form(forms_dir: Path, key: str) -> dict:
    return json.loads((forms_dir / f"{key}.json").read_text(encoding="utf-8"))


def form_validator(forms_dir: Path, key: str) -> Draft202012Validator:
    return Draft202012Validator(load_form(forms_dir, key), format_checker=FormatChecker())


def assert_form_accepts(forms_dir: Path, key: str, data: dict) -> None:
    errors = [e.message for e in form_validator(forms_dir, key).iter_errors(data)]
    assert not errors, (key, data, errors)


def named_form_keys(user_task_specs_by_id: Mapping[str, UserTask]) -> set[str]:
    """Every form (and external form) a user task names."""
    named = set()
    for task_spec in user_task_specs_by_id.values():
        props = task_spec.extensions["properties"]
        named.add(props["form"])
        if "external_form" in props:
            named.add(props["external_form"])
    return named


def assert_form_files(forms_dir: Path, form_keys: set[str]) -> None:
    assert {p.stem for p in forms_dir.glob("*.json")} == form_keys


def assert_valid_form_schema(forms_dir: Path, key: str, where_prefix: str | None = None) -> dict:
    """A JSON Schema 2020-12 object form in NFC with titled, described properties; returns it."""
    raw = (forms_dir / f"{key}.json").read_text(encoding="utf-8")
    assert unicodedata.is_normalized("NFC", raw)
    schema = json.loads(raw)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["title"].strip() and schema["description"].strip()
    assert schema["required"] and set(schema["required"]) <= set(schema["properties"])
    for name, prop in schema.get("properties", {}).items():
        where = f"{where_prefix or key}.{name}"
        assert prop.get("title", "").strip(), where
        assert prop.get("description", "").strip(), where
        if "enum" in prop:
            assert set(prop["x-enum-labels"]) == set(prop["enum"]), where
        if prop.get("format") == "date":
            assert prop["type"] == "string", where
    return schema


def assert_decision_form_requires_comment(schema: dict, comment: str) -> None:
    """approve/return decision; a comment (beside the data) is required when returning."""
    assert schema["x-requires-comment"] == {"decision": ["return"]}
    assert schema["properties"]["decision"]["enum"] == ["approve", "return"]
    # The comment travels beside the data (it goes to the audit trail); the form says when it is required.
    assert "comment" not in schema["properties"]

    def errors(data, comment=None):
        return validate_form(schema, data, comment, unit_exists=lambda code: True)

    assert errors({"decision": "approve"}) == {}
    assert set(errors({"decision": "return"})) == {"comment"}
    assert set(errors({"decision": "return"}, "  ")) == {"comment"}
    assert errors({"decision": "return"}, comment) == {}
    assert set(errors({"decision": "maybe"})) == {"decision"}


# --------------------------------------------------------------------------- execution


def new_workflow(parser: SpiffBpmnParser, process_id: str, *, script_engine=None, data=None) -> BpmnWorkflow:
    wf = BpmnWorkflow(parser.get_spec(process_id), parser.get_subprocess_specs(process_id))
    if script_engine is not None:
        wf.script_engine = script_engine
    if data:
        wf.task_tree.data.update(data)
    wf.do_engine_steps()
    return wf


def ready_user_tasks(wf: BpmnWorkflow):
    return wf.get_tasks(state=TaskState.READY, manual=True)


def round_trip(wf: BpmnWorkflow, script_engine=None) -> BpmnWorkflow:
    """Save, restore, save again: both documents must be equal; continue on the restored copy."""
    first = SERIALIZER.serialize_json(wf)
    restored = SERIALIZER.deserialize_json(first)
    second = SERIALIZER.serialize_json(restored)
    assert json.loads(first) == json.loads(second)
    ready_before = {t.id for t in wf.get_tasks(state=TaskState.READY, manual=True)}
    ready_after = {t.id for t in restored.get_tasks(state=TaskState.READY, manual=True)}
    assert ready_before == ready_after
    if script_engine is not None:
        restored.script_engine = script_engine  # the deserializer brings back the unrestricted default
    return restored


def complete(
    wf: BpmnWorkflow,
    bpmn_id: str,
    data: dict,
    *,
    user_tasks: UserTasks,
    forms_dir: Path,
    form: str | None = None,
    script_engine=None,
):
    """Restore, complete the single READY task `bpmn_id` with `data`; return (workflow, task id)."""
    wf = round_trip(wf, script_engine)
    ready = ready_user_tasks(wf)
    assert [t.task_spec.bpmn_id for t in ready] == [bpmn_id]
    task = ready[0]
    assert task.state == TaskState.READY
    lane, _unit, _roles, task_state, form_key = user_tasks[bpmn_id]
    assert task.task_spec.lane == lane
    assert task.task_spec.extensions["properties"]["task_state"] == task_state
    assert_form_accepts(forms_dir, form or form_key, data)
    task.set_data(**data)
    task.run()
    wf.do_engine_steps()
    return wf, task.id


def completed_counts(wf: BpmnWorkflow, bpmn_ids: Iterable[str]) -> dict[str, int]:
    """How often each of `bpmn_ids` completed."""
    completed = [t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.COMPLETED, manual=True)]
    return {bpmn_id: completed.count(bpmn_id) for bpmn_id in bpmn_ids}


def assert_end_reached_once(wf: BpmnWorkflow) -> None:
    end = [t for t in wf.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id == "end_event"]
    assert len(end) == 1


def assert_ended(wf: BpmnWorkflow, script_engine=None) -> BpmnWorkflow:
    """After a restore: completed, nothing READY, the end event reached once; returns the restored copy."""
    wf = round_trip(wf, script_engine)
    assert wf.is_completed()
    assert ready_user_tasks(wf) == []
    assert_end_reached_once(wf)
    return wf


# --------------------------------------------------------------------------- diagram interchange


def _inside(inner, outer) -> bool:
    return (
        inner[0] >= outer[0]
        and inner[1] >= outer[1]
        and inner[0] + inner[2] <= outer[0] + outer[2]
        and inner[1] + inner[3] <= outer[1] + outer[3]
    )


def _overlap(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def assert_di_complete_and_tidy(
    bpmn_file: Path, flow_nodes: int, return_flows: Iterable[str], *, every_node_in_one_lane: bool = False
) -> None:
    """Every element has DI; lanes stack in the pool; nodes sit in their lanes without overlapping;
    edges are orthogonal, start and end on their shapes, and go rightwards except `return_flows`."""
    return_flows = set(return_flows)
    tree = etree.parse(str(bpmn_file))
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

    flow_node_tags = {"startEvent", "endEvent", "userTask", "exclusiveGateway", "intermediateCatchEvent"}
    nodes = [el for el in process if isinstance(el.tag, str) and etree.QName(el).localname in flow_node_tags]
    assert len(nodes) == flow_nodes
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

    # Lanes: horizontal bands stacked inside the pool, not overlapping one another.
    lane_boxes = [shapes[ln.get("id")] for ln in lanes]
    for box in lane_boxes:
        assert _inside(box, shapes[participant])
    for i, a in enumerate(lane_boxes):
        for b in lane_boxes[i + 1 :]:
            assert not _overlap(a, b)

    # Each flow node sits inside the band of the lane that references it; no two nodes overlap.
    if every_node_in_one_lane:
        refs = [ref.text for lane in lanes for ref in lane.iterfind("bpmn:flowNodeRef", NS)]
        assert sorted(refs) == sorted(el.get("id") for el in nodes)
    for lane in lanes:
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            assert _inside(shapes[ref.text], shapes[lane.get("id")]), ref.text
    node_boxes = {el.get("id"): shapes[el.get("id")] for el in nodes}
    ids = sorted(node_boxes)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            assert not _overlap(node_boxes[a], node_boxes[b]), (a, b)

    # Left to right: every forward flow goes rightwards; only the return flows go back.
    for flow in flows:
        src, dst = node_boxes[flow.get("sourceRef")], node_boxes[flow.get("targetRef")]
        if flow.get("id") in return_flows:
            assert dst[0] < src[0]
        else:
            assert dst[0] > src[0], flow.get("id")
        # Edges start and end on their shapes' borders.
        first, last = edges[flow.get("id")][0], edges[flow.get("id")][-1]
        for point, box in ((first, src), (last, dst)):
            on_x = box[0] <= point[0] <= box[0] + box[2]
            on_y = box[1] <= point[1] <= box[1] + box[3]
            assert on_x and on_y, flow.get("id")


def assert_gateway_loops(bpmn_file: Path, gateways: Iterable[tuple[str, str, str, str, str]]) -> None:
    """Each (gateway, conditional flow, default flow, target, condition): the conditional flow goes
    back to `target` on exactly `condition`, and the default flow has no condition."""
    tree = etree.parse(str(bpmn_file))
    for gateway, conditional, default, back_to, condition_text in gateways:
        node = tree.find(f"bpmn:process/bpmn:exclusiveGateway[@id='{gateway}']", NS)
        assert node.get("default") == default
        flow = tree.find(f"bpmn:process/bpmn:sequenceFlow[@id='{conditional}']", NS)
        assert flow.get("sourceRef") == gateway and flow.get("targetRef") == back_to
        assert flow.find("bpmn:conditionExpression", NS).text.strip() == condition_text
        default_flow = tree.find(f"bpmn:process/bpmn:sequenceFlow[@id='{default}']", NS)
        assert default_flow.find("bpmn:conditionExpression", NS) is None


def assert_parallel_multi_instance(spec, bpmn_file: Path, step: str, refs: tuple[str, str, str, str]) -> dict:
    """The step fans out in parallel over (data input, data output, input item, output item), both
    collections are declared as process properties (bpmn-js keeps the refs only then); its properties."""
    data_input, data_output, input_item, output_item = refs
    mi = spec.task_specs[step]
    assert type(mi).__name__ == "ParallelMultiInstanceTask"
    assert mi.data_input.bpmn_id == data_input and mi.data_output.bpmn_id == data_output
    assert mi.input_item.bpmn_id == input_item and mi.output_item.bpmn_id == output_item
    tree = etree.parse(str(bpmn_file))
    declared = {p.get("id") for p in tree.iterfind("bpmn:process/bpmn:property", NS)}
    assert {data_input, data_output} <= declared
    return user_task_specs(spec)[step].extensions["properties"]
