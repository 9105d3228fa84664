"""The Content-Security-Policy lets our pages work: no violation reported by Chromium on real pages."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Task, User, WorkItem, WorkItemStatus
from tests.browser.test_sign_in_and_plan import sign_in
from workflows.engine import start_process


def _watch(page) -> list[str]:
    """Console messages and page errors that mention the policy."""
    problems: list[str] = []
    page.on(
        "console",
        lambda message: problems.append(message.text)
        if (message.type == "error" and not message.text.startswith("Failed to load resource"))
        or "Content Security Policy" in message.text
        else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "response",
        lambda response: problems.append(f"{response.status} {response.url}")
        if response.status >= 400 and not response.url.endswith("/favicon.ico")
        else None,
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e =>"
        " console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    return problems


def _open_draft_step() -> int:
    task = db.session.scalar(select(Task).where(Task.code == "1.a"))
    start_process(task, db.session.scalar(select(User).where(User.username == "cntt.cv")))
    return db.session.scalar(
        select(WorkItem.id).where(WorkItem.task_id == task.id, WorkItem.status == WorkItemStatus.OPEN)
    )


def test_plan_task_worklist_and_step_pages_raise_no_csp_violation(app, page, live_server):
    item_id = _open_draft_step()
    problems = _watch(page)
    sign_in(page, live_server)
    page.wait_for_url(f"{live_server}/plans")
    response = page.goto(f"{live_server}/plans/1")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector("[data-task-code='1.a']")
    for path in ("/plans/1/indicators", "/worklist", f"/steps/{item_id}"):
        page.goto(f"{live_server}{path}")
        page.wait_for_load_state("load")
    page.wait_for_selector("#step-form")
    # the bundled script runs under the policy: the collapsible menu opens in a narrow window
    page.set_viewport_size({"width": 500, "height": 800})
    page.click("button.navbar-toggler")
    page.wait_for_selector("#main-nav.show")
    assert problems == []


def test_a_blocked_inline_script_is_reported_so_the_watch_works(page, live_server):
    problems = _watch(page)
    page.goto(f"{live_server}/auth/login")
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.x = 1';"
        " document.body.appendChild(s); }"
    )
    page.wait_for_timeout(200)
    assert any("CSP" in problem or "Content Security Policy" in problem for problem in problems)
    assert page.evaluate("() => window.x") is None
