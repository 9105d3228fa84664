"""The workflow through the JSON API v1, as real accounts: task 1.a from start to `completed`.

Every step is done by the person the process names, taking the item from their own /worklist (never
by an id read from the database). Refusals (401, 403, 404, 409, 422, 400) are checked to change
nothing: the process, work item, audit and task tables are compared before and after.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.models import Task, WorkItem
from tests.audit_helpers import comparable_rows
from workflows import signals

API = "/api/v1"
TABLES = ("process_instances", "work_items", "audit_events", "tasks")
CONSULTED = ["VP", "TTCNTT", "SO_NGANH_DP"]
ROSTER = (
    "cntt.cv",
    "cntt.tp",
    "vp.cv",
    "vp.tp",
    "ttcntt.cv",
    "ttcntt.tp",
    "hts.cv",
    "giamdoc",
    "giamsat",
    "admin",
)
# (step, consulted unit) -> who finds it on their worklist while nobody holds it
WHO_SEES = {
    ("draft", None): {"cntt.cv"},
    ("review_draft", None): {"cntt.tp"},
    ("collect_opinions", "VP"): {"vp.cv", "vp.tp"},
    ("collect_opinions", "TTCNTT"): {"ttcntt.cv", "ttcntt.tp"},
    ("collect_opinions", "SO_NGANH_DP"): {"cntt.cv"},
    ("consolidate", None): {"cntt.cv"},
    ("leader_approval", None): {"giamdoc"},
    ("submit_to_committee", None): {"cntt.cv"},
    ("record_issuance", None): {"cntt.cv"},
}

# The first step also states the task's "5 rõ" the plan left open: who is responsible, what result.
FIVE_CLEARS = {"assignee": "cntt.cv", "expected_result": "Kế hoạch được UBND tỉnh ban hành"}
DRAFT = {
    "consulted_units": CONSULTED,
    "summary": "Dự thảo Kế hoạch tuyên truyền Nghị quyết 57-NQ/TW.",
    **FIVE_CLEARS,
}
APPROVE = {"decision": "approve"}
RETURN = {"decision": "return"}
OPINION = {"opinion": "Thống nhất, đề nghị bổ sung kinh phí.", "agree": True}
EXTERNAL = {
    "opinion": "Các sở, ngành, địa phương thống nhất với dự thảo.",
    "agree": True,
    "document_number": "125/SNV-VP",
    "document_date": "2025-02-12",
}
CONSOLIDATE = {"accepted": "Tiếp thu ý kiến về kinh phí.", "explanation": ""}
SUBMIT = {"submission_number": "45/TTr-SKHCN", "submission_date": "2025-02-20"}
ISSUE = {
    "issued_number": "789/KH-UBND",
    "issued_date": "2025-02-27",
    "result": "UBND tỉnh ban hành Kế hoạch số 789/KH-UBND.",
}

# The happy path of 1.a: (who, step, consulted unit, data)
HAPPY_PATH = [
    ("cntt.cv", "draft", None, DRAFT),
    ("cntt.tp", "review_draft", None, APPROVE),
    ("vp.cv", "collect_opinions", "VP", OPINION),
    ("ttcntt.tp", "collect_opinions", "TTCNTT", OPINION),
    ("cntt.cv", "collect_opinions", "SO_NGANH_DP", EXTERNAL),
    ("cntt.cv", "consolidate", None, CONSOLIDATE),
    ("giamdoc", "leader_approval", None, APPROVE),
    ("cntt.cv", "submit_to_committee", None, SUBMIT),
    ("cntt.cv", "record_issuance", None, ISSUE),
]


def item_key(item: dict) -> tuple[str, str | None]:
    """(step, consulted unit) of a work item's JSON."""
    return item["step"], item["item_unit"]["code"] if item["item_unit"] else None


def db_dump() -> dict[str, list]:
    """Every row of the tables a workflow call may change, read on a fresh connection."""
    with db.engine.connect() as connection:
        return {t: connection.execute(text(comparable_rows(t, "id"))).all() for t in TABLES}


def task_id_of(code: str) -> int:
    return db.session.scalars(select(Task.id).where(Task.code == code)).one()


class Api:
    """The API as named demo users, each with a token from POST /auth/token."""

    def __init__(self, client, api_token):
        self.client, self._issue, self._tokens = client, api_token, {}

    def headers(self, username: str) -> dict[str, str]:
        if username not in self._tokens:
            self._tokens[username] = self._issue(username)
        return {"Authorization": f"Bearer {self._tokens[username]}"}

    def get(self, username: str, path: str):
        return self.client.get(API + path, headers=self.headers(username))

    def post(self, username: str, path: str, body=None, **kwargs):
        return self.client.post(API + path, headers=self.headers(username), json=body, **kwargs)

    def worklist(self, username: str) -> list[dict]:
        return ok(self.get(username, "/worklist"))["items"]

    def task(self, task_id: int, username: str = "giamsat") -> dict:
        return ok(self.get(username, f"/tasks/{task_id}"))

    def start(self, task_id: int, username: str = "cntt.cv") -> dict:
        return ok(self.post(username, f"/tasks/{task_id}/start"), 201)

    def take(self, username: str, task_id: int, step: str, unit: str | None = None) -> dict:
        """The one item of this step on the user's own worklist."""
        found = [
            i for i in self.worklist(username) if i["task_id"] == task_id and item_key(i) == (step, unit)
        ]
        assert len(found) == 1, f"{username} should find {step} {unit or ''} on their worklist"
        return found[0]

    def complete(self, username, task_id, step, unit=None, data=None, comment=None, status=200) -> dict:
        item = self.take(username, task_id, step, unit)
        body = {"data": data or {}, "comment": comment}
        return ok(self.post(username, f"/work-items/{item['id']}/complete", body), status)

    def run_until(self, task_id: int, step: str, unit: str | None = None) -> None:
        """Start the task and follow the happy path up to (not including) this step."""
        self.start(task_id)
        for who, path_step, path_unit, data in HAPPY_PATH:
            if (path_step, path_unit) == (step, unit):
                return
            self.complete(who, task_id, path_step, path_unit, data)
        raise AssertionError(f"{step} is not on the happy path")


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def error(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error", "details"} and body["error"]
    return body


@pytest.fixture
def api(client, api_token) -> Api:
    return Api(client, api_token)


@pytest.fixture
def task_1a() -> int:
    return task_id_of("1.a")


# --- the acceptance run ----------------------------------------------------------------------------


@dataclass
class Step:
    who: str
    step: str
    unit: str | None
    data: dict
    comment: str | None
    state: str  # the task's state after the step
    open_after: set


OPINIONS = {("collect_opinions", code) for code in CONSULTED}
DRAFT_OPEN, REVIEW_OPEN = {("draft", None)}, {("review_draft", None)}
CONSOLIDATE_OPEN, APPROVAL_OPEN = {("consolidate", None)}, {("leader_approval", None)}
SUBMIT_OPEN = {("submit_to_committee", None)}
EXTERNAL_OPEN, VP_OPEN = {("collect_opinions", "SO_NGANH_DP")}, {("collect_opinions", "VP")}
RETURNED_DRAFT, RETURNED_APPROVAL = "Bổ sung đơn vị xin ý kiến.", "Làm rõ nội dung giải trình."
RUN = [
    Step("cntt.cv", "draft", None, DRAFT, None, "reviewing", REVIEW_OPEN),
    Step("cntt.tp", "review_draft", None, RETURN, RETURNED_DRAFT, "drafting", DRAFT_OPEN),
    Step("cntt.cv", "draft", None, DRAFT, None, "reviewing", REVIEW_OPEN),
    Step("cntt.tp", "review_draft", None, APPROVE, None, "collecting_opinions", OPINIONS),
    Step("vp.cv", "collect_opinions", "VP", OPINION, None, "collecting_opinions", OPINIONS - VP_OPEN),
    Step("ttcntt.tp", "collect_opinions", "TTCNTT", OPINION, None, "collecting_opinions", EXTERNAL_OPEN),
    Step("cntt.cv", "collect_opinions", "SO_NGANH_DP", EXTERNAL, None, "consolidating", CONSOLIDATE_OPEN),
    Step("cntt.cv", "consolidate", None, CONSOLIDATE, None, "awaiting_approval", APPROVAL_OPEN),
    Step("giamdoc", "leader_approval", None, RETURN, RETURNED_APPROVAL, "consolidating", CONSOLIDATE_OPEN),
    Step("cntt.cv", "consolidate", None, CONSOLIDATE, None, "awaiting_approval", APPROVAL_OPEN),
    Step("giamdoc", "leader_approval", None, APPROVE, None, "awaiting_approval", SUBMIT_OPEN),
    Step("cntt.cv", "submit_to_committee", None, SUBMIT, None, "submitted", {("record_issuance", None)}),
    Step("cntt.cv", "record_issuance", None, ISSUE, None, "completed", set()),
]

EXPECTED_HISTORY = [
    ("process.started", "cntt.cv", None, "not_started", "drafting"),
    ("task.updated", "cntt.cv", None, None, None),  # the first step states the person and the result
    ("step.completed", "cntt.cv", "draft", "drafting", "reviewing"),
    ("step.returned", "cntt.tp", "review_draft", "reviewing", "drafting"),
    ("step.completed", "cntt.cv", "draft", "drafting", "reviewing"),
    ("step.completed", "cntt.tp", "review_draft", "reviewing", "collecting_opinions"),
    ("step.completed", "vp.cv", "collect_opinions", "collecting_opinions", "collecting_opinions"),
    ("step.completed", "ttcntt.tp", "collect_opinions", "collecting_opinions", "collecting_opinions"),
    ("step.completed", "cntt.cv", "collect_opinions", "collecting_opinions", "consolidating"),
    ("step.completed", "cntt.cv", "consolidate", "consolidating", "awaiting_approval"),
    ("step.returned", "giamdoc", "leader_approval", "awaiting_approval", "consolidating"),
    ("step.completed", "cntt.cv", "consolidate", "consolidating", "awaiting_approval"),
    ("step.completed", "giamdoc", "leader_approval", "awaiting_approval", "awaiting_approval"),
    ("step.completed", "cntt.cv", "submit_to_committee", "awaiting_approval", "submitted"),
    ("step.completed", "cntt.cv", "record_issuance", "submitted", "submitted"),
    ("process.completed", "cntt.cv", None, "submitted", "completed"),
]


def assert_worklists(api: Api, open_steps: set) -> None:
    """Every account's worklist holds exactly the open steps it may act on."""
    for username in ROSTER:
        expected = {key for key in open_steps if username in WHO_SEES[key]}
        items = api.worklist(username)
        assert sorted(item_key(i) for i in items) == sorted(expected), username
        assert all("complete" in i["actions"] for i in items), username


def test_task_1a_runs_to_completed_through_the_api(api, task_1a):
    started = api.start(task_1a)
    assert started["process"] == {"key": "draft_plan", "version": 1, "status": "running"}
    assert started["state"] == "drafting"
    assert [item_key(i) for i in started["open_steps"]] == [("draft", None)]
    assert_worklists(api, {("draft", None)})
    open_before = {("draft", None)}

    for step in RUN:
        body = api.complete(step.who, task_1a, step.step, step.unit, step.data, step.comment)
        assert body["task"]["state"] == step.state, step
        assert {item_key(i) for i in body["next_steps"]} == step.open_after - open_before, step
        task = api.task(task_1a)
        assert {item_key(i) for i in task["open_steps"]} == step.open_after, step
        assert task["state"] == step.state
        if step.open_after:
            assert task["process"] == {"key": "draft_plan", "version": 1, "status": "running"}
        assert_worklists(api, step.open_after)
        open_before = step.open_after

    task = api.task(task_1a, "cntt.cv")
    assert task["process"] == {"key": "draft_plan", "version": 1, "status": "completed"}
    assert task["open_steps"] == []
    assert (task["state"], task["progress"], task["result"]) == ("completed", 100, ISSUE["result"])

    events = ok(api.get("cntt.cv", f"/tasks/{task_1a}/history"))["events"]
    rows = [(e["action"], e["actor"]["username"], e["step"], e["from_state"], e["to_state"]) for e in events]
    assert rows == EXPECTED_HISTORY
    comments = [(e["step"], e["comment"]) for e in events if e["comment"]]
    assert comments == [("review_draft", RETURNED_DRAFT), ("leader_approval", RETURNED_APPROVAL)]
    assert events[2]["data"] == DRAFT and events[-2]["data"] == ISSUE
    assert events[1]["data"] == {
        "before": {"assignee": None, "expected_result": None},
        "after": FIVE_CLEARS,
        "at_step": True,
    }
    assert events[0]["actor"] == {
        "username": "cntt.cv",
        "full_name": "Chuyên viên Phòng Công nghệ thông tin",
        "unit": "CNTT",
    }
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    assert all(e["at"].endswith("+00:00") for e in events)


# --- tokens ----------------------------------------------------------------------------------------

NEW_ENDPOINTS = [
    ("POST", "/tasks/1/start"),
    ("GET", "/worklist"),
    ("GET", "/work-items/1"),
    ("POST", "/work-items/1/complete"),
    ("POST", "/work-items/1/claim"),
    ("POST", "/work-items/1/release"),
    ("POST", "/work-items/1/delegate"),
    ("GET", "/tasks/1/history"),
]


@pytest.mark.parametrize(("method", "path"), NEW_ENDPOINTS)
def test_every_new_endpoint_needs_a_token(client, api, task_1a, method, path):
    api.start(task_1a)  # so that work item 1 exists
    before = db_dump()
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        body = error(client.open(API + path, method=method, json={}, headers=headers), 401)
        assert body["error"]
    assert db_dump() == before


# --- starting --------------------------------------------------------------------------------------


def test_start_refusals_change_nothing(api, task_1a):
    before = db_dump()
    error(api.post("hts.cv", f"/tasks/{task_1a}/start"), 403)
    error(api.post("giamsat", f"/tasks/{task_1a}/start"), 403)
    error(api.post("cntt.cv", "/tasks/99999/start"), 404)
    body = error(api.post("cntt.cv", f"/tasks/{task_1a}/start", {"process": "no_such_process"}), 422)
    assert "process" in body["details"]
    error(api.post("cntt.cv", f"/tasks/{task_1a}/start", {"process": 5}), 400)
    error(api.post("cntt.cv", f"/tasks/{task_1a}/start", ["draft_plan"]), 400)
    assert db_dump() == before

    started = ok(api.post("cntt.cv", f"/tasks/{task_1a}/start", {"process": "draft_plan"}), 201)
    assert started["process"]["status"] == "running"
    after_start = db_dump()
    error(api.post("cntt.cv", f"/tasks/{task_1a}/start"), 409)
    error(api.post("giamdoc", f"/tasks/{task_1a}/start"), 409)
    assert db_dump() == after_start


def test_a_leader_may_start_and_the_default_process_is_draft_plan(api, task_1a):
    started = ok(api.post("giamdoc", f"/tasks/{task_1a}/start", None), 201)
    assert started["process"] == {"key": "draft_plan", "version": 1, "status": "running"}
    events = ok(api.get("hts.cv", f"/tasks/{task_1a}/history"))["events"]
    assert [(e["action"], e["actor"]["username"]) for e in events] == [("process.started", "giamdoc")]


# --- who may complete ------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["hts.cv", "giamsat", "cntt.tp", "admin", "vp.cv"])
def test_only_the_step_s_people_may_complete_it(api, task_1a, username):
    api.start(task_1a)
    draft = api.take("cntt.cv", task_1a, "draft")
    before = db_dump()
    body = error(api.post(username, f"/work-items/{draft['id']}/complete", {"data": DRAFT}), 403)
    assert body["details"] is None
    assert db_dump() == before
    assert "complete" not in ok(api.get("giamsat", f"/work-items/{draft['id']}"))["actions"]


def test_the_head_may_not_record_an_outside_body_s_opinion(api, task_1a):
    api.run_until(task_1a, "collect_opinions", "VP")
    external = api.take("cntt.cv", task_1a, "collect_opinions", "SO_NGANH_DP")
    assert external["unit"] == "CNTT" and external["form"]["title"].startswith("Cập nhật ý kiến")
    assert external["item_unit"]["code"] == "SO_NGANH_DP"
    before = db_dump()
    error(api.post("cntt.tp", f"/work-items/{external['id']}/complete", {"data": EXTERNAL}), 403)
    error(api.post("vp.cv", f"/work-items/{external['id']}/complete", {"data": EXTERNAL}), 403)
    assert db_dump() == before


# --- conflicts -------------------------------------------------------------------------------------


def test_completing_an_item_twice_is_a_conflict(api, task_1a):
    api.start(task_1a)
    draft = api.take("cntt.cv", task_1a, "draft")
    ok(api.post("cntt.cv", f"/work-items/{draft['id']}/complete", {"data": DRAFT}))
    before = db_dump()
    error(api.post("cntt.cv", f"/work-items/{draft['id']}/complete", {"data": DRAFT}), 409)
    # a completed item is not a bad request for anybody: it is simply no longer open
    error(api.post("hts.cv", f"/work-items/{draft['id']}/complete", {"data": DRAFT}), 409)
    for action in ("claim", "release"):
        error(api.post("cntt.cv", f"/work-items/{draft['id']}/{action}"), 409)
    assert db_dump() == before
    item = ok(api.get("cntt.cv", f"/work-items/{draft['id']}"))
    assert item["status"] == "completed" and item["actions"] == []


def test_completing_a_cancelled_item_is_a_conflict(api, task_1a):
    api.start(task_1a)
    draft = api.take("cntt.cv", task_1a, "draft")
    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE work_items SET status = 'cancelled' WHERE id = :id"), {"id": draft["id"]}
        )
    before = db_dump()
    error(api.post("cntt.cv", f"/work-items/{draft['id']}/complete", {"data": DRAFT}), 409)
    assert db_dump() == before
    assert api.worklist("cntt.cv") == []


def test_completing_a_step_the_process_has_left_is_a_conflict(api, task_1a):
    """The item is still open in the table but its workflow task is no longer READY."""
    api.start(task_1a)
    draft = api.take("cntt.cv", task_1a, "draft")
    ok(api.post("cntt.cv", f"/work-items/{draft['id']}/complete", {"data": DRAFT}))
    review = api.take("cntt.tp", task_1a, "review_draft")
    stale = db.session.get(WorkItem, draft["id"]).spiff_task_id  # the finished draft task
    with db.engine.begin() as connection:
        connection.execute(
            text("UPDATE work_items SET spiff_task_id = :stale WHERE id = :id"),
            {"stale": stale, "id": review["id"]},
        )
    before = db_dump()
    body = error(api.post("cntt.tp", f"/work-items/{review['id']}/complete", {"data": APPROVE}), 409)
    assert "no longer waiting" in body["error"]
    assert db_dump() == before  # the item taken in step 3 of advance() was given back


def test_a_vetoed_step_is_refused_and_changes_nothing(api, task_1a):
    api.start(task_1a)
    draft = api.take("cntt.cv", task_1a, "draft")

    def veto(item, **kwargs):
        raise signals.StepVetoed("Chưa đính kèm dự thảo.")

    before = db_dump()
    with signals.step_completing.connected_to(veto):
        body = error(api.post("cntt.cv", f"/work-items/{draft['id']}/complete", {"data": DRAFT}), 409)
    assert body["error"] == "Chưa đính kèm dự thảo."
    assert db_dump() == before


# --- invalid data ----------------------------------------------------------------------------------

INVALID = [
    ("draft", None, "cntt.cv", {"consulted_units": ["VP"], **FIVE_CLEARS}, None, {"summary"}),
    ("draft", None, "cntt.cv", {**DRAFT, "consulted_units": ["VP", "XYZ"]}, None, {"consulted_units"}),
    # units that exist but are not offered: the lead unit itself, a body not consulted on drafts, the
    # leadership and a work group (not consulted kinds)
    ("draft", None, "cntt.cv", {**DRAFT, "consulted_units": ["VP", "CNTT"]}, None, {"consulted_units"}),
    ("draft", None, "cntt.cv", {**DRAFT, "consulted_units": ["UBND_TINH"]}, None, {"consulted_units"}),
    ("draft", None, "cntt.cv", {**DRAFT, "consulted_units": ["LDS", "TCT"]}, None, {"consulted_units"}),
    ("draft", None, "cntt.cv", {}, None, {"consulted_units", "summary", "assignee", "expected_result"}),
    ("draft", None, "cntt.cv", {**DRAFT, "assignee": "hts.cv"}, None, {"assignee"}),  # not of the lead unit
    ("draft", None, "cntt.cv", {**DRAFT, "extra": 1}, None, {"data"}),
    ("review_draft", None, "cntt.tp", RETURN, None, {"comment"}),
    ("review_draft", None, "cntt.tp", RETURN, "   ", {"comment"}),
    ("review_draft", None, "cntt.tp", {"decision": "maybe"}, None, {"decision"}),
    (
        "collect_opinions",
        "SO_NGANH_DP",
        "cntt.cv",
        {**EXTERNAL, "document_date": "12/02/2025"},
        None,
        {"document_date"},
    ),
    ("collect_opinions", "VP", "vp.cv", {"opinion": "", "agree": "yes"}, None, {"opinion", "agree"}),
    ("leader_approval", None, "giamdoc", RETURN, None, {"comment"}),
    ("record_issuance", None, "cntt.cv", {**ISSUE, "issued_date": "2025-02-30"}, None, {"issued_date"}),
]
INVALID_IDS = [
    "missing-field",
    "unknown-unit",
    "own-lead-unit",
    "body-not-consulted-on-drafts",
    "not-consulted-kinds",
    "empty",
    "assignee-of-another-unit",
    "extra-field",
    "return-without-comment",
    "return-blank-comment",
    "not-an-option",
    "bad-date",
    "wrong-types",
    "leader-return-without-comment",
    "no-such-day",
]


@pytest.mark.parametrize(("step", "unit", "who", "data", "comment", "fields"), INVALID, ids=INVALID_IDS)
def test_invalid_data_is_422_per_field_and_changes_nothing(
    api, task_1a, step, unit, who, data, comment, fields
):
    api.run_until(task_1a, step, unit)
    item = api.take(who, task_1a, step, unit)
    before = db_dump()
    body = error(api.post(who, f"/work-items/{item['id']}/complete", {"data": data, "comment": comment}), 422)
    assert set(body["details"]) == fields
    assert all(isinstance(message, str) and message for message in body["details"].values())
    assert db_dump() == before
    assert api.take(who, task_1a, step, unit)["id"] == item["id"]


MALFORMED = [
    pytest.param({"data": ["VP"]}, id="data-not-object"),
    pytest.param({"data": DRAFT, "comment": 5}, id="comment-not-string"),
    pytest.param([DRAFT], id="body-not-object"),
    pytest.param("draft", id="body-a-string"),
]


@pytest.mark.parametrize("body", MALFORMED)
def test_malformed_bodies_are_400(api, task_1a, body):
    api.start(task_1a)
    draft = api.take("cntt.cv", task_1a, "draft")
    before = db_dump()
    error(api.post("cntt.cv", f"/work-items/{draft['id']}/complete", body), 400)
    assert db_dump() == before


def test_a_body_that_is_not_json_is_400(api, task_1a):
    api.start(task_1a)
    draft = api.take("cntt.cv", task_1a, "draft")
    path = f"{API}/work-items/{draft['id']}/complete"
    headers = api.headers("cntt.cv")
    for data, content_type in (("{not json", "application/json"), ("data=1", "text/plain")):
        error(api.client.post(path, data=data, content_type=content_type, headers=headers), 400)
    error(api.post("cntt.cv", f"/work-items/{draft['id']}/delegate", {"to": 7}), 400)
    error(api.post("cntt.cv", f"/work-items/{draft['id']}/delegate", {}), 400)
    error(api.post("cntt.cv", "/work-items/99999/complete", {"data": DRAFT}), 404)


# --- claim, release, delegate ----------------------------------------------------------------------


def test_claim_release_and_delegate(api, task_1a):
    api.run_until(task_1a, "collect_opinions", "VP")
    item = api.take("vp.tp", task_1a, "collect_opinions", "VP")
    path = f"/work-items/{item['id']}"
    assert set(item["actions"]) == {"complete", "claim", "delegate"}

    claimed = ok(api.post("vp.cv", path + "/claim"))
    assert claimed["assignee"] == "vp.cv" and set(claimed["actions"]) == {"complete", "release", "delegate"}
    assert [i["id"] for i in api.worklist("vp.cv")] == [item["id"]]
    assert api.worklist("vp.tp") == []
    seen_by_head = ok(api.get("vp.tp", path))
    assert seen_by_head["assignee"] == "vp.cv" and set(seen_by_head["actions"]) == {"release", "delegate"}

    before = db_dump()
    error(api.post("vp.tp", path + "/claim"), 409)
    error(api.post("vp.tp", path + "/complete", {"data": OPINION}), 403)
    error(api.post("hts.cv", path + "/claim"), 403)
    error(api.post("hts.cv", path + "/release"), 403)
    assert db_dump() == before
    ok(api.post("vp.cv", path + "/claim"))  # claiming one's own item again is harmless
    assert db_dump() == before

    released = ok(api.post("vp.cv", path + "/release"))
    assert released["assignee"] is None
    assert [i["id"] for i in api.worklist("vp.tp")] == [item["id"]]

    before = db_dump()
    body = error(api.post("vp.cv", path + "/delegate", {"to": "hts.cv"}), 422)
    assert set(body["details"]) == {"to"}
    error(api.post("vp.cv", path + "/delegate", {"to": "nobody.here"}), 422)
    error(api.post("hts.cv", path + "/delegate", {"to": "vp.tp"}), 403)
    assert db_dump() == before

    delegated = ok(api.post("vp.cv", path + "/delegate", {"to": "vp.tp"}))
    assert delegated["assignee"] == "vp.tp"
    assert api.worklist("vp.cv") == []
    error(api.post("vp.cv", path + "/complete", {"data": OPINION}), 403)
    done = ok(api.post("vp.tp", path + "/complete", {"data": OPINION}))
    assert done["next_steps"] == []

    events = ok(api.get("vp.cv", f"/tasks/{task_1a}/history"))["events"]
    tail = [(e["action"], e["actor"]["username"], e["step"], e["data"]) for e in events[-4:]]
    assert tail == [
        ("step.claimed", "vp.cv", "collect_opinions", None),
        ("step.released", "vp.cv", "collect_opinions", None),
        ("step.delegated", "vp.cv", "collect_opinions", {"to": "vp.tp"}),
        ("step.completed", "vp.tp", "collect_opinions", OPINION),
    ]
    assert all(e["from_state"] == e["to_state"] == "collecting_opinions" for e in events[-4:])


def test_the_unit_head_may_take_back_and_reassign(api, task_1a):
    api.run_until(task_1a, "collect_opinions", "VP")
    item = api.take("vp.cv", task_1a, "collect_opinions", "VP")
    path = f"/work-items/{item['id']}"
    ok(api.post("vp.cv", path + "/claim"))
    assert ok(api.post("vp.tp", path + "/delegate", {"to": "vp.tp"}))["assignee"] == "vp.tp"
    assert ok(api.post("vp.tp", path + "/release"))["assignee"] is None
    assert ok(api.post("vp.tp", path + "/claim"))["assignee"] == "vp.tp"
    error(api.post("vp.cv", path + "/release"), 403)


WORK_ITEM_KEYS = "id task_id task_code task_title step name lane unit assignee due_at form actions".split()


# --- reading ---------------------------------------------------------------------------------------


def test_who_may_see_a_work_item(api, task_1a):
    api.start(task_1a)
    draft = api.take("cntt.cv", task_1a, "draft")
    path = f"/work-items/{draft['id']}"
    for username in ("cntt.cv", "cntt.tp", "giamdoc", "giamsat", "admin"):
        assert ok(api.get(username, path))["id"] == draft["id"], username
    for username in ("hts.cv", "vp.tp", "ttcntt.cv"):
        error(api.get(username, path), 403)
    error(api.get("cntt.cv", "/work-items/99999"), 404)

    item = ok(api.get("cntt.tp", path))
    assert item == {**draft, "actions": ["delegate"]}  # a specialist's step: the head may only hand it on
    assert set(item) >= set(WORK_ITEM_KEYS)
    assert (item["task_code"], item["step"], item["lane"], item["unit"]) == (
        "1.a",
        "draft",
        "Chuyên viên",
        "CNTT",
    )
    assert item["due_at"] == "2025-02-28T16:59:59+00:00"  # end of 28/02/2025 in Asia/Ho_Chi_Minh
    # the first step's form asks for the "5 rõ" 1.a lacks: who is responsible, and the expected result
    assert item["form"]["required"] == ["consulted_units", "summary", "assignee", "expected_result"]


def test_history_is_readable_by_every_signed_in_user(api, task_1a):
    assert ok(api.get("hts.cv", f"/tasks/{task_1a}/history")) == {"events": []}
    api.run_until(task_1a, "review_draft")
    for username in ("hts.cv", "giamsat", "ttud.cv"):
        events = ok(api.get(username, f"/tasks/{task_1a}/history"))["events"]
        assert [e["action"] for e in events] == ["process.started", "task.updated", "step.completed"]
        assert set(events[2]) >= {
            "id",
            "at",
            "actor",
            "action",
            "step",
            "from_state",
            "to_state",
            "comment",
            "data",
        }
    error(api.get("hts.cv", "/tasks/99999/history"), 404)


def test_open_steps_carry_the_caller_s_actions(api, task_1a):
    api.start(task_1a)
    assert api.task(task_1a, "cntt.cv")["open_steps"][0]["actions"] == ["complete", "claim", "delegate"]
    assert api.task(task_1a, "giamsat")["open_steps"][0]["actions"] == []
    other = api.task(task_id_of("1.b"), "cntt.cv")
    assert other["process"] is None and other["open_steps"] == []
