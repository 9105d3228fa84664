"""Who may use which route: every rule of the URL map × every role, as one table.

A = allowed (2xx/3xx that is not a sign-in redirect; a state-changing route must also change something),
D = denied (web: 302 to the sign-in page with `next`, or 403; API: 401 anonymous, 403 signed in), and
nothing changes. Supervisors read everything and change nothing. A route the table does not list fails
`test_the_table_lists_every_route`, so a new route needs a decision here.

Task 1.a is led by Phòng Công nghệ thông tin (CNTT): cntt.cv is its specialist, cntt.tp its head,
hts.cv a specialist of another unit. Each case runs on a fresh copy of the demo database, prepared by
its setup: "plain" (nothing started), "started" (1.a started, its draft step open and unassigned),
"claimed" (started, and cntt.cv holds the draft step).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.models import Plan, Task, User, WorkItem, WorkItemStatus
from app.throttle import limiter
from tests.audit_helpers import comparable_rows
from tests.conftest import DEMO_PASSWORD, csrf_token_from
from workflows.assignment import claim
from workflows.engine import start_process

ROLES = ("anonymous", "cntt.cv", "hts.cv", "cntt.tp", "giamdoc", "giamsat", "admin")
TABLES = ("process_instances", "work_items", "audit_events", "tasks")
# The first step also states the task's "5 rõ" the plan left open: who is responsible, what result.
FIVE_CLEARS = {"assignee": "cntt.cv", "expected_result": "Kế hoạch được UBND tỉnh ban hành"}
DRAFT = {"consulted_units": ["VP"], "summary": "Dự thảo kế hoạch", **FIVE_CLEARS}

# (method, rule): (setup, changes state?, one letter per role in ROLES order)
#                                                          anon cv  hts tp  gd  gs  adm
MATRIX: dict[tuple[str, str], tuple[str, bool, str]] = {
    # --- public ---------------------------------------------------------------------------------
    ("GET", "/auth/login"): ("plain", False, "A A A A A A A"),
    ("POST", "/auth/login"): ("plain", False, "A A A A A A A"),
    ("POST", "/lang/<code>"): ("plain", False, "A A A A A A A"),
    ("GET", "/static/<path:filename>"): ("plain", False, "A A A A A A A"),
    ("GET", "/vendor/<path:filename>"): ("plain", False, "A A A A A A A"),
    ("GET", "/healthz"): ("plain", False, "P P P P P P P"),
    ("POST", "/api/v1/auth/token"): ("plain", False, "A A A A A A A"),
    # --- reading: every signed-in user ------------------------------------------------------------
    ("GET", "/"): ("plain", False, "D A A A A A A"),
    ("GET", "/plans"): ("plain", False, "D A A A A A A"),
    ("GET", "/plans/<int:plan_id>"): ("plain", False, "D A A A A A A"),
    ("GET", "/plans/<int:plan_id>/indicators"): ("plain", False, "D A A A A A A"),
    ("GET", "/tasks/<int:task_id>"): ("started", False, "D A A A A A A"),
    ("GET", "/worklist"): ("started", False, "D A A A A A A"),
    ("GET", "/api/v1/me"): ("plain", False, "D A A A A A A"),
    ("GET", "/api/v1/plans"): ("plain", False, "D A A A A A A"),
    ("GET", "/api/v1/plans/<int:plan_id>/tasks"): ("plain", False, "D A A A A A A"),
    ("GET", "/api/v1/tasks/<int:task_id>"): ("started", False, "D A A A A A A"),
    ("GET", "/api/v1/tasks/<int:task_id>/history"): ("started", False, "D A A A A A A"),
    ("GET", "/api/v1/worklist"): ("started", False, "D A A A A A A"),
    ("GET", "/notifications"): ("plain", False, "D A A A A A A"),
    # --- a step: its unit, leaders, supervisors and admins may look --------------------------------
    ("GET", "/steps/<int:item_id>"): ("started", False, "D A D A A A A"),
    ("GET", "/api/v1/work-items/<int:item_id>"): ("started", False, "D A D A A A A"),
    # --- changes ----------------------------------------------------------------------------------
    ("POST", "/auth/logout"): ("plain", False, "D A A A A A A"),
    ("POST", "/notifications/read"): ("plain", False, "D A A A A A A"),  # one's own: marks them read
    ("POST", "/tasks/<int:task_id>/start"): ("plain", True, "D A D A A D A"),
    ("POST", "/api/v1/tasks/<int:task_id>/start"): ("plain", True, "D A D A A D A"),
    ("PATCH", "/api/v1/tasks/<int:task_id>"): ("plain", True, "D D D A A D A"),
    ("POST", "/steps/<int:item_id>"): ("started", True, "D A D D D D D"),
    ("POST", "/api/v1/work-items/<int:item_id>/complete"): ("started", True, "D A D D D D D"),
    ("POST", "/steps/<int:item_id>/claim"): ("started", True, "D A D D D D D"),
    ("POST", "/api/v1/work-items/<int:item_id>/claim"): ("started", True, "D A D D D D D"),
    ("POST", "/steps/<int:item_id>/release"): ("claimed", True, "D A D A D D D"),
    ("POST", "/api/v1/work-items/<int:item_id>/release"): ("claimed", True, "D A D A D D D"),
    ("POST", "/api/v1/work-items/<int:item_id>/delegate"): ("started", True, "D A D A D D D"),
    # the task page's "5 rõ" form and central guidance, reassigning a step (tests/test_task_page_editing.py,
    # test_guidance.py, test_reassign.py make the changes); P: let through, but the table's empty body or
    # 1.a (not waiting for guidance) is refused as a 409/422
    ("POST", "/tasks/<int:task_id>/fields"): ("plain", False, "D D D A A D A"),
    ("POST", "/tasks/<int:task_id>/guidance"): ("plain", False, "D D D A A D A"),
    ("POST", "/api/v1/tasks/<int:task_id>/guidance"): ("plain", False, "D D D P P D P"),
    ("POST", "/steps/<int:item_id>/reassign"): ("started", False, "D D D A A D A"),
    ("POST", "/api/v1/work-items/<int:item_id>/reassign"): ("started", False, "D D D P P D P"),
    # a task's files (tests/test_attachments.py uploads and downloads real files): P: let through, but the
    # table sends no file (422) and no file 1 exists (404); 1.a drafting takes files from its lead unit
    ("GET", "/tasks/<int:task_id>/files"): ("started", False, "D A A A A A A"),
    ("GET", "/api/v1/tasks/<int:task_id>/files"): ("started", False, "D A A A A A A"),
    ("POST", "/tasks/<int:task_id>/files"): ("started", False, "D P D P D D P"),
    ("POST", "/api/v1/tasks/<int:task_id>/files"): ("started", False, "D P D P D D P"),
    ("GET", "/files/<int:attachment_id>"): ("plain", False, "D P P P P P P"),
    ("GET", "/api/v1/files/<int:attachment_id>"): ("plain", False, "D P P P P P P"),
    # where the plans stand (tests/test_dashboard.py): every signed-in user; the diagram: who may view it
    ("GET", "/dashboard"): ("plain", False, "D A A A A A A"),
    ("GET", "/plans/<int:plan_id>/timeline"): ("plain", False, "D A A A A A A"),
    ("GET", "/tasks/<int:task_id>/diagram"): ("started", False, "D A A A A A A"),
    # indicators (tests/test_indicator_values.py records real values): indicator 3 is 2030-3 (DTI),
    # Phòng CNTT's; P: let through, but the table's empty form/body is refused as a 422
    ("GET", "/plans/<int:plan_id>/indicators/tracking"): ("plain", False, "D A A A A A A"),
    ("GET", "/indicators/<int:indicator_id>"): ("plain", False, "D A A A A A A"),
    ("POST", "/indicators/<int:indicator_id>/values"): ("plain", False, "D P D P P D P"),
    ("GET", "/api/v1/plans/<int:plan_id>/indicators"): ("plain", False, "D A A A A A A"),
    ("POST", "/api/v1/indicators/<int:indicator_id>/values"): ("plain", False, "D P D P P D P"),
    # the audit trail (tests/test_audit_page.py, tests/test_audit_api.py): supervisors, leaders, admins;
    # an export records `audit.exported`; a task's printable history is for anyone who may read the task
    ("GET", "/audit"): ("plain", False, "D D D D A A A"),
    ("GET", "/audit/export.csv"): ("plain", False, "D D D D A A A"),
    ("GET", "/audit/export.xlsx"): ("plain", False, "D D D D A A A"),
    ("GET", "/api/v1/audit"): ("plain", False, "D D D D A A A"),
    ("GET", "/api/v1/audit/verify"): ("plain", False, "D D D D A A A"),
    ("GET", "/tasks/<int:task_id>/history/print"): ("started", False, "D A A A A A A"),
    # users and units administration (tests/test_user_admin.py makes the changes): admins only; user 9 is
    # qlkh.cv, unit 19 SO_TTTT (no people, no steps): deactivating them is audited, reactivating an active
    # one changes nothing; P: let through, but the table's empty form is refused as a 422
    ("GET", "/admin/users"): ("plain", False, "D D D D D D A"),
    ("GET", "/admin/users/new"): ("plain", False, "D D D D D D A"),
    ("POST", "/admin/users/new"): ("plain", False, "D D D D D D P"),
    ("GET", "/admin/users/<int:user_id>"): ("plain", False, "D D D D D D A"),
    ("POST", "/admin/users/<int:user_id>"): ("plain", False, "D D D D D D P"),
    ("POST", "/admin/users/<int:user_id>/deactivate"): ("plain", True, "D D D D D D A"),
    ("POST", "/admin/users/<int:user_id>/reactivate"): ("plain", False, "D D D D D D A"),
    ("POST", "/admin/users/<int:user_id>/password"): ("plain", False, "D D D D D D P"),
    ("GET", "/admin/units"): ("plain", False, "D D D D D D A"),
    ("GET", "/admin/units/new"): ("plain", False, "D D D D D D A"),
    ("POST", "/admin/units/new"): ("plain", False, "D D D D D D P"),
    ("GET", "/admin/units/<int:unit_id>"): ("plain", False, "D D D D D D A"),
    ("POST", "/admin/units/<int:unit_id>"): ("plain", False, "D D D D D D P"),
    ("POST", "/admin/units/<int:unit_id>/deactivate"): ("plain", True, "D D D D D D A"),
    ("POST", "/admin/units/<int:unit_id>/reactivate"): ("plain", False, "D D D D D D A"),
    # moving running instances to another version (tests/test_migration.py moves real ones): admins only;
    # draft_plan version 1 has no older version, so nothing moves
    ("GET", "/admin/processes/<key>/<int:version>/migration"): ("plain", False, "D D D D D D A"),
    ("POST", "/admin/processes/<key>/<int:version>/migration"): ("plain", False, "D D D D D D A"),
    ("GET", "/api/v1/process-definitions/<key>/<int:version>/migration"): ("plain", False, "D D D D D D A"),
    ("POST", "/api/v1/process-definitions/<key>/<int:version>/migration"): ("plain", False, "D D D D D D A"),
    # the process list and the modeler (tests/test_process_admin.py saves, uploads, deploys real drafts):
    # admins only; P: let through, but without ?key&version or ?draft there is nothing to download (404),
    # the table's empty form is no diagram (422) and names no draft (404)
    ("GET", "/admin/processes"): ("plain", False, "D D D D D D A"),
    ("GET", "/admin/processes/modeler"): ("plain", False, "D D D D D D A"),
    ("GET", "/admin/processes/download"): ("plain", False, "D D D D D D P"),
    ("POST", "/admin/processes/drafts"): ("plain", False, "D D D D D D P"),
    ("POST", "/admin/processes/upload"): ("plain", False, "D D D D D D P"),
    ("POST", "/admin/processes/deploy"): ("plain", False, "D D D D D D P"),
    ("POST", "/admin/processes/discard"): ("plain", False, "D D D D D D P"),
    ("POST", "/admin/processes/form-preview"): ("plain", False, "D D D D D D P"),
    # the process-definition API (tests/test_definitions_api.py uploads real documents): admins only;
    # P: let through, but the table's JSON body is not a BPMN document (415)
    ("GET", "/api/v1/process-definitions"): ("plain", False, "D D D D D D A"),
    ("POST", "/api/v1/process-definitions"): ("plain", False, "D D D D D D P"),
    ("GET", "/api/v1/process-definitions/<key>/<int:version>"): ("plain", False, "D D D D D D A"),
    # plans in and out as Excel (tests/test_plan_xlsx.py imports real workbooks): the template and a plan's
    # export (audited plan.exported) for every reader; importing for leaders and admins; P: let through,
    # but the table's form sends no file (422)
    ("GET", "/plans/import/template.xlsx"): ("plain", False, "D A A A A A A"),
    ("GET", "/plans/<int:plan_id>/export.xlsx"): ("plain", False, "D A A A A A A"),
    ("GET", "/plans/import"): ("plain", False, "D D D D A D A"),
    ("POST", "/plans/import"): ("plain", False, "D D D D P D P"),
    # monthly reports and meeting minutes (tests/test_reports.py reads, edits and downloads real ones: the
    # unit reads its drafts, others once approved, the unit edits until approval); P: let through, but
    # task 1.a is not a reporting task (404)
    ("GET", "/tasks/<int:task_id>/monthly-report"): ("plain", False, "D P P P P P P"),
    ("POST", "/tasks/<int:task_id>/monthly-report"): ("plain", False, "D P P P P P P"),
    ("GET", "/tasks/<int:task_id>/monthly-report.docx"): ("plain", False, "D P P P P P P"),
    ("GET", "/tasks/<int:task_id>/monthly-report.xlsx"): ("plain", False, "D P P P P P P"),
    ("GET", "/tasks/<int:task_id>/meeting-minutes"): ("plain", False, "D P P P P P P"),
    ("POST", "/tasks/<int:task_id>/meeting-minutes"): ("plain", False, "D P P P P P P"),
    ("GET", "/tasks/<int:task_id>/meeting-minutes.docx"): ("plain", False, "D P P P P P P"),
    ("GET", "/tasks/<int:task_id>/meeting-minutes.xlsx"): ("plain", False, "D P P P P P P"),
    # commune plans (tests/test_commune_plans.py builds, submits and acknowledges real ones): framework 1 is
    # the demo's published sample; no commune plan exists (404: P) and none of these roles is a commune's;
    # only a commune's specialists start one; frameworks are managed by leaders and admins (P: the table's
    # empty form/body is refused as 422, framework 1 is already published: 302 or 409); the department's
    # leaders, supervisors and admins see every commune; the table sends a PUT as a POST (405: P)
    ("GET", "/commune-plans"): ("plain", False, "D A A A A A A"),
    ("GET", "/commune-plans/frameworks/new"): ("plain", False, "D D D D A D A"),
    ("POST", "/commune-plans/frameworks/new"): ("plain", False, "D D D D P D P"),
    ("GET", "/commune-plans/frameworks/<int:framework_id>"): ("plain", False, "D A A A A A A"),
    ("GET", "/commune-plans/frameworks/<int:framework_id>/edit"): ("plain", False, "D D D D A D A"),
    ("POST", "/commune-plans/frameworks/<int:framework_id>/edit"): ("plain", False, "D D D D P D P"),
    ("POST", "/commune-plans/frameworks/<int:framework_id>/publish"): ("plain", False, "D D D D P D P"),
    ("POST", "/commune-plans/frameworks/<int:framework_id>/plans"): ("plain", False, "D D D D D D D"),
    ("GET", "/commune-plans/frameworks/<int:framework_id>/targets"): ("plain", False, "D D D D A A A"),
    ("GET", "/commune-plans/frameworks/<int:framework_id>/targets.xlsx"): ("plain", False, "D D D D A A A"),
    ("GET", "/commune-plans/<int:commune_plan_id>"): ("plain", False, "D P P P P P P"),
    ("GET", "/commune-plans/<int:commune_plan_id>/edit"): ("plain", False, "D P P P P P P"),
    ("POST", "/commune-plans/<int:commune_plan_id>/edit"): ("plain", False, "D P P P P P P"),
    ("GET", "/api/v1/plan-frameworks"): ("plain", False, "D A A A A A A"),
    ("POST", "/api/v1/plan-frameworks"): ("plain", False, "D D D D P D P"),
    ("GET", "/api/v1/plan-frameworks/<int:framework_id>"): ("plain", False, "D A A A A A A"),
    ("PUT", "/api/v1/plan-frameworks/<int:framework_id>"): ("plain", False, "P P P P P P P"),
    ("POST", "/api/v1/plan-frameworks/<int:framework_id>/publish"): ("plain", False, "D D D D P D P"),
    ("POST", "/api/v1/plan-frameworks/<int:framework_id>/commune-plans"): ("plain", False, "D D D D D D D"),
    ("GET", "/api/v1/plan-frameworks/<int:framework_id>/commune-plans"): ("plain", False, "D D D D A A A"),
    ("GET", "/api/v1/plan-frameworks/<int:framework_id>/targets"): ("plain", False, "D D D D A A A"),
    ("GET", "/api/v1/commune-plans/<int:commune_plan_id>"): ("plain", False, "D P P P P P P"),
    ("PUT", "/api/v1/commune-plans/<int:commune_plan_id>"): ("plain", False, "P P P P P P P"),
    # the dashboard's whole lists (tests/test_dashboard_scale.py): every signed-in user, like the dashboard;
    # the audit filters' suggestions (tests/test_audit_filters.py): the audit page's readers
    ("GET", "/dashboard/tasks"): ("plain", False, "D A A A A A A"),
    ("GET", "/audit/suggestions"): ("plain", False, "D D D D A A A"),
}

# Values for the rules' arguments that are not ids of the setup.
FIXED_ARGUMENTS = {"code": "en", "attachment_id": 1, "indicator_id": 3, "user_id": 9, "unit_id": 19}
FIXED_ARGUMENTS |= {"key": "draft_plan", "version": 1}  # a process and its version
FIXED_ARGUMENTS |= {"framework_id": 1, "commune_plan_id": 1}  # the demo's sample framework; no such plan
FILES = {"static": "css/app.css", "vendor.asset": "bootstrap/dist/css/bootstrap.min.css"}


def _routes(app) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def _cases():
    for (method, rule), (_, _, row) in MATRIX.items():
        for role, expected in zip(ROLES, row.split(), strict=True):
            yield pytest.param(method, rule, role, expected, id=f"{method} {rule} as {role}")


@pytest.fixture(autouse=True)
def _fresh_limits(app):
    limiter.reset()
    yield


def test_the_table_lists_every_route(app):
    routes = _routes(app)
    assert not routes - set(MATRIX), "routes without a row in MATRIX: decide who may use them"
    assert not set(MATRIX) - routes, "rows of MATRIX for routes that no longer exist"


def test_every_row_has_a_cell_per_role():
    for key, (setup, _, row) in MATRIX.items():
        assert setup in ("plain", "started", "claimed"), key
        assert len(row.split()) == len(ROLES) and set(row.split()) <= {"A", "D", "P"}, key


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _prepare(setup: str) -> dict:
    task = db.session.scalar(select(Task).where(Task.code == "1.a"))
    ids = {"plan_id": db.session.scalar(select(Plan.id).order_by(Plan.id)), "task_id": task.id}
    if setup in ("started", "claimed"):
        start_process(task, _user("cntt.cv"))
        item = db.session.scalar(
            select(WorkItem).where(WorkItem.task_id == task.id, WorkItem.status == WorkItemStatus.OPEN)
        )
        if setup == "claimed":
            claim(item, _user("cntt.cv"))
        ids["item_id"] = item.id
    db.session.commit()
    return ids


def _snapshot() -> dict:
    db.session.expire_all()
    return {table: db.session.execute(text(comparable_rows(table))).all() for table in TABLES}


def _url(app, method: str, rule_text: str, ids: dict) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.rule == rule_text and method in r.methods)
    values = {**FIXED_ARGUMENTS, **ids}
    if "filename" in rule.arguments:
        values["filename"] = FILES[rule.endpoint]
    return rule.build({name: values[name] for name in rule.arguments}, append_unknown=False)[1]


def _web_token(client, signed_in: bool) -> str:
    return csrf_token_from(client.get("/plans" if signed_in else "/auth/login").get_data(as_text=True))


def _request(client, api_token, auth, method: str, url: str, role: str):
    """Send the request as `role`, with what a legitimate caller would send (CSRF token, form data)."""
    signed_in = role != "anonymous"
    username = role if signed_in else "cntt.cv"
    if url.startswith("/api/"):
        headers = {"Authorization": f"Bearer {api_token(role)}"} if signed_in else {}
        if method == "GET":
            return client.get(url, headers=headers)
        if method == "PATCH":
            return client.patch(url, json={"expected_result": "Kế hoạch được ban hành"}, headers=headers)
        body = {}
        if url.endswith("/auth/token"):
            body = {"username": username, "password": DEMO_PASSWORD}
        elif url.endswith("/complete"):
            body = {"data": DRAFT}
        elif url.endswith("/delegate"):
            body = {"to": "cntt.cv"}
        return client.post(url, json=body, headers=headers)
    if signed_in:
        assert auth.login(role).status_code == 302
    if method == "GET":
        return client.get(url)
    fields = {"csrf_token": _web_token(client, signed_in)}
    if url == "/auth/login":
        fields |= {"username": username, "password": DEMO_PASSWORD}
    elif url.startswith("/lang/"):
        fields |= {"next": "/plans"}
    elif url.startswith("/steps/") and url.count("/") == 2:
        fields |= DRAFT
    return client.post(url, data=fields)


def _is_sign_in_redirect(response) -> bool:
    if response.status_code != 302:
        return False
    location = urlsplit(response.headers["Location"])
    return location.path == "/auth/login" and "next" in parse_qs(location.query)


@pytest.mark.parametrize(("method", "rule", "role", "expected"), _cases())
def test_authorization(app, client, auth, api_token, method, rule, role, expected):
    if rule.startswith("/vendor/") and not (app.config["NODE_MODULES_DIR"] and _has_bootstrap(app)):
        pytest.skip("node_modules/bootstrap is not installed")
    setup, changes, _ = MATRIX[(method, rule)]
    url = _url(app, method, rule, _prepare(setup))
    is_api = rule.startswith("/api/")
    if is_api and role != "anonymous":
        api_token(role)  # issue the token before the snapshot: tokens are not what we compare
    before = _snapshot()

    response = _request(client, api_token, auth, method, url, role)
    status = response.status_code
    changed = _snapshot() != before

    if expected == "A":
        assert 200 <= status < 400 and not _is_sign_in_redirect(response), (status, response.location)
        if changes:
            assert changed, "allowed, but nothing changed"
    elif expected == "P":
        assert status not in (401, 403) and not _is_sign_in_redirect(response), status
    else:
        if role == "anonymous":
            assert status == 401 if is_api else _is_sign_in_redirect(response), (status, response.location)
        else:
            assert status == 403, status
        assert not changed, "a refused request changed something"


def _has_bootstrap(app) -> bool:
    from pathlib import Path

    return (Path(app.config["NODE_MODULES_DIR"]) / "bootstrap" / "dist").is_dir()


# --- beyond the table: no-op changes are refused too --------------------------------------------


@pytest.mark.parametrize("role", ["hts.cv", "giamdoc", "giamsat", "admin"])
def test_releasing_an_unheld_step_is_refused_to_those_who_could_not_release_it(app, client, api_token, role):
    """Releasing a step nobody holds changes nothing; those who could not release it still get 403."""
    ids = _prepare("started")
    before = _snapshot()
    token = api_token(role)
    response = client.post(
        f"/api/v1/work-items/{ids['item_id']}/release", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403
    assert _snapshot() == before


@pytest.mark.parametrize("role", ["cntt.cv", "cntt.tp"])
def test_releasing_an_unheld_step_is_a_harmless_no_op_for_its_unit(app, client, api_token, role):
    ids = _prepare("started")
    before = _snapshot()
    token = api_token(role)
    response = client.post(
        f"/api/v1/work-items/{ids['item_id']}/release", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert _snapshot() == before


@pytest.mark.parametrize("role", ["giamsat", "admin", "giamdoc", "cntt.tp", "hts.cv"])
def test_only_the_step_s_people_complete_it_even_through_the_web(app, client, auth, role):
    """The draft step is the lead unit's specialists' alone (guards.may_act), whatever the page shows."""
    ids = _prepare("started")
    auth.login(role)
    before = _snapshot()
    token = _web_token(client, True)
    response = client.post(f"/steps/{ids['item_id']}", data={"csrf_token": token, **DRAFT})
    assert response.status_code == 403
    assert _snapshot() == before
