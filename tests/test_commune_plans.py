"""Plans built by communes from the department's framework (issue 8), through the API and the browser.

The demo seeds three communes (PTHD Phường Trần Hưng Đạo, XAT Xã An Thượng, PNT Phường Nguyễn Trãi), each
with its offices, a specialist of its Văn phòng HĐND-UBND (`pthd.cv`) and its chairman (`pthd.ct`, role
unit_head of the commune itself), and a published sample framework. A commune plan runs the process
bpmn/commune_plan.bpmn: draft (commune office) -> chairman_approval -> department_review (leaders) -> end,
a return from either going to `revise` (commune office).
"""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Plan, Task, Unit, User, WorkItem
from app.models.commune_plans import CommunePlan, PlanFramework
from app.services.accounts import create_or_update_user
from app.services.commune_demo import seed_commune_demo
from app.services.demo import EMAIL_DOMAIN
from tests.conftest import DEMO_PASSWORD, csrf_token_from


def _headers(api_token, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(username)}"}


def _framework() -> PlanFramework:
    return db.session.scalars(select(PlanFramework)).one()


def _full_content(plan_json: dict) -> dict:
    """Every section written, every target given, the suggested tasks kept plus one of the commune's own."""
    offices = [office["code"] for office in plan_json["offices"]]
    tasks = [
        {key: task[key] for key in task if key != "id"} | {"lead_office": task["lead_office"] or offices[1]}
        for task in plan_json["tasks"]
    ]
    tasks.append(
        {
            "title": "Xây dựng điểm phục vụ dịch vụ công trực tuyến tại nhà văn hóa khu dân cư",
            "lead_office": offices[0],
            "coordinating_offices": [offices[2]],
            "expected_result": "02 điểm hỗ trợ người dân",
            "budget_million_vnd": 12.5,
            "completion_time": "Quý II/2027",
        }
    )
    return {
        "sections": [
            {"section_id": s["section_id"], "content": f"Nội dung phần {s['number']} của phường."}
            for s in plan_json["sections"]
        ],
        "targets": [
            {"indicator_id": t["indicator_id"], "target": t["framework_target"] + (5 if i == 0 else 0)}
            for i, t in enumerate(plan_json["targets"])
        ],
        "tasks": tasks,
    }


class Api:
    def __init__(self, client, api_token):
        self.client, self._issue, self._tokens = client, api_token, {}

    def api_token(self, username: str) -> str:
        """One token per user for the whole test (issuing one is audited and hashes a password)."""
        if username not in self._tokens:
            self._tokens[username] = self._issue(username)
        return self._tokens[username]

    def get(self, url: str, user: str):
        return self.client.get(f"/api/v1{url}", headers=_headers(self.api_token, user))

    def post(self, url: str, user: str, body=None):
        return self.client.post(f"/api/v1{url}", json=body or {}, headers=_headers(self.api_token, user))

    def put(self, url: str, user: str, body):
        return self.client.put(f"/api/v1{url}", json=body, headers=_headers(self.api_token, user))

    def step(self, plan_id: int, user: str) -> dict:
        response = self.get(f"/commune-plans/{plan_id}", user)
        assert response.status_code == 200, response.get_json()
        steps = response.get_json()["open_steps"]
        assert len(steps) == 1, steps
        return steps[0]

    def complete(self, item_id: int, user: str, data: dict, comment: str | None = None):
        body = {"data": data} | ({"comment": comment} if comment else {})
        return self.post(f"/work-items/{item_id}/complete", user, body)


@pytest.fixture
def api(client, api_token) -> Api:
    return Api(client, api_token)


def _start(api: Api, user: str = "pthd.cv") -> dict:
    response = api.post(f"/plan-frameworks/{_framework().id}/commune-plans", user)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- the whole way through the API -------------------------------------------------------------------


def test_a_commune_plan_from_framework_to_acknowledged_through_the_api(app, api):
    framework = api.get(f"/plan-frameworks/{_framework().id}", "pthd.cv").get_json()
    assert framework["status"] == "published" and len(framework["sections"]) == 6

    plan = _start(api)
    assert plan["status"] == "drafting" and plan["editable"] is True
    assert plan["commune"] == {"code": "PTHD", "name": "Phường Trần Hưng Đạo"}
    assert [t["framework_task_id"] for t in plan["tasks"]] == [t["id"] for t in framework["tasks"]]
    assert plan["tasks"][0]["lead_office"] == "PTHD_VP"  # "Văn phòng HĐND-UBND" found among the offices
    assert plan["tasks"][3]["lead_office"] == "PTHD_KT"  # "Phòng Kinh tế" is an alias of the ward's office
    assert set(plan["missing"]) == {"sections", "targets"}

    # submitting it incomplete is refused, and changes nothing
    draft = api.step(plan["id"], "pthd.cv")
    assert draft["step"] == "draft" and "complete" in draft["actions"]
    refused = api.complete(draft["id"], "pthd.cv", {})
    assert refused.status_code == 409
    assert set(refused.get_json()["details"]) == {"sections", "targets"}

    saved = api.put(f"/commune-plans/{plan['id']}", "pthd.cv", _full_content(plan))
    assert saved.status_code == 200, saved.get_json()
    plan = saved.get_json()
    assert plan["missing"] == {} and len(plan["tasks"]) == len(framework["tasks"]) + 1
    assert plan["tasks"][-1]["budget_million_vnd"] == 12.5 and plan["tasks"][-1]["framework_task_id"] is None
    assert plan["targets"][0]["target"] == plan["targets"][0]["framework_target"] + 5

    assert api.complete(draft["id"], "pthd.cv", {"summary": "Kính trình Chủ tịch"}).status_code == 200
    assert api.get(f"/commune-plans/{plan['id']}", "pthd.cv").get_json()["status"] == "awaiting_approval"

    approval = api.step(plan["id"], "pthd.ct")
    assert approval["step"] == "chairman_approval"
    no_comment = api.complete(approval["id"], "pthd.ct", {"decision": "return"})
    assert no_comment.status_code == 422 and "comment" in no_comment.get_json()["details"]
    returned = api.complete(
        approval["id"], "pthd.ct", {"decision": "return"}, "Bổ sung giải pháp an toàn thông tin"
    )
    assert returned.status_code == 200

    revise = api.step(plan["id"], "pthd.cv")
    assert revise["step"] == "revise"
    assert api.get(f"/commune-plans/{plan['id']}", "pthd.cv").get_json()["status"] == "returned"
    section = {
        "section_id": plan["sections"][3]["section_id"],
        "content": "Bổ sung giải pháp bảo đảm an toàn thông tin.",
    }
    assert api.put(f"/commune-plans/{plan['id']}", "pthd.cv", {"sections": [section]}).status_code == 200
    assert api.complete(revise["id"], "pthd.cv", {}).status_code == 200

    approval = api.step(plan["id"], "pthd.ct")
    assert api.complete(approval["id"], "pthd.ct", {"decision": "approve"}).status_code == 200
    assert api.get(f"/commune-plans/{plan['id']}", "pthd.cv").get_json()["status"] == "submitted"

    review = api.step(plan["id"], "giamdoc")
    assert review["step"] == "department_review"
    assert api.complete(review["id"], "giamdoc", {"decision": "acknowledge"}).status_code == 200
    final = api.get(f"/commune-plans/{plan['id']}", "giamdoc").get_json()
    assert final["status"] == "acknowledged" and final["open_steps"] == [] and final["editable"] is False
    assert final["sections"][3]["content"] == "Bổ sung giải pháp bảo đảm an toàn thông tin."

    history = api.get(f"/tasks/{plan['task_id']}/history", "pthd.cv").get_json()["events"]
    trail = [(e["action"], e["step"], e["actor"]["username"], e["to_state"]) for e in history]
    assert trail == [
        ("process.started", None, "pthd.cv", "drafting"),
        ("commune_plan.updated", "draft", "pthd.cv", "drafting"),
        ("step.completed", "draft", "pthd.cv", "awaiting_approval"),
        ("step.returned", "chairman_approval", "pthd.ct", "returned"),
        ("commune_plan.updated", "revise", "pthd.cv", "returned"),
        ("step.completed", "revise", "pthd.cv", "awaiting_approval"),
        ("step.completed", "chairman_approval", "pthd.ct", "under_review"),
        ("step.completed", "department_review", "giamdoc", "under_review"),
        ("process.completed", None, "giamdoc", "completed"),
    ]
    assert history[3]["comment"] == "Bổ sung giải pháp an toàn thông tin"


def test_the_department_returns_with_a_comment_and_the_commune_revises(app, api, client, auth):
    plan = _start(api, "xat.cv")
    api.put(f"/commune-plans/{plan['id']}", "xat.cv", _full_content(plan))
    api.complete(api.step(plan["id"], "xat.cv")["id"], "xat.cv", {})
    api.complete(api.step(plan["id"], "xat.ct")["id"], "xat.ct", {"decision": "approve"})
    review = api.step(plan["id"], "giamdoc")
    assert api.complete(review["id"], "giamdoc", {"decision": "return"}).status_code == 422  # comment needed
    assert api.complete(review["id"], "giamdoc", {"decision": "return"}, "Chỉ tiêu 1 thấp").status_code == 200
    again = api.get(f"/commune-plans/{plan['id']}", "xat.cv").get_json()
    assert again["status"] == "returned" and again["editable"] is True
    assert again["open_steps"][0]["step"] == "revise"
    auth.login("xat.cv")
    page = client.get(f"/commune-plans/{plan['id']}").get_data(as_text=True)
    assert 'id="last-return"' in page and "Chỉ tiêu 1 thấp" in page and 'data-open-step="revise"' in page


# --- who may do what ---------------------------------------------------------------------------------


def test_another_commune_can_neither_read_nor_edit_a_plan(app, api):
    plan = _start(api)
    assert api.get(f"/commune-plans/{plan['id']}", "xat.cv").status_code == 403
    assert api.get(f"/commune-plans/{plan['id']}", "xat.ct").status_code == 403
    assert api.put(f"/commune-plans/{plan['id']}", "xat.cv", {"sections": []}).status_code == 403
    assert api.get(f"/tasks/{plan['task_id']}/history", "xat.cv").status_code == 403  # the process's map
    draft = api.step(plan["id"], "pthd.cv")
    assert api.complete(draft["id"], "xat.cv", {}).status_code == 403
    # the department's own staff do not see communes' plans either; leaders and supervisors do
    assert api.get(f"/commune-plans/{plan['id']}", "cntt.cv").status_code == 403
    assert api.get(f"/commune-plans/{plan['id']}", "giamsat").status_code == 200
    assert api.put(f"/commune-plans/{plan['id']}", "giamdoc", {"sections": []}).status_code == 403
    assert api.get(f"/plan-frameworks/{_framework().id}/commune-plans", "pthd.cv").status_code == 403


def test_only_the_commune_chairman_approves_not_an_office_head(app, api):
    """The engine's guard lets the heads of the lead sub-unit act too; the veto keeps it the chairman's."""
    create_or_update_user(
        username="pthd.cvp",
        password=DEMO_PASSWORD,
        unit_code="PTHD_VP",
        roles=("unit_head",),
        full_name="Chánh VP",
    )
    db.session.commit()
    plan = _start(api)
    api.put(f"/commune-plans/{plan['id']}", "pthd.cv", _full_content(plan))
    api.complete(api.step(plan["id"], "pthd.cv")["id"], "pthd.cv", {})
    approval = api.step(plan["id"], "pthd.ct")
    api.api_token("pthd.cvp")
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    assert api.complete(approval["id"], "pthd.cvp", {"decision": "approve"}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before
    assert api.get(f"/commune-plans/{plan['id']}", "pthd.cv").get_json()["status"] == "awaiting_approval"


def test_edits_are_refused_while_submitted_and_after_acknowledgement(app, api):
    plan = _start(api)
    api.put(f"/commune-plans/{plan['id']}", "pthd.cv", _full_content(plan))
    api.complete(api.step(plan["id"], "pthd.cv")["id"], "pthd.cv", {})
    change = {"sections": [{"section_id": plan["sections"][0]["section_id"], "content": "Sửa sau khi trình"}]}
    refused = api.put(f"/commune-plans/{plan['id']}", "pthd.cv", change)
    assert refused.status_code == 409
    api.complete(api.step(plan["id"], "pthd.ct")["id"], "pthd.ct", {"decision": "approve"})
    assert api.put(f"/commune-plans/{plan['id']}", "pthd.cv", change).status_code == 409
    api.complete(api.step(plan["id"], "giamdoc")["id"], "giamdoc", {"decision": "acknowledge"})
    assert api.put(f"/commune-plans/{plan['id']}", "pthd.cv", change).status_code == 409
    stored = api.get(f"/commune-plans/{plan['id']}", "pthd.cv").get_json()
    assert stored["sections"][0]["content"] != "Sửa sau khi trình"


def test_a_commune_has_one_plan_per_framework_and_only_its_specialists_start_it(app, api):
    plan = _start(api)
    again = api.post(f"/plan-frameworks/{_framework().id}/commune-plans", "pthd.cv")
    assert again.status_code == 409 and again.get_json()["details"] == {"commune_plan_id": plan["id"]}
    for user in ("pthd.ct", "cntt.cv", "giamdoc", "admin"):
        assert api.post(f"/plan-frameworks/{_framework().id}/commune-plans", user).status_code == 403
    task = db.session.get(Task, plan["task_id"])
    assert (task.kind, task.task_type, task.lead_unit.code, task.lead_sub_unit.code) == (
        "commune",
        "commune_plan",
        "PTHD",
        "PTHD_VP",
    )
    assert db.session.scalar(select(func.count()).select_from(Task).where(Task.kind == "plan")) == 28


# --- bad input: 4xx, never 500, nothing changes --------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ([1, 2], 400, None),
        ({"colour": "red"}, 400, "colour"),
        ({"sections": "all"}, 422, "sections"),
        ({"sections": [{"section_id": 99999, "content": "x"}]}, 422, "sections[0].section_id"),
        ({"sections": [{"section_id": "1", "content": "x"}]}, 422, "sections[0].section_id"),
        ({"targets": [{"indicator_id": None, "target": 1}]}, 422, "targets[0].indicator_id"),
        ({"tasks": [{"title": ""}]}, 422, "tasks[0].title"),
        ({"tasks": [{"title": "x", "lead_office": "XAT_VP"}]}, 422, "tasks[0].lead_office"),
        (
            {"tasks": [{"title": "x", "coordinating_offices": "PTHD_KT"}]},
            422,
            "tasks[0].coordinating_offices",
        ),
        ({"tasks": [{"title": "x", "budget_million_vnd": "nhiều"}]}, 422, "tasks[0].budget_million_vnd"),
        ({"tasks": [{"title": "x", "budget_million_vnd": -1}]}, 422, "tasks[0].budget_million_vnd"),
        ({"tasks": [{"title": "x", "framework_task_id": [1]}]}, 422, "tasks[0].framework_task_id"),
        ({"tasks": ["x"]}, 422, "tasks[0]"),
        ({"tasks": [{"title": "x" * 2001}]}, 422, "tasks[0].title"),
    ],
)
def test_bad_content_is_refused_with_4xx_and_changes_nothing(app, api, body, status, field):
    plan = _start(api)
    before = api.get(f"/commune-plans/{plan['id']}", "pthd.cv").get_json()
    response = api.put(f"/commune-plans/{plan['id']}", "pthd.cv", body)
    assert response.status_code == status, response.get_json()
    if field:
        assert field in response.get_json()["details"]
    after = api.get(f"/commune-plans/{plan['id']}", "pthd.cv").get_json()
    assert after["tasks"] == before["tasks"] and after["sections"] == before["sections"]


def test_a_target_with_too_many_decimals_or_not_a_number_is_refused(app, api):
    plan = _start(api)
    ref = plan["targets"][0]["indicator_id"]
    for value in (1.23456, "abc", float("inf"), True):
        response = api.put(
            f"/commune-plans/{plan['id']}", "pthd.cv", {"targets": [{"indicator_id": ref, "target": value}]}
        )
        assert response.status_code in (400, 422), value
    assert (
        api.put(
            f"/commune-plans/{plan['id']}", "pthd.cv", {"targets": [{"indicator_id": ref, "target": "85,5"}]}
        ).get_json()["targets"][0]["target"]
        == 85.5
    )


def test_unknown_ids_are_404_and_no_body_is_400(app, api):
    assert api.get("/commune-plans/999999", "giamdoc").status_code == 404
    assert api.get("/plan-frameworks/999999", "giamdoc").status_code == 404
    assert api.post("/plan-frameworks/999999/commune-plans", "pthd.cv").status_code == 404
    plan = _start(api)
    response = api.client.put(
        f"/api/v1/commune-plans/{plan['id']}", data="not json", headers=_headers(api.api_token, "pthd.cv")
    )
    assert response.status_code == 400


# --- the department's view ---------------------------------------------------------------------------


def _submit(api: Api, commune: str) -> dict:
    plan = _start(api, f"{commune}.cv")
    api.put(f"/commune-plans/{plan['id']}", f"{commune}.cv", _full_content(plan))
    api.complete(api.step(plan["id"], f"{commune}.cv")["id"], f"{commune}.cv", {})
    api.complete(api.step(plan["id"], f"{commune}.ct")["id"], f"{commune}.ct", {"decision": "approve"})
    return plan


def test_the_department_sees_who_submitted_and_the_consolidated_targets(app, api, client, auth):
    pthd = _submit(api, "pthd")
    _start(api, "xat.cv")  # started, not submitted; PNT has not started
    framework_id = _framework().id

    overview = api.get(f"/plan-frameworks/{framework_id}/commune-plans", "giamdoc").get_json()["items"]
    by_code = {row["commune"]["code"]: row for row in overview}
    assert {code: row["status"] for code, row in by_code.items()} == {
        "PTHD": "submitted",
        "XAT": "drafting",
        "PNT": "none",
    }
    assert by_code["PTHD"]["submitted_at"] is not None and by_code["XAT"]["submitted_at"] is None

    table = api.get(f"/plan-frameworks/{framework_id}/targets", "giamsat").get_json()
    first = table["indicators"][0]
    rows = {row["commune"]["code"]: row["targets"] for row in table["rows"]}
    assert rows["PTHD"][0] == first["target"] + 5 and rows["PTHD"][4] == table["indicators"][4]["target"]
    assert rows["XAT"] == [None] * len(table["indicators"]) and rows["PNT"] == rows["XAT"]
    assert api.get(f"/plan-frameworks/{framework_id}/targets", "pthd.ct").status_code == 403

    auth.login("giamdoc")
    page = client.get(f"/commune-plans/frameworks/{framework_id}").get_data(as_text=True)
    assert 'id="submitted-count" data-done="1" data-total="3"' in page
    row = re.search(r'<tr data-commune="PTHD">(.*?)</tr>', page, re.S)[1]
    assert f"/commune-plans/{pthd['id']}" in row and 'data-plan-status="submitted"' in row
    assert 'data-plan-status="none"' in re.search(r'<tr data-commune="PNT">(.*?)</tr>', page, re.S)[1]
    html = client.get(f"/commune-plans/frameworks/{framework_id}/targets").get_data(as_text=True)
    assert "Phường Trần Hưng Đạo" in html and "Xã An Thượng" in html

    response = client.get(f"/commune-plans/frameworks/{framework_id}/targets.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(BytesIO(response.data)).active
    assert sheet["A1"].value == "TỔNG HỢP CHỈ TIÊU CỦA CÁC XÃ, PHƯỜNG NĂM 2027"
    assert sheet["B5"].value == "Chỉ tiêu của Sở" and sheet["D5"].value == first["target"]
    communes = {sheet.cell(row=r, column=2).value: r for r in range(6, 9)}
    assert set(communes) == {"Phường Trần Hưng Đạo", "Xã An Thượng", "Phường Nguyễn Trãi"}
    assert sheet.cell(row=communes["Phường Trần Hưng Đạo"], column=3).value == "Đã gửi Sở"
    assert sheet.cell(row=communes["Phường Trần Hưng Đạo"], column=4).value == first["target"] + 5
    assert sheet.cell(row=communes["Phường Nguyễn Trãi"], column=4).value is None
    assert sheet.freeze_panes == "D5"

    auth.logout()
    auth.login("pthd.ct")
    assert client.get(f"/commune-plans/frameworks/{framework_id}/targets.xlsx").status_code == 403


def test_the_department_manages_frameworks_through_the_api(app, api):
    body = {
        "title": "Khung kế hoạch thử qua API",
        "year": 2027,
        "sections": [{"number": "I", "heading": "Mục tiêu", "required_content": "Nêu mục tiêu"}],
        "indicators": [{"name": "Tỷ lệ hồ sơ trực tuyến", "unit_of_measure": "%", "target": 80}],
        "tasks": [{"title": "Số hóa hồ sơ", "lead_office": "Văn phòng HĐND-UBND", "budget_million_vnd": 10}],
    }
    assert api.post("/plan-frameworks", "cntt.cv", body).status_code == 403
    assert api.post("/plan-frameworks", "pthd.ct", body).status_code == 403
    bad = api.post("/plan-frameworks", "giamdoc", body | {"year": "năm sau", "indicators": [{"name": "x"}]})
    assert bad.status_code == 422
    assert {"year", "indicators[0].unit_of_measure", "indicators[0].target"} <= set(bad.get_json()["details"])
    created = api.post("/plan-frameworks", "giamdoc", body)
    assert created.status_code == 201, created.get_json()
    framework = created.get_json()
    assert framework["status"] == "draft" and framework["tasks"][0]["budget_million_vnd"] == 10
    url = f"/plan-frameworks/{framework['id']}"
    assert api.get(url, "pthd.cv").status_code == 404  # drafts are the department's
    assert framework["id"] not in [
        f["id"] for f in api.get("/plan-frameworks", "pthd.cv").get_json()["items"]
    ]
    not_ready = api.post(f"{url}/publish", "giamdoc")
    assert not_ready.status_code == 422 and "submission_due" in not_ready.get_json()["details"]
    updated = api.put(url, "admin", {"submission_due": "2027-01-15", "indicators": []})
    assert updated.status_code == 200 and updated.get_json()["indicators"] == []
    assert api.post(f"{url}/publish", "giamdoc").get_json()["details"] == {
        "indicators": "required: at least one indicator"
    }
    api.put(url, "giamdoc", {"indicators": body["indicators"]})
    assert api.post(f"{url}/publish", "giamsat").status_code == 403
    published = api.post(f"{url}/publish", "giamdoc")
    assert published.status_code == 200 and published.get_json()["status"] == "published"
    assert api.put(url, "giamdoc", {"title": "Đổi tên"}).status_code == 409
    assert api.post(f"{url}/publish", "giamdoc").status_code == 409
    assert api.get(url, "pthd.cv").get_json()["title"] == "Khung kế hoạch thử qua API"
    assert api.put(url, "giamdoc", {"colour": "red"}).status_code == 400


# --- in the browser ----------------------------------------------------------------------------------


def _post(client, url: str, fields: dict, page: str):
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **fields})


def test_the_department_creates_and_publishes_a_framework_in_the_browser(app, client, auth):
    auth.login("pthd.ct")
    assert client.get("/commune-plans/frameworks/new").status_code == 403
    auth.logout()
    auth.login("giamdoc")
    fields = {
        "title": "Khung kế hoạch thử nghiệm",
        "year": "2027",
        "submission_due": "2027-01-15",
        "section-0-number": "I",
        "section-0-heading": "Mục tiêu",
        "section-0-required_content": "Nêu mục tiêu",
        "section-1-number": "",
        "indicator-0-name": "Tỷ lệ hồ sơ trực tuyến",
        "indicator-0-unit_of_measure": "%",
        "indicator-0-target": "abc",
        "task-0-title": "Số hóa hồ sơ",
        "task-0-lead_office": "Văn phòng HĐND-UBND",
        "task-0-coordinating_offices": "Phòng Kinh tế; Phòng Văn hóa - Xã hội",
        "task-0-budget_million_vnd": "10,5",
    }
    refused = _post(client, "/commune-plans/frameworks/new", fields, "/commune-plans/frameworks/new")
    assert refused.status_code == 422
    assert 'data-error-for="indicator-0-target"' in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PlanFramework)) == 1

    created = _post(
        client, "/commune-plans/frameworks/new", fields | {"indicator-0-target": "75"}, "/commune-plans"
    )
    assert created.status_code == 302
    framework = db.session.scalars(select(PlanFramework).order_by(PlanFramework.id.desc())).first()
    assert framework.status == "draft" and framework.indicators[0].target == 75
    assert framework.tasks[0].coordinating_offices == ["Phòng Kinh tế", "Phòng Văn hóa - Xã hội"]
    assert str(framework.tasks[0].budget_million_vnd) == "10.500"
    page = f"/commune-plans/frameworks/{framework.id}"
    auth.logout()
    auth.login("pthd.cv")
    assert client.get(page).status_code == 404  # a draft is the department's
    auth.logout()
    auth.login("giamdoc")
    assert _post(client, f"{page}/publish", {}, page).status_code == 302
    db.session.expire_all()
    assert db.session.get(PlanFramework, framework.id).status == "published"
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.like("framework.%")).order_by(AuditEvent.id)
    )
    assert [(e.action, e.actor_username) for e in events][-2:] == [
        ("framework.created", "giamdoc"),
        ("framework.published", "giamdoc"),
    ]
    edit = client.get(f"{page}/edit", follow_redirects=False)
    assert edit.status_code == 302  # a published framework no longer changes


def test_a_commune_builds_and_saves_its_plan_in_the_browser(app, client, auth):
    framework = _framework()
    page = f"/commune-plans/frameworks/{framework.id}"
    auth.login("pthd.cv")
    assert "create-plan" in client.get(page).get_data(as_text=True)
    created = _post(client, f"{page}/plans", {}, page)
    assert created.status_code == 302
    plan = db.session.scalars(select(CommunePlan)).one()
    edit_url = f"/commune-plans/{plan.id}/edit"
    assert created.location.endswith(edit_url)
    form = client.get(edit_url).get_data(as_text=True)
    assert "Văn phòng HĐND-UBND" in form and "Mục đích, yêu cầu" in form
    fields = {f"section-{s.id}": f"Nội dung {s.number}" for s in framework.sections}
    fields |= {f"target-{i.id}": "90" for i in framework.indicators}
    fields |= {
        "task-0-framework_task_id": str(framework.tasks[0].id),
        "task-0-title": framework.tasks[0].title,
        "task-0-lead_office": "PTHD_VP",
        "task-0-coordinating_offices": ["PTHD_KT", "PTHD_VHXH"],
        "task-0-budget_million_vnd": "1.5",
        "task-9-title": "Nhiệm vụ riêng",
        "task-9-lead_office": "PTHD_VHXH",
        "task-9-budget_million_vnd": "-3",
    }
    refused = _post(client, edit_url, fields, edit_url)
    assert refused.status_code == 422
    assert 'data-error-for="task-9-budget_million_vnd"' in refused.get_data(as_text=True)
    saved = _post(client, edit_url, fields | {"task-9-budget_million_vnd": "3"}, edit_url)
    assert saved.status_code == 302
    db.session.expire_all()
    plan = db.session.get(CommunePlan, plan.id)
    assert [t.title for t in plan.tasks] == [framework.tasks[0].title, "Nhiệm vụ riêng"]
    assert plan.tasks[0].coordinating_offices == ["PTHD_KT", "PTHD_VHXH"]
    shown = client.get(f"/commune-plans/{plan.id}").get_data(as_text=True)
    assert 'data-open-step="draft"' in shown and "Nhiệm vụ riêng" in shown
    auth.logout()
    auth.login("xat.cv")
    assert client.get(f"/commune-plans/{plan.id}").status_code == 403
    assert client.get(edit_url).status_code == 403


def test_the_pages_answer_every_role(app, client, auth):
    framework_id = _framework().id
    for user in ("pthd.cv", "pthd.ct", "giamdoc", "giamsat", "admin", "cntt.cv"):
        auth.login(user)
        assert client.get("/commune-plans").status_code == 200
        assert client.get(f"/commune-plans/frameworks/{framework_id}").status_code == 200
        auth.logout()


# --- the demo data ----------------------------------------------------------------------------------


def test_the_demo_has_communes_with_offices_people_and_a_published_sample_framework(app):
    communes = db.session.scalars(select(Unit).where(Unit.kind == "commune").order_by(Unit.code)).all()
    assert [c.name for c in communes] == ["Phường Nguyễn Trãi", "Phường Trần Hưng Đạo", "Xã An Thượng"]
    offices = db.session.scalars(
        select(Unit).where(Unit.kind == "commune_office", Unit.parent_id == communes[1].id)
    ).all()
    assert [o.short_name for o in offices] == [
        "Văn phòng HĐND-UBND",
        "Phòng Kinh tế, Hạ tầng và Đô thị",
        "Phòng Văn hóa - Xã hội",
    ]
    specialist = db.session.scalar(select(User).filter_by(username="pthd.cv"))
    chairman = db.session.scalar(select(User).filter_by(username="pthd.ct"))
    assert (specialist.unit.code, specialist.roles) == ("PTHD_VP", ["specialist"])
    assert (chairman.unit.code, chairman.roles, chairman.full_name) == (
        "PTHD",
        ["unit_head"],
        "Chủ tịch UBND phường Trần Hưng Đạo",
    )
    framework = _framework()
    assert framework.is_published and "mẫu" in framework.title and framework.issuer_unit.code == "SKHCN_HD"
    assert (
        db.session.scalar(select(func.count()).select_from(Plan)) == 1
    )  # no plan until a commune builds one


def test_seeding_the_communes_again_changes_nothing(app):
    counts = [
        db.session.scalar(select(func.count()).select_from(m))
        for m in (Unit, User, PlanFramework, AuditEvent, WorkItem)
    ]
    seed_commune_demo(DEMO_PASSWORD, EMAIL_DOMAIN)
    db.session.commit()
    assert [
        db.session.scalar(select(func.count()).select_from(m))
        for m in (Unit, User, PlanFramework, AuditEvent, WorkItem)
    ] == counts
