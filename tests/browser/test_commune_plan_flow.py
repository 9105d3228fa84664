"""A commune builds its plan from the department's framework and gets it acknowledged, tried as new users
would in Chromium: only the pages' links, fields and buttons, each person in a fresh browser context.

pthd.cv (Văn phòng HĐND-UBND of Phường Trần Hưng Đạo) builds and submits the plan; pthd.ct (the ward's
chairman) returns it once with a comment, then approves it; giamdoc (the department's leader) acknowledges
it and reads the overview and the consolidated targets.
"""

from __future__ import annotations

import re
from contextlib import contextmanager

from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models.commune_plans import PlanFramework
from tests.conftest import DEMO_PASSWORD

COMMUNE = "Phường Trần Hưng Đạo"
TARGETS = ["85", "100", "100", "92,5", "6"]  # as typed, Vietnamese decimal comma
OWN_BUDGET = "25"
RETURN_COMMENT = "Đề nghị bổ sung giải pháp bảo đảm an toàn thông tin ở phần IV."
REVISED_IV = "Bổ sung: rà soát, cài phần mềm phòng chống mã độc cho 100% máy trạm; tập huấn cho cán bộ."
DRAFT_STEP = "Xây dựng dự thảo kế hoạch của xã"
REVISE_STEP = "Chỉnh sửa kế hoạch theo ý kiến"
APPROVAL_STEP = "Chủ tịch UBND xã phê duyệt kế hoạch"
REVIEW_STEP = "Sở tiếp nhận kế hoạch của xã"


@contextmanager
def signed_in(browser, base_url: str, username: str):
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    page = context.new_page()
    page.set_default_timeout(30_000)  # the machine is shared: give slow saves time
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


def open_from_worklist(page, step_name: str) -> None:
    page.click("#nav-worklist")
    row = page.locator("#worklist tbody tr", has_text=step_name)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(COMMUNE)
    row.get_by_role("link", name="Xử lý").click()
    expect(page.locator("#step-name")).to_have_text(step_name)


def open_plan_from_step(page) -> None:
    """The step page links to the commune plan page (not a path in the task's content)."""
    expect(page.locator("#step-task")).not_to_contain_text("/commune-plans/")
    page.get_by_role("link", name=f"Mở kế hoạch của {COMMUNE}").click()
    expect(page.locator("#plan-title")).to_have_text(f"Kế hoạch năm 2027 của {COMMUNE}")


def complete_step(page, expected_flash: str) -> None:
    page.get_by_role("button", name="Hoàn thành bước").click()
    expect(page.locator(".alert-success")).to_contain_text(expected_flash)


def test_a_commune_builds_submits_and_gets_its_plan_acknowledged(browser, live_server):
    framework = db.session.scalars(select(PlanFramework)).one()
    indicators = [i.name for i in framework.indicators]
    sections = [f"{s.number}. {s.heading}" for s in framework.sections]

    # --- the ward's specialist builds the plan from the framework and submits it ---------------------
    with signed_in(browser, live_server, "pthd.cv") as page:
        page.click("#nav-commune-plans")
        page.get_by_role("link", name=framework.title).click()
        page.get_by_role("button", name=f"Lập kế hoạch của {COMMUNE} theo khung này").click()
        expect(page.locator(".alert-success")).to_contain_text("Đã tạo kế hoạch của xã theo khung")

        for number, label in enumerate(sections, start=1):
            page.get_by_label(label, exact=True).fill(f"Nội dung phần {label} của phường ({number}).")
        for name, value in zip(indicators, TARGETS, strict=True):
            page.get_by_label(re.compile("^" + re.escape(name) + r" \(")).fill(value)
        # the suggested fibre task (index 3) has no budget: the ward gives one and a later completion time
        page.locator("[name='task-3-budget_million_vnd']").fill(OWN_BUDGET)
        page.locator("[name='task-3-completion_time']").fill("Quý III/2027")
        page.get_by_role("button", name="Lưu", exact=True).click()
        expect(page.locator(".alert-success")).to_contain_text("Đã lưu kế hoạch.")
        expect(page.locator("[data-plan-status]").first).to_have_text("Đang xây dựng")
        expect(page.locator("#plan-tasks")).to_contain_text("Quý III/2027")
        expect(page.locator("#plan-targets")).to_contain_text("92,5")

        page.get_by_role("link", name="Trình Chủ tịch UBND").click()
        expect(page.locator("#step-name")).to_have_text(DRAFT_STEP)
        expect(page.locator("#step-commune-plan")).to_be_visible()
        page.get_by_label("Tóm tắt nội dung trình").fill("Kính trình Chủ tịch UBND phường phê duyệt.")
        complete_step(page, "Đã hoàn thành bước")
        # back on the task page: it links to the plan too
        expect(page.locator("#task-content")).not_to_contain_text("/commune-plans/")
        expect(page.locator("#task-commune-plan")).to_have_text(f"Mở kế hoạch của {COMMUNE}")
        expect(page.locator("#task-state")).to_contain_text("Chờ phê duyệt")

    # --- the chairman reads it and returns it once with a comment -----------------------------------
    with signed_in(browser, live_server, "pthd.ct") as page:
        open_from_worklist(page, APPROVAL_STEP)
        open_plan_from_step(page)
        expect(page.locator(f"[data-indicator-id='{framework.indicators[0].id}']")).to_contain_text("85")
        page.get_by_role("link", name="Mở bước xử lý").click()
        page.get_by_role("radio", name="Trả lại để chỉnh sửa").check()
        page.get_by_label("Ý kiến / ghi chú").fill(RETURN_COMMENT)
        complete_step(page, "Đã trả lại")

    # --- the specialist revises and resubmits -----------------------------------------------------------
    with signed_in(browser, live_server, "pthd.cv") as page:
        open_from_worklist(page, REVISE_STEP)
        open_plan_from_step(page)
        expect(page.locator("#last-return")).to_contain_text(RETURN_COMMENT)
        page.get_by_role("link", name="Chỉnh sửa kế hoạch").click()
        section_iv = page.get_by_label(sections[3], exact=True)
        section_iv.fill(section_iv.input_value() + "\n" + REVISED_IV)
        page.get_by_role("button", name="Lưu", exact=True).click()
        expect(page.locator(".alert-success")).to_contain_text("Đã lưu kế hoạch.")
        expect(page.locator("#plan-sections")).to_contain_text(REVISED_IV)
        page.get_by_role("link", name="Trình Chủ tịch UBND").click()
        expect(page.locator("#step-name")).to_have_text(REVISE_STEP)
        page.get_by_label("Nội dung đã chỉnh sửa").fill("Đã bổ sung giải pháp an toàn thông tin ở phần IV.")
        complete_step(page, "Đã hoàn thành bước")

    # --- the chairman approves: the plan goes to the department -------------------------------------
    with signed_in(browser, live_server, "pthd.ct") as page:
        open_from_worklist(page, APPROVAL_STEP)
        expect(page.locator("#history")).to_contain_text(RETURN_COMMENT)
        page.get_by_role("radio", name="Phê duyệt, gửi Sở").check()
        complete_step(page, "Đã hoàn thành bước")

    # --- the department's leader acknowledges it, then reads the overview and the targets -----------
    with signed_in(browser, live_server, "giamdoc") as page:
        # the plan that only holds the communes' processes is not one of the department's plans
        expect(page.locator("main")).not_to_contain_text("Khung kế hoạch cấp xã")
        open_from_worklist(page, REVIEW_STEP)
        open_plan_from_step(page)
        expect(page.locator("#plan-sections")).to_contain_text(REVISED_IV)
        page.get_by_role("link", name="Mở bước xử lý").click()
        page.get_by_role("radio", name="Tiếp nhận kế hoạch").check()
        complete_step(page, "Đã hoàn thành bước")
        expect(page.locator("#task-state")).to_contain_text("Hoàn thành")

        page.click("#nav-commune-plans")
        page.get_by_role("link", name=framework.title).click()
        row = page.locator("#submissions tr[data-commune='PTHD']")
        expect(row.locator("[data-plan-status]")).to_have_text("Sở đã tiếp nhận")
        expect(row.locator("td").last).to_have_text("1")  # returned once
        expect(page.locator("#submitted-count")).to_have_attribute("data-done", "1")

        page.get_by_role("link", name="Tổng hợp chỉ tiêu").click()
        cells = page.locator("#targets-table tr[data-commune='PTHD'] td")
        expect(cells).to_have_text(["Sở đã tiếp nhận", *TARGETS])
        expect(page.locator("#targets-table tr[data-commune='XAT'] td")).to_have_text(
            ["Chưa bắt đầu", *["—"] * len(TARGETS)]
        )
