"""Diagrams drawn elsewhere, in the admin's modeler: every file of the BPMN MIWG test suite renders there.

The corpus lives outside the project, in ../shared/conformance/miwg/ (reference/ and bpmn-io/, see its
README); the module is skipped when it is absent. For each file, as an admin in a real browser:
- uploaded through the upload form of the processes page, it becomes a draft and opens in the modeler
  with no page or console error (descriptive diagrams too: refused for deploy, not for editing);
- every element the opened diagram draws (flow nodes, flows, pools, lanes, data, annotations ...) is on
  the canvas, except a called process drawn inside an expanded call activity (B.1.0, B.2.0), which
  bpmn-js does not draw (it draws the call activity);
- the page's download link gives back every element id and the diagram interchange (shapes' bounds,
  labels' bounds, edges' waypoints), first as uploaded, then after "Save draft" has exported it through
  bpmn-js (which would drop the layout it does not draw, but static/js/process-modeler.js puts it back).

One browser page, signed in once, serves the whole module (on its own copy of the demo database):
the files are independent drafts, and a new context per file would double the runtime.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from urllib.parse import urljoin

import pytest
from lxml import etree
from werkzeug.serving import make_server

from app.extensions import db
from tests.browser.test_csp import _watch
from tests.browser.test_sign_in_and_plan import sign_in
from tests.conftest import ON_POSTGRES, make_app
from workflows.bpmn_xml import parse_bpmn_xml

MIWG = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "miwg"
if not MIWG.is_dir():
    pytest.skip(f"the MIWG corpus is not at {MIWG}", allow_module_level=True)

FILES = sorted(path for folder in ("reference", "bpmn-io") for path in (MIWG / folder).glob("*.bpmn"))
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
# The reference files drawing a called process inside an expanded call activity (see called_inline).
CALLED_INLINE = frozenset({"B.1.0.bpmn", "B.2.0.bpmn"})
READY = "#modeler[data-modeler-state='ready'], #modeler[data-modeler-state='error']"
CANVAS_IDS = "nodes => [...new Set(nodes.map(n => n.dataset.elementId))]"


# --- reading the files --------------------------------------------------------------------------


def bpmn_ids(root: etree._Element) -> dict[str, str]:
    """BPMN element id -> its type (the first of a duplicated id: vendor extensions may reuse one)."""
    found: dict[str, str] = {}
    for node in root.iter():
        if isinstance(node.tag, str) and etree.QName(node).namespace == BPMN and node.get("id"):
            found.setdefault(node.get("id"), etree.QName(node).localname)
    return found


def element_ids(root: etree._Element) -> set[str]:
    return {node.get("id") for node in root.iter() if isinstance(node.tag, str) and node.get("id")}


def opened_planes(root: etree._Element) -> list[etree._Element]:
    """The planes bpmn-js shows: the first diagram's, and those of the sub-processes (drill-down).
    Further diagrams (other views of the same model, e.g. C.4.0's per-department ones) are kept in the
    file but not drawn."""
    types = bpmn_ids(root)
    planes = list(root.iter(f"{{{BPMNDI}}}BPMNPlane"))
    return planes[:1] + [plane for plane in planes[1:] if types.get(plane.get("bpmnElement")) == "subProcess"]


def drawn_ids(root: etree._Element) -> set[str]:
    """The BPMN elements the opened diagram draws (a DI element naming no element of the file draws
    nothing: C.7.0 has one)."""
    types = bpmn_ids(root)
    return {
        node.get("bpmnElement")
        for plane in opened_planes(root)
        for node in plane
        if isinstance(node.tag, str) and node.get("bpmnElement") in types
    }


def owner(root: etree._Element, element_id: str) -> str | None:
    """The process an element belongs to (None for a collaboration's pools and message flows)."""
    node = root.xpath("//*[@id=$id]", id=element_id)[0]
    process = next(node.iterancestors(f"{{{BPMN}}}process"), None)
    return process.get("id") if process is not None else None


def called_inline(root: etree._Element) -> set[str]:
    """The processes drawn inside an expanded call activity (B.1.0, B.2.0): bpmn-js draws the call
    activity, not the process it calls, which belongs to no pool of the diagram."""
    expanded = {
        shape.get("bpmnElement")
        for shape in root.iter(f"{{{BPMNDI}}}BPMNShape")
        if shape.get("isExpanded") == "true"
    }
    pools = {participant.get("processRef") for participant in root.iter(f"{{{BPMN}}}participant")}
    first = opened_planes(root)[0].get("bpmnElement")
    return {
        call.get("calledElement")
        for call in root.iter(f"{{{BPMN}}}callActivity")
        if call.get("id") in expanded and call.get("calledElement") not in pools | {first}
    }


def _numbers(node: etree._Element) -> tuple[float, ...]:
    """x, y (and width, height) as numbers: bpmn-js writes 100 where a tool wrote 100.0."""
    return tuple(
        float(node.get(name)) for name in ("x", "y", "width", "height") if node.get(name) is not None
    )


def layout(root: etree._Element) -> dict[tuple[str | None, str | None, str], tuple]:
    """Every DI shape's bounds (and its label's), every DI edge's waypoints, by plane and element."""
    result: dict[tuple[str | None, str | None, str], tuple] = {}
    for plane in root.iter(f"{{{BPMNDI}}}BPMNPlane"):
        where = plane.get("bpmnElement")
        for shape in plane.iter(f"{{{BPMNDI}}}BPMNShape"):
            result[(where, shape.get("bpmnElement"), "bounds")] = _numbers(shape.find(f"{{{DC}}}Bounds"))
        for edge in plane.iter(f"{{{BPMNDI}}}BPMNEdge"):
            points = tuple(_numbers(point) for point in edge.iterchildren(f"{{{DI}}}waypoint"))
            result[(where, edge.get("bpmnElement"), "waypoints")] = points
        for label in plane.iter(f"{{{BPMNDI}}}BPMNLabel"):
            bounds = label.find(f"{{{DC}}}Bounds")
            if bounds is not None:
                result[(where, label.getparent().get("bpmnElement"), "label")] = _numbers(bounds)
    return result


def is_descriptive(root: etree._Element) -> bool:
    return all(p.get("isExecutable", "true") != "true" for p in root.iter(f"{{{BPMN}}}process"))


# --- one signed-in page for the module ----------------------------------------------------------


@pytest.fixture(scope="module")
def conformance_server(request, demo_database, tmp_path_factory):
    """The app on its own copy of the demo database, served for the whole module."""
    if ON_POSTGRES:
        databases = request.getfixturevalue("postgres_databases")
        name = databases.create("conformance", template=demo_database)
        request.addfinalizer(lambda: databases.drop(name))
        application = make_app(databases.url_for(name))
    else:
        database = tmp_path_factory.mktemp("conformance") / "test.sqlite"
        shutil.copyfile(demo_database, database)
        application = make_app(database)
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def admin_page(browser, conformance_server):
    """(page, problems): a page signed in as admin, and what went wrong on it (cleared per test)."""
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems = _watch(page)
    sign_in(page, conformance_server, "admin")
    page.wait_for_url(f"{conformance_server}/plans")
    yield page, problems
    context.close()


def wait_for_modeler(page) -> None:
    page.wait_for_selector(READY, state="attached")
    state = page.get_attribute("#modeler", "data-modeler-state")
    assert state == "ready", page.inner_text("#modeler-status")


def canvas_ids(page) -> set[str]:
    return set(page.locator("#modeler-canvas [data-element-id]").evaluate_all(CANVAS_IDS))


def download(page) -> etree._Element:
    href = page.get_attribute("#download-link", "href")
    response = page.request.get(urljoin(page.url, href))
    assert response.status == 200, response.status
    assert "attachment" in response.headers["content-disposition"]
    return parse_bpmn_xml(response.body())


def assert_kept(original: etree._Element, returned: etree._Element) -> None:
    assert element_ids(returned) == element_ids(original)
    before, after = layout(original), layout(returned)
    assert before, "the diagram has a layout to keep"
    changed = {key: (value, after.get(key)) for key, value in before.items() if after.get(key) != value}
    assert not changed, f"DI changed: {dict(list(changed.items())[:5])}"
    assert set(after) == set(before)


def test_the_corpus_is_all_there():
    assert len(FILES) == 42
    assert sum(is_descriptive(parse_bpmn_xml(path.read_bytes())) for path in FILES) >= 10


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_an_uploaded_diagram_renders_and_downloads_with_its_ids_and_layout(
    admin_page, conformance_server, path
):
    page, problems = admin_page
    problems.clear()
    original = parse_bpmn_xml(path.read_bytes())
    page.goto(f"{conformance_server}/admin/processes")
    page.set_input_files("#upload-file", str(path))
    with page.expect_navigation(url="**/admin/processes/modeler?draft=*"):
        page.click("#upload-form button[type=submit]")
    wait_for_modeler(page)
    draft_url = page.url

    drawn = drawn_ids(original)
    called = called_inline(original)
    expected = {element for element in drawn if owner(original, element) not in called}
    shown = canvas_ids(page)
    missing = sorted(expected - shown)
    assert not missing, f"not on the canvas: {[(i, bpmn_ids(original)[i]) for i in missing]}"
    assert bool(called) == (path.name in CALLED_INLINE), called
    # the draft is kept with its problems (nothing in the corpus runs here as drawn), listed by element
    assert page.get_attribute("#draft-state", "data-state") == "invalid"
    if is_descriptive(original):
        for process in original.iter(f"{{{BPMN}}}process"):
            row = page.locator(f"#problems-table tr[data-element-id='{process.get('id')}']")
            assert "không thực thi được" in row.first.inner_text()
    assert_kept(original, download(page))

    # "Save draft": bpmn-js exports the diagram it imported; the draft keeps ids and layout
    with page.expect_navigation(url="**/admin/processes/modeler?draft=*"):
        page.click("#save-button")
    wait_for_modeler(page)
    assert page.url == draft_url, "saved into the same draft"
    assert canvas_ids(page) >= expected
    assert_kept(original, download(page))
    assert problems == []
