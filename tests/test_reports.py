"""Documents out (issue 8): the monthly reports and the review meeting's minutes as Word and Excel files.

A simulated March 2025 (time-machine): the scheduler starts the month's reporting instances on the 4th,
Văn phòng Sở and Phòng CNTT send their reports, the other units do not; task 1.a is being drafted past its
deadline (28/02/2025); CNTT records indicator 2030-3 for March. On the 16th the consolidation opens and
CNTT consolidates: the report for UBND tỉnh is then downloaded as a .docx and opened with python-docx
(the format of Nghị định 30/2020/NĐ-CP), and as an .xlsx opened with openpyxl. Edits before the
leader's approval are kept and audited; after it the document is frozen.
"""

from __future__ import annotations

import io
import unicodedata
from datetime import datetime

import pytest
import time_machine
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Indicator, User
from app.models.reports import ReportDocument
from app.services.indicator_values import record_value
from tests.conftest import AuthActions, csrf_token_from
from tests.engine_helpers import task
from tests.test_reporting_cycle import Api, local, tick_twice
from workflows.engine import start_process

TNR = "Times New Roman"
PERIOD = "2025-03"
VP_REPORT = {
    "summary": "Văn phòng Sở hoàn thành 2/6 nhiệm vụ trong tháng 3.",
    "overdue_explanations": "Nhiệm vụ 2.b chờ ý kiến góp ý của các sở, ngành.",
    "proposals": "Đề nghị bổ sung kinh phí cho nhiệm vụ 4.h.",
}
CNTT_REPORT = {"summary": "Phòng Công nghệ thông tin đang dự thảo Kế hoạch 1.a."}


@pytest.fixture
def clock():
    with time_machine.travel(local(2025, 3, 1, 0, 5), tick=False) as traveller:
        yield traveller


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def web(app, username: str):
    """A browser of its own, signed in as `username` through the real form."""
    browser = app.test_client()
    assert AuthActions(browser).login(username).status_code == 302
    return browser


def march_until_the_4th(client, api_token, clock) -> Api:
    api = Api(client, api_token)
    clock.move_to(local(2025, 3, 4, 8))
    tick_twice()
    start_process(task("1.a"), user("cntt.cv"))  # drafting, past its deadline of 28/02/2025
    indicator = db.session.scalar(select(Indicator).where(Indicator.horizon == 2030, Indicator.number == 3))
    record_value(indicator, user("cntt.cv"), PERIOD, "55", "Số liệu tháng 3")
    return api


def march_until_the_16th(client, api_token, clock) -> Api:
    api = march_until_the_4th(client, api_token, clock)
    api.complete("vp.cv", "BC-VP", "unit_report", VP_REPORT)
    api.complete("vp.tp", "BC-VP", "unit_head_sign", {"decision": "approve"})
    api.complete("cntt.cv", "BC-CNTT", "unit_report", CNTT_REPORT)
    api.complete("cntt.tp", "BC-CNTT", "unit_head_sign", {"decision": "approve"})
    clock.move_to(local(2025, 3, 16, 0, 5))
    tick_twice()
    api.complete("cntt.cv", "BC-TH", "consolidate_reports", {"report": "Tổng hợp báo cáo tháng 3/2025."})
    return api


def url(code: str, what: str = "monthly-report", suffix: str = "", period: str = PERIOD) -> str:
    return f"/tasks/{task(code).id}/{what}{suffix}?period={period}"


def docx_of(browser, address: str):
    response = browser.get(address)
    assert response.status_code == 200, response.status_code
    assert response.mimetype.endswith("wordprocessingml.document")
    assert "attachment" in response.headers["Content-Disposition"]
    return Document(io.BytesIO(response.data))


def texts(cell) -> list[str]:
    return [paragraph.text for paragraph in cell.paragraphs]


def all_texts(document) -> list[str]:
    found = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                found += texts(cell)
    return found


def all_runs(document):
    for paragraph in document.paragraphs:
        yield from paragraph.runs
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                for paragraph in cell.paragraphs:
                    yield from paragraph.runs


def run_with(paragraphs, text: str):
    return next(run for paragraph in paragraphs for run in paragraph.runs if run.text == text)


def paragraph_index(document, text: str) -> int:
    return next(i for i, p in enumerate(document.paragraphs) if p.text == text)


def table_rows(table) -> dict[str, list[str]]:
    return {row.cells[0].text: [cell.text for cell in row.cells] for row in table.rows[1:]}


def edit_form(browser, address: str) -> dict:
    """The edit form's fields as the page fills them."""
    from lxml import html

    page = browser.get(address)
    assert page.status_code == 200
    doc = html.fromstring(page.get_data(as_text=True))
    [form] = doc.xpath("//form[@id='report-form']")
    fields = {el.get("name"): el.get("value") or "" for el in form.xpath(".//input[@name]")}
    fields |= {el.get("name"): el.text_content() for el in form.xpath(".//textarea[@name]")}
    return fields


def edited_events() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "report.edited")))


# --------------------------------------------------------------------------- the Word file


def test_the_consolidated_report_for_ubnd_tinh_is_a_word_file_in_the_decree_format(
    app, client, api_token, clock
):
    march_until_the_16th(client, api_token, clock)
    browser = web(app, "cntt.cv")
    page = browser.get(url("BC-TH"))
    assert page.status_code == 200
    assert "Hải Dương, ngày 16 tháng 3 năm 2025" in page.get_data(as_text=True)  # the preview
    assert f'href="/tasks/{task("BC-TH").id}/monthly-report.docx?period=2025-03"' in page.get_data(
        as_text=True
    )
    document = docx_of(browser, url("BC-TH", suffix=".docx"))

    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)  # A4
    assert 20 <= section.top_margin.mm <= 25 and 20 <= section.bottom_margin.mm <= 25
    assert 30 <= section.left_margin.mm <= 35 and 15 <= section.right_margin.mm <= 20
    assert document.styles["Normal"].font.name == TNR
    # page numbers: centred in the top margin from the second page on, a PAGE field in 13-14 pt
    assert section.different_first_page_header_footer
    assert not "".join(p.text for p in section.first_page_header.paragraphs).strip()
    [numbered] = section.header.paragraphs
    assert numbered.alignment == WD_ALIGN_PARAGRAPH.CENTER
    [field] = numbered._p.findall(qn("w:fldSimple"))
    assert field.get(qn("w:instr")).strip() == "PAGE"
    [number] = field.findall(qn("w:r"))
    assert number.find(qn("w:rPr")).find(qn("w:rFonts")).get(qn("w:ascii")) == TNR
    assert int(number.find(qn("w:rPr")).find(qn("w:sz")).get(qn("w:val"))) in (26, 28)  # half-points
    assert {run.font.name for run in all_runs(document)} == {TNR}

    header = document.tables[0]
    bodies, nation = header.cell(0, 0), header.cell(0, 1)
    assert texts(bodies)[:2] == ["ỦY BAN NHÂN DÂN TỈNH HẢI DƯƠNG", "SỞ KHOA HỌC VÀ CÔNG NGHỆ"]
    assert run_with(bodies.paragraphs, "SỞ KHOA HỌC VÀ CÔNG NGHỆ").bold
    assert (
        bodies.paragraphs[2]._p.pPr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}pBdr")
        is not None
    )  # the short line under the issuing body
    quoc_hieu = run_with(nation.paragraphs, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    assert quoc_hieu.bold and 12 <= quoc_hieu.font.size.pt <= 13
    tieu_ngu = run_with(nation.paragraphs, "Độc lập - Tự do - Hạnh phúc")
    assert tieu_ngu.bold and tieu_ngu.underline and 13 <= tieu_ngu.font.size.pt <= 14
    number = header.cell(1, 0).paragraphs[0].text
    assert number.startswith("Số:") and number.endswith("/BC-SKHCN")
    [dated] = header.cell(1, 1).paragraphs
    assert dated.text == "Hải Dương, ngày 16 tháng 3 năm 2025" and dated.runs[0].italic

    title = paragraph_index(document, "BÁO CÁO")
    kind_line, summary = document.paragraphs[title], document.paragraphs[title + 1]
    assert kind_line.alignment == WD_ALIGN_PARAGRAPH.CENTER and kind_line.runs[0].bold
    assert summary.text == (
        "Kết quả thực hiện Kế hoạch số /KH-SKHCN ngày 04/3/2025 của Sở Khoa học và Công nghệ tháng 3/2025"
    )
    assert summary.runs[0].bold
    body = document.paragraphs[paragraph_index(document, "I. KẾT QUẢ THỰC HIỆN CÁC NHIỆM VỤ") + 1]
    assert body.text == "Tổng hợp báo cáo tháng 3/2025."
    assert body.alignment == WD_ALIGN_PARAGRAPH.JUSTIFY and body.paragraph_format.first_line_indent.mm > 5
    assert 13 <= body.runs[0].font.size.pt <= 14
    everything = all_texts(document)
    assert "Số phòng, đơn vị đã gửi báo cáo tháng: 2/8." in everything
    assert f"- Văn phòng Sở (gửi ngày 04/03/2025): {VP_REPORT['summary']}" in everything
    assert "- Phòng Hạ tầng số và Tiêu chuẩn chất lượng: chưa gửi báo cáo." in everything
    assert f"- Văn phòng Sở: {VP_REPORT['proposals']}" in everything
    assert "Sở Khoa học và Công nghệ kính báo cáo UBND tỉnh./." in everything

    tasks = document.tables[1]
    assert [cell.text for cell in tasks.rows[0].cells][:5] == [
        "Mã",
        "Nhiệm vụ",
        "Đơn vị chủ trì",
        "Thời hạn",
        "Tình trạng",
    ]
    rows = table_rows(tasks)
    assert len(rows) == 28 and not any(code.startswith("BC-") for code in rows)
    assert rows["1.a"][2:5] == ["Phòng Công nghệ thông tin", "28/02/2025", "Đang soạn thảo"]
    assert rows["1.a"][-1] == "Chậm tiến độ"
    assert (rows["1.b"][4], rows["1.b"][-1]) == ("Chưa bắt đầu", "")
    assert (rows["9.b"][4], rows["9.b"][-1]) == ("Chờ hướng dẫn của Trung ương", "")
    assert [code for code, row in rows.items() if row[-1]] == ["1.a"]
    indicators = [[cell.text for cell in row.cells] for row in document.tables[2].rows[1:]]
    assert len(indicators) == 26
    [dti] = [row for row in indicators if row[3] == "55"]
    assert (dti[4], dti[5]) == (PERIOD, "Phòng Công nghệ thông tin")

    signature = document.tables[-1]
    recipients, signer = texts(signature.cell(0, 0)), texts(signature.cell(0, 1))
    assert recipients == [
        "Nơi nhận:",
        "- UBND tỉnh (b/c);",
        "- Lãnh đạo Sở;",
        "- Các phòng, đơn vị thuộc Sở;",
        "- Lưu: VT, CNTT.",
    ]
    heading = signature.cell(0, 0).paragraphs[0].runs[0]
    assert heading.bold and heading.italic and heading.font.size.pt == 12
    assert signature.cell(0, 0).paragraphs[1].runs[0].font.size.pt == 11
    assert (signer[0], signer[-1]) == ("GIÁM ĐỐC", "Nguyễn Cao Thắng")
    assert run_with(signature.cell(0, 1).paragraphs, "GIÁM ĐỐC").bold
    assert run_with(signature.cell(0, 1).paragraphs, "Nguyễn Cao Thắng").bold

    for text in everything:  # Vietnamese diacritics intact and composed
        assert unicodedata.normalize("NFC", text) == text
    assert document.core_properties.language == "vi-VN"


def test_a_units_report_is_issued_by_the_unit_and_signed_by_its_head(app, client, api_token, clock):
    march_until_the_16th(client, api_token, clock)
    document = docx_of(web(app, "vp.cv"), url("BC-VP", suffix=".docx"))
    header = document.tables[0]
    assert texts(header.cell(0, 0))[:2] == ["SỞ KHOA HỌC VÀ CÔNG NGHỆ", "VĂN PHÒNG SỞ"]
    assert header.cell(1, 0).paragraphs[0].text.endswith("/BC-VP")
    assert (
        "Kết quả thực hiện nhiệm vụ tháng 3/2025"
        in document.paragraphs[paragraph_index(document, "BÁO CÁO") + 1].text
    )
    rows = table_rows(document.tables[1])
    assert set(rows) == {"2.a", "2.b", "3.a", "4.h", "8.c", "9.b"}  # the tasks Văn phòng Sở leads
    everything = all_texts(document)
    assert VP_REPORT["summary"] in everything and VP_REPORT["proposals"] in everything
    assert "Không có nhiệm vụ chậm tiến độ so với thời hạn của Kế hoạch." in everything
    assert VP_REPORT["overdue_explanations"] in everything  # what the unit explained, all the same
    signer = texts(document.tables[-1].cell(0, 1))
    assert (signer[0], signer[-1]) == ("CHÁNH VĂN PHÒNG", "Chánh Văn phòng Sở")
    assert texts(document.tables[-1].cell(0, 0))[1] == "- Phòng Công nghệ thông tin (tổng hợp);"


# --------------------------------------------------------------------------- the Excel file


def test_the_excel_file_has_a_frozen_filtered_task_table_with_overdue_rows_marked(
    app, client, api_token, clock
):
    march_until_the_16th(client, api_token, clock)
    response = web(app, "giamdoc").get(url("BC-TH", suffix=".xlsx"))
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    workbook = load_workbook(io.BytesIO(response.data))
    sheet = workbook["Nhiệm vụ"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:J29"
    headers = [cell.value for cell in sheet[1]]
    assert headers[:6] == [
        "Mã nhiệm vụ",
        "Nhiệm vụ",
        "Đơn vị chủ trì",
        "Thời hạn (theo Kế hoạch)",
        "Hạn hoàn thành",
        "Tình trạng",
    ]
    assert headers[-1] == "Chậm tiến độ"
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert len(rows) == 28
    late = rows["1.a"]
    assert late[4].value == datetime(2025, 2, 28) and late[4].number_format == "dd/mm/yyyy"
    assert (late[5].value, late[-1].value) == ("Đang soạn thảo", "Có")
    assert late[1].fill.start_color.rgb.endswith("FFC7CE")
    on_time = rows["1.b"]
    assert (on_time[5].value, on_time[-1].value) == ("Chưa bắt đầu", None)
    assert on_time[1].fill.fill_type is None
    assert unicodedata.normalize("NFC", late[1].value) == late[1].value and "ệ" in late[2].value

    indicators = workbook["Chỉ tiêu"]
    assert indicators.freeze_panes == "A2" and indicators.auto_filter.ref == "A1:G27"
    assert [row[3].value for row in indicators.iter_rows(min_row=2)].count("55") == 1
    about = {row[0].value: row[1].value for row in workbook["Thông tin"].iter_rows()}
    assert about["Số, ký hiệu"] == "/BC-SKHCN" and about["Trạng thái"] == "Dự thảo"


# --------------------------------------------------------------------------- editing and approval


def test_edits_before_the_leaders_approval_are_kept_and_audited_then_the_document_is_frozen(
    app, client, api_token, clock
):
    api = march_until_the_16th(client, api_token, clock)
    browser = web(app, "cntt.cv")
    fields = edit_form(browser, url("BC-TH"))
    fields |= {
        "number_symbol": "15/BC-SKHCN",
        "summary": "Kết quả tháng 3/2025 thực hiện Nghị quyết số 57-NQ/TW",
        "section_overview": "Các phòng, đơn vị triển khai đúng kế hoạch.",
        "recipients": "UBND tỉnh (b/c)\nGiám đốc Sở\nLưu: VT, CNTT",
    }
    response = browser.post(url("BC-TH"), data=fields)
    assert response.status_code == 302
    [event] = edited_events()
    assert (event.actor_username, event.task_id) == ("cntt.cv", task("BC-TH").id)
    assert set(event.data["fields"]) == {"number_symbol", "summary", "section-overview", "recipients"}
    assert event.data["period"] == PERIOD and event.data["kind"] == "consolidated"

    document = docx_of(browser, url("BC-TH", suffix=".docx"))
    assert document.tables[0].cell(1, 0).paragraphs[0].text == "Số: 15/BC-SKHCN"
    everything = all_texts(document)
    assert "Kết quả tháng 3/2025 thực hiện Nghị quyết số 57-NQ/TW" in everything
    assert "Các phòng, đơn vị triển khai đúng kế hoạch." in everything
    assert "- Giám đốc Sở;" in everything and "- Lưu: VT, CNTT." in everything
    assert "Số phòng, đơn vị đã gửi báo cáo tháng: 2/8." not in everything  # replaced by the edit
    assert "- Phòng Hạ tầng số và Tiêu chuẩn chất lượng: chưa gửi báo cáo." in everything  # follows the data

    # Saving the same again changes nothing and records nothing.
    again = edit_form(browser, url("BC-TH"))
    assert browser.post(url("BC-TH"), data=again).status_code == 302
    assert len(edited_events()) == 1
    # Leaders, supervisors and other units read but do not edit.
    for username in ("giamdoc", "giamsat", "hts.cv"):
        other = web(app, username)
        assert other.get(url("BC-TH")).status_code == (200 if username != "hts.cv" else 403)
        token = csrf_token_from(other.get("/plans").get_data(as_text=True))
        assert other.post(url("BC-TH"), data=again | {"csrf_token": token}).status_code == 403

    api.complete("giamdoc", "BC-TH", "leader_approval", {"decision": "approve"})
    stored = db.session.scalars(select(ReportDocument).where(ReportDocument.kind == "consolidated")).one()
    assert stored.status == "approved" and stored.approved_at is not None
    page = browser.get(url("BC-TH")).get_data(as_text=True)
    assert 'data-status="approved"' in page and 'id="report-form"' not in page

    refused = browser.post(url("BC-TH"), data=again | {"summary": "Sửa sau phê duyệt"})
    assert refused.status_code == 409
    assert "đã được phê duyệt" in refused.get_data(as_text=True)
    assert len(edited_events()) == 1

    # The approved document keeps its data even when the plan moves on.
    start_process(task("1.b"), user("cntt.cv"))
    frozen = docx_of(browser, url("BC-TH", suffix=".docx"))
    assert table_rows(frozen.tables[1])["1.b"][4] == "Chưa bắt đầu"
    assert "Kết quả tháng 3/2025 thực hiện Nghị quyết số 57-NQ/TW" in all_texts(frozen)


def test_a_unit_cannot_read_another_units_draft(app, client, api_token, clock):
    api = march_until_the_4th(client, api_token, clock)
    api.complete("vp.cv", "BC-VP", "unit_report", VP_REPORT)  # now with its head, not signed yet
    draft = url("BC-VP")
    assert web(app, "vp.tp").get(draft).status_code == 200
    for username in ("hts.cv", "cntt.cv"):  # another unit, even the receiving one
        other = web(app, username)
        for suffix in ("", ".docx", ".xlsx"):
            assert other.get(url("BC-VP", suffix=suffix)).status_code == 403
    for username in ("giamdoc", "giamsat", "admin"):
        assert web(app, username).get(draft).status_code == 200
    # Sent back once (still a draft), then the head edits it before signing: everyone may read it then.
    api.complete("vp.tp", "BC-VP", "unit_head_sign", {"decision": "return"}, "Bổ sung đề xuất.")
    assert web(app, "hts.cv").get(draft).status_code == 403
    api.complete("vp.cv", "BC-VP", "unit_report", VP_REPORT)
    head = web(app, "vp.tp")
    fields = edit_form(head, draft) | {"section_proposals": "Đề nghị Sở bố trí kinh phí."}
    assert head.post(draft, data=fields).status_code == 302
    api.complete("vp.tp", "BC-VP", "unit_head_sign", {"decision": "approve"})
    reader = web(app, "hts.cv")
    assert reader.get(draft).status_code == 200
    assert "Đề nghị Sở bố trí kinh phí." in all_texts(docx_of(reader, url("BC-VP", suffix=".docx")))


# --------------------------------------------------------------------------- the minutes


def test_the_minutes_of_the_meeting_on_the_20th(app, client, api_token, clock):
    api = march_until_the_16th(client, api_token, clock)
    api.complete("giamdoc", "BC-TH", "leader_approval", {"decision": "approve"})
    clock.move_to(local(2025, 3, 20, 8, 5))
    tick_twice()
    browser = web(app, "cntt.cv")
    fields = edit_form(browser, url("BC-TH", "meeting-minutes"))
    fields["section_time_place"] = (
        "Thời gian: 08 giờ 30 phút, ngày 20 tháng 3 năm 2025.\nĐịa điểm: Phòng họp tầng 3."
    )
    assert browser.post(url("BC-TH", "meeting-minutes"), data=fields).status_code == 302
    meeting = {
        "meeting_date": "2025-03-20",
        "minutes": "Các đơn vị báo cáo tiến độ.",
        "decisions": "Đẩy nhanh 1.a.",
    }
    api.complete("cntt.cv", "BC-TH", "record_meeting", meeting)

    document = docx_of(browser, url("BC-TH", "meeting-minutes", ".docx"))
    assert document.tables[0].cell(1, 0).paragraphs[0].text.endswith("/BB-SKHCN")
    assert document.tables[0].cell(1, 1).paragraphs[0].text == "Hải Dương, ngày 20 tháng 3 năm 2025"
    title = paragraph_index(document, "BIÊN BẢN")
    assert (
        document.paragraphs[title + 1].text == "Họp giao ban đánh giá kết quả thực hiện Kế hoạch tháng 3/2025"
    )
    everything = all_texts(document)
    for expected in (
        "Địa điểm: Phòng họp tầng 3.",  # the edit made before the meeting was recorded
        "I. THÀNH PHẦN THAM DỰ",
        "Chủ trì: Nguyễn Cao Thắng, Giám đốc Sở Khoa học và Công nghệ.",
        "II. NỘI DUNG CUỘC HỌP",
        "Các đơn vị báo cáo tiến độ.",
        "III. KẾT LUẬN, CHỈ ĐẠO",
        "Đẩy nhanh 1.a.",
    ):
        assert expected in everything, expected
    assert list(table_rows(document.tables[1])) == ["1.a"]  # the overdue tasks the meeting reviewed
    signatures = document.tables[-1]
    secretary, chair = texts(signatures.cell(0, 0)), texts(signatures.cell(0, 1))
    assert (secretary[0], secretary[-1]) == ("THƯ KÝ", "Chuyên viên Phòng Công nghệ thông tin")
    assert (chair[0], chair[-1]) == ("CHỦ TRÌ", "Nguyễn Cao Thắng")
    assert texts(signatures.cell(1, 0))[0] == "Nơi nhận:"
    # Recording the meeting made the minutes final.
    assert browser.post(url("BC-TH", "meeting-minutes"), data=fields).status_code == 409


# --------------------------------------------------------------------------- bad input


def test_bad_input_is_refused_without_a_server_error(app, client, api_token, clock):
    march_until_the_16th(client, api_token, clock)
    browser = web(app, "cntt.cv")
    report = task("BC-TH").id
    for address in (
        f"/tasks/{report}/monthly-report?period=2025-13",
        f"/tasks/{report}/monthly-report?period=abc",
        f"/tasks/{report}/monthly-report.docx?period=2024-01",  # no instance that month
        f"/tasks/{report}/monthly-report?period=" + "9" * 5000,
        f"/tasks/{task('1.a').id}/monthly-report",  # not a reporting task
        f"/tasks/{task('BC-VP').id}/meeting-minutes",  # a unit's report has no minutes
        "/tasks/999999/monthly-report.xlsx",
    ):
        assert browser.get(address).status_code == 404, address
    assert browser.get(f"/tasks/{report}/monthly-report").status_code == 200  # the latest month

    fields = edit_form(browser, url("BC-TH"))
    for bad in (
        {"doc_date": "31/02/2025"},
        {"summary": ""},
        {"summary": "x" * 1001},
        {"section_overview": "y" * 20001},
    ):
        response = browser.post(url("BC-TH"), data=fields | bad)
        assert response.status_code == 422, bad
        assert 'id="edit-errors"' in response.get_data(as_text=True)
    assert (
        browser.post(url("BC-TH"), data={k: v for k, v in fields.items() if k != "csrf_token"}).status_code
        == 400
    )
    stale = browser.post(
        url("BC-TH"), data=fields | {"revision": "7", "summary": "Cũ"}, follow_redirects=True
    )
    assert stale.status_code == 200 and "Cũ" not in stale.get_data(as_text=True)
    decomposed = unicodedata.normalize("NFD", "Báo cáo tiến độ")
    assert browser.post(url("BC-TH"), data=fields | {"summary": decomposed}).status_code == 302
    document = docx_of(browser, url("BC-TH", suffix=".docx"))
    assert "Báo cáo tiến độ" in [p.text for p in document.paragraphs]  # stored as typed, written as NFC
    assert edited_events()
    kinds = db.session.scalars(select(ReportDocument.kind).order_by(ReportDocument.id)).all()
    assert sorted(kinds) == ["consolidated", "unit", "unit"]  # the two signed unit reports were frozen
    assert client.get(url("BC-TH")).status_code == 302  # not signed in: to the sign-in page


# --------------------------------------------------------------------------- links


def test_the_plan_step_and_task_pages_link_to_the_monthly_report(app, client, api_token, clock):
    from lxml import html

    browser = web(app, "vp.cv")
    not_yet = browser.get(f"/tasks/{task('BC-VP').id}/monthly-report")  # no period has started
    assert not_yet.status_code == 302 and not_yet.location.endswith(f"/tasks/{task('BC-VP').id}")

    march_until_the_4th(client, api_token, clock)
    browser = web(app, "vp.cv")
    report = f"/tasks/{task('BC-VP').id}/monthly-report?period=2025-03"
    plan = html.fromstring(browser.get("/plans/1").get_data(as_text=True))
    [row] = plan.xpath("//tr[@data-reporting-code='BC-VP']")
    assert row.xpath(f".//a[@href='{report}']")[0].text_content().strip() == "Báo cáo tháng"
    [item] = Api(client, api_token).worklist("vp.cv", "BC-VP")
    step = html.fromstring(browser.get(f"/steps/{item['id']}").get_data(as_text=True))
    assert step.get_element_by_id("step-monthly-report").get("href") == report
    page = html.fromstring(browser.get(f"/tasks/{task('BC-VP').id}").get_data(as_text=True))
    latest = browser.get(page.get_element_by_id("task-monthly-report").get("href"))
    assert latest.status_code == 200 and 'data-period="2025-03"' in latest.get_data(as_text=True)
