"""A new user's first minute, in a real browser: sign in, open the plan, see its 28 tasks."""

import yaml

from app.services.demo import DEMO_PLAN_PATH
from tests.conftest import DEMO_PASSWORD


def _demo_plan():
    with open(DEMO_PLAN_PATH, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def sign_in(page, base_url, username="cntt.cv", password=DEMO_PASSWORD):
    page.goto(f"{base_url}/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_specialist_signs_in_and_sees_the_plan_with_28_tasks(page, live_server):
    plan = _demo_plan()
    sign_in(page, live_server)
    page.wait_for_url(f"{live_server}/plans")
    assert "Chuyên viên Phòng Công nghệ thông tin" in page.content()

    page.click("a[href^='/plans/']:not([href$='indicators'])")
    page.wait_for_selector("[data-task-code]")

    codes = page.locator("[data-task-code]").evaluate_all("rows => rows.map(r => r.dataset.taskCode)")
    assert codes == [task["code"] for task in plan["tasks"]]
    headings = page.locator(".section-heading").all_inner_texts()
    assert len(headings) == 10
    for heading, section in zip(headings, plan["tasks_section"]["sections"], strict=True):
        assert section["heading"] in heading
    assert page.locator("html").get_attribute("lang") == "vi"
    assert "Phòng Công nghệ thông tin" in page.inner_text("[data-task-code='1.a']")


def test_wrong_password_keeps_the_user_on_the_sign_in_page(page, live_server):
    sign_in(page, live_server, password="wrong")
    assert "/auth/login" in page.url
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in page.content()
