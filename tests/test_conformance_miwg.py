"""Diagrams drawn elsewhere: every file of the BPMN MIWG test suite, uploaded through the API.

The corpus lives outside the project, in ../shared/conformance/miwg/ (reference/ and bpmn-io/, see its
README); the whole module is skipped when it is absent. For each file:
- the upload never answers 5xx;
- it deploys (201) exactly when it can run here, else 422 listing each blocking element with its id,
  name, BPMN type, line and a sentence naming it; nothing of a refused upload is stored;
- a descriptive diagram (no executable process) is called non-executable, never "empty";
- what deploys downloads with every element id and the diagram interchange (shapes' bounds, edges'
  waypoints) of the original.

None of the 42 files runs here as drawn: they were made for other engines (service, send and receive
tasks, message events, untyped tasks, lanes that are not our roles, conditions in other expression
languages). Two bpmn.io exports are blocked only by untyped tasks; turned into user tasks (a `roles`
property, nothing else changed) they deploy, and they check the round trip on a real collaboration.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from app.extensions import db
from app.models import ProcessDefinition

MIWG = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "miwg"
if not MIWG.is_dir():
    pytest.skip(f"the MIWG corpus is not at {MIWG}", allow_module_level=True)

FILES = sorted(path for folder in ("reference", "bpmn-io") for path in (MIWG / folder).glob("*.bpmn"))
URL = "/api/v1/process-definitions"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
# The files that run here as drawn (see the module's docstring for why there are none).
DEPLOYS: frozenset[str] = frozenset()
# The files whose only problems are untyped tasks (`bpmn:task`): they deploy once those are user tasks.
ONLY_UNTYPED_TASKS = ("A.4.0-export.bpmn", "A.4.1-export.bpmn")


def _ids(paths: list[Path]) -> list[str]:
    return [f"{path.parent.name}/{path.name}" for path in paths]


def parse(raw: bytes) -> etree._Element:
    return etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))


def is_descriptive(root: etree._Element) -> bool:
    """No executable process (SpiffWorkflow's reading: isExecutable missing counts as "true")."""
    return all(p.get("isExecutable", "true") != "true" for p in root.iter(f"{{{BPMN}}}process"))


def bpmn_elements(root: etree._Element) -> list[etree._Element]:
    """The BPMN elements in document order (vendor extensions may reuse their ids)."""
    return [node for node in root.iter() if isinstance(node.tag, str) and etree.QName(node).namespace == BPMN]


def element_ids(root: etree._Element) -> set[str]:
    return {node.get("id") for node in root.iter() if isinstance(node.tag, str) and node.get("id")}


def layout(root: etree._Element) -> tuple[dict, dict]:
    """Every DI shape's bounds and every DI edge's waypoints, by the element they draw."""
    shapes = {
        shape.get("bpmnElement"): tuple(shape.find(f"{{{DC}}}Bounds").attrib.items())
        for shape in root.iter(f"{{{DI}}}BPMNShape")
    }
    edges = {
        edge.get("bpmnElement"): [tuple(point.attrib.items()) for point in edge.iter(f"{{{DI}}}waypoint")]
        for edge in root.iter(f"{{{DI}}}BPMNEdge")
    }
    return shapes, edges


def upload(client, headers, raw: bytes, filename: str):
    data = {"file": (io.BytesIO(raw), filename)}
    return client.post(URL, data=data, content_type="multipart/form-data", headers=headers)


def stored_keys() -> list[tuple[str, int]]:
    db.session.expire_all()
    return sorted(db.session.execute(select(ProcessDefinition.key, ProcessDefinition.version)).all())


@pytest.fixture
def admin(api_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token('admin')}"}


def assert_round_trip(client, admin, body: dict, original: etree._Element, uploaded: bytes) -> None:
    download = client.get(body["url"], headers=admin)
    assert download.status_code == 200
    assert download.data == uploaded
    returned = parse(download.data)
    assert element_ids(original) <= element_ids(returned)
    assert layout(returned) == layout(original)
    assert layout(original) != ({}, {}), "the diagram has a layout to keep"


def test_the_corpus_is_all_there():
    assert len(FILES) == 42
    assert set(ONLY_UNTYPED_TASKS) <= {path.name for path in FILES}


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_an_upload_deploys_or_names_each_blocking_element(app, client, admin, path):
    raw = path.read_bytes()
    original = parse(raw)
    before = stored_keys()
    response = upload(client, admin, raw, path.name)
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if path.name in DEPLOYS:
        assert response.status_code == 201, response.get_json()
        assert_round_trip(client, admin, response.get_json(), original, raw)
        return
    assert response.status_code == 422, response.get_json()
    assert stored_keys() == before
    problems = response.get_json()["details"]
    assert problems
    by_id = {node.get("id"): node for node in reversed(bpmn_elements(original)) if node.get("id")}
    for problem in problems:
        assert set(problem) == {"element_id", "element_name", "element_type", "line", "message"}
        assert problem["message"].strip() and "rỗng" not in problem["message"]
        node = by_id.get(problem["element_id"])
        assert node is not None, f"every problem names an element of the file: {problem}"
        assert problem["element_name"] == node.get("name")
        assert problem["element_type"] == etree.QName(node).localname
        lines = {child.sourceline for child in node.iter()}
        assert problem["line"] in lines, f"the line is the element's or its code's: {problem}"
        assert f"{problem['element_id']})" in problem["message"], problem["message"]


DESCRIPTIVE = [path for path in FILES if is_descriptive(parse(path.read_bytes()))]


@pytest.mark.parametrize("path", DESCRIPTIVE, ids=_ids(DESCRIPTIVE))
def test_a_descriptive_diagram_is_called_non_executable(app, client, admin, path):
    original = parse(path.read_bytes())
    response = upload(client, admin, path.read_bytes(), path.name)
    assert response.status_code == 422
    problems = response.get_json()["details"]
    processes = {p.get("id") for p in original.iter(f"{{{BPMN}}}process")}
    assert {p["element_id"] for p in problems} == processes
    for problem in problems:
        assert problem["element_type"] == "process"
        assert "không thực thi được" in problem["message"] and 'isExecutable="false"' in problem["message"]


def test_some_files_of_the_corpus_are_descriptive():
    assert len(DESCRIPTIVE) >= 10  # the A.* and several C.* reference models


def with_user_tasks(root: etree._Element, task_ids: set[str]) -> bytes:
    """The document with these untyped tasks turned into user tasks for specialists (ids, names,
    flows and layout untouched)."""
    for node in root.iter(f"{{{BPMN}}}task"):
        if node.get("id") in task_ids:
            node.tag = f"{{{BPMN}}}userTask"
            extensions = etree.Element(f"{{{BPMN}}}extensionElements")
            properties = etree.SubElement(extensions, f"{{{SPIFF}}}properties")
            etree.SubElement(properties, f"{{{SPIFF}}}property", name="roles", value="specialist")
            node.insert(0, extensions)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@pytest.mark.parametrize("name", ONLY_UNTYPED_TASKS)
def test_a_bpmn_io_collaboration_made_runnable_deploys_and_keeps_its_layout(app, client, admin, name):
    path = MIWG / "bpmn-io" / name
    refused = upload(client, admin, path.read_bytes(), name)
    assert refused.status_code == 422
    problems = refused.get_json()["details"]
    assert {p["element_type"] for p in problems} == {"task"}
    runnable = with_user_tasks(parse(path.read_bytes()), {p["element_id"] for p in problems})
    response = upload(client, admin, runnable, name)
    assert response.status_code == 201, response.get_json()
    assert_round_trip(client, admin, response.get_json(), parse(path.read_bytes()), runnable)
