"""In a real browser: the dashboard draws its charts, and a task's diagram shows where its process is."""

from __future__ import annotations

from pathlib import Path

from flask import render_template_string

from app.extensions import db
from app.models import Task
from tests.browser.test_csp import _watch
from tests.browser.test_sign_in_and_plan import sign_in
from tests.engine_helpers import task
from tests.test_engine import to_opinions


def test_dashboard_draws_its_charts_under_the_policy(app, page, live_server):
    problems = _watch(page)
    sign_in(page, live_server, "giamsat")
    page.wait_for_url(f"{live_server}/plans")
    page.click("#nav-dashboard")
    page.wait_for_url(f"{live_server}/dashboard")
    page.wait_for_selector("#chart-units[data-chart-drawn]")
    # sections and "5 rõ" gaps are a plan's: choose the plan
    page.select_option("#dashboard-plan", index=1)
    page.click("#dashboard-plan-choice button[type=submit]")
    page.wait_for_url(lambda url: "/dashboard?plan=" in url)
    page.wait_for_selector("#chart-sections[data-chart-drawn]")
    drawn = page.evaluate(
        "() => [...document.querySelectorAll('canvas')].map(c => [c.id, !!Chart.getChart(c), c.width > 0])"
    )
    assert drawn and all(chart and wide for _, chart, wide in drawn), drawn
    assert {name for name, _, _ in drawn} == {"chart-units", "chart-states", "chart-sections", "chart-gaps"}
    assert page.locator("#table-units tr[data-key='CNTT'] td[data-col='tasks']").inner_text() == "14"
    assert problems == []


TASK_PAGE = Path(__file__).resolve().parents[2] / "app" / "templates" / "tasks" / "show.html"
PARTIAL = "dashboard/_task_diagram.html"
PREVIEW = '{% extends "base.html" %}{% block content %}{% include "' + PARTIAL + '" %}{% endblock %}'


def _diagram_url(app, task_id: int) -> str:
    """The task page once it includes the diagram partial; until then the partial alone in the layout."""
    if PARTIAL in TASK_PAGE.read_text(encoding="utf-8"):
        return f"/tasks/{task_id}"

    def preview(task_id: int):
        return render_template_string(PREVIEW, task=db.get_or_404(Task, task_id))

    app.add_url_rule("/test-only/diagram/<int:task_id>", "test_diagram_preview", preview)
    return f"/test-only/diagram/{task_id}"


def test_task_diagram_highlights_the_current_step(app, page, live_server):
    t = task("1.a")
    to_opinions(t)
    url = _diagram_url(app, t.id)
    problems = _watch(page)
    sign_in(page, live_server, "giamsat")
    page.wait_for_url(f"{live_server}/plans")
    page.goto(f"{live_server}{url}")
    page.wait_for_selector("#task-diagram-canvas[data-diagram-state='ready']")
    current = page.locator("g.djs-element[data-element-id='collect_opinions']")
    assert "diagram-current" in current.get_attribute("class")
    for step in ("draft", "review_draft"):
        css = page.locator(f"g.djs-element[data-element-id='{step}']").get_attribute("class")
        assert "diagram-completed" in css and "diagram-current" not in css
    flow = page.locator("g.djs-element[data-element-id='flow_review_approve']").get_attribute("class")
    assert "diagram-flow" in flow
    assert "Góp ý dự thảo" in page.inner_text("#task-diagram-status")
    assert problems == []
