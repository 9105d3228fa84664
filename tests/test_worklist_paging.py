"""The worklist a page at a time: `GET /api/v1/worklist?limit=&cursor=` and the web page's "next page".

Pages follow one another without losing or repeating a step, also among steps due at the same moment
and undated ones (listed last); the last page has no cursor; a bad limit or cursor is a 400 that says
which; a cursor is only a position, so another person's cursor shows nobody's steps but one's own.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from app.extensions import db
from app.models import Role, WorkItemStatus
from tests.query_count_helpers import counting_statements
from tests.worklist_rows import add_item, anchor_item, unit_id
from workflows.worklist import encode_cursor

SAME_MOMENT = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def steps(app):
    """cntt.cv's 1.a draft and 12 more steps (4 undated, 8 due in pairs at the same moment)."""
    anchor = anchor_item()
    cntt = unit_id("CNTT")
    for n in range(12):
        due = None if n % 3 == 2 else SAME_MOMENT + timedelta(days=n // 2)
        add_item(anchor, unit=cntt, roles=[Role.SPECIALIST], due_at=due)
    db.session.commit()
    return anchor


def api_get(client, token: str, query: str = ""):
    return client.get(f"/api/v1/worklist{query}", headers={"Authorization": f"Bearer {token}"})


def api_pages(client, token: str, limit: int) -> list[list[int]]:
    pages, cursor = [], None
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = api_get(client, token, query)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        pages.append([item["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_api_pages_hold_every_step_once_in_order(client, api_token, steps):
    token = api_token("cntt.cv")
    everything = [item["id"] for item in api_get(client, token).get_json()["items"]]
    assert len(everything) == 13 and steps.id in everything

    pages = api_pages(client, token, 5)
    assert [len(page) for page in pages] == [5, 5, 3]
    assert [item for page in pages for item in page] == everything  # no step lost, none twice
    assert not set(pages[0]) & set(pages[1])

    exact = api_pages(client, token, 13)  # a last page that is full: no cursor after it
    assert exact == [everything]


def test_api_order_is_soonest_due_first_then_undated(client, api_token, steps):
    items = api_get(client, api_token("cntt.cv"), "?limit=500").get_json()["items"]
    dated = [item for item in items if item["due_at"]]
    assert items[: len(dated)] == dated  # undated last
    keys = [(item["due_at"], item["id"]) for item in dated]
    assert keys == sorted(keys)
    undated = [item["id"] for item in items if not item["due_at"]]
    assert undated == sorted(undated) and len(undated) == 4


def test_api_default_limit_is_100(client, api_token, app):
    anchor = anchor_item()
    for _ in range(104):
        add_item(anchor, unit=unit_id("CNTT"), roles=[Role.SPECIALIST])
    db.session.commit()
    token = api_token("cntt.cv")
    first = api_get(client, token).get_json()
    assert len(first["items"]) == 100 and first["next_cursor"]
    rest = api_get(client, token, f"?cursor={first['next_cursor']}").get_json()
    assert len(rest["items"]) == 5 and rest["next_cursor"] is None
    assert len(api_get(client, token, "?limit=500").get_json()["items"]) == 105


@pytest.mark.parametrize("limit", ["0", "501", "-1", "abc", "1.5", "1e2", "９"])
def test_api_bad_limit_is_a_400(client, api_token, steps, limit):
    response = api_get(client, api_token("cntt.cv"), f"?limit={limit}")
    assert response.status_code == 400
    body = response.get_json()
    assert set(body) == {"error", "details"} and set(body["details"]) == {"limit"}


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "dzF8",  # "w1|": too few parts
        "eDF8fDF8MA",  # "x1||1|0": another version
        "dzF8MjAzMC0wMS0wMVQwOTowMDowMHwxfDA",  # "w1|2030-01-01T09:00:00|1|0": no zone
        "dzF8bm90LWEtZGF0ZXwxfDA",  # "w1|not-a-date|1|0"
        "A" * 200,
    ],
)
def test_api_bad_cursor_is_a_400(client, api_token, steps, cursor):
    response = api_get(client, api_token("cntt.cv"), f"?cursor={cursor}")
    assert response.status_code == 400
    assert set(response.get_json()["details"]) == {"cursor"}


def test_api_bad_limit_and_cursor_are_both_named(client, api_token, steps):
    response = api_get(client, api_token("cntt.cv"), "?limit=0&cursor=nope")
    assert response.status_code == 400
    assert set(response.get_json()["details"]) == {"limit", "cursor"}


def test_api_blank_limit_is_the_default(client, api_token, steps):
    response = api_get(client, api_token("cntt.cv"), "?limit=&cursor=")
    assert response.status_code == 200 and len(response.get_json()["items"]) == 13


def test_another_persons_cursor_shows_only_ones_own_steps(client, api_token, steps):
    """vp.cv with cntt.cv's cursor: the position applies, the rule is vp.cv's own."""
    vp = unit_id("VP")
    own = [
        add_item(steps, unit=vp, roles=[Role.SPECIALIST], due_at=SAME_MOMENT + timedelta(days=d))
        for d in (-1, 9)
    ]
    db.session.commit()
    cntt_token, vp_token = api_token("cntt.cv"), api_token("vp.cv")
    cntt_items = {item["id"] for item in api_get(client, cntt_token, "?limit=500").get_json()["items"]}
    cursor = api_get(client, cntt_token, "?limit=2").get_json()["next_cursor"]  # inside SAME_MOMENT's pair

    seen_by_vp = api_get(client, vp_token, f"?cursor={cursor}").get_json()
    assert [item["id"] for item in seen_by_vp["items"]] == [own[1].id]
    assert not cntt_items & {item["id"] for item in seen_by_vp["items"]}
    # a position made up to start before everything shows vp.cv's steps and nothing else
    made_up = encode_cursor(SimpleNamespace(due_at=datetime(2000, 1, 1, tzinfo=UTC), id=0), 0)
    assert [item["id"] for item in api_get(client, vp_token, f"?cursor={made_up}").get_json()["items"]] == [
        own[0].id,
        own[1].id,
    ]


def test_a_later_page_whose_steps_were_done_meanwhile_is_empty(client, api_token, steps):
    token = api_token("cntt.cv")
    first = api_get(client, token, "?limit=10").get_json()
    remaining = [
        item["id"] for item in api_get(client, token, f"?cursor={first['next_cursor']}").get_json()["items"]
    ]
    for item_id in remaining:
        db.session.get(type(steps), item_id).status = WorkItemStatus.CANCELLED
    db.session.commit()
    later = api_get(client, token, f"?cursor={first['next_cursor']}").get_json()
    assert later == {"items": [], "next_cursor": None}


# --- the web page ---------------------------------------------------------------------------------


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def row_ids(page: str) -> list[int]:
    return [int(found) for found in re.findall(r'<tr data-item-id="(\d+)"', page)]


def next_link(page: str) -> str | None:
    match = re.search(r'id="next-page" href="([^"]+)"', page)
    return match.group(1) if match else None


def test_web_pages_of_50_with_the_total_and_links(client, auth, app):
    anchor = anchor_item()
    for n in range(52):
        add_item(anchor, unit=unit_id("CNTT"), roles=[Role.SPECIALIST], due_at=SAME_MOMENT if n % 2 else None)
    db.session.commit()
    auth.login("cntt.cv")

    first = text_of(client.get("/worklist"))
    assert len(row_ids(first)) == 50
    assert "53 việc đang chờ" in first and 'id="worklist-count">53<' in first
    assert "Việc thứ 1–50 trong tổng số 53" in first
    assert "Trang sau" in first and 'id="first-page"' not in first

    second = text_of(client.get(next_link(first)))
    assert len(row_ids(second)) == 3 and not set(row_ids(first)) & set(row_ids(second))
    assert "Việc thứ 51–53 trong tổng số 53" in second
    assert next_link(second) is None and "Trang đầu" in second


def test_web_page_reads_the_count_once(client, auth, steps):
    """The menu badge and the page's total are one count."""
    auth.login("cntt.cv")
    client.get("/worklist")
    with counting_statements() as statements:
        response = client.get("/worklist")
    assert response.status_code == 200
    counts = [text for text in statements.texts if "count(" in text.lower() and "work_items" in text]
    assert len(counts) == 1, statements.report()


def test_web_bad_cursor_is_a_400_that_offers_the_first_page(client, auth, steps):
    auth.login("cntt.cv")
    response = client.get("/worklist?cursor=not-a-cursor")
    assert response.status_code == 400
    page = text_of(response)
    assert "Liên kết trang không hợp lệ" in page and 'href="/worklist"' in page
    assert row_ids(page) == []


def test_web_single_page_has_no_paging_controls(client, auth, steps):
    auth.login("cntt.cv")
    page = text_of(client.get("/worklist"))
    assert len(row_ids(page)) == 13 and 'id="worklist-pages"' not in page
