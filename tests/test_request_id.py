"""Every request has an id: taken from a sane X-Request-ID or generated, kept in `g`, echoed in the
response, carried by every log record, and shown on the 500 page/JSON instead of any traceback."""

from __future__ import annotations

import logging
import re

import pytest
from flask import g

from app import request_id
from tests.conftest import DEMO_PASSWORD, IsolatedClient

HEADER = "X-Request-ID"
GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def failing_app(app):
    """The test app with routes that fail, on a page and in the API, and one that logs."""

    def boom():
        raise RuntimeError("kaboom: secret internals /srv/tien-do")

    def logs():
        logging.getLogger("tests.request_id").warning("something to note")
        return {"request_id": g.request_id}

    app.add_url_rule("/test-only/boom", "test_boom", request_id_public(boom))
    app.add_url_rule("/test-only/logs", "test_logs", request_id_public(logs))
    app.add_url_rule("/api/v1/test-only/boom", "test_api_boom", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: a 500 page, not a raised error
    app.test_client_class = IsolatedClient
    return app


def request_id_public(view):
    from app.security import public

    return public(view)


@pytest.fixture
def plain_client(failing_app):
    return failing_app.test_client()


def test_an_incoming_sane_id_is_echoed(client):
    response = client.get("/auth/login", headers={HEADER: "req-42.abc:7_X"})
    assert response.headers[HEADER] == "req-42.abc:7_X"


def test_an_id_is_generated_when_absent(client):
    first = client.get("/auth/login").headers[HEADER]
    second = client.get("/auth/login").headers[HEADER]
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second) and first != second


@pytest.mark.parametrize(
    "junk",
    ["", " ", "a b", "x" * 129, "<script>alert(1)</script>", "abc\u00e9", "-leading-dash", "id;rm -rf"],
)
def test_a_junk_id_is_replaced(client, junk):
    response = client.get("/auth/login", headers={HEADER: junk})
    assert GENERATED.fullmatch(response.headers[HEADER])


def test_redirects_and_404s_carry_the_id_too(client):
    assert client.get("/plans", headers={HEADER: "abc123"}).headers[HEADER] == "abc123"
    assert client.get("/no-such-page", headers={HEADER: "abc124"}).headers[HEADER] == "abc124"
    assert client.get("/api/v1/nothing", headers={HEADER: "abc125"}).headers[HEADER] == "abc125"


def test_the_id_is_in_g_and_in_the_log_record(plain_client, caplog):
    caplog.set_level(logging.INFO)
    response = plain_client.get("/test-only/logs", headers={HEADER: "trace-me-123"})
    assert response.get_json() == {"request_id": "trace-me-123"}
    records = [r for r in caplog.records if r.getMessage() == "something to note"]
    assert [r.request_id for r in records] == ["trace-me-123"]


def test_the_log_format_includes_the_id():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, None)
    request_id.RequestIdFilter().filter(record)  # outside a request
    line = logging.Formatter(request_id.LOG_FORMAT).format(record)
    assert "[-] x: failed" in line


def test_a_server_error_page_shows_the_id_and_no_traceback(plain_client, caplog):
    response = plain_client.get("/test-only/boom", headers={HEADER: "quote-me-500"})
    assert response.status_code == 500
    assert response.headers[HEADER] == "quote-me-500"
    page = response.get_data(as_text=True)
    assert "quote-me-500" in page
    for leak in ("Traceback", "kaboom", "RuntimeError", "/srv/tien-do"):
        assert leak not in page
    logged = [r for r in caplog.records if r.exc_info and r.levelno >= logging.ERROR]
    assert logged and {r.request_id for r in logged} == {"quote-me-500"}


def test_an_api_server_error_answers_json_with_the_id(plain_client, caplog):
    response = plain_client.get("/api/v1/test-only/boom")
    assert response.status_code == 500
    rid = response.headers[HEADER]
    assert GENERATED.fullmatch(rid)
    body = response.get_json()
    assert body["error"] == "internal error"
    assert body["details"] == {"request_id": rid}
    text = response.get_data(as_text=True)
    for leak in ("Traceback", "kaboom", "RuntimeError"):
        assert leak not in text
    assert any(r.request_id == rid and r.exc_info for r in caplog.records)


def test_an_error_inside_an_api_view_answers_json_with_the_id(failing_app, plain_client, monkeypatch, caplog):
    """The API blueprint's own handler for unexpected errors (a real view that fails)."""
    import app.api.workflow_routes as routes

    token = plain_client.post(
        "/api/v1/auth/token", json={"username": "cntt.cv", "password": DEMO_PASSWORD}
    ).get_json()["token"]

    def broken(user):
        raise RuntimeError("kaboom in the worklist")

    monkeypatch.setattr(routes, "worklist_for", broken)
    response = plain_client.get(
        "/api/v1/worklist", headers={"Authorization": f"Bearer {token}", HEADER: "api-500-id"}
    )
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal error", "details": {"request_id": "api-500-id"}}
    assert "kaboom" not in response.get_data(as_text=True)
    assert any(r.request_id == "api-500-id" and r.exc_info for r in caplog.records)
