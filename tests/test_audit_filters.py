"""The audit page's person and unit filters at provincial scale: text boxes that suggest at most 20
matching people or units (GET /audit/suggestions) instead of select boxes listing every account, and
that filter exactly as before (the same `actor` and `unit` parameters as GET /api/v1/audit)."""

from __future__ import annotations

import re

import pytest
from lxml import html

from app.extensions import db
from app.services.audit_queries import SUGGESTIONS
from app.services.user_admin import create_user
from tests.audit_data import drive_1a, edge_rows
from tests.engine_helpers import user
from tests.query_count_data import audit_rows, new_accounts
from tests.query_count_helpers import Page, assert_constant


@pytest.fixture
def trail(app):
    t1a = drive_1a()
    return t1a, edge_rows(t1a)


@pytest.fixture
def supervisor(client, auth):
    assert auth.login("giamsat").status_code == 302
    return client


def _row_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-event-id="(\d+)"', page)]


def test_the_page_lists_no_accounts_and_no_units(trail, supervisor):
    new_accounts(30)
    page = supervisor.get("/audit").get_data(as_text=True)
    assert "nguoi" not in page and "Phòng thử" not in page  # none of the 30 new people or units
    tree = html.fromstring(page)
    assert not tree.xpath("//select[@name='actor' or @name='unit']")
    actor = tree.get_element_by_id("filter-actor")
    assert actor.tag == "input" and actor.get("list") == "filter-actor-options"
    assert actor.get("data-suggest-url") == "/audit/suggestions"
    assert tree.get_element_by_id("filter-unit").get("data-suggest") == "unit"
    assert tree.xpath("//script[@src='/static/js/audit-filters.js']")
    assert not tree.get_element_by_id("filter-actor-options").getchildren()


HTS = "Phòng Hạ tầng số và Tiêu chuẩn chất lượng"


@pytest.mark.parametrize(
    ("query", "label"), [("actor=hts.cv", f"Chuyên viên {HTS} · {HTS}"), ("unit=VP", "Văn phòng Sở")]
)
def test_the_chosen_person_or_unit_filters_as_the_api_does(trail, supervisor, api_token, query, label):
    page = supervisor.get(f"/audit?{query}").get_data(as_text=True)
    token = api_token("giamsat")
    api = supervisor.get(f"/api/v1/audit?{query}", headers={"Authorization": f"Bearer {token}"})
    assert _row_ids(page) == [event["id"] for event in api.get_json()["events"]] and _row_ids(page)
    tree = html.fromstring(page)
    name, value = query.split("=")
    assert tree.get_element_by_id(f"filter-{name}").get("value") == value  # the box keeps the choice
    assert tree.get_element_by_id(f"filter-{name}-chosen").text_content() == label
    assert [o.get("value") for o in tree.get_element_by_id(f"filter-{name}-options")] == [value]


def test_the_person_filter_still_names_who_did_it(trail, supervisor):
    _, edges = trail
    page = supervisor.get("/audit?actor=hts.cv").get_data(as_text=True)
    assert _row_ids(page) == [edges.after_march, edges.march_last, edges.march_first, edges.before_march]
    unknown = supervisor.get("/audit?actor=no.such.person").get_data(as_text=True)
    assert _row_ids(unknown) == [] and 'id="audit-empty"' in unknown


def test_suggestions_offer_at_most_twenty_matches(trail, supervisor):
    new_accounts(30)
    many = supervisor.get("/audit/suggestions?field=actor&q=nguoi").get_json()["items"]
    assert len(many) == SUGGESTIONS and all(item["value"].startswith("nguoi") for item in many)
    assert all(" · Phòng thử " in item["label"] for item in many)
    by_name = supervisor.get("/audit/suggestions?q=Ng%C6%B0%E1%BB%9Di+d%C3%B9ng+3").get_json()["items"]
    assert {item["label"].split(" · ")[0] for item in by_name} >= {"Người dùng 30", "Người dùng 31"}
    assert all("Người dùng 3" in item["label"] for item in by_name)
    cntt = supervisor.get("/audit/suggestions?field=actor&q=CNTT.").get_json()["items"]
    assert {item["value"] for item in cntt} == {"cntt.cv", "cntt.tp"}
    units = supervisor.get("/audit/suggestions?field=unit&q=h%E1%BA%A1+t%E1%BA%A7ng").get_json()["items"]
    assert {"value": "HTS", "label": HTS} in units
    assert supervisor.get("/audit/suggestions?field=unit&q=").get_json() == {"items": []}
    assert supervisor.get("/audit/suggestions?field=actor&q=%25").get_json() == {"items": []}  # a literal %


@pytest.mark.parametrize("query", ["field=password&q=a", "field=actor&q=" + "x" * 81])
def test_bad_suggestion_parameters_are_a_400(trail, supervisor, query):
    response = supervisor.get(f"/audit/suggestions?{query}")
    assert response.status_code == 400 and set(response.get_json()) == {"error", "details"}


@pytest.mark.parametrize("username", ["cntt.cv", "cntt.tp"])
def test_suggestions_are_for_the_audit_page_s_readers(app, client, auth, username):
    auth.login(username)
    response = client.get("/audit/suggestions?q=cntt")
    assert response.status_code == 403 and "cntt.cv" not in response.get_data(as_text=True)


def test_the_page_does_not_grow_with_the_accounts(trail, supervisor):
    audit_rows(60)
    # the rows shown stay the same (creating an account is audited, with another action)
    shown = "/audit?action=step.completed"
    pages = [Page(shown), Page("/audit?actor=cntt.cv&unit=CNTT"), Page("/audit/suggestions?q=ng")]
    size = len(supervisor.get(shown).get_data())
    assert_constant(supervisor, pages, lambda: new_accounts(40))
    assert len(supervisor.get(shown).get_data()) == size  # 40 accounts more: not one option more


@pytest.mark.parametrize("typed", ["Đặng Thị", "đặng thị", "ĐẶNG THỊ", "dang thi", "DANG  thi"])
def test_suggestions_ignore_case_and_diacritics_as_people_type_names(trail, supervisor, typed):
    """Vietnamese names are often typed without diacritics or in capitals; both databases must find them
    (SQLite's lower() leaves Đ as it is)."""
    create_user(
        user("admin"),
        username="dang.ht",
        full_name="Đặng Thị Hồng Thắm",
        email=None,
        unit_code="VP",
        roles=["specialist"],
        password=None,
    )
    db.session.commit()
    items = supervisor.get("/audit/suggestions", query_string={"field": "actor", "q": typed}).get_json()[
        "items"
    ]
    assert [item["value"] for item in items] == ["dang.ht"]
    units = supervisor.get("/audit/suggestions", query_string={"field": "unit", "q": "VAN PHONG"}).get_json()
    assert {"value": "VP", "label": "Văn phòng Sở"} in units["items"]
