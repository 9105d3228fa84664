"""Per-state permission maps (workflows/permissions.py): declared beside each diagram, checked at deploy,
stored on the definition version, and evaluated for the task's current state and process version.

Task 1.a (draft_plan) is led by CNTT: cntt.cv its specialist, cntt.tp its head; hts.cv is of another
unit, vp.cv of a unit consulted on the draft, giamdoc the leader, giamsat the supervisor.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ProcessDefinition, TaskState
from tests.engine_helpers import dump_tables, open_item, task, user
from workflows.deploy import SHIPPED_BPMN_DIR, deploy, sync_shipped
from workflows.engine import advance, latest_definition, start_process
from workflows.forms import load_forms
from workflows.permissions import (
    DEFAULT_MAP,
    EDIT_FIELDS,
    EDIT_FILES,
    audit_data,
    check_permission_map,
    is_override,
    may_edit_fields,
    may_edit_files,
    may_view_task,
    permission_map_of,
)
from workflows.problems import DefinitionError

PEOPLE = ("cntt.cv", "cntt.tp", "hts.cv", "vp.cv", "giamdoc", "giamsat", "admin")
SHIPPED_MAPS = sorted((SHIPPED_BPMN_DIR / "permissions").glob("*.json"))
XML = (SHIPPED_BPMN_DIR / "draft_plan.bpmn").read_text(encoding="utf-8")
FORMS = load_forms(SHIPPED_BPMN_DIR / "forms" / "draft_plan")


def shipped_map(key: str) -> dict:
    return json.loads((SHIPPED_BPMN_DIR / "permissions" / f"{key}.json").read_text(encoding="utf-8"))


def allowed(check, task_obj) -> set[str]:
    return {name for name in PEOPLE if check(user(name), task_obj)}


# --- declaring and deploying ----------------------------------------------------------------------


def test_every_shipped_process_has_a_valid_map():
    assert {path.stem for path in SHIPPED_MAPS} == {path.stem for path in SHIPPED_BPMN_DIR.glob("*.bpmn")}
    for path in SHIPPED_MAPS:
        assert check_permission_map(json.loads(path.read_text(encoding="utf-8")), path.name) == [], path


def test_the_deployed_versions_carry_their_maps(app):
    for path in SHIPPED_MAPS:
        assert latest_definition(path.stem).permissions == shipped_map(path.stem)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda m: m["states"].update(signed={"edit_files": []}), "unknown state 'signed'"),
        (lambda m: m["default"].update(edit_files=["lead_unit:secretary"]), "unknown role 'secretary'"),
        (lambda m: m["default"].update(edit_files=["clerk"]), "unknown role 'clerk'"),
        (lambda m: m["default"].update(edit_files=["team:specialist"]), "unknown scope 'team'"),
        (lambda m: m["default"].update(delete=["admin"]), "unknown permission 'delete'"),
        (lambda m: m.update(roles={}), "unknown key 'roles'"),
        (lambda m: m["default"].update(edit_fields=["*"]), "'*' may only view"),
        (lambda m: m["states"]["completed"].update(edit_files=["supervisor"]), "'supervisor' may only view"),
        (lambda m: m["default"].update(view="*"), "'view' must be a list of principals"),
        (lambda m: m.update(states=[]), "'states' must be an object"),
    ],
)
def test_a_wrong_map_is_refused_at_deploy_with_a_clear_reason(app, change, words):
    permissions = copy.deepcopy(shipped_map("draft_plan"))
    change(permissions)
    before = dump_tables()
    with pytest.raises(DefinitionError) as error:
        deploy(XML, FORMS, source="draft_plan.bpmn", permissions=permissions)
    db.session.rollback()
    assert words in str(error.value)
    assert dump_tables() == before


def test_a_map_that_is_not_json_is_refused_by_sync(app, tmp_path):
    folder = Path(shutil.copytree(SHIPPED_BPMN_DIR, tmp_path / "bpmn"))
    (folder / "permissions" / "draft_plan.json").write_text("{'default': }", encoding="utf-8")
    with pytest.raises(DefinitionError, match="draft_plan.json: not valid JSON"):
        sync_shipped(folder)


def _count(key: str) -> int:
    return db.session.scalar(select(func.count()).where(ProcessDefinition.key == key))


def test_a_changed_map_is_a_new_version_and_an_unchanged_one_is_not(app, tmp_path):
    folder = Path(shutil.copytree(SHIPPED_BPMN_DIR, tmp_path / "bpmn"))
    assert not any(result.created for result in sync_shipped(folder))
    path = folder / "permissions" / "draft_plan.json"
    permissions = json.loads(path.read_text(encoding="utf-8"))
    permissions["states"]["drafting"]["edit_files"] = ["lead_unit:specialist", "admin"]
    path.write_text(json.dumps(permissions), encoding="utf-8")
    versions = _count("draft_plan")
    created = {result.key for result in sync_shipped(folder) if result.created}
    db.session.commit()
    assert created == {"draft_plan"} and _count("draft_plan") == versions + 1
    assert latest_definition("draft_plan").permissions["states"]["drafting"]["edit_files"] == [
        "lead_unit:specialist",
        "admin",
    ]
    assert not any(result.created for result in sync_shipped(folder))


def test_removing_the_map_is_a_new_version_on_the_default(app, tmp_path):
    folder = Path(shutil.copytree(SHIPPED_BPMN_DIR, tmp_path / "bpmn"))
    (folder / "permissions" / "draft_plan.json").unlink()
    assert {r.key for r in sync_shipped(folder) if r.created} == {"draft_plan"}
    db.session.commit()
    assert latest_definition("draft_plan").permissions is None
    assert permission_map_of(task("1.a")) is DEFAULT_MAP


# --- which map a task follows ----------------------------------------------------------------------


def test_a_task_without_a_process_follows_its_type_s_latest_map(app):
    t1a = task("1.a")
    assert t1a.task_type == "draft_plan" and t1a.state == TaskState.NOT_STARTED
    assert permission_map_of(t1a) == shipped_map("draft_plan")


def test_a_task_of_no_known_type_follows_the_built_in_default(app):
    t1a = task("1.a")
    t1a.task_type = None
    assert permission_map_of(t1a) is DEFAULT_MAP
    t1a.task_type = "no_such_process"
    assert permission_map_of(t1a) is DEFAULT_MAP
    assert allowed(may_edit_files, t1a) == {"cntt.cv", "cntt.tp", "giamdoc", "admin"}
    assert allowed(may_edit_fields, t1a) == {"cntt.tp", "giamdoc", "admin"}


def test_a_started_task_keeps_the_map_of_its_version(app):
    t1a = task("1.a")
    start_process(t1a, user("cntt.cv"))
    stricter = copy.deepcopy(shipped_map("draft_plan"))
    stricter["states"]["drafting"]["edit_files"] = ["admin"]
    assert deploy(XML, FORMS, source="draft_plan.bpmn", permissions=stricter).created
    db.session.commit()
    assert t1a.state == TaskState.DRAFTING
    assert may_edit_files(user("cntt.cv"), t1a), "the running instance's version decides, not the newest"
    t1b = task("1.b")
    t1b.task_type = "draft_plan"
    t1b.state = TaskState.DRAFTING
    assert not may_edit_files(user("cntt.cv"), t1b), "a task not started follows the newest version"


# --- per state ------------------------------------------------------------------------------------

LEAD = {"cntt.cv", "cntt.tp", "admin"}
# The "5 rõ" the first step asks for while 1.a lacks them.
FIVE_CLEARS = {"assignee": "cntt.cv", "expected_result": "Kế hoạch được ban hành"}
# draft_plan: state -> (who may edit fields, who may edit files), as bpmn/permissions/draft_plan.json says
DRAFT_PLAN_STATES = {
    TaskState.NOT_STARTED: ({"cntt.tp", "giamdoc", "admin"}, {"cntt.cv", "cntt.tp", "giamdoc", "admin"}),
    TaskState.DRAFTING: ({"cntt.tp", "giamdoc", "admin"}, LEAD),
    TaskState.REVIEWING: ({"cntt.tp", "giamdoc", "admin"}, LEAD),
    TaskState.CONSOLIDATING: ({"cntt.tp", "giamdoc", "admin"}, LEAD),
    TaskState.AWAITING_APPROVAL: ({"giamdoc", "admin"}, {"cntt.cv", "cntt.tp", "giamdoc", "admin"}),
    TaskState.SUBMITTED: ({"admin"}, {"cntt.cv", "admin"}),
    TaskState.COMPLETED: ({"admin"}, {"admin"}),
    TaskState.CANCELLED: ({"admin"}, {"admin"}),
}


@pytest.mark.parametrize("state", list(DRAFT_PLAN_STATES))
def test_draft_plan_permissions_per_state(app, state):
    t1a = task("1.a")
    t1a.state = state
    fields, files = DRAFT_PLAN_STATES[state]
    assert allowed(may_view_task, t1a) == set(PEOPLE)
    assert allowed(may_edit_fields, t1a) == fields
    assert allowed(may_edit_files, t1a) == files
    assert "giamsat" not in fields | files, "supervisors change nothing"


def test_consulted_units_add_files_only_while_opinions_are_collected(app):
    t1a, cv = task("1.a"), user("cntt.cv")
    start_process(t1a, cv)
    draft = {"consulted_units": ["VP", "SO_NGANH_DP"], "summary": "Dự thảo", **FIVE_CLEARS}
    advance(open_item(t1a, "draft"), cv, draft)
    assert not may_edit_files(user("vp.cv"), t1a)
    advance(open_item(t1a, "review_draft"), user("cntt.tp"), {"decision": "approve"})
    assert t1a.state == TaskState.COLLECTING_OPINIONS
    assert allowed(may_edit_files, t1a) == LEAD | {"vp.cv"}
    advance(open_item(t1a, "collect_opinions", "VP"), user("vp.cv"), {"opinion": "Đồng ý", "agree": True})
    assert not may_edit_files(user("vp.cv"), t1a), "VP has answered: its step is no longer open"
    assert may_edit_files(user("cntt.cv"), t1a)


@pytest.mark.parametrize(
    ("key", "state", "fields", "files"),
    [
        ("implement_report", TaskState.IN_PROGRESS, {"cntt.tp", "giamdoc", "admin"}, LEAD),
        ("implement_report", TaskState.REVIEWING, {"cntt.tp", "giamdoc", "admin"}, {"cntt.tp", "admin"}),
        ("implement_report", TaskState.AWAITING_APPROVAL, {"giamdoc", "admin"}, {"giamdoc", "admin"}),
        ("implement_report", TaskState.COMPLETED, {"admin"}, {"admin"}),
        ("review_propose", TaskState.CONSOLIDATING, {"cntt.tp", "giamdoc", "admin"}, LEAD),
        ("review_propose", TaskState.AWAITING_APPROVAL, {"giamdoc", "admin"}, {"giamdoc", "admin"}),
        ("continuous_duty", TaskState.REVIEWING, {"cntt.tp", "giamdoc", "admin"}, {"cntt.tp", "admin"}),
        ("monthly_report", TaskState.IN_PROGRESS, {"cntt.tp", "giamdoc", "admin"}, LEAD),
        ("monthly_report", TaskState.SUBMITTED, {"admin"}, {"admin"}),
        ("monthly_consolidation", TaskState.SUBMITTED, {"admin"}, {"cntt.cv", "admin"}),
    ],
)
def test_other_processes_per_state(app, key, state, fields, files):
    t1a = task("1.a")
    t1a.task_type, t1a.state = key, state
    assert allowed(may_edit_fields, t1a) == fields
    assert allowed(may_edit_files, t1a) == files


def test_the_task_s_assignee_adds_evidence_while_implementing(app):
    t1a = task("1.a")
    t1a.task_type, t1a.state = "implement_report", TaskState.IN_PROGRESS
    t1a.assignee = user("hts.cv")
    assert may_edit_files(user("hts.cv"), t1a)
    t1a.state = TaskState.REVIEWING
    assert not may_edit_files(user("hts.cv"), t1a)


def test_inactive_people_may_do_nothing(app):
    t1a, admin = task("1.a"), user("admin")
    admin.active = False
    assert (
        not may_view_task(admin, t1a) and not may_edit_fields(admin, t1a) and not may_edit_files(admin, t1a)
    )


# --- the admin's override ----------------------------------------------------------------------------


def test_an_admin_edits_a_completed_task_as_an_audited_override(app):
    t1a, admin = task("1.a"), user("admin")
    t1a.state = TaskState.COMPLETED
    assert may_edit_files(admin, t1a) and may_edit_fields(admin, t1a)
    assert is_override(admin, t1a, EDIT_FILES) and is_override(admin, t1a, EDIT_FIELDS)
    assert audit_data(admin, t1a, EDIT_FILES) == {"state": "completed", "override": True}
    t1a.state = TaskState.SUBMITTED
    assert audit_data(admin, t1a, EDIT_FILES) == {"state": "submitted"}, "the map lets admins here"
    assert audit_data(user("cntt.cv"), t1a, EDIT_FILES) == {"state": "submitted"}


def test_a_map_that_restricts_viewing_closes_the_task_page_and_the_api(app, client, auth, api_token):
    """Every shipped map lets everyone read (view: *); a department may narrow it per state (never for
    supervisors: they audit everything)."""
    private = copy.deepcopy(shipped_map("draft_plan"))
    private["states"]["drafting"]["view"] = ["lead_unit:specialist", "lead_unit:unit_head", "leader"]
    assert deploy(XML, FORMS, source="draft_plan.bpmn", permissions=private).created
    db.session.commit()
    t1a = task("1.a")
    start_process(t1a, user("cntt.cv"))
    for username, status in (("hts.cv", 403), ("giamsat", 200), ("cntt.cv", 200), ("giamdoc", 200)):
        headers = {"Authorization": f"Bearer {api_token(username)}"}
        assert client.get(f"/api/v1/tasks/{t1a.id}", headers=headers).status_code == status, username
        assert client.get(f"/api/v1/tasks/{t1a.id}/history", headers=headers).status_code == status, username
    auth.login("hts.cv")
    assert client.get(f"/tasks/{t1a.id}").status_code == 403
