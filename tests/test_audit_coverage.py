"""Everything that matters is audited: signing in and out (web and API token), failed attempts with the
client's IP and the attempted username (never the password), definition deploys, account changes (never
the password hash) and plan imports. None of these belong to a task, so task histories are unchanged;
the chain still verifies."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, User
from app.services.accounts import create_or_update_user
from app.services.demo import DEMO_PLAN_PATH, DEMO_UNITS_PATH
from app.services.plan_import import import_plan_files
from app.throttle import limiter
from tests.conftest import DEMO_PASSWORD
from tests.test_deploy import minimal
from workflows.audit import Action
from workflows.audit_verify import verify
from workflows.deploy import deploy, sync_shipped

WRONG_PASSWORD = "sai-mật-khẩu-9876"


@pytest.fixture(autouse=True)
def _fresh_limits(app):
    limiter.reset()
    yield


def rows(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return list(db.session.scalars(query))


def as_text(event: AuditEvent) -> str:
    """Everything a row holds, for looking for what must not be there."""
    table = AuditEvent.__table__
    values = db.session.execute(select(table).where(table.c.id == event.id)).mappings().one()
    return json.dumps({k: str(v) for k, v in values.items()}, ensure_ascii=False)


# --- signing in and out on the web ---------------------------------------------------------------


def test_web_sign_in_and_sign_out_are_audited_with_the_ip(auth):
    assert auth.login("cntt.cv").status_code == 302
    (signed_in,) = rows(Action.SIGNED_IN)
    assert (signed_in.actor_username, signed_in.actor_unit_code, signed_in.task_id) == (
        "cntt.cv",
        "CNTT",
        None,
    )
    assert signed_in.data == {"ip": "127.0.0.1", "channel": "web"}
    assert DEMO_PASSWORD not in as_text(signed_in)

    assert auth.logout().status_code == 302
    (signed_out,) = rows(Action.SIGNED_OUT)
    assert signed_out.actor_username == "cntt.cv" and signed_out.data["ip"] == "127.0.0.1"
    assert verify().ok


@pytest.mark.parametrize("username", ["cntt.cv", "không-có-ai"])
def test_a_failed_sign_in_records_the_attempted_name_and_ip_never_the_password(auth, username):
    response = auth.login(username, WRONG_PASSWORD)
    assert response.status_code == 200  # the form again, with the error
    (failed,) = rows(Action.SIGN_IN_FAILED)
    assert failed.actor_id is None and failed.actor_username is None
    assert failed.data == {"ip": "127.0.0.1", "channel": "web", "username": username}
    assert WRONG_PASSWORD not in as_text(failed)
    assert rows(Action.SIGNED_IN) == []


def test_the_ip_is_the_client_s(client):
    response = client.post(
        "/api/v1/auth/token",
        json={"username": "cntt.cv", "password": WRONG_PASSWORD},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert response.status_code == 401
    assert rows(Action.TOKEN_REFUSED)[0].data["ip"] == "10.1.2.3"


def test_an_overlong_attempted_username_is_cut(client):
    client.post("/api/v1/auth/token", json={"username": "x" * 500, "password": "y"})
    assert rows(Action.TOKEN_REFUSED)[0].data["username"] == "x" * 80


# --- API tokens ----------------------------------------------------------------------------------


def test_a_token_issued_and_a_token_refused_are_audited(client):
    ok = client.post("/api/v1/auth/token", json={"username": "giamsat", "password": DEMO_PASSWORD})
    assert ok.status_code == 200
    (issued,) = rows(Action.TOKEN_ISSUED)
    assert issued.actor_username == "giamsat" and issued.data == {"ip": "127.0.0.1", "channel": "api"}
    token = ok.get_json()["token"]
    assert token not in as_text(issued) and DEMO_PASSWORD not in as_text(issued)

    refused = client.post("/api/v1/auth/token", json={"username": "giamsat", "password": WRONG_PASSWORD})
    assert refused.status_code == 401
    (failed,) = rows(Action.TOKEN_REFUSED)
    assert failed.actor_id is None
    assert failed.data == {"ip": "127.0.0.1", "channel": "api", "username": "giamsat"}
    assert WRONG_PASSWORD not in as_text(failed)
    assert verify().ok


def test_a_malformed_token_request_is_not_an_attempt(client):
    before = verify().checked
    assert client.post("/api/v1/auth/token", json={"username": 5}).status_code == 400
    assert verify().checked == before


def test_sign_in_rows_stay_out_of_task_histories(auth, client, api_token):
    from tests.test_audit_chain import run_1a

    run_1a()
    auth.login("cntt.cv")
    headers = {"Authorization": f"Bearer {api_token('cntt.cv')}"}
    task_id = db.session.scalar(select(AuditEvent.task_id).where(AuditEvent.task_id.is_not(None)))
    events = client.get(f"/api/v1/tasks/{task_id}/history", headers=headers).get_json()["events"]
    assert events and not [e for e in events if e["action"].startswith("auth.")]


# --- definitions ---------------------------------------------------------------------------------


def test_a_new_definition_version_is_audited_and_an_unchanged_one_is_not(app):
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    first = deploy(minimal(), {}, source="mini.bpmn", user=admin)
    db.session.commit()
    (event,) = rows(Action.DEFINITION_DEPLOYED)[-1:]
    assert event.actor_username == "admin" and event.task_id is None
    assert event.data["key"] == "mini" and event.data["version"] == first.version == 1
    assert len(event.data["checksum"]) == 64 and event.data["source"] == "mini.bpmn"

    count = len(rows(Action.DEFINITION_DEPLOYED))
    assert deploy(minimal(), {}, source="mini.bpmn", user=admin).created is False
    sync_shipped()  # the shipped ones are deployed already
    db.session.commit()
    assert len(rows(Action.DEFINITION_DEPLOYED)) == count

    second = deploy(minimal(lane="Trưởng đơn vị"), {}, source="mini.bpmn", user=admin)
    db.session.commit()
    assert second.version == 2 and rows(Action.DEFINITION_DEPLOYED)[-1].data["version"] == 2
    assert verify().ok


# --- accounts ------------------------------------------------------------------------------------


def test_creating_and_changing_an_account_is_audited_without_the_password(app):
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    user, created = create_or_update_user(
        username="hts.cv2", password="mật-khẩu-mới-1", unit_code="CNTT", roles=["specialist"], actor=admin
    )
    db.session.commit()
    assert created
    (made,) = [e for e in rows(Action.USER_CREATED) if e.data["username"] == "hts.cv2"]
    assert made.actor_username == "admin"
    assert made.data["after"] == {
        "full_name": "hts.cv2",
        "unit": "CNTT",
        "roles": ["specialist"],
        "email": None,
        "active": True,
    }
    assert "mật-khẩu-mới-1" not in as_text(made) and user.password_hash not in as_text(made)

    create_or_update_user(
        username="hts.cv2", password="mật-khẩu-mới-1", unit_code="CNTT", roles=["specialist"]
    )
    db.session.commit()
    assert rows(Action.USER_UPDATED) == []  # nothing changed

    create_or_update_user(
        username="hts.cv2", password="mật-khẩu-khác-2", unit_code="HTS", roles=["specialist", "unit_head"]
    )
    db.session.commit()
    (changed,) = rows(Action.USER_UPDATED)
    assert changed.actor_id is None  # the command line: the system
    assert (changed.data["before"]["roles"], changed.data["after"]["roles"]) == (
        ["specialist"],
        ["specialist", "unit_head"],
    )
    assert (changed.data["before"]["unit"], changed.data["after"]["unit"]) == ("CNTT", "HTS")
    assert changed.data["password_changed"] is True
    text_of_row = as_text(changed)
    assert (
        "mật-khẩu-khác-2" not in text_of_row and "pbkdf2" not in text_of_row and "scrypt" not in text_of_row
    )
    assert verify().ok


def test_the_users_command_is_audited(app, runner):
    result = runner.invoke(
        args=["users", "create", "--username", "giamsat", "--unit", "VP", "--role", "supervisor"]
    )
    assert result.exit_code == 0, result.output
    (changed,) = rows(Action.USER_UPDATED)
    assert changed.data["username"] == "giamsat" and changed.data["after"]["unit"] == "VP"
    assert changed.data["password_changed"] is False


def test_the_demo_seed_audits_its_accounts_and_definitions(app):
    assert len(rows(Action.USER_CREATED)) == db.session.query(User).count()
    assert {e.data["key"] for e in rows(Action.DEFINITION_DEPLOYED)} >= {"draft_plan"}
    assert verify().ok


# --- plan imports --------------------------------------------------------------------------------


def test_a_plan_import_is_audited_with_its_counts_once(empty_app):
    import_plan_files(DEMO_PLAN_PATH, DEMO_UNITS_PATH)
    (imported,) = rows(Action.PLAN_IMPORTED)
    assert imported.actor_id is None and imported.task_id is None
    assert imported.data["plan_file"] == DEMO_PLAN_PATH.name
    assert imported.data["units_file"] == DEMO_UNITS_PATH.name
    counts = imported.data["counts"]
    assert counts["tasks"] == {"created": 28, "updated": 0, "unchanged": 0}
    assert counts["units"]["created"] == 23 and counts["indicators"]["created"] == 26

    import_plan_files(DEMO_PLAN_PATH, DEMO_UNITS_PATH)  # the same files again: nothing changes
    assert len(rows(Action.PLAN_IMPORTED)) == 1
    assert verify().ok
