"""The admin's process modeler in a real browser (bpmn-js under our Content-Security-Policy).

The last test is the issue's "done when", tried as a new admin would: add a "legal review" step to
draft_plan, deploy it, move the running instances that can move, and the next person sees the new step.
Drawing with the mouse in bpmn-js is fiddly to automate, so the new task is added through the modeler's
own API (window.tiendoModeler.modeler, the page's bpmn-js instance); everything else goes through the
page: the side panel, the save and deploy buttons, the migration page, the worklist.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import ProcessDefinition, ProcessInstance
from tests.browser.test_csp import _watch
from tests.browser.test_draft_review_return import open_from_worklist, signed_in
from tests.browser.test_sign_in_and_plan import sign_in
from tests.engine_helpers import task
from tests.test_engine import to_opinions, to_review

LEGAL_FORM = """{
  "type": "object",
  "title": "Thẩm định pháp lý",
  "required": ["legal_opinion"],
  "properties": {
    "legal_opinion": {
      "type": "string", "title": "Ý kiến thẩm định pháp lý", "x-widget": "textarea", "minLength": 1
    }
  }
}"""

# Put a user task `legal_review` in the specialists' lane, between the unit head's "agree" and the
# collection of opinions: the gateway's default flow now ends at it, and a new flow leaves it.
ADD_LEGAL_REVIEW = """() => {
  const modeler = window.tiendoModeler.modeler;
  const registry = modeler.get("elementRegistry");
  const modeling = modeler.get("modeling");
  const lane = registry.get("lane_specialist");
  const gateway = registry.get("review_decision");
  const businessObject = modeler.get("bpmnFactory").create("bpmn:UserTask", {
    id: "legal_review", name: "Thẩm định pháp lý"
  });
  const shape = modeler.get("elementFactory").createShape({ type: "bpmn:UserTask", businessObject });
  const at = { x: gateway.x + gateway.width / 2 + 110, y: lane.y + lane.height / 2 };
  modeling.createShape(shape, at, registry.get("draft_plan_participant"));
  const approve = registry.get("flow_review_approve");
  modeling.reconnectEnd(approve, shape, { x: shape.x, y: shape.y + shape.height / 2 });
  modeling.connect(shape, registry.get("collect_opinions"));
  return modeler.get("elementRegistry").get("legal_review").businessObject.$parent.id;
}"""


def open_modeler_on_version_1(page, base_url: str):
    page.click("#nav-admin")
    page.click("#nav-processes")
    expect(page.get_by_role("heading", name="Quy trình", exact=True)).to_be_visible()
    page.locator("#versions-draft_plan tr[data-version='1'] a[data-action='open']").click()
    page.wait_for_selector("#modeler[data-modeler-state='ready']")


def select_element(page, element_id: str):
    page.locator(f"g.djs-element.djs-shape[data-element-id='{element_id}']").click(
        position={"x": 30, "y": 20}
    )


def test_the_modeler_shows_draft_plan_edits_a_step_and_marks_a_problem(app, page, live_server):
    problems = _watch(page)
    sign_in(page, live_server, "admin")
    page.wait_for_url(f"{live_server}/plans")
    open_modeler_on_version_1(page, live_server)

    shown = page.locator("#modeler-canvas g.djs-element[data-element-id]").evaluate_all(
        "nodes => nodes.map(n => n.dataset.elementId)"
    )
    assert {"draft", "review_draft", "collect_opinions", "leader_approval", "lane_specialist"} <= set(shown)
    expect(page.locator("#process-key")).to_have_value("draft_plan")  # nothing selected: the process
    expect(page.locator("#process-usage [data-task-code='1.a']")).to_be_visible()

    select_element(page, "review_draft")
    expect(page.locator("#modeler-panel")).to_have_attribute("data-panel", "task")
    expect(page.locator("#task-name")).to_have_value("Trưởng đơn vị xem xét dự thảo")
    expect(page.locator("#task-state")).to_have_value("reviewing")
    expect(page.locator("#task-role-unit_head")).to_be_checked()
    expect(page.locator("#form-preview .form-preview")).to_contain_text("Trả lại để chỉnh sửa")

    page.fill("#task-due", "10 ngày")  # not an ISO 8601 duration
    page.locator("#task-due").press("Tab")
    expect(page.locator("#task-due")).to_have_class("form-control form-control-sm is-invalid")
    page.click("#save-button")
    page.wait_for_url("**/admin/processes/modeler?draft=*")
    page.wait_for_selector("#modeler[data-modeler-state='ready']")

    expect(page.locator(".alert-warning")).to_contain_text("Đã lưu bản nháp, còn 1 lỗi")
    row = page.locator("#problems-table tr[data-element-id='review_draft']")
    expect(row).to_contain_text("Trưởng đơn vị xem xét dự thảo")
    expect(row).to_contain_text("10 NGÀY")
    marked = page.locator("g.djs-element[data-element-id='review_draft']")
    expect(marked).to_have_class(re.compile(r"\bmodeler-problem\b"))
    expect(page.locator(".modeler-problem-badge[data-problem-for='review_draft']")).to_be_visible()
    expect(page.locator("#deploy-button")).to_be_disabled()
    assert problems == []


def test_an_admin_adds_legal_review_deploys_and_moves_the_running_work(app, browser, live_server):
    waiting_review = task("1.a")
    to_review(waiting_review)  # waits on review_draft: unchanged by the new step, so it can move
    collecting = task("1.b")
    to_opinions(collecting)  # waits on collect_opinions, whose incoming flow changes: it stays

    with signed_in(browser, live_server, "admin") as page:
        problems = _watch(page)
        open_modeler_on_version_1(page, live_server)
        assert page.evaluate(ADD_LEGAL_REVIEW) == "draft_plan"

        select_element(page, "legal_review")
        expect(page.locator("#task-id")).to_have_text("legal_review")
        page.select_option("#task-unit", "lead")
        page.fill("#task-due", "P5D")
        page.locator("#task-due").press("Tab")
        page.select_option("#task-due-calendar", "working")
        page.fill("#task-form", LEGAL_FORM)
        expect(page.locator("#form-preview .form-preview")).to_contain_text("Ý kiến thẩm định pháp lý")

        page.click("#save-button")
        page.wait_for_url("**/admin/processes/modeler?draft=*")
        page.wait_for_selector("#modeler[data-modeler-state='ready']")
        expect(page.locator("#draft-state")).to_have_attribute("data-state", "valid")
        expect(page.locator("g.djs-element[data-element-id='legal_review']")).to_be_visible()

        page.click("#deploy-button")
        page.wait_for_url("**/admin/processes?deployed=draft_plan&version=2")
        expect(page.locator(".alert-success").first).to_contain_text("Đã triển khai draft_plan phiên bản 2")
        expect(
            page.locator("#versions-draft_plan tr[data-version='2'] [data-col='deployed-by']")
        ).to_have_text("Quản trị hệ thống")

        page.click("#deployed-migration-link")
        movable = page.locator("#movable-instances tbody tr")
        expect(movable).to_have_count(1)
        expect(movable).to_contain_text("1.a")
        expect(page.locator("#blocked-instances tbody tr")).to_contain_text("1.b")
        page.locator("#migration-form button[type=submit]").click()
        expect(page.locator(".alert-success").first).to_be_visible()
        assert problems == []

    version_2 = db.session.scalar(select(ProcessDefinition).filter_by(key="draft_plan", version=2))
    db.session.expire_all()
    on_version = {
        instance.task.code: instance.definition_id for instance in db.session.scalars(select(ProcessInstance))
    }
    assert on_version["1.a"] == version_2.id and on_version["1.b"] != version_2.id

    with signed_in(browser, live_server, "cntt.tp") as page:
        open_from_worklist(page, "Trưởng đơn vị xem xét dự thảo")
        page.get_by_label("Đồng ý, gửi xin ý kiến").check()
        page.get_by_role("button", name="Hoàn thành bước").click()
        expect(page.locator(".alert-success").first).to_contain_text("Đã hoàn thành bước")

    with signed_in(browser, live_server, "cntt.cv") as page:
        open_from_worklist(page, "Thẩm định pháp lý")
        expect(page.locator("#step-task-link")).to_contain_text(waiting_review.title[:30])
        expect(page.get_by_label("Ý kiến thẩm định pháp lý")).to_be_visible()
