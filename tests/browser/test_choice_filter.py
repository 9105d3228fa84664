"""A long list of units to consult on a draft (hundreds at a province's scale) narrows as one types:
diacritics and case do not matter, ticked units stay ticked while hidden, Enter in the box does not
send the form, and the step is completed with what was ticked."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Unit, User
from tests.audit_data import task
from tests.browser.test_draft_review_return import (
    EXPECTED_RESULT,
    RESULT_LABEL,
    SUMMARY,
    open_from_worklist,
    signed_in,
)
from tests.query_count_data import new_accounts


def test_the_units_to_consult_narrow_as_one_types(browser, live_server):
    made = new_accounts(6)  # six more staffed divisions: 14 units to consult (the lead unit is not one)
    added = db.session.get(Unit, made[2].unit_id).name  # "Phòng thử N"
    specialist_name = db.session.scalar(select(User.full_name).where(User.username == "cntt.cv"))

    with signed_in(browser, live_server, "cntt.cv") as page:
        page.goto(f"{live_server}/tasks/{task('1.a').id}")
        page.get_by_role("button", name="Bắt đầu quy trình").click()
        open_from_worklist(page, "Soạn thảo dự thảo Kế hoạch")
        units = page.locator("#field-consulted_units .form-check")
        search = page.get_by_label("Tìm trong danh sách")
        count = page.locator("#field-consulted_units-count")
        expect(units).to_have_count(14)
        expect(count).to_have_text("Đang hiện 14/14, đã chọn 0")

        search.fill("VAN phong")  # no diacritics, any case
        expect(units.locator("visible=true")).to_have_count(1)
        page.get_by_label("Văn phòng Sở", exact=True).check()
        expect(count).to_have_text("Đang hiện 1/14, đã chọn 1")

        search.fill(added.lower().replace("ử", "u"))  # "phong thu N"
        expect(units.locator("visible=true")).to_have_count(1)
        page.get_by_label(added, exact=True).check()
        search.press("Enter")  # stays on the page: nothing sent
        expect(count).to_have_text("Đang hiện 1/14, đã chọn 2")
        expect(page.locator(".alert-success")).to_have_count(0)

        search.fill("")
        expect(units.locator("visible=true")).to_have_count(14)
        expect(page.get_by_label("Văn phòng Sở", exact=True)).to_be_checked()
        page.get_by_label("Tóm tắt dự thảo").fill(SUMMARY)
        page.get_by_role("radio", name=specialist_name).check()
        page.get_by_label(RESULT_LABEL).fill(EXPECTED_RESULT)
        page.get_by_role("button", name="Hoàn thành bước").click()
        expect(page.locator(".alert-success")).to_contain_text("Đã hoàn thành bước")

    db.session.expire_all()
    (draft,) = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.task_id == task("1.a").id,
            AuditEvent.step == "draft",
            AuditEvent.action == "step.completed",
        )
    )
    codes = draft.data["consulted_units"]
    assert sorted(db.session.scalars(select(Unit.name).where(Unit.code.in_(codes)))) == sorted(
        ["Văn phòng Sở", added]
    )
