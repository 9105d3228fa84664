"""The step page: the form drawn from the step's JSON Schema, completing, returning, conflicts, access."""

from __future__ import annotations

import lxml.html
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Task, TaskState, User, WorkItem, WorkItemStatus
from tests.conftest import csrf_token_from
from workflows.engine import advance, start_process

SUMMARY = "Dự thảo Kế hoạch tuyên truyền về chuyển đổi số năm 2025."
# The "5 rõ" the first step asks for while 1.a lacks them (a radio value and a text field on the web).
RESULT = "Kế hoạch được UBND tỉnh ban hành"
FIVE_CLEARS = {"assignee": "cntt.cv", "expected_result": RESULT}


def task_1a() -> Task:
    return db.session.scalar(select(Task).where(Task.code == "1.a"))


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def open_items(task: Task, step: str | None = None) -> list[WorkItem]:
    db.session.expire_all()
    query = select(WorkItem).where(WorkItem.task_id == task.id, WorkItem.status == WorkItemStatus.OPEN)
    if step:
        query = query.where(WorkItem.step == step)
    return list(db.session.scalars(query.order_by(WorkItem.id)))


def audit_count(task: Task) -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.task_id == task.id))


def started() -> tuple[Task, WorkItem]:
    task = task_1a()
    start_process(task, user("cntt.cv"))
    (draft,) = open_items(task)
    return task, draft


def in_review() -> tuple[Task, WorkItem]:
    task, draft = started()
    data = {"consulted_units": ["VP", "TTCNTT", "SO_NGANH_DP"], "summary": SUMMARY, **FIVE_CLEARS}
    advance(draft, user("cntt.cv"), data)
    (review,) = open_items(task)
    return task, review


def page_of(response):
    return lxml.html.fromstring(response.get_data(as_text=True))


def post_step(client, item_id: int, fields: dict, follow: bool = False):
    token = csrf_token_from(client.get(f"/steps/{item_id}").get_data(as_text=True))
    return client.post(f"/steps/{item_id}", data={"csrf_token": token, **fields}, follow_redirects=follow)


def label_text(doc, element_id: str) -> str:
    labels = doc.xpath(f"//label[@for='{element_id}']")
    assert len(labels) == 1, element_id
    return labels[0].text_content()


def feedback(doc, field: str) -> str:
    found = doc.xpath(f"//*[@data-field='{field}']//*[contains(@class, 'invalid-feedback')]")
    return found[0].text_content().strip() if found else ""


def test_draft_form_has_every_field_labelled_in_vietnamese(client, auth):
    _, draft = started()
    auth.login("cntt.cv")
    response = client.get(f"/steps/{draft.id}")
    assert response.status_code == 200
    doc = page_of(response)
    form = doc.get_element_by_id("step-form")
    assert form.get("method") == "post" and form.get("action") == f"/steps/{draft.id}"
    inputs = [
        i for i in form.xpath(".//input|.//textarea|.//select") if i.get("type") not in ("hidden", "submit")
    ]
    for element in inputs:
        assert label_text(doc, element.get("id")).strip(), element.get("name")

    legend = doc.xpath("//*[@data-field='consulted_units']//legend")[0].text_content()
    assert "Xin ý kiến các đơn vị" in legend and "bắt buộc" in legend
    boxes = form.xpath(".//input[@type='checkbox'][@name='consulted_units']")
    options = {box.get("value"): label_text(doc, box.get("id")) for box in boxes}
    assert options["VP"] == "Văn phòng Sở"
    assert options["SO_NGANH_DP"] == "Các sở, ngành, địa phương"
    assert "TTCNTT" in options and "CNTT" not in options  # the lead unit does not consult itself
    assert "LDS" not in options and "UBND_TINH" not in options
    summary = doc.get_element_by_id("field-summary")
    assert summary.tag == "textarea" and summary.get("aria-required") == "true"
    assert "Tóm tắt dự thảo" in label_text(doc, "field-summary")
    assert "field-summary-help" in summary.get("aria-describedby")
    assert doc.get_element_by_id("field-comment").tag == "textarea"
    assert "Ý kiến / ghi chú" in label_text(doc, "field-comment")
    assert (
        "Soạn thảo dự thảo Kế hoạch tuyên truyền"
        in doc.get_element_by_id("step-documentation").text_content()
    )
    assert "Hoàn thành bước" in doc.get_element_by_id("complete-button").text_content()
    assert "1.a" in doc.get_element_by_id("step-task").text_content()


def test_submitting_nothing_answers_422_with_field_errors_and_changes_nothing(client, auth):
    task, draft = started()
    auth.login("cntt.cv")
    before = audit_count(task)
    response = post_step(client, draft.id, {"comment": "  "})
    assert response.status_code == 422
    doc = page_of(response)
    assert "Vui lòng kiểm tra lại" in doc.get_element_by_id("form-errors").text_content()
    assert feedback(doc, "consulted_units") == "Chọn ít nhất 1."
    assert feedback(doc, "summary") == "Trường này là bắt buộc."
    assert feedback(doc, "assignee") and feedback(doc, "expected_result") == "Trường này là bắt buộc."
    assert "is-invalid" in doc.get_element_by_id("field-summary").get("class")
    assert doc.get_element_by_id("field-summary").get("aria-describedby").endswith("field-summary-error")
    db.session.expire_all()
    assert audit_count(task) == before
    assert db.session.get(WorkItem, draft.id).status == WorkItemStatus.OPEN
    assert task_1a().state == TaskState.DRAFTING


def test_what_was_typed_is_kept_after_an_error(client, auth):
    _, draft = started()
    auth.login("cntt.cv")
    response = post_step(client, draft.id, {"summary": "  Nội dung đã gõ  ", "comment": "Ghi chú"})
    assert response.status_code == 422
    doc = page_of(response)
    assert doc.get_element_by_id("field-summary").text_content() == "Nội dung đã gõ"
    assert doc.get_element_by_id("field-comment").text_content() == "Ghi chú"
    response = post_step(client, draft.id, {"consulted_units": ["VP", "HTS"]})
    checked = {
        box.get("value") for box in page_of(response).xpath("//input[@name='consulted_units'][@checked]")
    }
    assert checked == {"VP", "HTS"}


def test_valid_draft_advances_to_review(client, auth):
    task, draft = started()
    auth.login("cntt.cv")
    fields = {
        "consulted_units": ["VP", "TTCNTT"],
        "summary": f"  {SUMMARY} ",
        "comment": "Kính trình",
        "assignee": "cntt.cv",
        "expected_result": f" {RESULT}  ",
    }
    response = post_step(client, draft.id, fields)
    assert response.status_code == 302 and response.headers["Location"] == f"/tasks/{task.id}"
    db.session.expire_all()
    done = task_1a()
    assert done.state == TaskState.REVIEWING
    assert (done.assignee.username, done.expected_result) == ("cntt.cv", RESULT)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.work_item_id == draft.id))
    assert event.action == "step.completed" and event.actor_username == "cntt.cv"
    assert event.data == {"consulted_units": ["VP", "TTCNTT"], "summary": SUMMARY, **FIVE_CLEARS}
    updated = db.session.scalar(
        select(AuditEvent).where(AuditEvent.task_id == task.id, AuditEvent.action == "task.updated")
    )
    assert updated.id < event.id and updated.actor_username == "cntt.cv"
    assert updated.data == {
        "before": {"assignee": None, "expected_result": None},
        "after": FIVE_CLEARS,
        "at_step": True,
    }
    assert event.comment == "Kính trình"
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "Đã hoàn thành bước “Soạn thảo dự thảo" in page
    assert [item.step for item in open_items(task)] == ["review_draft"]


def test_review_shows_the_draft_and_its_units(client, auth):
    _, review = in_review()
    auth.login("cntt.tp")
    doc = page_of(client.get(f"/steps/{review.id}"))
    earlier = doc.get_element_by_id("earlier-inputs").text_content()
    assert SUMMARY in earlier
    assert "Văn phòng Sở; Trung tâm Công nghệ thông tin; Các sở, ngành, địa phương" in earlier
    radios = doc.xpath("//input[@type='radio'][@name='decision']")
    labels = [label_text(doc, radio.get("id")) for radio in radios]
    assert labels == ["Đồng ý, gửi xin ý kiến", "Trả lại để chỉnh sửa"]
    assert (
        "Bắt buộc khi chọn: Trả lại để chỉnh sửa."
        in doc.get_element_by_id("field-comment-help").text_content()
    )


def test_return_needs_a_comment_then_goes_back_to_drafting(client, auth):
    task, review = in_review()
    auth.login("cntt.tp")
    before = audit_count(task)
    response = post_step(client, review.id, {"decision": "return"})
    assert response.status_code == 422
    doc = page_of(response)
    assert feedback(doc, "comment") == "Phải nêu ý kiến khi trả lại."
    assert doc.xpath("//input[@name='decision'][@value='return']")[0].get("checked") is not None
    assert audit_count(task) == before

    response = post_step(client, review.id, {"decision": "return", "comment": "Bổ sung mục tiêu cụ thể."})
    assert response.status_code == 302 and response.headers["Location"] == f"/tasks/{task.id}"
    db.session.expire_all()
    assert task_1a().state == TaskState.DRAFTING
    (draft,) = open_items(task)
    assert draft.step == "draft"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.work_item_id == review.id))
    assert event.action == "step.returned" and event.comment == "Bổ sung mục tiêu cụ thể."
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "Đã trả lại tại bước" in page and "Bổ sung mục tiêu cụ thể." in page


def test_returned_draft_comes_back_filled_in(client, auth):
    task, review = in_review()
    advance(review, user("cntt.tp"), {"decision": "return"}, "Sửa lại phần mục tiêu")
    (draft,) = open_items(task)
    auth.login("cntt.cv")
    doc = page_of(client.get(f"/steps/{draft.id}"))
    assert doc.get_element_by_id("field-summary").text_content() == SUMMARY
    checked = {box.get("value") for box in doc.xpath("//input[@name='consulted_units'][@checked]")}
    assert checked == {"VP", "TTCNTT", "SO_NGANH_DP"}
    history = doc.get_element_by_id("history").text_content()
    assert "Trả lại" in history and "Sửa lại phần mục tiêu" in history


def test_posting_to_a_completed_step_says_so_and_changes_nothing(client, auth):
    task, draft = started()
    auth.login("cntt.cv")
    token = csrf_token_from(client.get(f"/steps/{draft.id}").get_data(as_text=True))
    advance(draft, user("cntt.cv"), {"consulted_units": ["VP"], "summary": SUMMARY, **FIVE_CLEARS})
    before = audit_count(task)
    fields = {"csrf_token": token, "consulted_units": ["HTS"], "summary": "Lần hai", **FIVE_CLEARS}
    response = client.post(f"/steps/{draft.id}", data=fields)
    assert response.status_code == 303 or response.status_code == 302
    assert response.headers["Location"] == "/worklist"
    page = client.get("/worklist").get_data(as_text=True)
    assert "Bước này đã được xử lý hoặc không còn mở." in page
    db.session.expire_all()
    assert audit_count(task) == before
    assert task_1a().state == TaskState.REVIEWING
    closed = client.get(f"/steps/{draft.id}").get_data(as_text=True)
    assert 'id="step-form"' not in closed and "Bước này đã kết thúc." in closed


@pytest.mark.parametrize("username", ["hts.cv", "vp.tp"])
def test_a_user_of_another_unit_gets_403(client, auth, username):
    task, draft = started()
    auth.login(username)
    assert client.get(f"/steps/{draft.id}").status_code == 403
    token = csrf_token_from(client.get("/worklist").get_data(as_text=True))
    fields = {"csrf_token": token, "consulted_units": ["VP"], "summary": SUMMARY}
    assert client.post(f"/steps/{draft.id}", data=fields).status_code == 403
    assert client.post(f"/steps/{draft.id}/claim", data={"csrf_token": token}).status_code == 403
    db.session.expire_all()
    assert db.session.get(WorkItem, draft.id).status == WorkItemStatus.OPEN
    assert task_1a().state == TaskState.DRAFTING


def test_unknown_step_is_404(client, auth):
    auth.login("cntt.cv")
    assert client.get("/steps/999999").status_code == 404


def test_consultations_say_whose_opinion_and_use_the_right_form(client, auth):
    task, review = in_review()
    advance(review, user("cntt.tp"), {"decision": "approve"})
    items = {item.item_unit.code: item for item in open_items(task, "collect_opinions")}
    assert set(items) == {"VP", "TTCNTT", "SO_NGANH_DP"}

    auth.login("vp.cv")
    doc = page_of(client.get(f"/steps/{items['VP'].id}"))
    assert "Văn phòng Sở" in doc.get_element_by_id("step-item-unit").text_content()
    agree = doc.get_element_by_id("field-agree")
    assert agree.get("type") == "checkbox" and agree.get("value") == "true"
    assert doc.get_element_by_id("field-opinion").tag == "textarea"
    assert client.get(f"/steps/{items['SO_NGANH_DP'].id}").status_code == 403
    response = post_step(client, items["VP"].id, {"opinion": "Thống nhất.", "agree": "true"})
    assert response.status_code == 302
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.work_item_id == items["VP"].id))
    assert event.data == {"opinion": "Thống nhất.", "agree": True}
    auth.logout()

    auth.login("cntt.cv")
    doc = page_of(client.get(f"/steps/{items['SO_NGANH_DP'].id}"))
    assert "Các sở, ngành, địa phương" in doc.get_element_by_id("step-item-unit").text_content()
    assert doc.get_element_by_id("field-document_date").get("type") == "date"
    response = post_step(client, items["SO_NGANH_DP"].id, {"opinion": "Góp ý", "document_date": "31/02/2025"})
    doc = page_of(response)
    assert response.status_code == 422
    assert feedback(doc, "document_number") == "Trường này là bắt buộc."
    assert feedback(doc, "document_date") == "Ngày không hợp lệ."
    fields = {"opinion": "Góp ý bằng văn bản", "document_number": "12/SNV", "document_date": "2025-03-10"}
    response = post_step(client, items["SO_NGANH_DP"].id, fields)
    assert response.status_code == 302
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.work_item_id == items["SO_NGANH_DP"].id))
    assert event.data["agree"] is False and event.data["document_date"] == "2025-03-10"


def test_after_the_last_opinion_the_specialist_goes_straight_to_consolidate(client, auth):
    task, review = in_review()
    advance(review, user("cntt.tp"), {"decision": "approve"})
    items = {item.item_unit.code: item for item in open_items(task, "collect_opinions")}
    advance(items["VP"], user("vp.cv"), {"opinion": "Nhất trí", "agree": True})
    advance(items["TTCNTT"], user("ttcntt.tp"), {"opinion": "Bổ sung chỉ tiêu", "agree": False})
    auth.login("cntt.cv")
    fields = {
        "opinion": "Nhất trí",
        "agree": "true",
        "document_number": "5/UBND",
        "document_date": "2025-03-12",
    }
    response = post_step(client, items["SO_NGANH_DP"].id, fields)
    (consolidate,) = open_items(task, "consolidate")
    assert response.headers["Location"] == f"/steps/{consolidate.id}"
    doc = page_of(client.get(f"/steps/{consolidate.id}"))
    earlier = doc.get_element_by_id("earlier-inputs").text_content()
    assert "Bổ sung chỉ tiêu" in earlier and "Trung tâm Công nghệ thông tin" in earlier
    assert "5/UBND" in earlier and "12/03/2025" in earlier and "Không" in earlier
    assert "Đã hoàn thành bước" in doc.text_content()


def test_step_page_in_english(client, auth):
    _, draft = started()
    auth.login("cntt.cv")
    token = csrf_token_from(client.get(f"/steps/{draft.id}").get_data(as_text=True))
    client.post("/lang/en", data={"csrf_token": token, "next": f"/steps/{draft.id}"})
    response = post_step(client, draft.id, {})
    doc = page_of(response)
    assert "Comment / note" in label_text(doc, "field-comment")
    assert feedback(doc, "summary") == "This field is required."
    assert "Complete the step" in doc.get_element_by_id("complete-button").text_content()


def _as(client, auth, username: str) -> None:
    auth.logout()
    auth.login(username)


def test_the_whole_process_through_the_web(client, auth):
    """Every step's form, drawn and read back by the web, until the task is completed."""
    task, review = in_review()
    auth.login("cntt.tp")
    assert post_step(client, review.id, {"decision": "approve"}).status_code == 302
    opinions = {item.item_unit.code: item for item in open_items(task, "collect_opinions")}
    _as(client, auth, "vp.cv")
    assert post_step(client, opinions["VP"].id, {"opinion": "Nhất trí", "agree": "true"}).status_code == 302
    _as(client, auth, "ttcntt.tp")
    assert post_step(client, opinions["TTCNTT"].id, {"opinion": "Bổ sung chỉ tiêu"}).status_code == 302
    _as(client, auth, "cntt.cv")
    fields = {"opinion": "Nhất trí", "document_number": "5/UBND", "document_date": "2025-03-12"}
    assert post_step(client, opinions["SO_NGANH_DP"].id, fields).status_code == 302
    (consolidate,) = open_items(task, "consolidate")
    assert post_step(client, consolidate.id, {"accepted": "Tiếp thu toàn bộ."}).status_code == 302

    (approval,) = open_items(task, "leader_approval")
    assert client.get(f"/steps/{approval.id}").status_code == 403  # the leader's step, not the unit's
    _as(client, auth, "giamdoc")
    doc = page_of(client.get(f"/steps/{approval.id}"))
    assert "Không giới hạn đơn vị" in doc.get_element_by_id("step-for").text_content()
    response = post_step(client, approval.id, {"decision": "return"})
    assert response.status_code == 422
    response = post_step(client, approval.id, {"decision": "return", "comment": "Làm rõ kinh phí."})
    assert response.status_code == 302
    _as(client, auth, "cntt.cv")
    (consolidate,) = open_items(task, "consolidate")
    doc = page_of(client.get(f"/steps/{consolidate.id}"))
    assert doc.get_element_by_id("field-accepted").text_content() == "Tiếp thu toàn bộ."
    fields = {"accepted": "Tiếp thu toàn bộ.", "explanation": "Kinh phí từ nguồn sự nghiệp."}
    assert post_step(client, consolidate.id, fields).status_code == 302
    _as(client, auth, "giamdoc")
    (approval,) = open_items(task, "leader_approval")
    assert post_step(client, approval.id, {"decision": "approve"}).status_code == 302

    _as(client, auth, "cntt.cv")
    (submit,) = open_items(task, "submit_to_committee")
    fields = {"submission_number": "45/TTr-SKHCN", "submission_date": "2025-04-01"}
    response = post_step(client, submit.id, fields)
    (record,) = open_items(task, "record_issuance")
    assert response.headers["Location"] == f"/steps/{record.id}"  # the next step is the same person's
    fields = {"issued_number": "120/KH-UBND", "issued_date": "2025-04-15", "result": "Kế hoạch đã ban hành."}
    response = post_step(client, record.id, fields)
    assert response.headers["Location"] == f"/tasks/{task.id}"

    db.session.expire_all()
    done = task_1a()
    assert (
        done.state == TaskState.COMPLETED and done.progress == 100 and done.result == "Kế hoạch đã ban hành."
    )
    doc = page_of(client.get(f"/tasks/{task.id}"))
    assert "Đã kết thúc" in doc.get_element_by_id("process-info").text_content()
    assert "Không có bước nào đang mở." in doc.get_element_by_id("open-steps").text_content()
    history = doc.get_element_by_id("task-history").text_content()
    assert "Kết thúc quy trình" in history and "Làm rõ kinh phí." in history
    assert not doc.xpath("//*[@id='start-process']")  # a completed task is not started again from here


def test_a_vetoed_step_says_why_and_keeps_the_form(client, auth):
    from workflows import signals

    def veto(item, **_):
        raise signals.StepVetoed("Chưa đính kèm dự thảo.")

    task, draft = started()
    auth.login("cntt.cv")
    signals.step_completing.connect(veto)
    try:
        response = post_step(client, draft.id, {"consulted_units": ["VP"], "summary": SUMMARY, **FIVE_CLEARS})
    finally:
        signals.step_completing.disconnect(veto)
    assert response.status_code == 409
    doc = page_of(response)
    assert "Chưa đính kèm dự thảo." in doc.get_element_by_id("step-refused").text_content()
    assert doc.get_element_by_id("field-summary").text_content() == SUMMARY
    assert doc.get_element_by_id("field-expected_result").text_content() == RESULT
    db.session.expire_all()
    assert db.session.get(WorkItem, draft.id).status == WorkItemStatus.OPEN
    vetoed = task_1a()
    assert vetoed.state == TaskState.DRAFTING
    assert vetoed.assignee is None and vetoed.expected_result is None  # the vetoed step changed nothing


def test_a_process_that_cannot_go_on_is_explained(client, auth, monkeypatch):
    from app.steps import routes
    from workflows.errors import ProcessFailed

    def failing(*args, **kwargs):
        raise ProcessFailed("gateway condition failed")

    _, draft = started()
    auth.login("cntt.cv")
    monkeypatch.setattr(routes, "advance", failing)
    response = post_step(client, draft.id, {"consulted_units": ["VP"], "summary": SUMMARY})
    assert response.status_code == 422
    refused = page_of(response).get_element_by_id("step-refused").text_content()
    assert "quy trình không thể tiếp tục từ bước này" in refused


def test_two_people_on_one_step_the_second_is_told_who_completed_it(client, auth):
    task, review = in_review()
    advance(review, user("cntt.tp"), {"decision": "approve"})
    (vp_item,) = [i for i in open_items(task, "collect_opinions") if i.candidate_unit.code == "VP"]
    auth.login("vp.cv")
    token = csrf_token_from(client.get(f"/steps/{vp_item.id}").get_data(as_text=True))
    advance(vp_item, user("vp.tp"), {"opinion": "Thống nhất", "agree": True})  # the head is quicker
    before = audit_count(task)
    fields = {"csrf_token": token, "opinion": "Cũng thống nhất", "agree": "on"}
    response = client.post(f"/steps/{vp_item.id}", data=fields, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "Bước này đã được người khác hoàn thành: Chánh Văn phòng Sở (Văn phòng Sở)" in text
    db.session.expire_all()
    assert audit_count(task) == before


def test_a_long_list_of_units_to_consult_gets_a_search_box_that_sends_nothing(client, auth):
    from tests.query_count_data import new_accounts

    _, draft = started()
    auth.login("cntt.cv")
    short = page_of(client.get(f"/steps/{draft.id}"))
    assert len(short.xpath("//input[@name='consulted_units']")) == 8
    assert not short.xpath("//*[@data-choice-filter]")  # a short list needs no search

    new_accounts(6)  # six more staffed divisions: 14 units to consult
    doc = page_of(client.get(f"/steps/{draft.id}"))
    assert len(doc.xpath("//input[@name='consulted_units']")) == 14
    (box,) = doc.xpath("//*[@data-choice-filter='field-consulted_units']")
    assert box.get("hidden") is not None  # shown by static/js/choice-filter.js; without it, the whole list
    (search,) = box.xpath(".//input[@type='search']")
    assert search.get("name") is None  # not part of what the form sends
    assert label_text(doc, search.get("id")) == "Tìm trong danh sách"
    assert box.get("data-count-text") == "Đang hiện {shown}/{total}, đã chọn {chosen}"
    assert "choice-list-long" in doc.get_element_by_id("field-consulted_units").get("class")
    assert doc.xpath("//script[contains(@src, 'js/choice-filter.js')]")
