"""Draft, review, return and resubmit in a real browser, each person in a fresh browser context."""

from __future__ import annotations

from contextlib import contextmanager

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import User
from tests.conftest import DEMO_PASSWORD

SUMMARY = "Dự thảo Kế hoạch tuyên truyền về chuyển đổi số, nâng cao nhận thức của cán bộ, người dân."
RETURN_COMMENT = "Đề nghị bổ sung mục tiêu cụ thể và lộ trình thực hiện."
EXPECTED_RESULT = "Kế hoạch tuyên truyền được UBND tỉnh ban hành."
RESULT_LABEL = "Kết quả, sản phẩm dự kiến (rõ kết quả)"


@contextmanager
def signed_in(browser, base_url: str, username: str):
    """A fresh browser context (no shared cookies) with `username` signed in; signs out at the end."""
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{base_url}/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base_url}/plans")
        yield page
        page.get_by_role("button", name="Đăng xuất").click()
        page.wait_for_url(f"{base_url}/auth/login*")
    finally:
        context.close()


def open_from_worklist(page, step_name: str):
    page.click("#nav-worklist")
    expect(page.get_by_role("heading", name="Việc cần xử lý")).to_be_visible()
    row = page.locator("#worklist tbody tr", has_text=step_name)
    expect(row).to_have_count(1)
    row.get_by_role("link", name="Xử lý").click()
    expect(page.locator("#step-name")).to_have_text(step_name)


def test_draft_review_return_and_resubmit(browser, live_server):
    head_name = db.session.scalar(select(User.full_name).where(User.username == "cntt.tp"))
    specialist_name = db.session.scalar(select(User.full_name).where(User.username == "cntt.cv"))

    with signed_in(browser, live_server, "cntt.cv") as page:
        page.click("a[href^='/plans/']:not([href$='indicators'])")
        page.locator("[data-task-code='1.a'] a.task-title").click()
        expect(page.locator("#task-code")).to_have_text("1.a")
        page.get_by_role("button", name="Bắt đầu quy trình").click()
        expect(page.locator(".alert-success")).to_contain_text("Đã bắt đầu quy trình")
        expect(page.locator("#worklist-count")).to_contain_text("1")

        open_from_worklist(page, "Soạn thảo dự thảo Kế hoạch")
        page.get_by_label("Văn phòng Sở", exact=True).check()
        page.get_by_label("Trung tâm Công nghệ thông tin", exact=True).check()
        page.get_by_label("Tóm tắt dự thảo").fill(SUMMARY)
        # the "5 rõ" 1.a still lacks: the person responsible (one of the lead unit's people) and the result
        page.get_by_role("radio", name=specialist_name).check()
        page.get_by_label(RESULT_LABEL).fill(EXPECTED_RESULT)
        page.get_by_role("button", name="Hoàn thành bước").click()
        expect(page.locator(".alert-success")).to_contain_text("Đã hoàn thành bước")
        expect(page.locator("#task-state")).to_contain_text("Trưởng đơn vị đang xem xét")
        expect(page.locator("#worklist-count")).to_have_count(0)

    with signed_in(browser, live_server, "cntt.tp") as page:
        open_from_worklist(page, "Trưởng đơn vị xem xét dự thảo")
        expect(page.locator("#earlier-inputs")).to_contain_text(SUMMARY)
        page.get_by_label("Trả lại để chỉnh sửa").check()
        page.get_by_role("button", name="Hoàn thành bước").click()  # no comment yet: refused
        expect(page.locator("[data-field='comment'] .invalid-feedback")).to_have_text(
            "Phải nêu ý kiến khi trả lại."
        )
        expect(page.get_by_label("Trả lại để chỉnh sửa")).to_be_checked()
        page.get_by_label("Ý kiến / ghi chú").fill(RETURN_COMMENT)
        page.get_by_role("button", name="Hoàn thành bước").click()
        expect(page.locator(".alert-success")).to_contain_text("Đã trả lại")
        expect(page.locator("#task-state")).to_contain_text("Đang soạn thảo")

    with signed_in(browser, live_server, "cntt.cv") as page:
        expect(page.locator("#worklist-count")).to_contain_text("1")
        open_from_worklist(page, "Soạn thảo dự thảo Kế hoạch")
        expect(page.locator("#history")).to_contain_text(RETURN_COMMENT)
        expect(page.get_by_label("Tóm tắt dự thảo")).to_have_value(SUMMARY)
        expect(page.get_by_label("Văn phòng Sở", exact=True)).to_be_checked()
        expect(page.get_by_role("radio", name=specialist_name)).to_be_checked()  # now on the task
        expect(page.get_by_label(RESULT_LABEL)).to_have_value(EXPECTED_RESULT)
        page.get_by_label("Tóm tắt dự thảo").fill(SUMMARY + " Bổ sung mục tiêu và lộ trình.")
        page.get_by_label("Ý kiến / ghi chú").fill("Đã bổ sung theo ý kiến của Trưởng phòng.")
        page.get_by_role("button", name="Hoàn thành bước").click()
        expect(page.locator(".alert-success")).to_contain_text("Đã hoàn thành bước")

        history = page.locator("#task-history #history")
        returned = history.locator("[data-action='step.returned']")
        expect(returned).to_have_count(1)
        expect(returned).to_contain_text("Trả lại")
        expect(returned).to_contain_text(RETURN_COMMENT)
        expect(returned).to_contain_text(head_name)
        expect(returned).to_contain_text("Trưởng đơn vị đang xem xét")
        actions = history.locator("li").evaluate_all("items => items.map(i => i.dataset.action)")
        assert actions == [
            "process.started",
            "task.updated",  # the person and result given with the first draft, not repeated after
            "step.completed",
            "step.returned",
            "step.completed",
        ]
        expect(page.locator("#task-state")).to_contain_text("Trưởng đơn vị đang xem xét")
