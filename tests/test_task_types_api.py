"""Every task type driven end to end through the JSON API, by the people its steps wait for.

A generic walker: while the task has open steps, it takes each one as a user the step waits for (the
candidate unit's specialist or head, or the leader), fills the step's form as the API gives it (the
first step's "5 rõ" included), and completes it. The draft_plan type has its exact acceptance run in
test_api_workflow.py and the monthly reporting cycle in test_reporting_cycle.py; here: review_propose
(6), implement_report (3.b), continuous_duty (2.a, one period), and 9.b that waits for central guidance.
"""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import ProcessInstance
from tests.engine_helpers import sample_value, task
from workflows.periods import start_period

API = "/api/v1"
MAX_STEPS = 40


class Walker:
    def __init__(self, client, api_token):
        self.client, self.issue, self.tokens = client, api_token, {}

    def headers(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            self.tokens[username] = self.issue(username)
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def call(self, method: str, username: str, path: str, body=None, status: int = 200) -> dict:
        response = self.client.open(API + path, method=method, headers=self.headers(username), json=body)
        assert response.status_code == status, (path, response.get_data(as_text=True))
        return response.get_json()

    def task(self, task_id: int) -> dict:
        return self.call("GET", "giamsat", f"/tasks/{task_id}")

    def actor(self, item: dict) -> str:
        if item["unit"] is None:
            return "giamdoc"
        return f"{item['unit'].lower()}.{'cv' if 'specialist' in item['roles'] else 'tp'}"

    def data_for(self, item: dict, lead: str) -> dict:
        form = item["form"]
        properties = form.get("properties") or {}
        data = {}
        for name in form.get("required", []):
            field = properties.get(name, {})
            if field.get("x-options") == "assignable_users":
                data[name] = f"{lead}.cv"
            elif field.get("x-options") == "consultable_units" or (field.get("items") or {}).get("x-options"):
                data[name] = ["VP" if lead != "vp" else "HTS"]
            else:
                data[name] = sample_value(field)
        return data

    def walk(self, task_id: int, lead: str) -> list[str]:
        """Complete open steps until none is left; the steps done, in order."""
        done = []
        for _ in range(MAX_STEPS):
            steps = self.task(task_id)["open_steps"]
            if not steps:
                return done
            item = steps[0]
            who = self.actor(item)
            assert "complete" in self.call("GET", who, f"/work-items/{item['id']}")["actions"], (who, item)
            body = {"data": self.data_for(item, lead), "comment": None}
            self.call("POST", who, f"/work-items/{item['id']}/complete", body)
            done.append(item["step"])
        raise AssertionError(f"still open after {MAX_STEPS} steps: {done}")

    def history(self, task_id: int) -> list[str]:
        return [
            event["action"] for event in self.call("GET", "giamsat", f"/tasks/{task_id}/history")["events"]
        ]


@pytest.fixture
def walker(client, api_token):
    return Walker(client, api_token)


@pytest.mark.parametrize(
    ("code", "process", "first"),
    [("6", "review_propose", "review"), ("3.b", "implement_report", "assign")],
)
def test_a_task_runs_from_start_to_completed(app, walker, code, process, first):
    the_task = task(code)
    lead = (the_task.lead_sub_unit or the_task.lead_unit).code.lower()
    started = walker.call("POST", f"{lead}.cv", f"/tasks/{the_task.id}/start", status=201)
    assert started["process"]["key"] == process
    assert [step["step"] for step in started["open_steps"]] == [first]

    steps = walker.walk(the_task.id, lead)

    assert steps[0] == first and len(steps) >= 3
    final = walker.task(the_task.id)
    assert (final["state"], final["progress"], final["process"]["status"]) == ("completed", 100, "completed")
    assert final["assignee"] == f"{lead}.cv" and final["expected_result"]  # the first step's 5 rõ
    history = walker.history(the_task.id)
    assert history[0] == "process.started" and history[-1] == "process.completed"
    assert history.count("step.completed") == len(steps)


def test_a_standing_duty_runs_one_period_and_goes_on(app, walker):
    t2a = task("2.a")
    lead = t2a.lead_unit.code.lower()
    walker.call("POST", f"{lead}.cv", f"/tasks/{t2a.id}/start", status=409)  # periods come from the tick
    start_period(t2a, "2025-03")
    steps = walker.walk(t2a.id, lead)
    assert steps[0] == "period_report"
    final = walker.task(t2a.id)
    assert final["state"] == "in_progress"  # a period ends; the duty does not
    instance = db.session.query(ProcessInstance).filter_by(task_id=t2a.id).one()
    assert (instance.period, instance.status) == ("2025-03", "completed")


def test_a_task_waiting_for_central_guidance_starts_only_after_it_is_recorded(app, walker):
    t9b = task("9.b")
    lead = t9b.lead_unit.code.lower()
    walker.call("POST", f"{lead}.cv", f"/tasks/{t9b.id}/start", status=409)
    note = {"note": "Công văn số 12/BKHCN-CNS ngày 01/03/2025 hướng dẫn triển khai"}
    walker.call("POST", f"{lead}.tp", f"/tasks/{t9b.id}/guidance", note)
    walker.call("POST", f"{lead}.cv", f"/tasks/{t9b.id}/start", status=201)
    first = walker.task(t9b.id)["open_steps"][0]
    assert "deadline" in first["form"]["required"]  # 9.b has no deadline yet: its first step asks
    walker.walk(t9b.id, lead)
    final = walker.task(t9b.id)
    assert final["state"] == "completed" and final["deadline"] == "2025-03-04"
    assert walker.history(t9b.id)[:2] == ["task.guidance_received", "process.started"]
