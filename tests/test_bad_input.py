"""Bad input is answered with a clear 4xx and changes nothing; never a 5xx.

Malformed and mistyped JSON, bodies over MAX_CONTENT_LENGTH, unknown, negative and overflowing ids,
SQL meta-characters in filters, invalid dates, non-UTF-8 bodies and query strings, huge query strings,
deeply nested JSON; then a property-based sweep (hypothesis) over every API route of the URL map.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from app.extensions import db
from app.models import Task, User, WorkItem, WorkItemStatus
from app.throttle import limiter
from tests.audit_helpers import comparable_rows
from tests.conftest import DEMO_PASSWORD, csrf_token_from
from workflows.engine import advance, start_process

TABLES = ("process_instances", "work_items", "audit_events", "tasks", "users", "units")
HUGE = 3 * 1024 * 1024  # over the 2 MB MAX_CONTENT_LENGTH
OVERFLOW_IDS = ["99999999999999999999", "9223372036854775808", "2147483648", "-1", "0"]


@pytest.fixture(autouse=True)
def _fresh_limits(app):
    limiter.reset()
    yield


def _snapshot():
    db.session.expire_all()
    return {table: db.session.execute(text(comparable_rows(table))).all() for table in TABLES}


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


@pytest.fixture
def started(app):
    """Task 1.a with its draft step open: (task id, draft item id)."""
    task = db.session.scalar(select(Task).where(Task.code == "1.a"))
    start_process(task, _user("cntt.cv"))
    item = db.session.scalar(
        select(WorkItem).where(WorkItem.task_id == task.id, WorkItem.status == WorkItemStatus.OPEN)
    )
    return task.id, item.id


@pytest.fixture
def headers(api_token):
    return {"Authorization": f"Bearer {api_token('cntt.cv')}"}


def _json_error(response, *statuses):
    assert response.status_code in statuses, (response.status_code, response.get_data(as_text=True)[:300])
    body = response.get_json()
    assert set(body) == {"error", "details"}, body
    return body


# --- malformed and mistyped JSON ------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        *(b"{", b"{'a': 1}", b"[1, 2", b"nul", b'{"data": }', b"\xff\xfe{}", b'{"a": NaN}x', b"", b"   "),
        # NaN and Infinity are not JSON (Python's json reads them; PostgreSQL's json refuses them)
        *(b'{"data": {"summary": NaN}}', b'{"data": {"x": Infinity}, "to": "a"}', b'{"to": -Infinity}'),
    ],
)
def test_malformed_json_is_400(client, headers, started, raw):
    task_id, item_id = started
    before = _snapshot()
    routes = ["/api/v1/auth/token", f"/api/v1/work-items/{item_id}/delegate"]
    if raw:  # an empty body is an empty object where the body is optional
        routes += [f"/api/v1/work-items/{item_id}/complete", f"/api/v1/tasks/{task_id}/start"]
    for url in routes:
        response = client.post(url, data=raw, content_type="application/json", headers=headers)
        _json_error(response, 400)
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("token", {"username": 5, "password": DEMO_PASSWORD}),
        ("token", {"username": ["cntt.cv"], "password": {"x": 1}}),
        ("token", [1, 2]),
        ("token", "cntt.cv"),
        ("start", {"process": 5}),
        ("start", {"process": ["draft_plan"]}),
        ("complete", {"data": "summary"}),
        ("complete", {"data": [1]}),
        ("complete", {"data": {}, "comment": 7}),
        ("complete", [{"data": {}}]),
        ("delegate", {"to": 5}),
        ("delegate", {"to": ""}),
        ("delegate", {}),
    ],
)
def test_wrong_types_are_400(client, headers, started, route, body):
    task_id, item_id = started
    url = {
        "token": "/api/v1/auth/token",
        "start": f"/api/v1/tasks/{task_id}/start",
        "complete": f"/api/v1/work-items/{item_id}/complete",
        "delegate": f"/api/v1/work-items/{item_id}/delegate",
    }[route]
    before = _snapshot()
    _json_error(client.post(url, json=body, headers=headers), 400)
    assert _snapshot() == before


def test_form_data_of_the_wrong_shape_is_422_with_details(client, headers, started):
    _, item_id = started
    before = _snapshot()
    body = {"data": {"consulted_units": "VP", "summary": 12, "extra": True}}
    error = _json_error(
        client.post(f"/api/v1/work-items/{item_id}/complete", json=body, headers=headers), 422
    )
    assert error["details"]
    assert _snapshot() == before


# --- deeply nested JSON --------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [100, 10_000, 200_000])
def test_nested_json_bombs_are_400(client, headers, started, depth):
    _, item_id = started
    before = _snapshot()
    bomb = '{"data": ' + '{"a": ' * depth + "1" + "}" * depth + "}"
    list_bomb = "[" * depth + "]" * depth
    for raw in (bomb, list_bomb):
        response = client.post(
            f"/api/v1/work-items/{item_id}/complete",
            data=raw,
            content_type="application/json",
            headers=headers,
        )
        _json_error(response, 400)
        token = client.post("/api/v1/auth/token", data=raw, content_type="application/json")
        _json_error(token, 400)
    assert _snapshot() == before


def test_moderately_nested_data_is_judged_by_the_form(client, headers, started):
    _, item_id = started
    nested = {"a": 1}
    for _ in range(30):
        nested = {"a": nested}
    body = {"data": {"consulted_units": ["VP"], "summary": "x", "extra": nested}}
    _json_error(client.post(f"/api/v1/work-items/{item_id}/complete", json=body, headers=headers), 422)


# --- huge bodies --------------------------------------------------------------------------------------


def test_huge_api_body_is_a_json_413(client, headers, started):
    task_id, item_id = started
    before = _snapshot()
    big = json.dumps({"username": "x" * HUGE, "password": "y"})
    _json_error(client.post("/api/v1/auth/token", data=big, content_type="application/json"), 413)
    body = json.dumps({"data": {"summary": "x" * HUGE}})
    for url in (f"/api/v1/work-items/{item_id}/complete", f"/api/v1/tasks/{task_id}/start"):
        _json_error(client.post(url, data=body, content_type="application/json", headers=headers), 413)
    assert _snapshot() == before


def test_huge_web_form_is_an_html_413(client, auth, started):
    _, item_id = started
    auth.login()
    token = csrf_token_from(client.get(f"/steps/{item_id}").get_data(as_text=True))
    before = _snapshot()
    for url in (f"/steps/{item_id}", "/auth/login"):
        response = client.post(url, data={"csrf_token": token, "summary": "x" * HUGE})
        assert response.status_code == 413, url
        assert response.mimetype == "text/html"
        page = response.get_data(as_text=True)
        assert "Dữ liệu gửi lên quá lớn" in page and "Traceback" not in page
    assert _snapshot() == before


def test_body_limit_comes_from_the_environment():
    from config import Config, config_from_env

    assert Config.MAX_CONTENT_LENGTH == 2 * 1024 * 1024
    assert config_from_env({"MAX_CONTENT_LENGTH": "1000"}).MAX_CONTENT_LENGTH == 1000


# --- ids --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad_id", [*OVERFLOW_IDS, "123456789", "1.5", "abc", "%ff", "1%00"])
def test_unknown_negative_and_overflowing_ids_are_404(client, auth, headers, started, bad_id):
    before = _snapshot()
    for url in (
        f"/api/v1/tasks/{bad_id}",
        f"/api/v1/tasks/{bad_id}/history",
        f"/api/v1/plans/{bad_id}/tasks",
        f"/api/v1/work-items/{bad_id}",
    ):
        _json_error(client.get(url, headers=headers), 404)
    for url in (f"/api/v1/tasks/{bad_id}/start", f"/api/v1/work-items/{bad_id}/complete"):
        _json_error(client.post(url, json={}, headers=headers), 404)
    auth.login()
    token = csrf_token_from(client.get("/plans").get_data(as_text=True))
    for url in (f"/tasks/{bad_id}", f"/plans/{bad_id}", f"/steps/{bad_id}"):
        assert client.get(url).status_code == 404, url
    for url in (f"/tasks/{bad_id}/start", f"/steps/{bad_id}", f"/steps/{bad_id}/claim"):
        assert client.post(url, data={"csrf_token": token}).status_code == 404, url
    assert _snapshot() == before


def test_the_largest_integer_key_is_still_an_id(client, headers):
    _json_error(client.get("/api/v1/tasks/2147483647", headers=headers), 404)
    assert client.get("/api/v1/tasks/1", headers=headers).status_code == 200


# --- filters and query strings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "unit=' OR 1=1 --",
        "unit=CNTT' OR '1'='1",
        "state='; DROP TABLE tasks; --",
        "unit=%00",
        "overdue=maybe",
        "overdue=1e309",
        "unit=%ff%fe",
        "state=%C0%AF",
        "unit=" + "A" * 100_000,
        "&".join(f"unit={n}" for n in range(5000)),
    ],
)
def test_hostile_filters_are_4xx_and_harmless(client, auth, headers, query):
    before = _snapshot()
    response = client.get(f"/api/v1/plans/1/tasks?{query}", headers=headers)
    assert 400 <= response.status_code < 500 or response.status_code == 200, response.status_code
    if response.status_code != 200:
        _json_error(response, 400, 422)
    auth.login()
    page = client.get(f"/plans/1?{query}")
    assert page.status_code in (200, 400)
    assert _snapshot() == before
    assert db.session.execute(text("SELECT count(*) FROM tasks WHERE kind = 'plan'")).scalar() == 28


def test_a_non_utf8_query_string_is_not_a_500(client, auth, headers):
    environ = {"QUERY_STRING": "unit=\xff\xfe&state=\xc0\xaf"}  # WSGI: the raw bytes, as latin-1
    response = client.get("/api/v1/plans/1/tasks", headers=headers, environ_overrides=environ)
    assert response.status_code < 500
    assert response.status_code == 422  # an unknown unit, however it is spelt
    auth.login()
    assert client.get("/plans/1", environ_overrides=environ).status_code == 400


def test_a_non_utf8_path_is_a_404(client, auth, headers):
    for path in ("/api/v1/tasks/\xff", "/api/v1/\xc0\xaf", "/tasks/1\xff"):
        response = client.get("/", headers=headers, environ_overrides={"PATH_INFO": path})
        assert response.status_code == 404, path


def test_a_non_utf8_form_is_not_a_500(client, auth, started):
    _, item_id = started
    auth.login()
    token = csrf_token_from(client.get(f"/steps/{item_id}").get_data(as_text=True))
    before = _snapshot()
    body = f"csrf_token={token}&summary=%ff%fe%fd&consulted_units=%C0%AF".encode()
    response = client.post(f"/steps/{item_id}", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code in (302, 422), response.status_code
    login = client.post("/auth/login", data=b"username=\xff&password=\xfe&csrf_token=x")
    assert login.status_code < 500
    if response.status_code == 422:
        assert _snapshot() == before


# --- invalid dates in step forms ------------------------------------------------------------------

# The "5 rõ" the first step asks for while the task lacks them (app/services/five_clears.py).
FIVE_CLEARS = {"assignee": "cntt.cv", "expected_result": "Kế hoạch được ban hành"}


@pytest.mark.parametrize(
    "date", ["2025-02-30", "30/02/2025", "2025-13-01", "yesterday", "", "2025-02-12T00:00"]
)
def test_invalid_dates_in_a_form_are_422(client, headers, started, date):
    _, draft_id = started
    draft = db.session.get(WorkItem, draft_id)
    draft_data = {"consulted_units": ["SO_NGANH_DP"], "summary": "Dự thảo", **FIVE_CLEARS}
    advance(draft, _user("cntt.cv"), draft_data, None)
    task = draft.task
    db.session.expire_all()
    (review,) = db.session.scalars(
        select(WorkItem).where(WorkItem.task_id == task.id, WorkItem.status == WorkItemStatus.OPEN)
    ).all()
    advance(review, _user("cntt.tp"), {"decision": "approve"}, None)
    db.session.expire_all()
    (external,) = db.session.scalars(
        select(WorkItem).where(WorkItem.task_id == task.id, WorkItem.status == WorkItemStatus.OPEN)
    ).all()
    before = _snapshot()
    data = {"opinion": "Thống nhất", "agree": True, "document_number": "1/SNV", "document_date": date}
    response = client.post(f"/api/v1/work-items/{external.id}/complete", json={"data": data}, headers=headers)
    error = _json_error(response, 422)
    assert "document_date" in json.dumps(error["details"])
    assert _snapshot() == before


# --- property-based sweep over the API --------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
FIELD_NAMES = st.sampled_from(["data", "comment", "to", "process", "username", "password", "summary", "x"])
BODIES = JSON_VALUES | st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=4)
QUERY_KEYS = st.sampled_from(["unit", "state", "overdue", "cursor", "since", "x"]) | st.text(max_size=8)
QUERIES = st.lists(st.tuples(QUERY_KEYS, st.text(max_size=40)), max_size=5)
SWEEP = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _ids(task_id: int, item_id: int) -> dict:
    """A value for every URL argument of the API (a test fails on a route whose argument is missing)."""
    return {
        "plan_id": 1,
        "task_id": task_id,
        "item_id": item_id,
        "attachment_id": 1,
        "indicator_id": 3,
        "key": "draft_plan",
        "version": 1,
        "framework_id": 1,
        "commune_plan_id": 1,
    }


def _api_urls(app, method: str, ids: dict) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and method in rule.methods:
            urls.append(rule.build({name: ids[name] for name in rule.arguments}, append_unknown=False)[1])
    return sorted(urls)


@SWEEP
@given(body=BODIES)
def test_random_json_bodies_never_give_a_5xx(app, client, headers, started, body):
    limiter.reset()
    task_id, item_id = started
    ids = _ids(task_id, item_id)
    for url in _api_urls(app, "POST", ids):
        response = client.post(url, json=body, headers=headers)
        assert response.status_code < 500, (url, body, response.get_data(as_text=True)[:300])
        assert response.is_json


@SWEEP
@given(query=QUERIES)
def test_random_query_strings_never_give_a_5xx(app, client, headers, started, query):
    task_id, item_id = started
    ids = _ids(task_id, item_id)
    for url in _api_urls(app, "GET", ids):
        response = client.get(url, query_string=query, headers=headers)
        assert response.status_code < 500, (url, query, response.get_data(as_text=True)[:300])
        assert response.is_json


NUL_CASES = [
    ("post_json", "/api/v1/auth/token", {"username": "a\x00b", "password": "x"}),
    ("get", "/api/v1/plans/1/tasks?unit=VP%00", None),
    ("post_form", "/auth/login", {"username": "a\x00b", "password": "x"}),
]


@pytest.mark.parametrize(("how", "path", "body"), NUL_CASES)
def test_nul_characters_are_refused_with_400_on_every_database(client, api_token, how, path, body):
    headers = {"Authorization": f"Bearer {api_token()}"}
    if how == "post_json":
        response = client.post(path, json=body)
    elif how == "get":
        response = client.get(path, headers=headers)
    else:
        token = csrf_token_from(client.get(path).get_data(as_text=True))
        response = client.post(path, data={**body, "csrf_token": token})
    assert response.status_code == 400
    if path.startswith("/api/"):
        assert set(response.get_json()) == {"error", "details"}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"], ids=["utf-8", "utf-16", "utf-32"])
@pytest.mark.parametrize(
    "body",
    [
        {"data": {"consulted_units": ["VP"], "summary": "a\x00b"}},
        {"data": {"consulted_units": ["VP"], "summary": "x", "a\x00": 1}},
        {"data": {"consulted_units": [["VP", ["x\x00"]]], "summary": "x"}},
    ],
    ids=["in-a-value", "in-a-key", "deep-in-a-list"],
)
def test_an_escaped_nul_anywhere_in_a_body_in_any_json_encoding_is_400(
    client, headers, started, body, encoding
):
    """JSON can only carry NUL as the escape \\u0000, in UTF-8, UTF-16 or UTF-32: each is refused."""
    import json

    _, item_id = started
    before = _snapshot()
    raw = json.dumps(body).encode(encoding)
    response = client.post(
        f"/api/v1/work-items/{item_id}/complete", data=raw, content_type="application/json", headers=headers
    )
    _json_error(response, 400)
    assert _snapshot() == before
