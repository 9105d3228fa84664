"""Where a process instance stands on its diagram (workflows/diagram_path.py) and the JSON the task
page's viewer reads (GET /tasks/<id>/diagram)."""

from __future__ import annotations

from tests.engine_helpers import task
from tests.test_engine import act, to_opinions, to_record_issuance, to_review
from workflows.diagram_path import diagram_state
from workflows.worklist import current_instance


def test_diagram_after_review_marks_draft_and_review_completed_and_opinions_current(client, auth, app):
    t = task("1.a")
    to_opinions(t)
    auth.login("giamsat")
    response = client.get(f"/tasks/{t.id}/diagram")
    assert response.status_code == 200
    data = response.get_json()
    assert {"draft", "review_draft"} <= set(data["completed"])
    assert data["current"] == ["collect_opinions"]
    assert "collect_opinions" not in data["completed"]
    assert data["flows"] == [
        "flow_start_draft",
        "flow_draft_review",
        "flow_review_gateway",
        "flow_review_approve",
    ]
    assert data["status"] == "running"
    assert 'id="collect_opinions"' in data["xml"] and "flow_review_approve" in data["xml"]


def test_diagram_of_a_returned_draft_has_the_draft_current_and_the_return_flow_taken(app):
    t = task("1.a")
    to_review(t)
    act(t, "review_draft", {"decision": "return"}, "Sửa lại phần đối tượng")
    state = diagram_state(current_instance(t))
    assert state["current"] == ["draft"]
    assert "draft" not in state["completed"] and "review_draft" in state["completed"]
    assert "flow_review_return" in state["flows"] and "flow_review_approve" not in state["flows"]


def test_diagram_of_a_finished_process_has_no_current_step(app):
    t = task("1.a")
    to_record_issuance(t)
    act(t, "record_issuance")
    state = diagram_state(current_instance(t))
    assert state["current"] == []
    assert {"end_event", "record_issuance", "collect_opinions"} <= set(state["completed"])
    assert state["flows"][-1] == "flow_record_end"


def test_diagram_before_the_process_starts_shows_the_process_with_nothing_reached(client, auth, app):
    auth.login("hts.cv")
    data = client.get(f"/tasks/{task('1.b').id}/diagram").get_json()
    assert data["status"] is None and data["completed"] == data["current"] == data["flows"] == []
    assert "<bpmn:definitions" in data["xml"]


def test_diagram_of_an_unknown_task_is_a_json_404_and_needs_sign_in(client, auth, app):
    response = client.get(f"/tasks/{task('1.a').id}/diagram")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    auth.login("cntt.cv")
    response = client.get("/tasks/999999/diagram")
    assert response.status_code == 404 and response.get_json() == {"error": "not found"}
