"""The plan list a page at a time, newest first (plans without a date last): the web page (20 a page,
next and previous pages, year and words filters) and GET /api/v1/plans (`limit`, `cursor` ->
`next_cursor`), with each plan's number of tasks counted in one grouped query."""

from __future__ import annotations

import base64
from datetime import date

import pytest
from lxml import html
from sqlalchemy import select

from app.extensions import db
from app.models import Plan, PlanSection, Task, Unit
from app.services.plan_list import WEB_PAGE_SIZE
from tests.query_count_helpers import Page, assert_constant


def add_plans(count: int, start: int = 0) -> list[Plan]:
    """`count` plans: dates spread over 2024–2026, several on the same day, every seventh undated; each
    has (number % 4) tasks."""
    unit = db.session.scalar(select(Unit).where(Unit.code == "CNTT"))
    made = []
    for number in range(start, start + count):
        day = None if number % 7 == 3 else date(2024 + number % 3, 1 + number % 12, 1 + (number // 2) % 3)
        plan = Plan(
            source_key=f"paging-{number}",
            issuer_name="Sở Khoa học và Công nghệ",
            doc_type="Kế hoạch",
            number=str(500 + number),
            number_symbol="/KH-SKHCN",
            issued_on=day,
            title=f"Kế hoạch thử số {number} về {'chuyển đổi số' if number % 2 else 'đổi mới sáng tạo'}",
        )
        plan.sections = [PlanSection(number="1", heading="Nhóm 1", position=1)]
        plan.tasks = [
            Task(
                section=plan.sections[0], code=f"{k}", position=k, title=f"Việc {k}", lead_unit=unit,
                recurrence=["none"], state="not_started",
            )
            for k in range(number % 4)
        ]  # fmt: skip
        db.session.add(plan)
        made.append(plan)
    db.session.commit()
    return made


def expected_order() -> list[Plan]:
    db.session.expire_all()
    plans = list(db.session.scalars(select(Plan)))
    dated = sorted((p for p in plans if p.issued_on), key=lambda p: (p.issued_on, p.id), reverse=True)
    return dated + sorted((p for p in plans if not p.issued_on), key=lambda p: p.id, reverse=True)


def bearer(api_token, username: str = "giamsat") -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(username)}"}


def api_pages(client, headers, limit: int) -> list[list[dict]]:
    pages, cursor = [], None
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(f"/api/v1/plans{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert set(body) == {"items", "next_cursor"}
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100


def test_the_api_pages_through_every_plan_once_newest_first(client, app, api_token):
    add_plans(45)
    headers = bearer(api_token)
    pages = api_pages(client, headers, 7)
    assert [len(page) for page in pages] == [7] * 6 + [4]
    ids = [item["id"] for page in pages for item in page]
    assert ids == [plan.id for plan in expected_order()]  # none twice, none left out, in order
    counts = {plan.id: sum(task.kind == "plan" for task in plan.tasks) for plan in expected_order()}
    assert [item["task_count"] for page in pages for item in page] == [counts[i] for i in ids]
    assert sorted(set(counts.values())) == [0, 1, 2, 3, 28]  # 28: the demo plan's own tasks
    default = client.get("/api/v1/plans", headers=headers).get_json()
    assert len(default["items"]) == 46 and default["next_cursor"] is None  # 50 by default
    assert len(client.get("/api/v1/plans?limit=200", headers=headers).get_json()["items"]) == 46


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=abc", "limit"),
        ("limit=-5", "limit"),
        ("limit=1.5", "limit"),
        ("cursor=nonsense!", "cursor"),
        ("cursor=" + "A" * 200, "cursor"),
        ("cursor=" + base64.urlsafe_b64encode(b"2025-13-45|7").decode(), "cursor"),
        ("cursor=" + base64.urlsafe_b64encode(b"|99999999999999999999").decode(), "cursor"),
        ("cursor=" + base64.urlsafe_b64encode("\xff|1".encode("latin-1")).decode(), "cursor"),
    ],
)
def test_bad_limit_or_cursor_is_a_400_naming_the_parameter(client, app, api_token, query, field):
    response = client.get(f"/api/v1/plans?{query}", headers=bearer(api_token))
    assert response.status_code == 400
    body = response.get_json()
    assert set(body) == {"error", "details"} and field in body["details"]


def web_page(client, url: str, status: int = 200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return html.fromstring(response.get_data(as_text=True))


def plan_ids(page) -> list[int]:
    return [int(row.get("data-plan-id")) for row in page.xpath("//table[@id='plans']//tr[@data-plan-id]")]


def test_the_web_list_goes_forward_and_back_a_page_at_a_time(client, auth, app):
    add_plans(50)
    auth.login("cntt.cv")
    expected = [plan.id for plan in expected_order()]
    url, seen, visited = "/plans", [], []
    while url:
        page = web_page(client, url)
        visited.append((url, plan_ids(page)))
        seen += plan_ids(page)
        following = page.xpath("//a[@id='next-page']")
        url = following[0].get("href") if following else None
    assert seen == expected and [len(ids) for _, ids in visited] == [20, 20, 11]
    first = web_page(client, "/plans")
    assert not first.xpath("//a[@id='previous-page']") and not first.xpath("//a[@id='first-page']")
    # back from the last page: the same pages, in reverse
    page = web_page(client, visited[-1][0])
    for _, ids in reversed(visited[:-1]):
        page = web_page(client, page.xpath("//a[@id='previous-page']")[0].get("href"))
        assert plan_ids(page) == ids
    assert not page.xpath("//a[@id='previous-page']")  # back at the start
    assert page.xpath("//a[@id='next-page']")
    row = page.xpath(f"//tr[@data-plan-id='{expected[0]}']")[0]
    assert row.xpath(f".//a[@href='/dashboard?plan={expected[0]}']")  # the plan's overview


def test_the_web_list_filters_by_year_and_words(client, auth, app):
    add_plans(30)
    auth.login("cntt.cv")
    page = web_page(client, "/plans?year=2025")
    in_2025 = [p.id for p in expected_order() if p.issued_on and p.issued_on.year == 2025]
    assert plan_ids(page) == in_2025 and in_2025
    years = [option.get("value") for option in page.xpath("//select[@id='plan-year']/option")]
    assert years == ["", "2026", "2025", "2024"]
    assert page.xpath("//select[@id='plan-year']/option[@selected]")[0].get("value") == "2025"
    words = [p.id for p in expected_order() if "chuyển đổi số" in p.title.lower()]
    assert (
        plan_ids(web_page(client, "/plans?q=Chuy%E1%BB%83n+%C4%91%E1%BB%95i+s%E1%BB%91"))
        == words[:WEB_PAGE_SIZE]
    )
    assert plan_ids(web_page(client, "/plans?q=512")) == [p.id for p in expected_order() if p.number == "512"]
    assert plan_ids(web_page(client, "/plans?q=100%25_")) == []
    empty = web_page(client, "/plans?q=kh%C3%B4ng+c%C3%B3+k%E1%BA%BF+ho%E1%BA%A1ch+n%C3%A0y")
    assert empty.get_element_by_id("plans-empty") is not None


@pytest.mark.parametrize(
    "query", ["cursor=junk!", "before=%%%", "year=20x5", "year=1200", "year=" + "9" * 30, "q=" + "x" * 101]
)
def test_bad_web_parameters_answer_400(client, auth, app, query):
    auth.login("cntt.cv")
    page = web_page(client, f"/plans?{query}", 400)
    assert page.get_element_by_id("plan-list-errors") is not None


def test_statements_do_not_grow_with_the_plans(client, auth, app, api_token):
    add_plans(25)
    auth.login("giamsat")
    headers = bearer(api_token)
    cursor = client.get("/api/v1/plans?limit=5", headers=headers).get_json()["next_cursor"]
    pages = [
        Page("/plans"),
        Page("/plans?year=2025&q=s%E1%BB%91"),
        Page(f"/plans?cursor={cursor}"),
        Page(f"/plans?before={cursor}"),
        Page("/api/v1/plans", headers),
        Page(f"/api/v1/plans?limit=5&cursor={cursor}", headers),
    ]
    assert_constant(client, pages, lambda: add_plans(120, start=25))
    assert len(plan_ids(web_page(client, "/plans"))) == WEB_PAGE_SIZE
