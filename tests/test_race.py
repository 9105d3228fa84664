"""Eight racers, fifty work items: each item is completed exactly once, the losers get 409.

Eight specialists of Phòng Công nghệ thông tin race, each from its own thread, test client, token and
database session, to complete the same open `draft` step; then the unit head returns it, which opens
the next round. Fifty rounds over five tasks. Runs on whichever database the suite runs on.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Task, WorkItem, WorkItemStatus
from app.services.accounts import create_or_update_user
from tests.conftest import DEMO_PASSWORD

API = "/api/v1"
RACERS = 8
ROUNDS = 50
TASKS = ("1.a", "1.b", "3.b", "4.a", "4.b")
# The first step also states the task's "5 rõ" the plan left open: who is responsible, what result.
FIVE_CLEARS = {"assignee": "cntt.cv", "expected_result": "Kế hoạch được UBND tỉnh ban hành"}
DRAFT = {"consulted_units": ["VP"], "summary": "Dự thảo", **FIVE_CLEARS}


@pytest.fixture
def racers(app, client, api_token) -> list[str]:
    """Eight specialists of CNTT (the demo's own plus seven more), each with a token."""
    names = ["cntt.cv"] + [f"cntt.cv{n}" for n in range(2, RACERS + 1)]
    for name in names[1:]:
        create_or_update_user(
            username=name,
            password=DEMO_PASSWORD,
            unit_code="CNTT",
            roles=["specialist"],
            full_name=f"Chuyên viên {name}",
        )
    db.session.commit()
    return [api_token(name) for name in names]


def _post(client, token: str, path: str, body: dict):
    return client.post(API + path, json=body, headers={"Authorization": f"Bearer {token}"})


def _open_draft(task_id: int) -> int:
    query = select(WorkItem.id).where(
        WorkItem.task_id == task_id, WorkItem.step == "draft", WorkItem.status == WorkItemStatus.OPEN
    )
    return db.session.scalar(query)


def _race(app, tokens: list[str], item_id: int) -> list[int]:
    barrier = threading.Barrier(len(tokens))
    codes: list[int] = []
    failures: list[BaseException] = []

    def run(token: str) -> None:
        client = app.test_client()
        try:
            barrier.wait(timeout=10)
            response = _post(client, token, f"/work-items/{item_id}/complete", {"data": DRAFT})
            codes.append(response.status_code)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures and not any(t.is_alive() for t in threads), failures
    return codes


def test_eight_racers_complete_fifty_items_exactly_once(app, client, racers, api_token):
    head = api_token("cntt.tp")
    task_ids = [db.session.scalar(select(Task.id).where(Task.code == code)) for code in TASKS]
    for task_id in task_ids:
        assert (
            _post(client, racers[0], f"/tasks/{task_id}/start", {"process": "draft_plan"}).status_code == 201
        )
    outcomes: Counter = Counter()
    raced: list[int] = []
    for round_number in range(ROUNDS):
        task_id = task_ids[round_number % len(task_ids)]
        db.session.expire_all()
        item_id = _open_draft(task_id)
        codes = _race(app, racers, item_id)
        outcomes.update(codes)
        assert sorted(codes) == [200] + [409] * (RACERS - 1), (round_number, codes)
        raced.append(item_id)
        review = client.get(f"{API}/worklist", headers={"Authorization": f"Bearer {head}"}).get_json()
        [review_item] = [i for i in review["items"] if i["task_id"] == task_id]
        body = {"data": {"decision": "return"}, "comment": f"Vòng {round_number}"}
        assert _post(client, head, f"/work-items/{review_item['id']}/complete", body).status_code == 200

    assert outcomes == {200: ROUNDS, 409: ROUNDS * (RACERS - 1)}
    db.session.expire_all()
    completions = db.session.execute(
        select(AuditEvent.work_item_id, func.count())
        .where(AuditEvent.action == "step.completed", AuditEvent.work_item_id.in_(raced))
        .group_by(AuditEvent.work_item_id)
    ).all()
    assert sorted(completions) == sorted((item_id, 1) for item_id in raced)
    statuses = db.session.scalars(select(WorkItem.status).where(WorkItem.id.in_(raced))).all()
    assert set(statuses) == {WorkItemStatus.COMPLETED} and len(statuses) == ROUNDS
