"""The plan workbook's layout, shared by the downloadable template, the import and the whole-plan export.

The layout is a file format: its sheet names and column headers are fixed Vietnamese texts (not
translated), so a workbook exported in either interface language imports again. Sheets:

- "Kế hoạch": the plan's header, one field per row (label in column A, value in column B);
- "Nhiệm vụ": one task per row under a header row (TASK_COLUMNS);
- "Chỉ tiêu": one indicator per row (INDICATOR_COLUMNS), optional on import;
- "Đơn vị": the units given (the active ones) with their codes, names, short names and other names
  (for reference and for the drop-down lists; the import ignores it), and "Hướng dẫn": how to fill it.

Headers are found by their text, ignoring case, accents and a part in parentheses ("Kinh phí" and
"Kinh phí (triệu đồng)" are one column); columns may be in any order and other columns are ignored.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from app.models import Unit
from app.services.plan_xlsx_values import RECURRENCE_WORDS
from app.services.unit_matching import fold

SHEET_PLAN = "Kế hoạch"
SHEET_TASKS = "Nhiệm vụ"
SHEET_INDICATORS = "Chỉ tiêu"
SHEET_UNITS = "Đơn vị"
SHEET_HELP = "Hướng dẫn"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
VALIDATED_ROWS = 1000  # rows of the drop-down lists and checks in an empty template
TEXT = "@"
BUDGET_FORMAT = "#,##0.###"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    width: int
    note: str
    text: bool = False  # formatted as text, so Excel keeps "4.10" and "30/6/2025" as typed
    wrap: bool = True


TASK_COLUMNS = (
    Column("code", "Mã", 9, "Mã nhiệm vụ, duy nhất trong kế hoạch (vd. 1.a). Bắt buộc.", text=True),
    Column(
        "section",
        "Mục",
        36,
        "Số mục và tên mục (vd. 1. Nâng cao nhận thức...). Dòng sau có thể "
        "chỉ ghi số mục; để trống là cùng mục với dòng trên.",
        text=True,
    ),  # fmt: skip
    Column("title", "Tên nhiệm vụ", 48, "Bắt buộc."),
    Column("content", "Nội dung", 60, "Nội dung thực hiện."),
    Column(
        "lead",
        "Chủ trì",
        30,
        "Một đơn vị, ghi như trong văn bản: mã, tên, tên viết tắt hoặc tên khác "
        "(xem trang Đơn vị); không phân biệt hoa thường, có dấu hay không dấu. Bắt buộc.",
    ),  # fmt: skip
    Column(
        "coordinating",
        "Phối hợp",
        32,
        "Các đơn vị phối hợp, cách nhau bằng dấu chấm phẩy (;) hoặc xuống dòng.",
    ),
    Column(
        "deadline",
        "Thời hạn",
        22,
        "Như trong văn bản: 30/6/2025, Tháng 9/2025, Quý II/2025, Thường xuyên, "
        "Hằng năm, Theo hướng dẫn của Trung ương, Tháng 5/2025 và thường xuyên...",
        text=True,
    ),  # fmt: skip
    Column(
        "recurrence",
        "Lặp lại",
        22,
        "Không bắt buộc: để trống thì đọc từ cột Thời hạn. Nhiều giá trị "
        "cách nhau bằng dấu chấm phẩy: " + "; ".join(RECURRENCE_WORDS.values()) + ".",
    ),  # fmt: skip
    Column("expected_result", "Kết quả dự kiến", 36, "Sản phẩm, kết quả cần đạt."),
    Column(
        "budget",
        "Kinh phí (triệu đồng)",
        14,
        "Triệu đồng. Dấu phẩy là dấu thập phân, dấu chấm ngăn "
        "cách hàng nghìn: 1.500 = một nghìn năm trăm triệu; 1,5 = một triệu năm trăm nghìn.",
        wrap=False,
    ),  # fmt: skip
)
INDICATOR_COLUMNS = (
    Column("horizon", "Mốc năm", 10, "Năm đích của chỉ tiêu (vd. 2030). Bắt buộc.", wrap=False),
    Column("number", "STT", 7, "Số thứ tự trong mốc năm. Bắt buộc.", wrap=False),
    Column("name", "Tên chỉ tiêu", 50, "Bắt buộc."),
    Column("unit", "Đơn vị tính", 14, "Vd. %, Thứ bậc."),
    Column(
        "target",
        "Mục tiêu",
        30,
        "Như trong văn bản: > 55, 16 - 18, Tiên tiến, hiện đại... Bắt buộc.",
        text=True,
    ),
    Column(
        "responsible", "Đơn vị chủ trì theo dõi", 34, "Một đơn vị, ghi như cột Chủ trì của trang Nhiệm vụ."
    ),
)
PLAN_FIELDS = (
    (
        "number",
        "Số/ký hiệu",
        "Vd. 726/KH-UBND; để trống phần số nếu văn bản chưa có số: /KH-SKHCN. Bắt buộc.",
    ),
    ("date", "Ngày ban hành", "dd/mm/yyyy, vd. 04/3/2025. Bắt buộc."),
    ("title", "Trích yếu (tiêu đề)", "Bắt buộc."),
    ("issuer", "Cơ quan ban hành", "Vd. Sở Khoa học và Công nghệ tỉnh Hải Dương. Bắt buộc."),
    ("doc_type", "Loại văn bản", "Để trống là Kế hoạch."),
)
UNIT_HEADERS = ("Mã", "Tên đơn vị", "Tên viết tắt", "Tên khác")
HELP_LINES = (
    "MẪU NHẬP KẾ HOẠCH TỪ EXCEL",
    "",
    "1. Trang «Kế hoạch»: điền số/ký hiệu, ngày ban hành, trích yếu và cơ quan ban hành ở cột B.",
    "2. Trang «Nhiệm vụ»: mỗi dòng một nhiệm vụ, theo thứ tự trong văn bản. Giữ nguyên dòng tiêu đề; "
    "không đổi tên các cột (có thể đổi thứ tự, thêm cột khác: hệ thống bỏ qua cột lạ).",
    "   - Mục: số mục và tên mục, vd. «1. Nâng cao nhận thức...». Các dòng sau của cùng mục có thể chỉ "
    "ghi «1» hoặc để trống.",
    "   - Chủ trì, Phối hợp: ghi tên đơn vị như trong văn bản; hệ thống tìm theo mã, tên, tên viết tắt "
    "và tên khác ở trang «Đơn vị», không phân biệt chữ hoa, chữ thường, có dấu hay không dấu.",
    "   - Thời hạn: 30/6/2025 (hạn theo ngày), Tháng 9/2025 (hạn theo tháng: cuối tháng), Quý II/2025 "
    "(cuối quý), Thường xuyên, Hằng năm, Theo hướng dẫn của Trung ương, Đột xuất, hoặc kết hợp: "
    "«Tháng 5/2025 và thường xuyên».",
    "   - Kinh phí: đơn vị triệu đồng; dấu phẩy là dấu thập phân, dấu chấm ngăn cách hàng nghìn "
    "(1.500 là một nghìn năm trăm triệu đồng; 1,5 là một triệu năm trăm nghìn đồng).",
    "3. Trang «Chỉ tiêu» (không bắt buộc): mỗi dòng một chỉ tiêu với mốc năm, số thứ tự, tên, đơn vị "
    "tính, mục tiêu như trong văn bản và đơn vị chủ trì theo dõi.",
    "4. Khi nhập, hệ thống kiểm tra toàn bộ tệp và liệt kê mọi lỗi kèm dòng và cột. Chỉ cần một lỗi "
    "là không có gì được nhập; sửa hết lỗi rồi nhập lại.",
    "5. Mỗi lần nhập tạo một kế hoạch mới; một kế hoạch đã có (cùng cơ quan, số/ký hiệu và ngày) "
    "không được nhập lại.",
)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_PARENTHESES = re.compile(r"\([^)]*\)")


def header_key(text: object) -> str:
    """How a header or label is recognised: case, accents and a part in parentheses ignored."""
    return " ".join(fold(_PARENTHESES.sub(" ", str(text or ""))).split())


@dataclass
class PlanSheets:
    """What the three importable sheets hold: the header's values and one dict per row, by key."""

    header: dict[str, object] = field(default_factory=lambda: {"doc_type": "Kế hoạch"})
    tasks: list[dict[str, object]] = field(default_factory=list)
    indicators: list[dict[str, object]] = field(default_factory=list)


def template_bytes(units: Iterable[Unit]) -> bytes:
    """The empty template (instructions first)."""
    workbook = plan_workbook(PlanSheets(), list(units))
    workbook.move_sheet(SHEET_HELP, offset=-(len(workbook.sheetnames) - 1))
    workbook.active = 0
    return workbook_bytes(workbook)


def plan_workbook(content: PlanSheets, units: list[Unit]) -> Workbook:
    """A workbook with the importable sheets filled from `content`, then the units and the instructions."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    _plan_sheet(workbook.create_sheet(SHEET_PLAN), content.header)
    names = _units_sheet_range(len(units))
    tasks = _table(workbook.create_sheet(SHEET_TASKS), TASK_COLUMNS, content.tasks)
    _task_checks(tasks, names, max(len(content.tasks) + 1, VALIDATED_ROWS))
    indicators = _table(workbook.create_sheet(SHEET_INDICATORS), INDICATOR_COLUMNS, content.indicators)
    _indicator_checks(indicators, names, max(len(content.indicators) + 1, VALIDATED_ROWS))
    _units_sheet(workbook.create_sheet(SHEET_UNITS), units)
    _help_sheet(workbook.create_sheet(SHEET_HELP))
    workbook.active = workbook.sheetnames.index(SHEET_TASKS)
    return workbook


def workbook_bytes(workbook: Workbook) -> bytes:
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def style_header(sheet: Worksheet, widths: Iterable[int]) -> None:
    """Bold, shaded, wrapped first row, frozen, with these column widths."""
    for index, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    sheet.freeze_panes = "A2"


def _plan_sheet(sheet: Worksheet, values: dict[str, object]) -> None:
    sheet.append(["Thông tin", "Nội dung"])
    for key, label, note in PLAN_FIELDS:
        sheet.append([label, values.get(key)])
        label_cell, value_cell = sheet.cell(sheet.max_row, 1), sheet.cell(sheet.max_row, 2)
        label_cell.font = Font(bold=True)
        label_cell.comment = Comment(note, "Tiến độ")
        value_cell.number_format = TEXT
        value_cell.alignment = Alignment(wrap_text=True, vertical="top")
    style_header(sheet, (24, 100))


def _table(sheet: Worksheet, columns: tuple[Column, ...], rows: list[dict[str, object]]) -> Worksheet:
    sheet.append([column.header for column in columns])
    for index, column in enumerate(columns, 1):
        sheet.cell(1, index).comment = Comment(column.note, "Tiến độ")
        dimension = sheet.column_dimensions[get_column_letter(index)]
        if column.text:
            dimension.number_format = TEXT
        elif column.key == "budget":
            dimension.number_format = BUDGET_FORMAT
    for row in rows:
        sheet.append([row.get(column.key) for column in columns])
    wrapped = [index for index, column in enumerate(columns, 1) if column.wrap]
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            column = columns[cell.column - 1]
            cell.number_format = (
                TEXT if column.text else BUDGET_FORMAT if column.key == "budget" else "General"
            )
            cell.alignment = Alignment(wrap_text=cell.column in wrapped, vertical="top")
    style_header(sheet, [column.width for column in columns])
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(len(rows) + 1, 2)}"
    return sheet


def _letter(columns: tuple[Column, ...], key: str) -> str:
    return get_column_letter(next(i for i, column in enumerate(columns, 1) if column.key == key))


def _units_sheet_range(count: int) -> str:
    return f"'{SHEET_UNITS}'!$B$2:$B${max(count + 1, 2)}"


def _task_checks(sheet: Worksheet, unit_names: str, last_row: int) -> None:
    """Drop-down lists (units, recurrences) that still allow other texts; a budget check that warns."""
    units = DataValidation(type="list", formula1=unit_names, allow_blank=True, showErrorMessage=False)
    recurrences = DataValidation(
        type="list", formula1='"' + ",".join(RECURRENCE_WORDS.values()) + '"', showErrorMessage=False
    )
    budget = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", errorStyle="warning")
    budget.error, budget.errorTitle = "Kinh phí là số triệu đồng, không âm.", "Kinh phí"
    for validation, keys in (
        (units, ("lead", "coordinating")),
        (recurrences, ("recurrence",)),
        (budget, ("budget",)),
    ):
        for key in keys:
            letter = _letter(TASK_COLUMNS, key)
            validation.add(f"{letter}2:{letter}{last_row}")
        sheet.add_data_validation(validation)


def _indicator_checks(sheet: Worksheet, unit_names: str, last_row: int) -> None:
    horizon = DataValidation(type="whole", operator="between", formula1="2000", formula2="2100")
    horizon.error, horizon.errorTitle = "Mốc năm là một năm, từ 2000 đến 2100.", "Mốc năm"
    number = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="1")
    units = DataValidation(type="list", formula1=unit_names, allow_blank=True, showErrorMessage=False)
    for validation, key in ((horizon, "horizon"), (number, "number"), (units, "responsible")):
        letter = _letter(INDICATOR_COLUMNS, key)
        validation.add(f"{letter}2:{letter}{last_row}")
        sheet.add_data_validation(validation)


def _units_sheet(sheet: Worksheet, units: list[Unit]) -> None:
    sheet.append(list(UNIT_HEADERS))
    for unit in units:
        aliases = "; ".join(unit.aliases or [])
        sheet.append([unit.code, unit.name, unit.short_name, aliases or None])
    style_header(sheet, (16, 56, 28, 60))


def _help_sheet(sheet: Worksheet) -> None:
    for line in HELP_LINES:
        sheet.append([line])
    sheet.column_dimensions["A"].width = 140
    sheet["A1"].font = Font(bold=True, size=13)
    for (cell,) in sheet.iter_rows(min_row=2):
        cell.alignment = Alignment(wrap_text=True, vertical="top")
