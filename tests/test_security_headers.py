"""Security headers, CSRF on every form, cookie flags, sign-in throttling, no inline script, no tracebacks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text

from app.extensions import db
from app.security import public
from app.security_headers import CONTENT_SECURITY_POLICY
from app.throttle import limiter
from config import config_from_env
from tests.audit_helpers import comparable_rows
from tests.conftest import DEMO_PASSWORD, csrf_token_from

TEMPLATES = Path(__file__).resolve().parent.parent / "app" / "templates"
TOO_MANY_VI = "Bạn đã thử đăng nhập quá nhiều lần. Vui lòng thử lại sau ít phút."
TABLES = ("process_instances", "work_items", "audit_events", "tasks", "users", "user_roles")


@pytest.fixture(autouse=True)
def _fresh_limits(app):
    limiter.reset()
    yield


# --- headers ----------------------------------------------------------------------------------------


def _assert_security_headers(response):
    headers = response.headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_the_policy_says_what_our_pages_need_and_no_more():
    directives = dict(part.strip().split(" ", 1) for part in CONTENT_SECURITY_POLICY.split(";"))
    assert directives == {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data:",
        "font-src": "'self' data:",
        "connect-src": "'self'",
        "frame-ancestors": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "object-src": "'none'",
    }


@pytest.mark.parametrize(
    "url", ["/auth/login", "/plans", "/plans/1", "/worklist", "/no-such-page", "/static/css/app.css"]
)
def test_every_web_response_has_the_headers(client, auth, url):
    auth.login()
    response = client.get(url)
    _assert_security_headers(response)
    assert "Strict-Transport-Security" not in response.headers


def test_anonymous_redirects_and_api_answers_have_the_headers(client, api_token):
    _assert_security_headers(client.get("/plans"))
    _assert_security_headers(client.get("/api/v1/me"))
    _assert_security_headers(client.get("/api/v1/me", headers={"Authorization": f"Bearer {api_token()}"}))
    _assert_security_headers(client.get("/api/v1/nothing-here"))


def test_hsts_only_behind_https(app, client):
    assert "Strict-Transport-Security" not in client.get("/auth/login").headers
    app.config["SESSION_COOKIE_SECURE"] = True
    hsts = client.get("/auth/login").headers["Strict-Transport-Security"]
    assert hsts.startswith("max-age=") and int(hsts.split("=")[1].split(";")[0]) >= 180 * 24 * 3600


# --- templates: no inline script, no event handlers, no |safe on data --------------------------------


def _templates():
    return sorted(TEMPLATES.rglob("*.html"))


def test_no_template_has_inline_script_or_event_handlers():
    for path in _templates():
        source = path.read_text(encoding="utf-8")
        # JSON data islands (type="application/json") are never executed: the CSP-friendly way to hand
        # a page's numbers to its static script (charts, the task diagram).
        code = re.sub(r'<script type="application/json"[^>]*>.*?</script>', "", source, flags=re.I | re.S)
        for tag in re.findall(r"<script\b[^>]*>", code, flags=re.I):
            assert "src=" in tag, f"inline <script> in {path.name}: move it to app/static/js/"
        assert not re.search(r"<script\b[^>]*>\s*[^<\s]", code, flags=re.I), path.name
        assert not re.search(r"\son[a-z]+\s*=", source, flags=re.I), f"on* handler in {path.name}"
        assert "javascript:" not in source.lower(), path.name


def test_no_template_marks_text_safe():
    for path in _templates():
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"\|\s*safe\b", source), f"|safe in {path.name}"
        assert "autoescape false" not in source.replace("  ", " ").lower(), path.name
    app_dir = TEMPLATES.parent
    for path in app_dir.rglob("*.py"):
        assert "Markup(" not in path.read_text(encoding="utf-8"), f"Markup in {path.relative_to(app_dir)}"


# --- CSRF: every state-changing web form ------------------------------------------------------------


def _snapshot():
    db.session.expire_all()
    return {table: db.session.execute(text(comparable_rows(table))).all() for table in TABLES}


def _web_post_rules(app):
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and not rule.rule.startswith("/api/")
    )


def test_the_web_forms_are_the_expected_ones(app):
    assert _web_post_rules(app) == [
        "/admin/processes/<key>/<int:version>/migration",
        "/admin/processes/deploy",
        "/admin/processes/discard",
        "/admin/processes/drafts",
        "/admin/processes/form-preview",
        "/admin/processes/upload",
        "/admin/units/<int:unit_id>",
        "/admin/units/<int:unit_id>/deactivate",
        "/admin/units/<int:unit_id>/reactivate",
        "/admin/units/new",
        "/admin/users/<int:user_id>",
        "/admin/users/<int:user_id>/deactivate",
        "/admin/users/<int:user_id>/password",
        "/admin/users/<int:user_id>/reactivate",
        "/admin/users/new",
        "/auth/login",
        "/auth/logout",
        "/commune-plans/<int:commune_plan_id>/edit",
        "/commune-plans/frameworks/<int:framework_id>/edit",
        "/commune-plans/frameworks/<int:framework_id>/plans",
        "/commune-plans/frameworks/<int:framework_id>/publish",
        "/commune-plans/frameworks/new",
        "/indicators/<int:indicator_id>/values",
        "/lang/<code>",
        "/notifications/read",
        "/plans/import",
        "/steps/<int:item_id>",
        "/steps/<int:item_id>/claim",
        "/steps/<int:item_id>/reassign",
        "/steps/<int:item_id>/release",
        "/tasks/<int:task_id>/fields",
        "/tasks/<int:task_id>/files",
        "/tasks/<int:task_id>/guidance",
        "/tasks/<int:task_id>/meeting-minutes",
        "/tasks/<int:task_id>/monthly-report",
        "/tasks/<int:task_id>/start",
    ]


def test_every_web_post_without_the_token_is_400_and_changes_nothing(app, client, auth):
    from tests.test_authorization_matrix import FIXED_ARGUMENTS, _prepare

    ids = _prepare("started")
    auth.login()
    values = {**FIXED_ARGUMENTS, **ids}
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.rule.startswith("/api/"):
            continue
        url = rule.build({name: values[name] for name in rule.arguments}, append_unknown=False)[1]
        before = _snapshot()
        fields = {"username": "cntt.cv", "password": DEMO_PASSWORD, "next": "/plans", **{"summary": "x"}}
        for attempt in ({}, {"csrf_token": "forged"}):
            response = client.post(url, data={**fields, **attempt})
            assert response.status_code == 400, (url, attempt, response.status_code)
        assert _snapshot() == before, url
        with client.session_transaction() as session:
            assert session.get("_user_id"), f"{url} without a token signed the user out"
            assert "language" not in session or session["language"] != "en"


# --- cookies ------------------------------------------------------------------------------------------


def _session_cookie(response) -> list[str]:
    cookies = [value for value in response.headers.getlist("Set-Cookie") if value.startswith("session=")]
    assert cookies
    return [part.strip().lower() for part in cookies[-1].split(";")]


def test_session_cookie_is_httponly_samesite_and_not_secure_by_default(auth):
    attributes = _session_cookie(auth.login())
    assert "httponly" in attributes and "samesite=lax" in attributes
    assert "secure" not in attributes


def test_session_cookie_is_secure_when_configured(app, auth):
    app.config["SESSION_COOKIE_SECURE"] = True
    attributes = _session_cookie(auth.login())
    assert {"secure", "httponly", "samesite=lax"} <= set(attributes)


def test_secure_cookies_come_from_the_environment():
    config = config_from_env({"TIEN_DO_ENV": "testing", "SESSION_COOKIE_SECURE": "1"})
    assert config.SESSION_COOKIE_SECURE and config.REMEMBER_COOKIE_SECURE
    assert config.SESSION_COOKIE_HTTPONLY and config.SESSION_COOKIE_SAMESITE == "Lax"
    assert not config_from_env({"TIEN_DO_ENV": "testing"}).SESSION_COOKIE_SECURE


def test_rate_limit_storage_comes_from_the_environment():
    assert config_from_env({"TIEN_DO_ENV": "testing"}).RATELIMIT_STORAGE_URI == "memory://"
    shared = config_from_env({"TIEN_DO_ENV": "testing", "RATELIMIT_STORAGE_URI": "redis://cache:6379/0"})
    assert shared.RATELIMIT_STORAGE_URI == "redis://cache:6379/0"


# --- sign-in throttling -------------------------------------------------------------------------------


def _web_sign_in(client, username, password, **kwargs):
    token = csrf_token_from(client.get("/auth/login", **kwargs).get_data(as_text=True))
    return client.post(
        "/auth/login", data={"username": username, "password": password, "csrf_token": token}, **kwargs
    )


def _api_sign_in(client, username, password, **kwargs):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password}, **kwargs)


def test_web_sign_in_is_throttled_per_address_and_username_with_a_vietnamese_message(client):
    for _ in range(10):
        assert _web_sign_in(client, "cntt.cv", "wrong").status_code == 200
    response = _web_sign_in(client, "cntt.cv", DEMO_PASSWORD)
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert TOO_MANY_VI in page and "Traceback" not in page
    assert csrf_token_from(page)  # still the sign-in form
    with client.session_transaction() as session:
        assert "_user_id" not in session
    assert "Retry-After" in response.headers
    # another username from the same address, and the same username from elsewhere, still get in
    assert _web_sign_in(client, "hts.cv", DEMO_PASSWORD).status_code == 302


def test_other_addresses_are_not_throttled(client):
    for _ in range(10):
        _web_sign_in(client, "cntt.cv", "wrong")
    elsewhere = {"environ_base": {"REMOTE_ADDR": "10.1.2.3"}}
    assert _api_sign_in(client, "cntt.cv", DEMO_PASSWORD, **elsewhere).status_code == 200


def test_api_sign_in_is_throttled_with_a_json_429(client):
    for _ in range(10):
        assert _api_sign_in(client, "CNTT.cv ", "wrong").status_code == 401
    response = _api_sign_in(client, "cntt.cv", DEMO_PASSWORD)
    assert response.status_code == 429
    body = response.get_json()
    assert set(body) == {"error", "details"}
    assert "too many" in body["error"]
    assert "Retry-After" in response.headers


def test_web_and_api_failures_share_the_counter(client):
    for _ in range(5):
        _web_sign_in(client, "cntt.cv", "wrong")
    for _ in range(5):
        _api_sign_in(client, "cntt.cv", "wrong")
    assert _api_sign_in(client, "cntt.cv", DEMO_PASSWORD).status_code == 429
    assert _web_sign_in(client, "cntt.cv", DEMO_PASSWORD).status_code == 429


def test_throttled_per_address_across_usernames(client):
    for number in range(50):
        assert _api_sign_in(client, f"guess{number}", "wrong").status_code == 401
    assert _api_sign_in(client, "cntt.cv", DEMO_PASSWORD).status_code == 429


def test_successful_sign_ins_are_not_counted(client):
    for _ in range(15):
        assert _api_sign_in(client, "cntt.cv", DEMO_PASSWORD).status_code == 200
    for _ in range(12):
        assert _web_sign_in(client, "cntt.cv", DEMO_PASSWORD).status_code == 302
        client.delete_cookie("session")


def test_the_limits_are_configurable(app, client):
    app.config["LOGIN_LIMIT_PER_USERNAME"] = "2 per minute"
    _api_sign_in(client, "cntt.cv", "wrong")
    _api_sign_in(client, "cntt.cv", "wrong")
    assert _api_sign_in(client, "cntt.cv", DEMO_PASSWORD).status_code == 429


# --- no stack traces for users -----------------------------------------------------------------------


def _explode():
    raise RuntimeError("secret internals: /srv/tien-do/db.sqlite")


@pytest.mark.parametrize("path", ["/boom", "/api/boom"])
def test_an_unexpected_error_shows_no_traceback(app, client, auth, path):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production
    app.add_url_rule(path, "boom" + path.replace("/", "_"), public(lambda: _explode()))
    response = client.get(path)
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    for leak in ("Traceback", "secret internals", "RuntimeError", "db.sqlite", 'File "'):
        assert leak not in body
    if path.startswith("/api/"):
        assert response.get_json()["error"] == "internal error"
    else:
        assert response.mimetype == "text/html"
    _assert_security_headers(response)
