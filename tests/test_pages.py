"""The pages a specialist of Phòng CNTT reads every day: the plans, a plan's tasks, indicators, a task."""

from __future__ import annotations

import unicodedata
from decimal import Decimal

import lxml.html
import pytest
import yaml
from sqlalchemy import select

from app.extensions import db
from app.models import Plan, Task, TaskState, User
from app.services.clock import local_today
from app.services.deadlines import is_overdue
from app.services.demo import DEMO_PLAN_PATH
from tests.conftest import csrf_token_from


@pytest.fixture(scope="module")
def plan_data() -> dict:
    with open(DEMO_PLAN_PATH, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture
def signed_in(client, auth):
    response = auth.login()
    assert response.status_code == 302
    return client


@pytest.fixture
def plan(app) -> Plan:
    return db.session.scalar(select(Plan))


def _task(code: str) -> Task:
    return db.session.scalar(select(Task).where(Task.code == code))


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _page(client, url: str, status: int = 200):
    response = client.get(url)
    assert response.status_code == status, url
    text = response.get_data(as_text=True)
    return lxml.html.fromstring(text), text


def _text(element) -> str:
    return " ".join(element.text_content().split())


def _by_class(doc, name: str) -> list:
    return doc.xpath(f".//*[contains(concat(' ', normalize-space(@class), ' '), ' {name} ')]")


def _rows(doc) -> dict[str, object]:
    return {row.get("data-task-code"): row for row in doc.xpath("//tr[@data-task-code]")}


def _row_text(client, plan, code: str) -> str:
    doc, _ = _page(client, f"/plans/{plan.id}")
    return _text(_rows(doc)[code])


# --- the list of plans -------------------------------------------------------------------------


def test_home_goes_to_the_plans(signed_in):
    response = signed_in.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/plans"


def test_plans_list_shows_number_date_issuer_title_and_task_count(signed_in, plan, plan_data):
    doc, text = _page(signed_in, "/plans")
    row = _text(doc.xpath(f"//tr[@data-plan-id='{plan.id}']")[0])
    assert "Số /KH-SKHCN" in row
    assert "04/03/2025" in row
    assert "Sở Khoa học và Công nghệ tỉnh Hải Dương" in row
    assert plan_data["document"]["title"] in row
    assert "28 nhiệm vụ" in row
    assert doc.xpath(f"//a[@href='/plans/{plan.id}']")


# --- a plan's tasks ----------------------------------------------------------------------------


def test_plan_page_lists_all_28_tasks_in_document_order(signed_in, plan, plan_data):
    doc, _ = _page(signed_in, f"/plans/{plan.id}")
    codes = [row.get("data-task-code") for row in doc.xpath("//tr[@data-task-code]")]
    assert codes == [task["code"] for task in plan_data["tasks"]]
    assert len(codes) == 28
    assert "28 nhiệm vụ" in _text(doc.get_element_by_id("task-count"))


def test_plan_page_groups_tasks_under_the_10_vietnamese_section_headings(signed_in, plan, plan_data):
    doc, _ = _page(signed_in, f"/plans/{plan.id}")
    headings = [_text(h) for h in _by_class(doc, "section-heading")]
    sections = plan_data["tasks_section"]["sections"]
    assert len(headings) == 10
    for heading, section in zip(headings, sections, strict=True):
        assert heading.startswith(f"{section['number']}. {section['heading']}")
    expected = {
        s["number"]: sum(t["section_number"] == s["number"] for t in plan_data["tasks"]) for s in sections
    }
    for block in doc.xpath("//*[@data-section]"):
        number = block.get("data-section")
        assert len(block.xpath(".//tr[@data-task-code]")) == expected[number]
        assert f"{expected[number]} nhiệm vụ" in _text(_by_class(block, "section-heading")[0])


def test_plan_page_is_vietnamese_utf8_nfc(signed_in, plan):
    response = signed_in.get(f"/plans/{plan.id}")
    text = response.get_data(as_text=True)
    assert response.content_type == "text/html; charset=utf-8"
    assert '<html lang="vi">' in text and '<meta charset="utf-8">' in text
    assert unicodedata.is_normalized("NFC", text)
    for words in ("Chủ trì", "Phối hợp", "Thời gian hoàn thành", "Trạng thái", "Kế hoạch", "Chỉ tiêu"):
        assert words in text


def test_plan_header_shows_the_document_and_its_rules(signed_in, plan):
    doc, _ = _page(signed_in, f"/plans/{plan.id}")
    header = _text(doc.get_element_by_id("plan-header"))
    assert "Sở Khoa học và Công nghệ tỉnh Hải Dương" in header
    assert "Số /KH-SKHCN" in header and "04/03/2025" in header
    assert "726/KH-UBND" in header and "20/02/2025" in header and "57-NQ/TW" in header
    assert "rõ người, rõ việc, rõ trách nhiệm, rõ thời gian, rõ kết quả" in header
    reporting = _text(doc.get_element_by_id("plan-reporting"))
    assert "ngày 15" in reporting and "Phòng Công nghệ thông tin" in reporting and "UBND tỉnh" in reporting
    assert "ngày 20" in reporting
    assert doc.xpath(f"//a[@href='/plans/{plan.id}/indicators']")


def test_lead_unit_shows_the_sub_unit(signed_in, plan):
    row = _row_text(signed_in, plan, "4.h")
    assert "Văn phòng Sở (Bộ phận Kế hoạch Tài chính)" in row
    assert "Phòng Công nghệ thông tin" in row and "Trung tâm Công nghệ thông tin" in row


def test_deadlines_read_as_the_plan_writes_them(signed_in, plan):
    doc, _ = _page(signed_in, f"/plans/{plan.id}")
    rows = _rows(doc)

    def deadline(code):
        return _text(_by_class(rows[code], "task-deadline")[0])

    assert deadline("1.a") == "28/02/2025"
    assert deadline("2.b") == "Tháng 05/2025 · Thường xuyên"
    assert deadline("8.c") == "Thường xuyên, Hằng năm, Đột xuất"
    assert deadline("9.b") == "Theo hướng dẫn của Trung ương"


def test_task_rows_show_state_and_link_to_the_task(signed_in, plan):
    task = _task("1.a")
    doc, _ = _page(signed_in, f"/plans/{plan.id}")
    row = _rows(doc)["1.a"]
    assert "Chưa bắt đầu" in _text(row)
    assert row.xpath(f".//a[@href='/tasks/{task.id}']")


def test_overdue_badge_follows_the_service(signed_in, plan):
    today = local_today()
    doc, _ = _page(signed_in, f"/plans/{plan.id}")
    for code, row in _rows(doc).items():
        shown = bool(row.xpath(".//*[@data-overdue]"))
        assert shown == is_overdue(_task(code), today), code
        assert ("Quá hạn" in _text(row)) == shown


def test_five_clears_badges_name_what_is_missing(signed_in, plan):
    doc, _ = _page(signed_in, f"/plans/{plan.id}")
    row = _rows(doc)["1.a"]
    missing = {badge.get("data-missing"): _text(badge) for badge in row.xpath(".//*[@data-missing]")}
    assert missing == {"person": "chưa rõ người thực hiện", "result": "chưa rõ kết quả"}


def test_five_clears_badges_go_when_the_task_is_clear(signed_in, plan):
    task = _task("1.a")
    task.assignee = _user("cntt.cv")
    task.expected_result = "Kế hoạch tuyên truyền được UBND tỉnh ban hành"
    db.session.commit()
    doc, _ = _page(signed_in, f"/plans/{plan.id}")
    row = _rows(doc)["1.a"]
    assert [b.get("data-missing") for b in row.xpath(".//*[@data-missing]")] == [""]
    assert "Đủ 5 rõ" in _text(row)


# --- filters -----------------------------------------------------------------------------------


def test_filter_by_lead_unit_shows_exactly_that_units_tasks(signed_in, plan, plan_data):
    doc, _ = _page(signed_in, f"/plans/{plan.id}?unit=CNTT")
    expected = [t["code"] for t in plan_data["tasks"] if t["lead"]["code"] == "CNTT"]
    assert len(expected) == 14
    assert list(_rows(doc)) == expected
    assert "14 nhiệm vụ" in _text(doc.get_element_by_id("task-count"))
    selected = doc.xpath("//select[@name='unit']/option[@selected]")
    assert [option.get("value") for option in selected] == ["CNTT"]


def test_filter_by_state(signed_in, plan):
    doc, _ = _page(signed_in, f"/plans/{plan.id}?state=completed")
    assert _rows(doc) == {}
    assert "0 nhiệm vụ" in _text(doc.get_element_by_id("task-count"))
    assert doc.get_element_by_id("no-tasks") is not None

    _task("1.b").state = TaskState.COMPLETED
    db.session.commit()
    doc, _ = _page(signed_in, f"/plans/{plan.id}?state=completed")
    assert list(_rows(doc)) == ["1.b"]
    assert "Hoàn thành" in _text(_rows(doc)["1.b"])


def test_filter_overdue_shows_what_the_service_calls_overdue(signed_in, plan):
    _task("1.a").state = TaskState.COMPLETED  # a closed task is never overdue
    db.session.commit()
    today = local_today()
    expected = [
        t.code for t in db.session.scalars(select(Task).order_by(Task.position)) if is_overdue(t, today)
    ]
    doc, _ = _page(signed_in, f"/plans/{plan.id}?overdue=1")
    assert list(_rows(doc)) == expected
    assert "1.a" not in expected
    assert doc.xpath("//input[@name='overdue'][@checked]")


def test_filters_combine(signed_in, plan, plan_data):
    doc, _ = _page(signed_in, f"/plans/{plan.id}?unit=VP&state=not_started")
    waiting = {"on_guidance"}  # such tasks wait for central guidance instead of "not started"
    expected = [
        t["code"]
        for t in plan_data["tasks"]
        if t["lead"]["code"] == "VP" and not waiting & set(t["deadline"]["recurrence"])
    ]
    assert list(_rows(doc)) == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("state=finished", "state"),
        ("unit=NOPE", "unit"),
        ("overdue=maybe", "overdue"),
        ("state=%3Cscript%3E", "state"),
    ],
)
def test_bad_filter_values_show_an_error_not_a_crash(signed_in, plan, query, field):
    response = signed_in.get(f"/plans/{plan.id}?{query}")
    assert response.status_code == 400
    doc = lxml.html.fromstring(response.get_data(as_text=True))
    assert "giá trị lọc không hợp lệ" in _text(doc.get_element_by_id("filter-error"))
    control = doc.xpath(f"//*[@name='{field}']")[0]
    assert "is-invalid" in control.get("class")
    assert _rows(doc) == {}
    assert "<script>" not in response.get_data(as_text=True)  # the bad value is never echoed unescaped


# --- indicators --------------------------------------------------------------------------------


def test_indicators_page_shows_appendix_i_by_horizon(signed_in, plan, plan_data):
    doc, _ = _page(signed_in, f"/plans/{plan.id}/indicators")
    rows = doc.xpath("//tr[@data-indicator]")
    assert len(rows) == 26
    headings = [_text(h) for h in _by_class(doc, "horizon-heading")]
    assert headings == ["Chỉ tiêu đến năm 2030", "Chỉ tiêu đến năm 2045"]
    header = [_text(th) for th in doc.xpath("(//table)[1]//th")]
    assert header == ["TT", "Chỉ tiêu", "Đơn vị tính", "Mục tiêu", "Đơn vị chủ trì theo dõi"]
    targets = [_text(cell) for cell in _by_class(doc, "indicator-target")]
    assert targets == [" ".join(str(i["target"]).split()) for i in plan_data["appendix_i"]["indicators"]]
    assert "≥ 60" in targets
    assert "Xếp hạng ở nhóm 15 tỉnh, thành" in targets
    first = _text(doc.xpath("//tr[@data-indicator='2030-3']")[0])
    assert "Xếp hạng chỉ số đánh giá chuyển đổi số (DTI)" in first and "Phòng Công nghệ thông tin" in first


# --- a task ------------------------------------------------------------------------------------


def test_task_page_shows_every_field(signed_in, plan, plan_data):
    task = _task("4.h")
    record = next(t for t in plan_data["tasks"] if t["code"] == "4.h")
    doc, text = _page(signed_in, f"/tasks/{task.id}")

    def field(element_id):
        return _text(doc.get_element_by_id(element_id))

    assert field("task-code") == "4.h"
    assert "4. Tăng cường đầu tư, hoàn thiện hạ tầng công nghệ thông tin" in field("task-section")
    assert field("task-title") == record["title"]
    assert field("task-content") == record["content"]
    assert field("task-lead").startswith("Văn phòng Sở (Bộ phận Kế hoạch Tài chính)")
    assert "Phòng Công nghệ thông tin" in field("task-coordinating")
    assert "Trung tâm Công nghệ thông tin" in field("task-coordinating")
    assert field("task-assignee") == "Chưa phân công"
    deadline = field("task-deadline")
    assert "30/3/2025" in deadline and "30/03/2025" in deadline and "theo ngày" in deadline
    assert "Một lần" in deadline
    assert field("task-result") == "Chưa xác định"
    assert field("task-budget") == "—"
    assert "Chưa bắt đầu" in field("task-state")
    assert doc.get_element_by_id("task-progress").get("aria-valuenow") == "0"
    assert "chưa rõ người thực hiện" in field("task-clears")
    assert "Thực hiện báo cáo, đánh giá hiện trạng" in field("task-ocr-note")
    crumbs = doc.xpath("//nav[@aria-label='breadcrumb']//a/@href")
    assert f"/plans/{plan.id}#section-4" in crumbs
    assert unicodedata.is_normalized("NFC", text)


def test_task_page_shows_assignee_result_budget_and_progress(signed_in):
    task = _task("4.h")
    task.assignee = _user("vp.cv")
    task.expected_result = "Danh mục và dự toán được UBND tỉnh phê duyệt"
    task.budget_million_vnd = Decimal("1234.5")
    task.state = TaskState.IN_PROGRESS
    task.progress = 40
    task.task_type = "implement_report"
    db.session.commit()
    doc, _ = _page(signed_in, f"/tasks/{task.id}")
    assert _text(doc.get_element_by_id("task-assignee")) == _user("vp.cv").full_name
    assert _text(doc.get_element_by_id("task-result")) == "Danh mục và dự toán được UBND tỉnh phê duyệt"
    assert _text(doc.get_element_by_id("task-budget")) == "1.234,5"
    assert "Đang thực hiện" in _text(doc.get_element_by_id("task-state"))
    assert doc.get_element_by_id("task-progress").get("aria-valuenow") == "40"
    assert "Đủ 5 rõ" in _text(doc.get_element_by_id("task-clears"))
    assert _text(doc.get_element_by_id("task-type")) == "Triển khai thực hiện"


def test_month_precision_and_recurrence_on_the_task_page(signed_in):
    doc, _ = _page(signed_in, f"/tasks/{_task('2.b').id}")
    deadline = _text(doc.get_element_by_id("task-deadline"))
    assert "tháng 5/2025 và thường xuyên" in deadline
    assert "Tháng 05/2025" in deadline and "theo tháng" in deadline and "Thường xuyên" in deadline


# --- not found ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/plans/999999", "/plans/999999/indicators", "/tasks/999999", "/nowhere"])
def test_unknown_pages_are_404(signed_in, url):
    assert signed_in.get(url).status_code == 404


def test_404_page_is_the_apps_own_page(signed_in):
    doc, _ = _page(signed_in, "/tasks/999999", status=404)
    assert "Không tìm thấy trang" in _text(doc)
    assert doc.xpath("//a[@href='/plans']")


def test_wrong_method_gets_the_apps_405_page(signed_in):
    response = signed_in.get("/auth/logout")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert "Thao tác không được phép" in response.get_data(as_text=True)


def test_api_paths_keep_json_errors(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.is_json and set(response.get_json()) == {"error", "details"}


# --- English -----------------------------------------------------------------------------------


def test_english_shows_english_labels_and_the_plans_own_words(signed_in, plan, plan_data):
    token = csrf_token_from(signed_in.get("/plans").get_data(as_text=True))
    signed_in.post("/lang/en", data={"csrf_token": token, "next": f"/plans/{plan.id}"})
    doc, text = _page(signed_in, f"/plans/{plan.id}")
    assert '<html lang="en">' in text
    header = [_text(th) for th in doc.xpath("(//table)[1]//th")]
    assert header == [
        "Code",
        "Task",
        "Lead unit",
        "Coordinating units",
        "Deadline",
        "State",
        "Five clears (5 rõ)",
    ]
    assert "28 tasks" in _text(doc.get_element_by_id("task-count"))
    row = _text(_rows(doc)["8.c"])
    assert "Continuous, Yearly, When needed" in row and "Not started" in row
    assert plan_data["tasks_section"]["sections"][0]["heading"] in _text(_by_class(doc, "section-heading")[0])
    assert "Sign out" in text
