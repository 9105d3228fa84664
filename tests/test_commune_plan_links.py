"""How people get to a commune plan from the process pages, and what the plans list shows once communes
have built plans (the full flow: tests/test_commune_plans.py and tests/browser/test_commune_plan_flow.py).
"""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models.commune_plans import CommunePlan, PlanFramework


def _start_plan(client, api_token, username: str = "pthd.cv") -> dict:
    framework = db.session.scalars(select(PlanFramework)).one()
    response = client.post(
        f"/api/v1/plan-frameworks/{framework.id}/commune-plans",
        json={},
        headers={"Authorization": f"Bearer {api_token(username)}"},
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_step_and_task_pages_link_to_the_commune_plan(app, client, auth, api_token):
    plan = _start_plan(client, api_token)
    item_id = plan["open_steps"][0]["id"]
    auth.login("pthd.cv")

    step = client.get(f"/steps/{item_id}").get_data(as_text=True)
    link = re.search(r'<a [^>]*id="step-commune-plan-link"[^>]*>(.*?)</a>', step, re.S)
    assert link and f'href="/commune-plans/{plan["id"]}"' in link[0]
    assert "Mở kế hoạch của Phường Trần Hưng Đạo" in link[1]

    task = client.get(f"/tasks/{plan['task_id']}").get_data(as_text=True)
    link = re.search(r'<a [^>]*id="task-commune-plan"[^>]*>', task)
    assert link and f'href="/commune-plans/{plan["id"]}"' in link[0]
    framework_link = f'href="/commune-plans/frameworks/{plan["framework_id"]}"'
    assert framework_link in task.split('class="breadcrumb small"')[1].split("</nav>")[0]
    # the task's content no longer carries the plan's address as a stopgap
    content = re.search(r'<dd class="col-sm-8" id="task-content">(.*?)</dd>', task, re.S)[1]
    assert "/commune-plans/" not in content and "Phường Trần Hưng Đạo xây dựng kế hoạch" in content


def test_other_tasks_pages_have_no_commune_plan_link(app, client, auth):
    auth.login("cntt.cv")
    page = client.get("/tasks/1").get_data(as_text=True)
    assert 'id="task-commune-plan"' not in page and 'href="/plans"' in page


def test_the_plan_holding_the_communes_processes_is_not_listed_as_a_plan(app, client, auth, api_token):
    before = client.get(
        "/api/v1/plans", headers={"Authorization": f"Bearer {api_token('giamdoc')}"}
    ).get_json()["items"]
    _start_plan(client, api_token)
    _start_plan(client, api_token, "xat.cv")
    framework = db.session.scalars(select(PlanFramework)).one()
    assert framework.plan is not None and db.session.scalar(select(CommunePlan.id).limit(1))

    after = client.get(
        "/api/v1/plans", headers={"Authorization": f"Bearer {api_token('giamdoc')}"}
    ).get_json()["items"]
    assert after == before and framework.plan_id not in [row["id"] for row in after]
    auth.login("giamdoc")
    page = client.get("/plans").get_data(as_text=True)
    assert "Khung kế hoạch cấp xã" not in page and f'href="/plans/{framework.plan_id}"' not in page
    assert all(f'href="/plans/{row["id"]}"' in page for row in before)
    # nor on the dashboard; its own address leads to the framework, where its tasks are shown
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert f"/plans/{framework.plan_id}/timeline" not in dashboard
    opened = client.get(f"/plans/{framework.plan_id}")
    assert opened.status_code == 302
    assert opened.headers["Location"].endswith(f"/commune-plans/frameworks/{framework.id}")
