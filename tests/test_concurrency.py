"""Completing work items at the same moment through the HTTP API.

Each thread has its own test client and its own token, so each request runs in its own app context
with its own database session and connection; the `app` fixture's database is a SQLite file (WAL)
or a PostgreSQL database, so the threads really share it. A barrier releases them together.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select, text, update

from app.extensions import db
from app.models import AuditEvent, ProcessInstance, WorkItem, WorkItemStatus
from tests.test_api_workflow import API, DRAFT, EXTERNAL, OPINION, Api, db_dump, ok, task_id_of
from workflows import signals
from workflows.runtime import load_workflow, loaded_spec, ready_user_tasks


def race(app, calls: list[tuple[str, str, dict]]) -> list:
    """Send each (token, path, body) from its own thread and client, all at once; the responses."""
    barrier = threading.Barrier(len(calls))
    responses: list = [None] * len(calls)
    failures: list[BaseException] = []

    def send(index: int, token: str, path: str, body: dict) -> None:
        client = app.test_client()  # the `client` fixture made these IsolatedClients
        try:
            barrier.wait(timeout=10)
            responses[index] = client.post(
                API + path, json=body, headers={"Authorization": f"Bearer {token}"}
            )
        except BaseException as error:  # surfaced in the main thread below
            failures.append(error)

    threads = [threading.Thread(target=send, args=(i, *call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert all(not thread.is_alive() for thread in threads)
    return responses


@contextmanager
def slow_steps(seconds: float = 0.2):
    """Hold every step inside its transaction a little, so the racers surely overlap."""

    def linger(item, **kwargs) -> None:
        time.sleep(seconds)

    with signals.step_completing.connected_to(linger):
        yield


def statuses(responses) -> list[int]:
    return sorted(response.status_code for response in responses)


def audit_rows(action: str, item_id: int) -> int:
    query = select(func.count(AuditEvent.id)).where(
        AuditEvent.action == action, AuditEvent.work_item_id == item_id
    )
    return db.session.scalar(query)


def open_steps(task_id: int) -> list[tuple[str, str | None]]:
    query = select(WorkItem).where(WorkItem.task_id == task_id, WorkItem.status == WorkItemStatus.OPEN)
    items = db.session.scalars(query.execution_options(populate_existing=True)).all()
    return sorted((i.step, i.item_unit.code if i.item_unit else None) for i in items)


@pytest.fixture
def api(client, api_token) -> Api:
    return Api(client, api_token)


@pytest.fixture
def task_1a() -> int:
    return task_id_of("1.a")


def test_the_demo_database_is_shared_by_the_threads(app):
    """A SQLite file (WAL), not a private in-memory database; or a PostgreSQL database."""
    if db.engine.url.get_backend_name() == "sqlite":
        assert db.engine.url.database and db.engine.url.database.endswith(".sqlite")
    else:
        assert db.engine.url.get_backend_name() == "postgresql" and db.engine.url.database


def test_two_people_completing_the_same_item_at_once(app, api, api_token, task_1a):
    """vp.cv and vp.tp both answer for Văn phòng Sở: one wins, the other is told it is taken."""
    api.run_until(task_1a, "collect_opinions", "VP")
    item = api.take("vp.cv", task_1a, "collect_opinions", "VP")
    path = f"/work-items/{item['id']}/complete"

    with slow_steps():
        responses = race(app, [(api_token(who), path, {"data": OPINION}) for who in ("vp.cv", "vp.tp")])

    assert statuses(responses) == [200, 409], [r.get_json() for r in responses]
    loser = next(r for r in responses if r.status_code == 409).get_json()
    assert set(loser) == {"error", "details"}
    assert audit_rows("step.completed", item["id"]) == 1
    winner = db.session.get(WorkItem, item["id"])
    db.session.refresh(winner)
    assert winner.status == WorkItemStatus.COMPLETED
    assert winner.completed_by.username in ("vp.cv", "vp.tp")
    assert open_steps(task_1a) == [("collect_opinions", "SO_NGANH_DP"), ("collect_opinions", "TTCNTT")]


def test_eight_clients_completing_the_same_item_at_once(app, api, api_token, task_1a):
    """Eight tokens of the draft's specialist send the draft together: exactly one step is taken."""
    api.start(task_1a)
    item = api.take("cntt.cv", task_1a, "draft")
    path = f"/work-items/{item['id']}/complete"

    with slow_steps():
        responses = race(app, [(api_token("cntt.cv"), path, {"data": DRAFT}) for _ in range(8)])

    assert statuses(responses) == [200] + [409] * 7, [r.get_json() for r in responses]
    print("eight at once:", sorted({r.get_json()["error"] for r in responses if r.status_code == 409}))
    assert audit_rows("step.completed", item["id"]) == 1
    assert open_steps(task_1a) == [("review_draft", None)]
    events = ok(api.get("cntt.cv", f"/tasks/{task_1a}/history"))["events"]
    # the "5 rõ" the draft gives are applied once, by the one step taken, just before it
    assert [e["action"] for e in events] == ["process.started", "task.updated", "step.completed"]
    assert ok(api.get("cntt.cv", f"/tasks/{task_1a}"))["state"] == "reviewing"


def test_eight_clients_racing_a_refused_completion_change_nothing(app, api, api_token, task_1a):
    """Invalid data sent eight times at once: eight 422s and no write."""
    api.start(task_1a)
    item = api.take("cntt.cv", task_1a, "draft")
    path = f"/work-items/{item['id']}/complete"
    before = db_dump()

    responses = race(app, [(api_token("cntt.cv"), path, {"data": {"summary": ""}}) for _ in range(8)])

    assert statuses(responses) == [422] * 8
    assert db_dump() == before


def test_two_different_opinions_of_one_instance_at_once(app, api, api_token, task_1a):
    """vp.cv and ttcntt.tp answer their own items of the same parallel step together.

    Both must end up recorded and `consolidate` open. SQLite serialises the two writers (the first
    UPDATE of a step takes the write lock until its commit), so both normally succeed at once; a
    409 (the instance changed under the loser) is allowed only if a retry then succeeds.
    """
    api.run_until(task_1a, "collect_opinions", "VP")
    api.complete("cntt.cv", task_1a, "collect_opinions", "SO_NGANH_DP", EXTERNAL)
    vp_item = api.take("vp.cv", task_1a, "collect_opinions", "VP")
    ttcntt_item = api.take("ttcntt.tp", task_1a, "collect_opinions", "TTCNTT")
    vp_opinion = {"opinion": "Văn phòng Sở thống nhất.", "agree": True}
    ttcntt_opinion = {"opinion": "Trung tâm đề nghị bổ sung hạ tầng.", "agree": False}
    calls = [
        (api_token("vp.cv"), f"/work-items/{vp_item['id']}/complete", {"data": vp_opinion}),
        (api_token("ttcntt.tp"), f"/work-items/{ttcntt_item['id']}/complete", {"data": ttcntt_opinion}),
    ]

    with slow_steps():
        responses = race(app, calls)

    codes = [r.status_code for r in responses]
    assert set(codes) <= {200, 409} and 200 in codes, [r.get_json() for r in responses]
    retried = [call for call, code in zip(calls, codes, strict=True) if code == 409]
    for token, path, body in retried:
        retry = api.client.post(API + path, json=body, headers={"Authorization": f"Bearer {token}"})
        assert retry.status_code == 200, retry.get_json()
    print(f"two different items at once: {codes}, retried {len(retried)}")

    assert open_steps(task_1a) == [("consolidate", None)]
    assert audit_rows("step.completed", vp_item["id"]) == 1
    assert audit_rows("step.completed", ttcntt_item["id"]) == 1
    opinions = consolidate_inputs(task_1a)
    assert sorted(opinions, key=lambda o: o["consulted_unit"]) == [
        {"consulted_unit": "SO_NGANH_DP", **EXTERNAL},
        {"consulted_unit": "TTCNTT", **ttcntt_opinion},
        {"consulted_unit": "VP", **vp_opinion},
    ]
    assert ok(api.get("cntt.cv", f"/tasks/{task_1a}"))["state"] == "consolidating"


def consolidate_inputs(task_id: int) -> list[dict]:
    """The `opinions` the READY consolidate step sees, read from the stored workflow."""
    query = select(ProcessInstance).where(ProcessInstance.task_id == task_id)
    instance = db.session.scalars(query.execution_options(populate_existing=True)).one()
    workflow = load_workflow(loaded_spec(instance.definition), instance.state)
    (consolidate,) = ready_user_tasks(workflow)
    assert consolidate.task_spec.bpmn_id == "consolidate"
    return consolidate.data["opinions"]


def test_a_step_waits_for_its_instance_before_touching_its_item(app, api, api_token, task_1a):
    """PostgreSQL: whoever changes an instance's work items (a timer firing, a migration, another step)
    holds the instance's row lock first. A step sent meanwhile waits for that lock before it touches its
    item, so the holder can still cancel the item: the step is then told 409. Taking the item first would
    make the two wait for each other (a deadlock, ended by PostgreSQL as a server error)."""
    if db.engine.url.get_backend_name() != "postgresql":
        pytest.skip("SQLite serialises writers with one database lock")
    api.start(task_1a)
    item = api.take("cntt.cv", task_1a, "draft")
    instance_id = db.session.get(WorkItem, item["id"]).instance_id
    db.session.rollback()
    responses: list = []

    def complete() -> None:
        headers = {"Authorization": f"Bearer {api_token('cntt.cv')}"}
        path = f"{API}/work-items/{item['id']}/complete"
        responses.append(app.test_client().post(path, json={"data": DRAFT}, headers=headers))

    with db.engine.connect() as holder, holder.begin():
        holder.execute(select(ProcessInstance.id).where(ProcessInstance.id == instance_id).with_for_update())
        step = threading.Thread(target=complete)
        step.start()
        waiting = (
            select(func.count())
            .select_from(text("pg_stat_activity"))
            .where(text("wait_event_type = 'Lock' AND datname = current_database()"))
        )
        for _ in range(200):
            if holder.execute(waiting).scalar():
                break
            time.sleep(0.05)
        else:
            pytest.fail("the step never waited for the instance's lock")
        # fails here if the step holds the item: its lock is not free within 0.5 s (before PostgreSQL's
        # deadlock check, after 1 s, would end one of the two)
        holder.execute(text("SET LOCAL lock_timeout = '500ms'"))
        holder.execute(
            update(WorkItem).where(WorkItem.id == item["id"]).values(status=WorkItemStatus.CANCELLED)
        )
    step.join(timeout=30)

    assert [r.status_code for r in responses] == [409], [r.get_json() for r in responses]
    assert audit_rows("step.completed", item["id"]) == 0
    assert db.session.get(WorkItem, item["id"]).status == WorkItemStatus.CANCELLED
