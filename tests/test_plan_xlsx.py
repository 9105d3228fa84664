"""Plans in and out as Excel workbooks: the template, export → import round trip, every import error
(with its row and column, nothing imported), unit names as documents write them, who may do what."""

from __future__ import annotations

import io
import unicodedata
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Indicator, Plan, Task, Unit, UnitKind, User, WorkItem, WorkItemStatus
from app.models.plans import TaskKind
from app.services.indicator_values import record_value
from app.services.plan_import import PlanImportError, import_plan
from app.services.plan_xlsx_export import export_plan
from app.services.plan_xlsx_import import XlsxImportError, import_xlsx
from app.services.plan_xlsx_template import (
    INDICATOR_COLUMNS,
    PLAN_FIELDS,
    TASK_COLUMNS,
    template_bytes,
)
from app.services.plan_xlsx_values import CellError, budget_of, deadline_of
from app.services.unit_matching import UnitMatcher
from tests.conftest import csrf_token_from
from tests.test_plan_import import PLAN_YAML
from workflows.engine import advance, start_process

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NEW_NUMBER = "15/KH-SKHCN"
TASK_HEADERS = [c.header for c in TASK_COLUMNS]


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def demo_plan() -> Plan:
    return db.session.scalar(select(Plan).order_by(Plan.id))


def counts() -> tuple[int, int, int, int]:
    """Plans, tasks, indicators and audit rows: an import that fails must change none of them."""
    return tuple(
        db.session.scalar(select(func.count()).select_from(m)) for m in (Plan, Task, Indicator, AuditEvent)
    )


def to_bytes(workbook: Workbook) -> bytes:
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def exported_workbook(number: str | None = NEW_NUMBER) -> Workbook:
    """The demo plan's export, opened for editing; with another số/ký hiệu so it imports as a new plan."""
    workbook = load_workbook(io.BytesIO(export_plan(demo_plan(), user("giamdoc"))))
    if number is not None:
        workbook["Kế hoạch"]["B2"] = number
    return workbook


def column(header: str) -> int:
    return TASK_HEADERS.index(header) + 1


def set_cell(workbook: Workbook, row: int, header: str, value) -> Workbook:
    workbook["Nhiệm vụ"].cell(row, column(header)).value = value
    return workbook


def import_errors(workbook_or_bytes) -> list[str]:
    """The messages of an import that must fail, after checking that it changed nothing."""
    data = workbook_or_bytes if isinstance(workbook_or_bytes, bytes) else to_bytes(workbook_or_bytes)
    before = counts()
    with pytest.raises(XlsxImportError) as caught:
        import_xlsx(data, "plan.xlsx", user("admin"))
    db.session.rollback()
    assert counts() == before
    return caught.value.messages


def imported_plan(workbook: Workbook, username: str = "admin") -> Plan:
    return import_xlsx(to_bytes(workbook), "plan.xlsx", user(username)).plan


def own_tasks(plan: Plan) -> list[Task]:
    return [task for task in plan.tasks if task.kind == TaskKind.PLAN]


# --- the template ---------------------------------------------------------------------------------


def test_template_downloads_with_its_sheets_headers_and_checks(client, auth):
    auth.login("cntt.cv")
    response = client.get("/plans/import/template.xlsx")
    assert response.status_code == 200
    assert response.mimetype == XLSX
    assert "attachment" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["Hướng dẫn", "Kế hoạch", "Nhiệm vụ", "Chỉ tiêu", "Đơn vị"]
    tasks = workbook["Nhiệm vụ"]
    assert [cell.value for cell in tasks[1]] == [
        "Mã", "Mục", "Tên nhiệm vụ", "Nội dung", "Chủ trì", "Phối hợp", "Thời hạn", "Lặp lại",
        "Kết quả dự kiến", "Kinh phí (triệu đồng)",
    ]  # fmt: skip
    assert tasks.max_row == 1 and tasks.freeze_panes == "A2"
    assert tasks.column_dimensions["C"].width == 48
    validated = {str(r): v.type for v in tasks.data_validations.dataValidation for r in v.sqref.ranges}
    assert (validated["E2:E1000"], validated["F2:F1000"], validated["H2:H1000"]) == ("list", "list", "list")
    assert validated["J2:J1000"] == "decimal"
    assert [cell.value for cell in workbook["Chỉ tiêu"][1]] == [c.header for c in INDICATOR_COLUMNS]
    assert [row[0].value for row in workbook["Kế hoạch"].iter_rows(min_row=2)] == [f[1] for f in PLAN_FIELDS]
    units = {row[0]: row[1] for row in workbook["Đơn vị"].iter_rows(min_row=2, values_only=True)}
    assert units["CNTT"] == "Phòng Công nghệ thông tin" and units["VP"] == "Văn phòng Sở"
    assert "Kinh phí: đơn vị triệu đồng" in "\n".join(
        c.value or "" for (c,) in workbook["Hướng dẫn"].iter_rows()
    )


def test_the_empty_template_imports_nothing_and_says_what_is_missing(app):
    errors = import_errors(template_bytes(db.session.scalars(select(Unit)).all()))
    assert "Trang Kế hoạch, Số/ký hiệu: bắt buộc" in errors
    assert "Trang Kế hoạch, Ngày ban hành: bắt buộc" in errors
    assert "Trang Nhiệm vụ: trang không có nhiệm vụ nào" in errors


# --- export → import: the same plan ----------------------------------------------------------------


def test_export_then_import_gives_the_same_plan(app):
    original = demo_plan()
    original.tasks[0].expected_result = "Kế hoạch được UBND tỉnh ban hành"
    original.tasks[0].budget_million_vnd = Decimal("1500.5")
    original.tasks[1].budget_million_vnd = Decimal("0.125")
    db.session.commit()
    copy = imported_plan(exported_workbook())
    assert copy.id != original.id and copy.document_number == NEW_NUMBER
    assert (copy.issued_on, copy.title, copy.doc_type) == (
        original.issued_on,
        original.title,
        original.doc_type,
    )
    assert copy.issuer_name == original.issuer_name and copy.issuer_unit.code == "SKHCN_HD"
    assert [(s.number, s.heading, s.position) for s in copy.sections] == [
        (s.number, s.heading, s.position) for s in original.sections
    ]
    pairs = list(zip(own_tasks(original), own_tasks(copy), strict=True))
    assert len(pairs) == 28
    for before, after in pairs:
        for name in (
            "code", "item", "position", "title", "content", "lead_as_written", "deadline_raw", "due_date",
            "due_precision", "recurrence", "expected_result", "budget_million_vnd", "task_type",
        ):  # fmt: skip
            assert getattr(after, name) == getattr(before, name), (before.code, name)
        assert after.section.number == before.section.number
        assert after.lead_unit.code == before.lead_unit.code
        assert (after.lead_sub_unit and after.lead_sub_unit.code) == (
            before.lead_sub_unit and before.lead_sub_unit.code
        )
        assert [(c.unit.code, c.position, c.as_written) for c in after.coordinations] == [
            (c.unit.code, c.position, c.as_written) for c in before.coordinations
        ]
    indicator_fields = (
        "horizon",
        "number",
        "position",
        "name",
        "unit_of_measure",
        "target",
        "responsible_as_written",
    )
    for before, after in zip(original.indicators, copy.indicators, strict=True):
        assert [getattr(after, f) for f in indicator_fields] == [getattr(before, f) for f in indicator_fields]
        assert after.responsible_unit_id == before.responsible_unit_id
    assert len(copy.indicators) == 26


def test_round_trip_keeps_sub_units_month_precision_and_recurrences(app):
    copy = imported_plan(exported_workbook())
    tasks = {task.code: task for task in own_tasks(copy)}
    h4 = tasks["4.h"]
    assert (h4.lead_unit.code, h4.lead_sub_unit.code) == ("VP", "KHTC")
    assert h4.lead_as_written == "Văn phòng Sở (Bộ phận Kế hoạch Tài chính)"
    b2 = tasks["2.b"]
    assert (b2.deadline_raw, b2.due_date, b2.due_precision, b2.recurrence) == (
        "tháng 5/2025 và thường xuyên",
        date(2025, 5, 31),
        "month",
        ["continuous"],
    )
    assert tasks["8.c"].recurrence == ["continuous", "yearly", "on_demand"]
    assert tasks["9.b"].state == "waiting_guidance"  # a new task waiting for guidance, as the YAML import
    assert copy.imported_by.username == "admin"


def test_an_unchanged_export_is_refused_as_already_stored(app):
    errors = import_errors(exported_workbook(number=None))
    assert errors == [
        "Trang Kế hoạch, Số/ký hiệu: kế hoạch /KH-SKHCN ngày 04/03/2025 của Sở Khoa học và Công nghệ tỉnh "
        "Hải Dương đã có trong hệ thống; mỗi lần nhập tạo một kế hoạch mới"
    ]


def test_a_plan_stored_meanwhile_is_never_updated_by_an_import(app, monkeypatch):
    """Two imports of one plan at once: the check passed for both, the second must not touch the first."""
    from app.services import plan_xlsx_import

    monkeypatch.setattr(plan_xlsx_import, "_already_stored", lambda document: [])
    workbook = exported_workbook(number=None)
    set_cell(workbook, 2, "Tên nhiệm vụ", "Tên đã sửa")
    assert import_errors(workbook) == ["Vui lòng thử lại."]
    assert own_tasks(demo_plan())[0].title != "Tên đã sửa"


def test_import_is_audited_with_its_file_and_counts(app):
    copy = imported_plan(exported_workbook(), "giamdoc")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "plan.imported"))
    assert event.actor_username == "giamdoc"
    assert event.data["format"] == "xlsx" and event.data["plan_id"] == copy.id
    assert event.data["counts"]["tasks"] == 28 and event.data["counts"]["indicators"] == 26


# --- errors: where, what, and nothing imported -----------------------------------------------------


def test_unknown_unit_is_reported_with_row_and_column(app):
    errors = import_errors(set_cell(exported_workbook(), 12, "Chủ trì", "Phòng XYZ"))
    assert errors == ["Dòng 12, cột Chủ trì: không có đơn vị 'Phòng XYZ'"]


def test_ambiguous_unit_names_the_candidates(app):
    for code, name in (("TTCNTT_TINH", "Trung tâm Công nghệ thông tin tỉnh"),):
        db.session.add(Unit(code=code, name=name, kind=UnitKind.EXTERNAL, aliases=["Trung tâm CNTT"]))
    db.session.get(Unit, db.session.scalar(select(Unit.id).where(Unit.code == "TTCNTT"))).aliases = [
        "Trung tâm Công nghệ thông tin và Truyền thông", "Trung tâm CNTT",
    ]  # fmt: skip
    db.session.commit()
    errors = import_errors(set_cell(exported_workbook(), 3, "Phối hợp", "Văn phòng Sở; trung tam CNTT"))
    assert errors == [
        "Dòng 3, cột Phối hợp: 'trung tam CNTT' có thể là nhiều đơn vị: Trung tâm Công nghệ thông tin "
        "(TTCNTT); Trung tâm Công nghệ thông tin tỉnh (TTCNTT_TINH)"
    ]


def test_deactivated_unit_is_refused(app):
    db.session.scalar(select(Unit).where(Unit.code == "TTUD")).active = False
    db.session.commit()
    errors = import_errors(exported_workbook())
    name = "Trung tâm Ứng dụng khoa học công nghệ và Đổi mới sáng tạo"
    assert errors == [f"Dòng 14, cột Chủ trì: đơn vị '{name}' đã ngừng hoạt động"]


@pytest.mark.parametrize(
    ("header", "value", "message"),
    [
        ("Thời hạn", "Năm 2025", "không đọc được thời hạn 'Năm 2025'"),
        ("Thời hạn", "31/02/2025", "ngày '31/02/2025' không có thật"),
        ("Thời hạn", "30/6/2025 và 30/12/2025", "có nhiều hơn một ngày trong '30/6/2025 và 30/12/2025'"),
        ("Lặp lại", "Hằng tuần", "không hiểu kiểu lặp lại 'Hằng tuần'"),
        ("Tên nhiệm vụ", None, "bắt buộc"),
        ("Mã", "1.a", "mã '1.a' bị trùng (đã có ở dòng 2)"),
        ("Kinh phí (triệu đồng)", -5, "kinh phí không được âm"),
        ("Kinh phí (triệu đồng)", "-1.500", "kinh phí không được âm"),
        ("Kinh phí (triệu đồng)", "nhiều", "'nhiều' không phải là số tiền triệu đồng"),
        ("Kinh phí (triệu đồng)", "1,2345", "tối đa 3 chữ số thập phân"),
        ("Chủ trì", "Văn phòng Sở; Phòng Công nghệ thông tin", "chỉ ghi một đơn vị chủ trì"),
        ("Mục", "Không có số", "ghi số mục rồi đến tên mục"),
        ("Mục", "1. Một tên khác", "mục 1 đã có tên khác ở dòng 2"),
    ],
)
def test_each_bad_cell_is_reported_with_its_row_and_column(app, header, value, message):
    errors = import_errors(set_cell(exported_workbook(), 3, header, value))
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"Dòng 3, cột {header}: {message}"), errors


def test_every_error_is_listed_at_once(app):
    workbook = exported_workbook()
    set_cell(workbook, 2, "Chủ trì", "Phòng XYZ")
    set_cell(workbook, 5, "Thời hạn", "sớm")
    set_cell(workbook, 7, "Kinh phí (triệu đồng)", "-1")
    set_cell(workbook, 9, "Tên nhiệm vụ", "   ")
    workbook["Chỉ tiêu"]["F4"] = "Phòng Không Tồn Tại"
    workbook["Kế hoạch"]["B3"] = "31/13/2025"
    errors = import_errors(workbook)
    assert errors == [
        "Trang Kế hoạch, Ngày ban hành: ngày '31/13/2025' không có thật",
        "Dòng 2, cột Chủ trì: không có đơn vị 'Phòng XYZ'",
        errors[2],
        "Dòng 7, cột Kinh phí (triệu đồng): kinh phí không được âm",
        "Dòng 9, cột Tên nhiệm vụ: bắt buộc",
        "Trang Chỉ tiêu, dòng 4, cột Đơn vị chủ trì theo dõi: không có đơn vị 'Phòng Không Tồn Tại'",
    ]
    assert errors[2].startswith("Dòng 5, cột Thời hạn: không đọc được thời hạn 'sớm'")


def test_missing_required_column_is_named(app):
    workbook = exported_workbook()
    workbook["Nhiệm vụ"].cell(1, column("Chủ trì"), "Ghi chú")
    assert import_errors(workbook) == ["Trang Nhiệm vụ: thiếu cột 'Chủ trì'"]


def test_duplicate_indicator_and_bad_horizon(app):
    workbook = exported_workbook()
    workbook["Chỉ tiêu"]["B3"] = 1
    workbook["Chỉ tiêu"]["A5"] = "hai nghìn"
    assert import_errors(workbook) == [
        "Trang Chỉ tiêu, dòng 3, cột STT: chỉ tiêu 2030-1 bị trùng (đã có ở dòng 2)",
        "Trang Chỉ tiêu, dòng 5, cột Mốc năm: 'hai nghìn' không phải là số nguyên",
    ]


def zip_with(name: str, content: bytes) -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        archive.writestr(name, content)
    return output.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"this is not a workbook", id="text"),
        pytest.param(b"PK\x03\x04 broken zip", id="broken-zip"),
        pytest.param("truncated", id="truncated-xlsx"),
        # ids by hand: the zip bytes carry a timestamp, and pytest-xdist workers must collect equal ids
        pytest.param(zip_with("hello.txt", b"hello"), id="zip-without-a-workbook"),
        pytest.param(
            zip_with("[Content_Types].xml", b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'),
            id="zip-with-a-dtd",
        ),
    ],
)
def test_files_that_are_not_workbooks_get_a_message(app, data):
    if data == "truncated":
        whole = to_bytes(exported_workbook())
        data = whole[: len(whole) // 2]
    assert import_errors(data) == ["Tệp không phải là tệp Excel (.xlsx)."]


def test_empty_file(app):
    assert import_errors(b"") == ["Tệp rỗng."]


# --- unit names as documents write them -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Phòng Công nghệ thông tin", "CNTT"),
        ("Phong Cong nghe thong tin", "CNTT"),
        ("  PHÒNG   công nghệ  thông tin ", "CNTT"),
        ("cntt", "CNTT"),
        ("Văn phòng Sở", "VP"),
        ("van phong so", "VP"),
        ("Trung tam Cong nghe thong tin va Truyen thong", "TTCNTT"),
        ("Phòng Quản lý Công nghệ – Sở hữu trí tuệ", "QLCN"),
        ("UBND tỉnh", "UBND_TINH"),
        ("Van phong So (Bo phan Ke hoach Tai chinh)", "KHTC"),
        ("Các phòng, đơn vị thuộc Sở", "ALL"),
        (unicodedata.normalize("NFD", "Phòng Hạ tầng số và Tiêu chuẩn chất lượng"), "HTS"),
    ],
)
def test_unit_names_match_whatever_the_accents_case_and_spaces(app, text, code):
    match = UnitMatcher.from_database().match(text)
    assert match.unit is not None and match.unit.code == code


def test_unknown_names_match_nothing(app):
    matcher = UnitMatcher.from_database()
    assert matcher.match("Phòng XYZ").unit is None and matcher.match("Phòng XYZ").candidates == []


def test_unaccented_names_import_to_the_right_units_without_as_written(app):
    workbook = exported_workbook()
    set_cell(workbook, 2, "Chủ trì", "Phong Cong nghe thong tin")
    set_cell(workbook, 3, "Phối hợp", "van phong so\ntrung tam cong nghe thong tin")
    tasks = {task.code: task for task in own_tasks(imported_plan(workbook))}
    assert (tasks["1.a"].lead_unit.code, tasks["1.a"].lead_as_written) == ("CNTT", None)
    assert [(c.unit.code, c.as_written) for c in tasks["1.b"].coordinations] == [
        ("VP", None),
        ("TTCNTT", None),
    ]


# --- values -------------------------------------------------------------------------------------


def test_month_only_deadline_keeps_its_precision(app):
    workbook = set_cell(exported_workbook(), 2, "Thời hạn", "Tháng 9/2025")
    set_cell(workbook, 2, "Lặp lại", None)
    task = own_tasks(imported_plan(workbook))[0]
    assert (task.deadline_raw, task.due_date, task.due_precision, task.recurrence) == (
        "Tháng 9/2025",
        date(2025, 9, 30),
        "month",
        ["none"],
    )


def test_excel_date_cells_and_short_section_cells(app):
    workbook = exported_workbook()
    workbook["Kế hoạch"]["B3"] = datetime(2025, 3, 4)
    set_cell(workbook, 2, "Thời hạn", datetime(2025, 6, 30))
    set_cell(workbook, 2, "Lặp lại", None)
    set_cell(workbook, 3, "Mục", None)  # the section of the row above
    set_cell(workbook, 4, "Mục", 2)  # section 2, named on another row
    copy = imported_plan(workbook)
    tasks = own_tasks(copy)
    assert copy.issued_on == date(2025, 3, 4)
    assert (tasks[0].deadline_raw, tasks[0].due_date, tasks[0].due_precision) == (
        "30/06/2025",
        date(2025, 6, 30),
        "day",
    )
    assert [t.section.number for t in tasks[:4]] == ["1", "1", "2", "2"]
    assert tasks[2].section.heading == demo_plan().sections[1].heading


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30/6/2025", (date(2025, 6, 30), "day", ["none"])),
        ("Tháng 9/2025", (date(2025, 9, 30), "month", ["none"])),
        ("tháng 2 năm 2024", (date(2024, 2, 29), "month", ["none"])),
        ("Quý II/2025", (date(2025, 6, 30), "month", ["none"])),
        ("Thường xuyên", (None, None, ["continuous"])),
        ("Hằng năm", (None, None, ["yearly"])),
        ("Theo hướng dẫn của Trung ương", (None, None, ["on_guidance"])),
        ("Tháng 5/2025 và thường xuyên", (date(2025, 5, 31), "month", ["continuous"])),
        ("30/12/2025 và các năm tiếp theo", (date(2025, 12, 30), "day", ["yearly"])),
        ("Đột xuất", (None, None, ["on_demand"])),
    ],
)
def test_deadlines_as_plans_write_them(app, text, expected):
    raw, *parsed = deadline_of(text)
    assert raw == text and tuple(parsed) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1.500", Decimal(1500)), ("1,5", Decimal("1.5")), (1500, Decimal(1500)), (1.5, Decimal("1.5")),
     ("1.500,25", Decimal("1500.25")), ("2.5", Decimal("2.5")), ("120 triệu đồng", Decimal(120)),
     ("0", Decimal(0)), (None, None)],
)  # fmt: skip
def test_budgets_in_million_vnd_the_vietnamese_way(app, value, expected):
    assert budget_of(value) == expected


def test_budgets_are_imported_in_million_vnd(app):
    workbook = exported_workbook()
    for row, value in ((2, "1.500"), (3, "1,5"), (4, 2500)):
        set_cell(workbook, row, "Kinh phí (triệu đồng)", value)
    tasks = own_tasks(imported_plan(workbook))
    assert [t.budget_million_vnd for t in tasks[:4]] == [Decimal(1500), Decimal("1.5"), Decimal(2500), None]


def test_budget_errors_are_cell_errors(app):
    for value in ("-1", "abc", "1,0001", "10.000.000.000.000"):
        with pytest.raises(CellError):
            budget_of(value)


def test_yaml_import_shares_the_budget_check(app):
    data = {**PLAN_YAML, "tasks": [{**PLAN_YAML["tasks"][0], "budget": -3}, *PLAN_YAML["tasks"][1:]]}
    with pytest.raises(PlanImportError) as caught:
        import_plan(data)
    assert caught.value.errors == ["tasks[0].budget: expected from 0 to below 10^13, got -3"]


def test_vietnamese_text_arrives_in_nfc(app):
    workbook = exported_workbook()
    title = "Xây dựng Kế hoạch chuyển đổi số năm 2026 của Sở"
    set_cell(workbook, 2, "Tên nhiệm vụ", unicodedata.normalize("NFD", title))
    task = own_tasks(imported_plan(workbook))[0]
    assert task.title == title and unicodedata.is_normalized("NFC", task.title)
    assert unicodedata.is_normalized("NFC", task.content)


# --- the export ---------------------------------------------------------------------------------


def test_export_shows_states_history_and_indicator_values(app, client, auth):
    task = db.session.scalar(select(Task).where(Task.code == "1.a"))
    start_process(task, user("cntt.cv"))
    item = db.session.scalar(
        select(WorkItem).where(WorkItem.task_id == task.id, WorkItem.status == WorkItemStatus.OPEN)
    )
    data = {
        "consulted_units": ["VP"],
        "summary": "Dự thảo",
        "assignee": "cntt.cv",
        "expected_result": "Kế hoạch",
    }
    advance(item, user("cntt.cv"), data, None)
    indicator = db.session.scalar(select(Indicator).where(Indicator.horizon == 2030, Indicator.number == 3))
    record_value(indicator, user("cntt.cv"), period="2025", value="12", note=None, evidence=None)
    auth.login("hts.cv")
    response = client.get(f"/plans/{demo_plan().id}/export.xlsx")
    assert response.status_code == 200 and response.mimetype == XLSX
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames[:3] == ["Kế hoạch", "Nhiệm vụ", "Chỉ tiêu"]
    assert {"Tiến độ", "Theo dõi chỉ tiêu", "Đơn vị", "Hướng dẫn"} <= set(workbook.sheetnames)
    progress = {row[0]: row for row in workbook["Tiến độ"].iter_rows(min_row=2, values_only=True)}
    first = progress["1.a"]
    assert first[3] == "Trưởng đơn vị đang xem xét"  # the state (reviewing), in Vietnamese
    assert first[8] == 1  # one step done
    assert "→" in first[9] and first[10] == "Chuyên viên Phòng Công nghệ thông tin"
    assert isinstance(first[11], datetime)
    assert workbook["Tiến độ"].cell(2, 12).number_format == "dd/mm/yyyy hh:mm"
    tracking = {(r[0], r[1]): r for r in workbook["Theo dõi chỉ tiêu"].iter_rows(min_row=2, values_only=True)}
    assert tracking[(2030, 3)][6:8] == ("12", "2025")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "plan.exported"))
    assert event.actor_username == "hts.cv" and event.data["tasks"] == 28


def test_export_of_an_unknown_plan_is_404(client, auth):
    auth.login("cntt.cv")
    assert client.get("/plans/999999/export.xlsx").status_code == 404


def test_plan_page_links_to_the_export(client, auth):
    auth.login("cntt.cv")
    page = client.get("/plans/1").get_data(as_text=True)
    assert 'href="/plans/1/export.xlsx"' in page


# --- the import page: who, CSRF, the upload ---------------------------------------------------------


@pytest.mark.parametrize("username", ["cntt.cv", "cntt.tp", "giamsat"])
def test_only_leaders_and_admins_may_import(client, auth, username):
    auth.login(username)
    assert client.get("/plans/import").status_code == 403
    token = csrf_token_from(client.get("/plans").get_data(as_text=True))
    before = counts()
    response = client.post("/plans/import", data={"csrf_token": token, "file": (io.BytesIO(b"x"), "p.xlsx")})
    assert response.status_code == 403
    assert counts() == before


def test_a_leader_imports_through_the_page(app, client, auth):
    data = to_bytes(exported_workbook())
    auth.login("giamdoc")
    page = client.get("/plans/import").get_data(as_text=True)
    assert 'href="/plans/import/template.xlsx"' in page
    token = csrf_token_from(page)
    response = client.post("/plans/import", data={"csrf_token": token, "file": (io.BytesIO(data), "kh.xlsx")})
    assert response.status_code == 302
    plan = db.session.scalar(select(Plan).where(Plan.number == "15"))
    assert response.headers["Location"].endswith(f"/plans/{plan.id}")
    assert plan.imported_by.username == "giamdoc"


def test_the_page_lists_the_errors_and_imports_nothing(app, client, auth):
    data = to_bytes(set_cell(exported_workbook(), 12, "Chủ trì", "Phòng XYZ"))
    auth.login("admin")
    token = csrf_token_from(client.get("/plans/import").get_data(as_text=True))
    before = counts()
    response = client.post("/plans/import", data={"csrf_token": token, "file": (io.BytesIO(data), "kh.xlsx")})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Dòng 12, cột Chủ trì: không có đơn vị &#39;Phòng XYZ&#39;" in html
    assert counts() == before


def test_a_corrupt_upload_is_a_message_not_a_500(client, auth):
    auth.login("admin")
    token = csrf_token_from(client.get("/plans/import").get_data(as_text=True))
    response = client.post(
        "/plans/import", data={"csrf_token": token, "file": (io.BytesIO(b"PK\x03\x04"), "x.xlsx")}
    )
    assert response.status_code == 422
    assert "Tệp không phải là tệp Excel (.xlsx)." in response.get_data(as_text=True)


def test_upload_without_a_file_or_csrf_is_refused(client, auth):
    auth.login("admin")
    before = counts()
    token = csrf_token_from(client.get("/plans/import").get_data(as_text=True))
    assert client.post("/plans/import", data={"csrf_token": token}).status_code == 422
    assert client.post("/plans/import", data={"file": (io.BytesIO(b"x"), "x.xlsx")}).status_code == 400
    assert counts() == before


# --- CLI ----------------------------------------------------------------------------------------


def test_cli_imports_a_workbook(app, runner, tmp_path):
    path = tmp_path / "kh.xlsx"
    path.write_bytes(to_bytes(exported_workbook()))
    result = runner.invoke(args=["plans", "import-xlsx", str(path), "--user", "admin"])
    assert result.exit_code == 0, result.output
    assert "28 tasks (28 created, 0 updated, 0 unchanged)" in result.output


def test_cli_lists_the_errors_and_imports_nothing(app, runner, tmp_path):
    path = tmp_path / "kh.xlsx"
    path.write_bytes(to_bytes(set_cell(exported_workbook(), 12, "Chủ trì", "Phòng XYZ")))
    before = counts()
    result = runner.invoke(args=["plans", "import-xlsx", str(path)])
    assert result.exit_code == 1
    assert "error: Dòng 12, cột Chủ trì: không có đơn vị 'Phòng XYZ'" in result.stderr
    assert counts() == before
