"""A monthly reporting document's tables as an Excel workbook (openpyxl).

Sheet "Nhiệm vụ": one row per task, Vietnamese headers in row 1 (bold, frozen, with an autofilter over
the table), the deadline date as a real date shown dd/mm/yyyy, overdue rows filled light red with
"Có" in the "Chậm tiến độ" column. Sheet "Chỉ tiêu": the indicators likewise. Sheet "Thông tin": the
document's số/ký hiệu, date, trích yếu, issuing body and status.
"""

from __future__ import annotations

import io
import unicodedata

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from app.services.report_content import place_and_date
from app.services.report_documents import ReportView

DATE_FORMAT = "dd/mm/yyyy"
OVERDUE_FILL = PatternFill(fill_type="solid", start_color="FFC7CE", end_color="FFC7CE")
HEADER_FILL = PatternFill(fill_type="solid", start_color="DDEBF7", end_color="DDEBF7")
TASK_HEADERS = (
    ("Mã nhiệm vụ", 12),
    ("Nhiệm vụ", 60),
    ("Đơn vị chủ trì", 30),
    ("Thời hạn (theo Kế hoạch)", 22),
    ("Hạn hoàn thành", 15),
    ("Tình trạng", 24),
    ("Tiến độ (%)", 11),
    ("Kết quả", 50),
    ("Khó khăn, vướng mắc", 40),
    ("Chậm tiến độ", 13),
)
INDICATOR_HEADERS = (
    ("Mã chỉ tiêu", 12),
    ("Chỉ tiêu", 60),
    ("Mục tiêu", 22),
    ("Kết quả", 16),
    ("Kỳ số liệu", 12),
    ("Đơn vị theo dõi", 30),
    ("Đánh giá", 20),
)
STATUS_VI = {"draft": "Dự thảo", "approved": "Đã phê duyệt"}


def nfc(value):
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def render(view: ReportView) -> bytes:
    workbook = Workbook()
    tasks = workbook.active
    tasks.title = "Nhiệm vụ"
    _table(
        tasks, TASK_HEADERS, [_task_row(line) for line in view.tasks], [line.overdue for line in view.tasks]
    )
    for row in tasks.iter_rows(min_row=2, min_col=5, max_col=5):
        row[0].number_format = DATE_FORMAT
    indicators = workbook.create_sheet("Chỉ tiêu")
    _table(indicators, INDICATOR_HEADERS, [_indicator_row(line) for line in view.indicators])
    _about(workbook.create_sheet("Thông tin"), view)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def _task_row(line) -> list:
    return [
        line.code,
        line.title,
        line.lead_unit,
        line.deadline,
        line.due_date,
        line.state_label,
        line.progress,
        line.result,
        line.difficulties,
        "Có" if line.overdue else "",
    ]


def _indicator_row(line) -> list:
    return [
        line.code,
        line.name,
        line.target,
        line.value,
        line.value_period,
        line.responsible,
        line.status_label,
    ]


def _table(sheet: Worksheet, headers, rows: list[list], highlighted: list[bool] | None = None) -> None:
    bold = Font(bold=True)
    sheet.append([title for title, _width in headers])
    for index, (_title, width) in enumerate(headers, 1):
        cell = sheet.cell(row=1, column=index)
        cell.font, cell.fill = bold, HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(index)].width = width
    wrap = Alignment(vertical="top", wrap_text=True)
    for number, values in enumerate(rows):
        sheet.append([nfc(value) for value in values])
        marked = bool(highlighted and highlighted[number])
        for cell in sheet[sheet.max_row]:
            cell.alignment = wrap
            if marked:
                cell.fill = OVERDUE_FILL
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(rows) + 1}"


def _about(sheet: Worksheet, view: ReportView) -> None:
    fields = view.fields
    rows = [
        ("Loại văn bản", view.doc_type),
        ("Cơ quan chủ quản", fields.parent_body),
        ("Cơ quan ban hành", fields.issuing_body),
        ("Số, ký hiệu", fields.number_symbol),
        ("Địa danh, ngày tháng", place_and_date(fields.place, fields.doc_date)),
        ("Trích yếu", fields.summary),
        ("Kỳ báo cáo", view.period),
        ("Người ký", f"{fields.signer_title} {fields.signer_name}".strip()),
        ("Trạng thái", STATUS_VI.get(view.status, view.status)),
    ]
    for label, value in rows:
        sheet.append([label, nfc(value)])
    for cell in sheet["A"]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 90
