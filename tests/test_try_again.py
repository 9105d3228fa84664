"""A request that meets another change of the same rows at the same moment (PostgreSQL ends one of two
transactions waiting for each other's locks, or one that could not be serialized) is a 409 "send it
again", with nothing saved, on every route: the API and the pages alike. Any other database error stays
a 500. (The engine's own steps map it themselves: tests/test_engine.py.)"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import WorkItem, WorkItemStatus
from tests.audit_data import drive_1a, task
from tests.conftest import csrf_token_from
from tests.engine_helpers import dump_tables, make_commit_fail

API = "/api/v1"


def _opinion_item() -> WorkItem:
    t1a = drive_1a()  # 1.a now waits for the Office's opinion, an item nobody holds yet
    query = select(WorkItem).where(WorkItem.task_id == t1a.id, WorkItem.status == WorkItemStatus.OPEN)
    return db.session.scalars(query).one()


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"], ids=["deadlock", "serialization"])
def test_an_api_claim_that_meets_another_change_is_a_409_to_send_again(
    client, api_token, monkeypatch, sqlstate
):
    item_id = _opinion_item().id
    headers = {"Authorization": f"Bearer {api_token('vp.cv')}"}
    before = dump_tables()
    make_commit_fail(monkeypatch, sqlstate)
    response = client.post(f"{API}/work-items/{item_id}/claim", headers=headers)
    monkeypatch.undo()
    assert response.status_code == 409, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error", "details"} and "send it again" in body["error"]
    assert body["details"] == {"retry": True}
    assert dump_tables() == before
    again = client.post(f"{API}/work-items/{item_id}/claim", headers=headers)
    assert again.status_code == 200 and again.get_json()["assignee"] == "vp.cv"


def test_a_page_form_that_meets_another_change_is_a_409_page_and_saves_nothing(client, auth, monkeypatch):
    t1a = task("1.a")
    auth.login("cntt.tp")
    html = client.get(f"/tasks/{t1a.id}").get_data(as_text=True)
    form = {"assignee": "", "expected_result": "Kế hoạch đã ban hành", "deadline": "", "csrf_token": ""}
    form["csrf_token"] = csrf_token_from(html)
    before = dump_tables()
    make_commit_fail(monkeypatch, "40P01")
    response = client.post(f"/tasks/{t1a.id}/fields", data=form)
    monkeypatch.undo()
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Vui lòng gửi lại" in page and "chưa có gì được lưu" in page
    assert dump_tables() == before
    again = client.post(f"/tasks/{t1a.id}/fields", data=form)
    assert again.status_code == 302
    db.session.expire_all()
    assert task("1.a").expected_result == "Kế hoạch đã ban hành"


def test_any_other_database_error_stays_a_server_error(app, client, auth, api_token, monkeypatch):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: a 500 page, not a raised error
    item_id = _opinion_item().id
    headers = {"Authorization": f"Bearer {api_token('vp.cv')}"}
    make_commit_fail(monkeypatch, "XX000")  # an internal error of the database: not one to send again
    api = client.post(f"{API}/work-items/{item_id}/claim", headers=headers)
    monkeypatch.undo()
    assert api.status_code == 500 and api.get_json()["error"] == "internal error"
    t1a = task("1.a")
    auth.login("cntt.tp")
    html = client.get(f"/tasks/{t1a.id}").get_data(as_text=True)
    form = {"assignee": "", "expected_result": "Khác", "deadline": "", "csrf_token": csrf_token_from(html)}
    make_commit_fail(monkeypatch, "XX000")
    page = client.post(f"/tasks/{t1a.id}/fields", data=form)
    monkeypatch.undo()
    assert page.status_code == 500 and "Vui lòng gửi lại" not in page.get_data(as_text=True)
