"""The JSON API v1 against the seeded demo database: tokens, errors, the caller, plans and tasks."""

from __future__ import annotations

import hashlib
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import ApiToken, Plan, Task, User
from app.services.clock import local_today
from config import TestingConfig
from tests.conftest import DEMO_PASSWORD

PLAN_YAML = Path(__file__).resolve().parent.parent / "app" / "data" / "hai-duong-plan.yaml"
TOKEN_ROUTE = "/api/v1/auth/token"

TASK_KEYS = {
    "id": int,
    "plan_id": int,
    "code": str,
    "title": str,
    "content": (str, type(None)),
    "lead_unit": dict,
    "coordinating_units": list,
    "assignee": (str, type(None)),
    "deadline": (str, type(None)),
    "recurrence": list,
    "expected_result": (str, type(None)),
    "task_type": (str, type(None)),
    "state": str,
    "progress": int,
    "process": (dict, type(None)),
    "open_steps": list,
}


def api_routes() -> list[tuple[str, str]]:
    """(method, url) for every API route but the token one, with 1 for every URL argument."""
    application = create_app(TestingConfig)
    adapter = application.url_map.bind("localhost")
    routes = []
    for rule in application.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == TOKEN_ROUTE:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = adapter.build(rule.endpoint, {name: 1 for name in rule.arguments}, method=method)
            routes.append((method, url))
    return routes


@pytest.fixture(scope="module")
def plan_yaml() -> dict:
    return yaml.safe_load(PLAN_YAML.read_text(encoding="utf-8"))


@pytest.fixture
def token(api_token) -> str:
    return api_token("cntt.cv")


@pytest.fixture
def get(client, token):
    """get(path, **query) -> response, with cntt.cv's bearer token."""

    def fetch(path: str, **query):
        return client.get(path, query_string=query, headers=bearer(token))

    return fetch


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error", "details"}
    assert isinstance(body["error"], str) and body["error"]
    return body


def the_plan() -> Plan:
    return db.session.scalars(select(Plan)).one()


def task_by_code(code: str) -> Task:
    return db.session.scalars(select(Task).where(Task.code == code)).one()


def user_by_name(username: str) -> User:
    return db.session.scalars(select(User).where(User.username == username)).one()


# --- tokens ----------------------------------------------------------------------------------------


def test_token_is_issued_with_a_future_expiry(client, app):
    before = datetime.now(UTC)
    response = client.post(TOKEN_ROUTE, json={"username": "cntt.cv", "password": DEMO_PASSWORD})

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"token", "expires_at"}
    assert isinstance(body["token"], str) and len(body["token"]) >= 32
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert expires_at.tzinfo is not None
    ttl = timedelta(seconds=app.config["API_TOKEN_TTL_SECONDS"])
    assert before < expires_at <= datetime.now(UTC) + ttl


def test_only_a_hash_of_the_token_is_stored(api_token):
    token = api_token("cntt.cv")

    rows = db.session.scalars(select(ApiToken)).all()
    assert [row.token_hash for row in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    assert rows[0].user.username == "cntt.cv"


def test_bad_credentials_get_one_answer_whether_or_not_the_user_exists(client):
    wrong_password = client.post(TOKEN_ROUTE, json={"username": "cntt.cv", "password": "wrong-pass"})
    unknown_user = client.post(TOKEN_ROUTE, json={"username": "nobody", "password": DEMO_PASSWORD})

    assert_json_error(wrong_password, 401)
    assert_json_error(unknown_user, 401)
    assert wrong_password.get_json() == unknown_user.get_json()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": "not json", "content_type": "application/json"},
        {"data": '{"username": "cntt.cv", "password": ', "content_type": "application/json"},
        {"data": {"username": "cntt.cv", "password": DEMO_PASSWORD}},  # a form, not JSON
        {"json": ["cntt.cv", DEMO_PASSWORD]},
        {"json": {}},
        {"json": {"username": "cntt.cv"}},
        {"json": {"password": DEMO_PASSWORD}},
        {"json": {"username": "cntt.cv", "password": 12345678}},
        {"json": {"username": None, "password": DEMO_PASSWORD}},
    ],
    ids=["garbage", "truncated", "form", "array", "empty", "no-password", "no-username", "int", "null"],
)
def test_token_request_must_be_a_json_object_with_both_fields(client, kwargs):
    assert_json_error(client.post(TOKEN_ROUTE, **kwargs), 400)


def test_missing_fields_are_named_in_details(client):
    body = assert_json_error(client.post(TOKEN_ROUTE, json={"username": "cntt.cv"}), 400)

    assert set(body["details"]) == {"password"}


def test_token_of_a_deactivated_user_stops_working(client, api_token):
    token = api_token("cntt.cv")
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200

    user_by_name("cntt.cv").active = False
    db.session.commit()

    assert_json_error(client.get("/api/v1/me", headers=bearer(token)), 401)
    refused = client.post(TOKEN_ROUTE, json={"username": "cntt.cv", "password": DEMO_PASSWORD})
    assert_json_error(refused, 401)


def test_expired_token_is_refused(client, api_token):
    token = api_token("cntt.cv")
    row = db.session.scalars(select(ApiToken)).one()
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()

    assert_json_error(client.get("/api/v1/me", headers=bearer(token)), 401)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-real-token"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic Y250dC5jdjpkZW1vLXBhc3MtMTIz"},
        {"Authorization": "not-a-real-token"},
    ],
    ids=["no-header", "garbage", "empty", "basic", "no-scheme"],
)
def test_requests_without_a_valid_token_get_401(client, headers):
    response = client.get("/api/v1/me", headers=headers)

    assert_json_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_token_is_not_accepted_with_its_hash(client, api_token):
    api_token("cntt.cv")
    stored_hash = db.session.scalars(select(ApiToken.token_hash)).one()

    assert_json_error(client.get("/api/v1/me", headers=bearer(stored_hash)), 401)


@pytest.mark.parametrize(("method", "url"), api_routes())
def test_every_api_route_needs_a_token(client, method, url):
    assert_json_error(client.open(url, method=method, json={}), 401)


def test_api_routes_are_listed():
    """The parametrized check above really covers the API (a broken listing would pass vacuously)."""
    urls = {url for _, url in api_routes()}
    assert {"/api/v1/me", "/api/v1/plans", "/api/v1/plans/1/tasks", "/api/v1/tasks/1"} <= urls


# --- errors ----------------------------------------------------------------------------------------


def test_unknown_api_url_is_a_json_404(client, token):
    assert_json_error(client.get("/api/v1/no-such-thing", headers=bearer(token)), 404)
    assert_json_error(client.get("/api/v1/no-such-thing"), 404)
    assert_json_error(client.get("/api/v1/plans/not-a-number/tasks", headers=bearer(token)), 404)
    assert_json_error(client.get("/api/v2/plans"), 404)


def test_wrong_method_is_a_json_405(client, token):
    task_id = task_by_code("1.a").id

    response = client.delete(f"/api/v1/tasks/{task_id}", headers=bearer(token))
    assert_json_error(response, 405)
    assert "GET" in response.headers["Allow"]
    assert_json_error(client.get(TOKEN_ROUTE), 405)
    assert_json_error(client.post("/api/v1/me", headers=bearer(token), json={}), 405)


def test_web_pages_keep_html_errors(client):
    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_unexpected_failure_is_a_json_500_without_a_traceback(client, token, monkeypatch):
    def explode():
        raise RuntimeError("secret internals: /srv/tien-do/db.sqlite")

    monkeypatch.setattr("app.api.routes.plans_with_task_counts", explode)

    response = client.get("/api/v1/plans", headers=bearer(token))
    body = assert_json_error(response, 500)
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "secret internals" not in text and "RuntimeError" not in text
    assert body["details"] == {"request_id": response.headers["X-Request-ID"]}  # for the user to quote


# --- the caller ------------------------------------------------------------------------------------


def test_me_describes_the_token_holder(get):
    response = get("/api/v1/me")

    assert response.status_code == 200
    body = response.get_json()
    user = user_by_name("cntt.cv")
    assert body == {
        "id": user.id,
        "username": "cntt.cv",
        "full_name": user.full_name,
        "unit": {"code": "CNTT", "name": "Phòng Công nghệ thông tin"},
        "roles": ["specialist"],
    }


@pytest.mark.parametrize(
    ("username", "role"),
    [("cntt.tp", "unit_head"), ("giamdoc", "leader"), ("giamsat", "supervisor"), ("admin", "admin")],
)
def test_every_role_reads_plans_and_tasks(client, api_token, username, role):
    token = api_token(username)

    assert role in client.get("/api/v1/me", headers=bearer(token)).get_json()["roles"]
    assert client.get("/api/v1/plans", headers=bearer(token)).status_code == 200
    task_id = task_by_code("1.a").id
    assert client.get(f"/api/v1/tasks/{task_id}", headers=bearer(token)).status_code == 200


# --- plans -----------------------------------------------------------------------------------------


def test_plans_lists_the_demo_plan_with_its_task_count(get):
    response = get("/api/v1/plans")

    assert response.status_code == 200
    items = response.get_json()["items"]
    plan = the_plan()
    assert items == [
        {
            "id": plan.id,
            "number": "/KH-SKHCN",
            "title": plan.title,
            "issuer": plan.issuer_name,
            "issued_on": "2025-03-04",
            "task_count": 28,
        }
    ]


# --- tasks of a plan -------------------------------------------------------------------------------


def plan_task_codes(get, **query) -> list[str]:
    response = get(f"/api/v1/plans/{the_plan().id}/tasks", **query)
    assert response.status_code == 200, response.get_json()
    return [item["code"] for item in response.get_json()["items"]]


def test_plan_tasks_come_in_document_order(get, plan_yaml):
    codes = plan_task_codes(get)

    assert len(codes) == 28
    assert codes[0] == "1.a" and codes[-1] == "10.c"
    assert codes == [task["code"] for task in plan_yaml["tasks"]]


def test_plan_tasks_items_have_the_task_shape(get):
    items = get(f"/api/v1/plans/{the_plan().id}/tasks").get_json()["items"]

    for item in items:
        for key, kind in TASK_KEYS.items():
            assert isinstance(item[key], kind), (item["code"], key)


def test_filter_by_lead_unit(get, plan_yaml):
    expected = [task["code"] for task in plan_yaml["tasks"] if task["lead"]["code"] == "CNTT"]

    assert len(expected) == 14
    assert plan_task_codes(get, unit="CNTT") == expected


def test_filter_by_sub_unit_finds_its_task(get):
    assert plan_task_codes(get, unit="KHTC") == ["4.h"]


def test_filter_by_state(get):
    assert len(plan_task_codes(get, state="not_started")) == 27
    assert plan_task_codes(get, state="waiting_guidance") == ["9.b"]
    assert plan_task_codes(get, state="completed") == []


def test_filter_overdue(get, plan_yaml):
    today = local_today()
    dated = [task for task in plan_yaml["tasks"] if task["deadline"]["due"] is not None]
    late = [task["code"] for task in dated if task["deadline"]["due"] < today]
    all_codes = [task["code"] for task in plan_yaml["tasks"]]

    assert plan_task_codes(get, overdue="true") == late
    assert plan_task_codes(get, overdue="false") == [code for code in all_codes if code not in late]


def test_overdue_flag_matches_the_filter(get):
    items = get(f"/api/v1/plans/{the_plan().id}/tasks").get_json()["items"]
    flagged = [item["code"] for item in items if item["overdue"]]

    assert flagged == plan_task_codes(get, overdue="true")


@pytest.mark.parametrize(
    ("query", "parameter"),
    [({"unit": "NOPE"}, "unit"), ({"state": "sleeping"}, "state"), ({"overdue": "maybe"}, "overdue")],
)
def test_invalid_filters_are_422_naming_the_parameter(get, query, parameter):
    response = get(f"/api/v1/plans/{the_plan().id}/tasks", **query)

    body = assert_json_error(response, 422)
    assert set(body["details"]) == {parameter}


def test_all_invalid_filters_are_reported_at_once(get):
    response = get(f"/api/v1/plans/{the_plan().id}/tasks", unit="NOPE", state="x", overdue="maybe")

    assert set(assert_json_error(response, 422)["details"]) == {"unit", "state", "overdue"}


def test_tasks_of_an_unknown_plan_is_404(get):
    assert_json_error(get("/api/v1/plans/999999/tasks"), 404)


# --- one task --------------------------------------------------------------------------------------


def get_task(get, code: str) -> dict:
    response = get(f"/api/v1/tasks/{task_by_code(code).id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_task_has_every_contract_key_with_its_type(get):
    body = get_task(get, "1.a")

    for key, kind in TASK_KEYS.items():
        assert key in body, key
        assert isinstance(body[key], kind), key
    task = task_by_code("1.a")
    assert body["id"] == task.id and body["plan_id"] == the_plan().id and body["code"] == "1.a"
    assert body["process"] is None and body["open_steps"] == []
    assert body["state"] == "not_started" and body["progress"] == 0
    assert set(body["lead_unit"]) == {"code", "name"}


def test_task_lead_sub_unit_and_coordinating_units_in_order(get):
    body = get_task(get, "4.h")

    assert body["lead_unit"] == {"code": "VP", "name": "Văn phòng Sở"}
    assert body["lead_sub_unit"] == {"code": "KHTC", "name": "Bộ phận Kế hoạch Tài chính"}
    assert [unit["code"] for unit in body["coordinating_units"]] == ["CNTT", "TTCNTT"]
    assert body["coordinating_units"][0] == {"code": "CNTT", "name": "Phòng Công nghệ thông tin"}


def test_task_with_recurrence_only_has_no_deadline(get):
    body = get_task(get, "8.c")

    assert body["recurrence"] == ["continuous", "yearly", "on_demand"]
    assert body["deadline"] is None
    assert body["overdue"] is False


def test_task_deadline_is_the_due_date(get):
    body = get_task(get, "2.b")

    assert body["deadline"] == "2025-05-31"
    assert body["deadline_text"] == task_by_code("2.b").deadline_raw
    assert body["deadline_precision"] == "month"


def test_task_vietnamese_text_is_the_stored_nfc_text(get, plan_yaml):
    body = get_task(get, "4.h")
    task = task_by_code("4.h")
    written = next(item for item in plan_yaml["tasks"] if item["code"] == "4.h")

    assert body["title"] == task.title == unicodedata.normalize("NFC", written["title"])
    assert body["content"] == task.content
    for text in (body["title"], body["content"], body["lead_unit"]["name"], body["section"]["heading"]):
        assert unicodedata.is_normalized("NFC", text)


def test_unknown_task_is_404(get):
    assert_json_error(get("/api/v1/tasks/999999"), 404)
