"""The audit page's person and unit boxes in a real browser (static/js/audit-filters.js): typing offers
the matching people or units (without diacritics too), and the chosen one filters the trail."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import User
from tests.browser.test_draft_review_return import signed_in


def test_typing_a_name_offers_people_and_units_and_the_choice_filters(browser, live_server):
    with signed_in(browser, live_server, "cntt.cv"):
        pass  # an audited sign-in (and sign-out) of someone else
    specialist = db.session.scalar(select(User.full_name).where(User.username == "cntt.cv"))

    with signed_in(browser, live_server, "giamsat") as page:
        page.goto(f"{live_server}/audit")
        person = page.get_by_label("Người thực hiện")
        person.press_sequentially("cntt.c", delay=30)
        offered = page.locator("#filter-actor-options option")
        expect(offered).to_have_count(1)
        expect(offered.first).to_have_attribute("value", "cntt.cv")
        expect(offered.first).to_contain_text(specialist)

        unit = page.get_by_label("Đơn vị", exact=True)
        unit.press_sequentially("cong nghe thong", delay=30)  # no diacritics
        codes = page.locator("#filter-unit-options option")
        expect(codes.first).to_be_attached()
        assert "CNTT" in [codes.nth(i).get_attribute("value") for i in range(codes.count())]
        unit.fill("")

        person.fill("cntt.cv")
        page.get_by_role("button", name="Lọc").click()
        expect(page).to_have_url(f"{live_server}/audit?actor=cntt.cv&unit=&task=&since=&until=")
        expect(page.locator("#filter-actor-chosen")).to_contain_text(specialist)
        rows = page.locator("#audit-table tbody tr")
        expect(rows.first).to_be_visible()
        people = {rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())}
        assert people and all(specialist in shown for shown in people), people
