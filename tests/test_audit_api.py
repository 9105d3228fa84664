"""GET /api/v1/audit: filters return exactly the right rows, newest first; keyset pages visit every row
once; supervisors, leaders and admins only; bad parameters are 422 with details, never a 500."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from tests.audit_data import (
    RETURN_COMMENT,
    VP_COMMENT,
    bulk_rows,
    dated,
    drive_1a,
    edge_rows,
    ids_where,
    newest_first_ids,
)
from workflows.audit import Action


@pytest.fixture
def trail(app):
    t1a = drive_1a()
    return t1a, edge_rows(t1a)


@pytest.fixture
def get(client, api_token):
    token = api_token("giamsat")

    def _get(query: str = "", username: str | None = None):
        bearer = api_token(username) if username else token
        return client.get(f"/api/v1/audit{query}", headers={"Authorization": f"Bearer {bearer}"})

    return _get


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.get_json()
    return [event["id"] for event in response.get_json()["events"]]


def test_without_filters_the_newest_rows_come_first_in_the_event_shape(trail, get):
    t1a, edges = trail
    body = get().get_json()
    assert [e["id"] for e in body["events"]] == newest_first_ids()[:50]
    assert body["next_cursor"] is None  # fewer than 50 rows so far
    returned = next(e for e in body["events"] if e["action"] == "step.returned" and e["task_id"] == t1a.id)
    assert returned["comment"] == RETURN_COMMENT
    assert returned["actor"]["username"] == "cntt.tp" and returned["actor"]["unit"] == "CNTT"
    assert returned["from_state"] == "reviewing" and returned["to_state"] == "drafting"
    assert set(returned) >= {
        "id",
        "at",
        "actor",
        "action",
        "step",
        "from_state",
        "to_state",
        "comment",
        "data",
    }


def test_each_filter_alone(trail, get):
    t1a, edges = trail
    hts_cv = [edges.after_march, edges.march_last, edges.march_first, edges.before_march]
    assert _ids(get("?actor=hts.cv")) == hts_cv
    assert _ids(get("?unit=HTS")) == [
        edges.after_march,
        edges.march_last,
        edges.hts_head,
        edges.march_first,
        edges.before_march,
    ]
    by_code = _ids(get("?task=1.a"))
    assert set(by_code) == ids_where(lambda e: e.task_id == t1a.id) and len(by_code) == 7
    assert by_code[-1] == edges.vp_on_1a  # March 2025, older than the engine's rows of today
    assert _ids(get(f"?task={t1a.id}")) == by_code
    returned = _ids(get("?action=step.returned"))
    assert set(returned) == ids_where(lambda e: e.action == "step.returned") and len(returned) == 2
    assert edges.march_last in returned
    claimed = _ids(get("?action=step.claimed"))
    assert claimed == [edges.hts_head]
    assert _ids(get("?since=2025-03-01&until=2025-03-31")) == [
        edges.march_last,
        edges.vp_on_1a,
        edges.hts_head,
        edges.march_first,
    ]


def test_date_edges_are_local_days_inclusive(trail, get):
    _, edges = trail
    assert _ids(get("?actor=hts.cv&since=2025-03-01")) == [
        edges.after_march,
        edges.march_last,
        edges.march_first,
    ]
    assert _ids(get("?actor=hts.cv&until=2025-03-31")) == [
        edges.march_last,
        edges.march_first,
        edges.before_march,
    ]
    assert _ids(get("?actor=hts.cv&since=2025-02-28&until=2025-02-28")) == [edges.before_march]
    assert _ids(get("?actor=hts.cv&since=2025-04-01&until=2025-04-01")) == [edges.after_march]


def test_filters_combine(trail, get):
    t1a, edges = trail
    march = "since=2025-03-01&until=2025-03-31"
    assert _ids(get(f"?unit=HTS&action=step.completed&{march}")) == [edges.march_first]
    several = _ids(get(f"?unit=HTS&action=step.completed&action=step.returned&{march}"))
    assert several == [edges.march_last, edges.march_first]
    assert _ids(get(f"?unit=HTS&action=step.completed,step.returned&{march}")) == several
    assert _ids(get(f"?task=1.a&{march}")) == [edges.vp_on_1a]
    assert _ids(get("?actor=vp.cv&task=1.a")) == [edges.vp_on_1a]
    assert get("?actor=vp.cv&task=1.a").get_json()["events"][0]["comment"] == VP_COMMENT
    assert _ids(get("?actor=hts.cv&task=1.a")) == []
    only = _ids(get(f"?actor=cntt.tp&task={t1a.id}&action=step.returned"))
    assert len(only) == 1 and set(only) == ids_where(
        lambda e: e.actor_username == "cntt.tp" and e.action == "step.returned"
    )


def test_pages_visit_every_row_once_in_order(trail, get):
    bulk_rows(130)
    expected = newest_first_ids()
    assert len(expected) > 130
    seen, cursor, pages = [], None, 0
    while True:
        body = get("?limit=50" + (f"&cursor={cursor}" if cursor else "")).get_json()
        seen += [event["id"] for event in body["events"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert len(body["events"]) == 50
    assert seen == expected and len(set(seen)) == len(seen)
    assert pages == -(-len(expected) // 50)


def test_pages_of_a_filtered_list_with_ties(trail, get):
    bulk = bulk_rows(130)
    expected = [i for i in newest_first_ids() if i in set(bulk[0::3])]  # ttcntt.cv's rows
    seen, cursor = [], ""
    while cursor is not None:
        body = get(f"?actor=ttcntt.cv&limit=7&cursor={cursor}").get_json()
        seen += [event["id"] for event in body["events"]]
        cursor = body["next_cursor"]
    assert seen == expected


def test_default_page_is_50_and_at_most_200(app, get):
    bulk_rows(210)
    assert len(get().get_json()["events"]) == 50
    assert len(get("?limit=200").get_json()["events"]) == 200
    assert get("?limit=201").status_code == 422


@pytest.mark.parametrize("username", ["cntt.cv", "hts.cv", "cntt.tp"])
def test_others_are_refused(trail, get, username):
    response = get(username=username)
    assert response.status_code == 403
    assert "events" not in response.get_json()


@pytest.mark.parametrize("username", ["giamsat", "giamdoc", "admin"])
def test_supervisors_leaders_and_admins_read_it(trail, get, username):
    assert get("?unit=HTS", username=username).status_code == 200


def test_anonymous_gets_401(client):
    assert client.get("/api/v1/audit").status_code == 401


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?cursor=!!!", "cursor"),
        ("?cursor=abc", "cursor"),
        (f"?cursor={_b64('2025-03-01T00:00:00|x')}", "cursor"),
        (f"?cursor={_b64('2025-03-01T00:00:00|5')}", "cursor"),  # no time zone: not ours
        (f"?cursor={_b64('yesterday|5')}", "cursor"),
        ("?cursor=" + "A" * 500, "cursor"),
        ("?since=2025-13-01", "since"),
        ("?since=tomorrow", "since"),
        ("?until=2025-02-30", "until"),
        ("?since=2025-03-02&until=2025-03-01", "until"),
        ("?action=step.nonsense", "action"),
        ("?action=DROP TABLE", "action"),
        ("?actor=nobody", "actor"),
        ("?unit=NOWHERE", "unit"),
        ("?task=99.z", "task"),
        ("?task=999999", "task"),
        (f"?cursor={_b64('0001-01-01T00:00:00+14:00|5')}", "cursor"),  # before what UTC can hold
        (f"?cursor={_b64('2025-03-01T00:00:00+00:00|99999999999999999999')}", "cursor"),
        (f"?cursor={_b64('2025-03-01T00:00:00+00:00|²')}", "cursor"),
        ("?since=0001-01-01", "since"),
        ("?until=9999-12-31", "until"),
        ("?task=99999999999999999999", "task"),
        ("?limit=²", "limit"),
        ("?limit=0", "limit"),
        ("?limit=ten", "limit"),
        ("?actor=" + "x" * 200, "actor"),
    ],
)
def test_bad_parameters_are_422_with_details(trail, get, query, field):
    response = get(query)
    assert response.status_code == 422
    assert field in response.get_json()["details"]


def test_a_cursor_from_the_list_keeps_working_after_new_rows(trail, get):
    bulk_rows(120)
    first = get().get_json()
    second = get(f"?cursor={first['next_cursor']}").get_json()["events"]
    for _ in range(5):  # newer rows do not shift the next page, as an OFFSET would
        dated(Action.STEP_CLAIMED, "vp.cv", datetime.now(UTC))
    again = get(f"?cursor={first['next_cursor']}").get_json()["events"]
    assert len(second) == 50 and [e["id"] for e in again] == [e["id"] for e in second]


def test_pages_inside_a_run_of_rows_of_one_instant_visit_each_row_once(trail, get):
    """Many rows at one instant (rows imported with their old times; the generator's clock at its end): a
    page, and its cursor, can end inside the run."""
    instant = datetime(2025, 2, 10, 3, 0, tzinfo=UTC)
    run = [dated(Action.TASK_UPDATED, "cntt.cv", instant) for _ in range(45)]
    seen, cursor = [], None
    while True:
        after = f"&cursor={cursor}" if cursor else ""
        body = get(f"?since=2025-02-10&until=2025-02-10&limit=20{after}").get_json()
        seen += [e["id"] for e in body["events"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(run, reverse=True)  # ties newest id first, none twice, none left out


def test_previous_pages_lead_back_to_the_first_with_ties_and_a_filter(trail, get):
    bulk_rows(130)  # three rows at each instant
    forward, cursor = [], ""
    while cursor is not None:
        body = get(f"?action=step.completed&limit=7&cursor={cursor}").get_json()
        forward.append(body)
        cursor = body["next_cursor"]
    assert len(forward) > 4 and forward[0]["previous_cursor"] is None  # the first page has none before it
    back = forward[-1]
    for expected in reversed(forward[:-1]):
        back = get(f"?action=step.completed&limit=7&before={back['previous_cursor']}").get_json()
        assert [e["id"] for e in back["events"]] == [e["id"] for e in expected["events"]]
        assert back["next_cursor"] == expected["next_cursor"]  # and forward again from there
    assert back["previous_cursor"] is None  # back at the newest rows


def test_before_and_cursor_together_or_a_bad_before_are_422(trail, get):
    bulk_rows(60)
    body = get().get_json()
    both = get(f"?cursor={body['next_cursor']}&before={body['next_cursor']}")
    assert both.status_code == 422 and "before" in both.get_json()["details"]
    bad = get("?before=not-a-cursor")
    assert bad.status_code == 422 and set(bad.get_json()["details"]) == {"before"}
