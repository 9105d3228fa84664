"""A monthly reporting document as a Word file in the format of Nghị định 30/2020/NĐ-CP (Phụ lục I),
written with python-docx.

- A4 portrait; margins top 20 mm, bottom 20 mm, left 30 mm, right 15 mm; Times New Roman throughout.
- Page numbers from the second page on: Arabic numerals, 13 pt, upright, centred in the top margin (a
  PAGE field, so Word and LibreOffice count the pages as they lay them out).
- The header, a borderless table: left the cơ quan chủ quản (upper case, 12 pt) over the issuing body
  (upper case, bold, 12 pt) with a short line under it, then "Số: .../BC-..." (13 pt); right the quốc
  hiệu (upper case, bold, 12 pt) and the tiêu ngữ (bold, 13 pt, underlined), then place and date
  (italic, 14 pt).
- The document type (BÁO CÁO / BIÊN BẢN, bold, 14 pt, centred), the trích yếu under it (bold, 14 pt)
  with a short line.
- The body: 14 pt, justified, first line indented 1 cm, 6 pt between paragraphs; headings bold; the task
  and indicator tables in 11 pt with a header row repeated on each page; overdue tasks marked.
- The signature block on the right (the signer's title upper case bold, the name bold, room for the
  signature between) and "Nơi nhận:" (bold italic, 12 pt) with its list (11 pt) on the left; the
  minutes are signed by the secretary (left) and the chair (right).
Every text is written in Unicode NFC, so Vietnamese diacritics stay composed.
"""

from __future__ import annotations

import io
import math
import unicodedata

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor, Twips
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from app.models.reports import ReportKind
from app.services.report_content import IndicatorLine, TaskLine, place_and_date
from app.services.report_documents import ReportView

FONT = "Times New Roman"
PAGE_WIDTH, PAGE_HEIGHT = Mm(210), Mm(297)


def _twips_at_least(mm: float) -> Twips:
    """Word keeps margins in twips: round up, so 15 mm stays at least 15 mm."""
    return Twips(math.ceil(mm * 1440 / 25.4))


MARGIN_TOP, MARGIN_BOTTOM = _twips_at_least(20), _twips_at_least(20)
MARGIN_LEFT, MARGIN_RIGHT = _twips_at_least(30), _twips_at_least(15)
TEXT_WIDTH_MM = 165
HEADER_WIDTHS_MM = (70, 95)
SIGNATURE_WIDTHS_MM = (80, 85)
QUOC_HIEU = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
TIEU_NGU = "Độc lập - Tự do - Hạnh phúc"
OVERDUE_MARK = "Chậm tiến độ"
TASK_COLUMNS = (
    ("Mã", 12),
    ("Nhiệm vụ", 46),
    ("Đơn vị chủ trì", 22),
    ("Thời hạn", 18),
    ("Tình trạng", 20),
    ("Tiến độ (%)", 11),
    ("Kết quả, khó khăn", 22),
    ("Ghi chú", 14),
)
INDICATOR_COLUMNS = (
    ("TT", 8),
    ("Chỉ tiêu", 55),
    ("Mục tiêu", 22),
    ("Kết quả", 20),
    ("Kỳ số liệu", 15),
    ("Đơn vị theo dõi", 25),
    ("Đánh giá", 20),
)
RED = RGBColor(0xC0, 0x00, 0x00)
# w:pPr children after w:pBdr, in the schema's order (python-docx has no API for paragraph borders)
_AFTER_PBDR = (
    "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
    "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid",
    "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
    "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle",
    "w:rPr", "w:sectPr", "w:pPrChange",
)  # fmt: skip


def nfc(text: str | None) -> str:
    return unicodedata.normalize("NFC", text or "")


def render(view: ReportView) -> bytes:
    document = Document()
    _page(document)
    _page_numbers(document)
    _styles(document)
    _header(document, view)
    _title(document, view)
    for section in view.fields.sections:
        if section.heading:
            _paragraph(document, section.heading, bold=True)
        for line in paragraphs(section.text):
            _paragraph(document, line)
        rows = view.table(section.table)
        if section.table in ("tasks", "overdue") and rows:
            _task_table(document, rows)
        elif section.table == "indicators" and rows:
            _indicator_table(document, rows)
    _signatures(document, view)
    properties = document.core_properties
    properties.title = nfc(view.fields.summary)[:255]
    properties.author = nfc(view.fields.issuing_body)[:255]
    properties.subject = nfc(f"{view.doc_type} {view.period}")
    properties.language = "vi-VN"
    output = io.BytesIO()
    document.save(output)
    return output.getvalue()


def paragraphs(text: str) -> list[str]:
    return [line.strip() for line in nfc(text).replace("\r\n", "\n").split("\n") if line.strip()]


# --- page and styles --------------------------------------------------------------------------------


def _page(document: DocxDocument) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
    section.top_margin, section.bottom_margin = MARGIN_TOP, MARGIN_BOTTOM
    section.left_margin, section.right_margin = MARGIN_LEFT, MARGIN_RIGHT


def _page_numbers(document: DocxDocument) -> None:
    section = document.sections[0]
    section.different_first_page_header_footer = True  # the first page's header stays empty
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    field.append(_run(paragraph, "2", size=13)._r)  # the number shown until the field is updated
    paragraph._p.append(field)


def _styles(document: DocxDocument) -> None:
    for name in ("Normal", "Table Grid"):
        style = document.styles[name]
        style.font.name = FONT
        fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
        for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            fonts.set(qn(attribute), FONT)
    normal = document.styles["Normal"]
    normal.font.size = Pt(14)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.0


def _run(paragraph: Paragraph, text: str, size: float | None = None, **style):
    run = paragraph.add_run(nfc(text))
    run.font.name = FONT
    if size:
        run.font.size = Pt(size)
    for name in ("bold", "italic", "underline"):
        if style.get(name):
            setattr(run.font, name, True)
    if style.get("color"):
        run.font.color.rgb = style["color"]
    return run


def _centred(container, text: str, size: float, after: float = 0, **style) -> Paragraph:
    paragraph = container.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.space_after = Pt(after)
    paragraph.paragraph_format.first_line_indent = Mm(0)
    _run(paragraph, text, size, **style)
    return paragraph


def _paragraph(document: DocxDocument, text: str, bold: bool = False) -> Paragraph:
    """A body paragraph: justified, first line indented 1 cm."""
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    paragraph.paragraph_format.first_line_indent = Mm(10)
    _run(paragraph, text, 14, bold=bold)
    return paragraph


def _short_rule(container, width_mm: float, fraction: float = 0.35) -> Paragraph:
    """A short horizontal line, centred: an empty paragraph's bottom border, narrowed by indents."""
    paragraph = container.add_paragraph()
    indent = width_mm * (1 - fraction) / 2
    fmt = paragraph.paragraph_format
    fmt.left_indent, fmt.right_indent, fmt.first_line_indent = Mm(indent), Mm(indent), Mm(0)
    fmt.space_before, fmt.space_after, fmt.line_spacing = Pt(0), Pt(6), Pt(2)
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "auto")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().insert_element_before(borders, *_AFTER_PBDR)
    return paragraph


def _fresh_cell(cell: _Cell, width_mm: float) -> _Cell:
    """A cell of the given width whose first (empty) paragraph is removed, so content starts at the top."""
    cell.width = Mm(width_mm)
    first = cell.paragraphs[0]
    first._p.getparent().remove(first._p)
    return cell


def _layout_table(document: DocxDocument, rows: int, widths: tuple[int, ...]) -> Table:
    table = document.add_table(rows=rows, cols=len(widths))
    table.autofit = False
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for index, width in enumerate(widths):
        table.columns[index].width = Mm(width)
    return table


# --- parts ------------------------------------------------------------------------------------------


def _header(document: DocxDocument, view: ReportView) -> None:
    fields = view.fields
    left_width, right_width = HEADER_WIDTHS_MM
    table = _layout_table(document, 2, HEADER_WIDTHS_MM)
    bodies = _fresh_cell(table.cell(0, 0), left_width)
    if fields.parent_body.strip():
        _centred(bodies, fields.parent_body.upper(), 12)
    _centred(bodies, fields.issuing_body.upper(), 12, bold=True)
    _short_rule(bodies, left_width)
    nation = _fresh_cell(table.cell(0, 1), right_width)
    _centred(nation, QUOC_HIEU, 12, bold=True)
    _centred(nation, TIEU_NGU, 13, after=6, bold=True, underline=True)
    number = _fresh_cell(table.cell(1, 0), left_width)
    symbol = fields.number_symbol.strip()
    _centred(number, f"Số:{' ' * 8 if symbol.startswith('/') else ' '}{symbol}", 13)
    dated = _fresh_cell(table.cell(1, 1), right_width)
    _centred(dated, place_and_date(fields.place.strip(), fields.doc_date), 14, italic=True)


def _title(document: DocxDocument, view: ReportView) -> None:
    _centred(document, view.doc_type, 14, after=0, bold=True).paragraph_format.space_before = Pt(18)
    _centred(document, view.fields.summary, 14, bold=True)
    _short_rule(document, TEXT_WIDTH_MM, fraction=0.25)


def _cell_text(cell: _Cell, text: str, size: float = 11, align=WD_ALIGN_PARAGRAPH.LEFT, **style) -> None:
    lines = paragraphs(text) or [""]
    for number, line in enumerate(lines):
        paragraph = cell.paragraphs[0] if number == 0 else cell.add_paragraph()
        paragraph.alignment = align
        fmt = paragraph.paragraph_format
        fmt.space_after, fmt.first_line_indent = Pt(0), Mm(0)
        _run(paragraph, line, size, **style)


def _data_table(document: DocxDocument, columns: tuple[tuple[str, int], ...], rows: list[list]) -> Table:
    table = _layout_table(document, 1, tuple(width for _title, width in columns))
    table.style = document.styles["Table Grid"]
    header = table.rows[0]
    header._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))  # repeated on every page
    for index, (title, width) in enumerate(columns):
        header.cells[index].width = Mm(width)
        _cell_text(header.cells[index], title, align=WD_ALIGN_PARAGRAPH.CENTER, bold=True)
    for values in rows:
        cells = table.add_row().cells
        for index, value in enumerate(values):
            text, style = value if isinstance(value, tuple) else (value, {})
            cells[index].width = Mm(columns[index][1])
            _cell_text(cells[index], str(text), **style)
    document.add_paragraph().paragraph_format.space_after = Pt(0)
    return table


def _task_table(document: DocxDocument, lines: list[TaskLine]) -> None:
    centre = {"align": WD_ALIGN_PARAGRAPH.CENTER}
    rows = []
    for line in lines:
        result = line.result
        if line.difficulties:
            result = f"{result}\nKhó khăn: {line.difficulties}".strip()
        mark = (OVERDUE_MARK, {"bold": True, "color": RED}) if line.overdue else ""
        rows.append(
            [
                (line.code, centre),
                line.title,
                line.lead_unit,
                (line.deadline, centre),
                line.state_label,
                (str(line.progress), centre),
                result,
                mark,
            ]
        )
    _data_table(document, TASK_COLUMNS, rows)


def _indicator_table(document: DocxDocument, lines: list[IndicatorLine]) -> None:
    centre = {"align": WD_ALIGN_PARAGRAPH.CENTER}
    rows = [
        [
            (str(number), centre),
            line.name,
            line.target,
            (line.value or "—", centre),
            (line.value_period, centre),
            line.responsible,
            line.status_label,
        ]
        for number, line in enumerate(lines, 1)
    ]
    _data_table(document, INDICATOR_COLUMNS, rows)


def _recipients(cell: _Cell, recipients: list[str]) -> None:
    heading = cell.add_paragraph()
    heading.paragraph_format.space_after = Pt(0)
    _run(heading, "Nơi nhận:", 12, bold=True, italic=True)
    entries = [r.strip().lstrip("-").strip() for r in recipients if r.strip()]
    for number, entry in enumerate(entries, 1):
        entry = entry.rstrip(";.")
        ending = "." if number == len(entries) else ";"
        paragraph = cell.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(0)
        _run(paragraph, f"- {entry}{ending}", 11)


def _signer(cell: _Cell, title: str, name: str) -> None:
    _centred(cell, title.upper(), 13, bold=True)
    for _blank in range(4):  # room for the signature and the seal
        _centred(cell, "", 13)
    _centred(cell, name, 14, bold=True)


def _signatures(document: DocxDocument, view: ReportView) -> None:
    fields = view.fields
    left_width, right_width = SIGNATURE_WIDTHS_MM
    if view.kind == ReportKind.MINUTES:
        table = _layout_table(document, 2, SIGNATURE_WIDTHS_MM)
        _signer(_fresh_cell(table.cell(0, 0), left_width), fields.secretary_title, fields.secretary_name)
        _signer(_fresh_cell(table.cell(0, 1), right_width), fields.signer_title, fields.signer_name)
        _recipients(_fresh_cell(table.cell(1, 0), left_width), fields.recipients)
        _fresh_cell(table.cell(1, 1), right_width).add_paragraph()
        return
    table = _layout_table(document, 1, SIGNATURE_WIDTHS_MM)
    _recipients(_fresh_cell(table.cell(0, 0), left_width), fields.recipients)
    _signer(_fresh_cell(table.cell(0, 1), right_width), fields.signer_title, fields.signer_name)
