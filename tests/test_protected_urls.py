"""Every web page needs a signed-in user unless it is marked public (deny by default).

The pages are read from the app's URL map when the tests are collected, so a page added later is
checked without anyone listing it here.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.routing import Rule

from app import create_app
from config import TestingConfig

ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")

# Reachable without signing in, each with a URL to try.
PUBLIC_PAGES = {
    "auth.login": "/auth/login",
    "health.healthz": "/healthz",  # for load balancers and monitoring (tests/test_health.py)
    "vendor.asset": "/vendor/bootstrap/dist/css/bootstrap.min.css",
}


def _is_public(app, rule: Rule) -> bool:
    view = app.view_functions[rule.endpoint]
    return rule.endpoint == "static" or getattr(view, "is_public", False)


def _web_get_rules(app) -> list[Rule]:
    return [
        rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.rule.startswith("/api/")
    ]


def _example_url(rule: Rule) -> str:
    """The rule's URL with every argument filled in: 1 for numbers, "x" for anything else."""
    converters = dict((name, converter) for converter, name in ARGUMENT.findall(rule.rule))
    values = {name: 1 if converters.get(name) in ("int", "float") else "x" for name in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def pytest_generate_tests(metafunc):
    if "protected_rule" in metafunc.fixturenames:
        app = create_app(TestingConfig)
        rules = [rule.rule for rule in _web_get_rules(app) if not _is_public(app, rule)]
        metafunc.parametrize("protected_rule", sorted(rules))


def _rule(app, rule_text: str) -> Rule:
    return next(rule for rule in _web_get_rules(app) if rule.rule == rule_text)


def test_anonymous_get_is_sent_to_sign_in(app, client, protected_rule):
    url = _example_url(_rule(app, protected_rule))
    response = client.get(url)
    assert response.status_code == 302, url
    location = urlsplit(response.headers["Location"])
    assert location.path == "/auth/login"
    assert parse_qs(location.query)["next"] == [url]


def test_the_pages_people_use_are_among_the_protected(app):
    protected = {rule.rule for rule in _web_get_rules(app) if not _is_public(app, rule)}
    assert {"/", "/plans", "/plans/<int:plan_id>", "/plans/<int:plan_id>/indicators"} <= protected
    assert "/tasks/<int:task_id>" in protected


def test_only_the_expected_pages_are_public(app):
    public = {rule.endpoint for rule in _web_get_rules(app) if _is_public(app, rule)} - {"static"}
    assert public == set(PUBLIC_PAGES)


def test_sign_in_page_is_public(client):
    response = client.get(PUBLIC_PAGES["auth.login"])
    assert response.status_code == 200
    assert "Đăng nhập" in response.get_data(as_text=True)


def test_bootstrap_css_is_public(app, client):
    if not (Path(app.config["NODE_MODULES_DIR"]) / "bootstrap" / "dist").is_dir():
        pytest.skip("node_modules/bootstrap is not installed (npm ci installs it)")
    with client.get(PUBLIC_PAGES["vendor.asset"]) as response:
        assert response.status_code == 200
        assert response.mimetype == "text/css"


def test_vendor_serves_only_the_distribution_folders(client):
    assert client.get("/vendor/bootstrap/package.json").status_code == 404
    assert client.get("/vendor/../config.py").status_code == 404
