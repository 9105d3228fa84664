"""Reading the cells of a plan workbook: deadlines, recurrences, budgets, section numbers, text.

Each reader takes a cell value (str, int, float, datetime, bool or None, as openpyxl gives them) and
returns the value or raises CellError with a message for the person who filled the sheet.

Deadlines ("Thời hạn"), as plans write them, accents and case ignored:
- a date "30/6/2025" (also "30-6-2025", "30.6.2025", or an Excel date cell): precision day;
- a month "Tháng 9/2025" (or "tháng 9 năm 2025"): precision month, due the month's last day;
- a quarter "Quý II/2025" (or "Quý 2/2025"): precision month, due the quarter's last day;
- recurrences: "thường xuyên" (continuous), "hằng năm"/"hàng năm"/"mỗi năm"/"các năm tiếp theo" (yearly),
  "theo hướng dẫn ..." (on_guidance), "đột xuất" (on_demand); a date without any of them is `none`.
Combinations read both ("Tháng 5/2025 và thường xuyên" → 31/05/2025, month, [continuous]). A text with
two dates, or with neither a date nor a recurrence ("Năm 2025", "Quý 5"), is refused.

Budgets ("Kinh phí (triệu đồng)") are in million VND: a number cell as it is; a text as Vietnamese
write numbers (app.services.indicator_targets.parse_number): "," is the decimal mark and "." groups
thousands, so "1.500" is 1500, "1,5" is 1.5 and "1.500,25" is 1500.25; a single "." not followed by
exactly three digits is a decimal point ("2.5" is 2.5). A trailing "triệu" / "triệu đồng" / "trđ" is
allowed. Not negative, at most 3 decimals (1,000 VND), below 10^13 (the column is Numeric(16, 3)).
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext as _

from app.models import DuePrecision, Recurrence
from app.services.indicator_targets import parse_number
from app.services.unit_matching import fold, tidy

# How the template writes each recurrence; the import also reads the English codes.
RECURRENCE_WORDS = {
    Recurrence.NONE: "Một lần",
    Recurrence.CONTINUOUS: "Thường xuyên",
    Recurrence.YEARLY: "Hằng năm",
    Recurrence.ON_GUIDANCE: "Theo hướng dẫn của Trung ương",
    Recurrence.ON_DEMAND: "Đột xuất",
}
_RECURRENCE_KEYS = {fold(word): code for code, word in RECURRENCE_WORDS.items()}
_RECURRENCE_KEYS |= {code: code for code in Recurrence.ALL} | {"hang nam": Recurrence.YEARLY}
_RECURRENCE_PATTERNS = (
    (Recurrence.CONTINUOUS, re.compile(r"thuong xuyen")),
    (Recurrence.YEARLY, re.compile(r"hang nam|moi nam|nam tiep theo")),
    (Recurrence.ON_GUIDANCE, re.compile(r"theo huong dan")),
    (Recurrence.ON_DEMAND, re.compile(r"dot xuat")),
)
_DATE = re.compile(r"(?<!\d)(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})(?!\d)")
_MONTH = re.compile(r"thang\s*(\d{1,2})\s*(?:[/.-]|nam)\s*(\d{4})(?!\d)")
_QUARTER = re.compile(r"quy\s*(iv|i{1,3}|[1-4])\s*(?:[/.-]|nam)\s*(\d{4})(?!\d)")
_QUARTERS = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_BUDGET_UNITS = re.compile(r"\s*(trieu dong|trieu|tr\.?\s?d(ong)?)\.?$")
_SECTION = re.compile(
    r"^(?i:mục\s+)?(?P<number>\d+(?:\.\d+)*|[IVXLC]+)\s*(?:[.):]|\s-\s|\s)\s*(?P<heading>.*)$"
)

MAX_BUDGET = Decimal(10) ** 13
TEXT_MAX = 10_000  # a cell of free text (title, content, expected result)


class CellError(ValueError):
    """A cell that cannot be read; `message` says why, in the interface language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def text_of(value: object, limit: int = TEXT_MAX) -> str | None:
    """The cell as text: NFC, no NUL, line ends as \\n, trimmed; None when empty."""
    if value is None:
        return None
    if isinstance(value, bool):
        value = "TRUE" if value else "FALSE"
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, datetime):
        value = value.strftime("%d/%m/%Y")
    lines = str(value).replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    text = "\n".join(tidy(line) for line in lines).strip()
    if not text:
        return None
    if len(text) > limit:
        raise CellError(_("too long (at most %(max)d characters)", max=limit))
    return text


def line_of(value: object, limit: int) -> str | None:
    """A one-line text (codes, names): line breaks read as spaces."""
    text = text_of(value, TEXT_MAX)
    if text is None:
        return None
    text = " ".join(text.split())
    if len(text) > limit:
        raise CellError(_("too long (at most %(max)d characters)", max=limit))
    return text


def number_text(value: object) -> str | None:
    """A target or a code typed as a number: 60 → "60", 0.8 → "0,8" (as Vietnamese write it)."""
    if isinstance(value, float) and not value.is_integer():
        return repr(value).replace(".", ",")
    return text_of(value)


def code_of(value: object, limit: int = 20) -> str | None:
    """A task code: text, or a number typed without the text format (5 → "5")."""
    if isinstance(value, float) and not value.is_integer():
        value = repr(value)
    return line_of(value, limit)


def whole_number(value: object, low: int, high: int) -> int | None:
    """A whole number from low to high, from a number cell or its text."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None:
        raise CellError(_("'%(text)s' is not a whole number", text=text_of(value)))
    if not low <= number <= high:
        raise CellError(_("must be a whole number from %(low)d to %(high)d", low=low, high=high))
    return number


def day_of(value: object) -> date | None:
    """A date cell, or a text dd/mm/yyyy."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = text_of(value) or ""
    found = _DATE.fullmatch(text.strip())
    if found is None:
        raise CellError(_("'%(text)s' is not a date: write dd/mm/yyyy, e.g. 04/3/2025", text=text))
    return _date(found, text)


def _date(found: re.Match, text: str) -> date:
    day, month, year = (int(part) for part in found.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise CellError(_("the date '%(text)s' does not exist", text=text)) from None


def section_of(value: object) -> tuple[str, str | None]:
    """ "1. Heading" → ("1", "Heading"); "1" or a number cell → ("1", None)."""
    text = code_of(value, TEXT_MAX) or ""
    found = _SECTION.match(text + " ") if text else None
    if found is None:
        raise CellError(_("write the section number and then its heading, e.g. '1. Nâng cao nhận thức'"))
    number, heading = found["number"], found["heading"].strip() or None
    if len(number) > 20:
        raise CellError(_("too long (at most %(max)d characters)", max=20))
    return number, heading


def blank_to_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def task_item(code: object, section: str | None) -> str | None:
    """The task's letter: "1.a" in section "1" is item "a"; "5" in section "5" has none."""
    if not isinstance(code, str) or section is None or not code.startswith(f"{section}."):
        return None
    item = code[len(section) + 1 :]
    return item if 0 < len(item) <= 10 else None


def split_number(text: object) -> tuple[str | None, str | None]:
    """Số/ký hiệu: "726/KH-UBND" → ("726", "/KH-UBND"); "/KH-SKHCN" → (None, "/KH-SKHCN")."""
    if not isinstance(text, str):
        return None, None
    number, slash, symbol = text.partition("/")
    if not slash:
        return None, text
    return (number.strip() or None), "/" + symbol.strip()


# --- deadlines and recurrences -------------------------------------------------------------------


def deadline_of(value: object) -> tuple[str | None, date | None, str | None, list[str]]:
    """(deadline as written, due date, precision, recurrences) of a "Thời hạn" cell."""
    if isinstance(value, datetime | date):
        day = value.date() if isinstance(value, datetime) else value
        return day.strftime("%d/%m/%Y"), day, DuePrecision.DAY, [Recurrence.NONE]
    raw = line_of(value, 300)
    if raw is None:
        return None, None, None, []
    due, precision = _due(raw)
    folded = fold(raw)
    recurrences = [code for code, pattern in _RECURRENCE_PATTERNS if pattern.search(folded)]
    if due is None and not recurrences:
        raise CellError(
            _(
                "cannot read the deadline '%(text)s': write a date (30/6/2025), a month (Tháng 9/2025), "
                "a quarter (Quý II/2025) or a recurrence (Thường xuyên, Hằng năm, Theo hướng dẫn của "
                "Trung ương, Đột xuất)",
                text=raw,
            )
        )
    return raw, due, precision, recurrences or [Recurrence.NONE]


def _due(raw: str) -> tuple[date | None, str | None]:
    folded = fold(raw)
    days = list(_DATE.finditer(folded))
    months = list(_MONTH.finditer(folded))
    quarters = list(_QUARTER.finditer(folded))
    if len(days) + len(months) + len(quarters) > 1:
        raise CellError(_("more than one date in '%(text)s': write one deadline", text=raw))
    if days:
        return _date(days[0], raw), DuePrecision.DAY
    if months:
        month, year = int(months[0][1]), int(months[0][2])
        return _month_end(month, year, raw), DuePrecision.MONTH
    if quarters:
        quarter, year = _QUARTERS[quarters[0][1]], int(quarters[0][2])
        return _month_end(quarter * 3, year, raw), DuePrecision.MONTH
    return None, None


def _month_end(month: int, year: int, raw: str) -> date:
    if not 1 <= month <= 12 or not 1900 <= year <= 2200:
        raise CellError(_("the date '%(text)s' does not exist", text=raw))
    return date(year, month, calendar.monthrange(year, month)[1])


def recurrences_of(value: object) -> list[str] | None:
    """The "Lặp lại" cell: labels or codes separated by ";", "," or new lines; None when empty."""
    text = text_of(value)
    if text is None:
        return None
    found: list[str] = []
    for part in re.split(r"[;,\n]", text):
        if not part.strip():
            continue
        code = _RECURRENCE_KEYS.get(fold(part))
        if code is None:
            choices = "; ".join(RECURRENCE_WORDS.values())
            raise CellError(
                _("unknown recurrence '%(text)s'; use: %(choices)s", text=part.strip(), choices=choices)
            )
        if code not in found:
            found.append(code)
    if Recurrence.NONE in found and len(found) > 1:
        raise CellError(
            _("'%(once)s' cannot be combined with another recurrence", once=RECURRENCE_WORDS[Recurrence.NONE])
        )
    return found or None


def recurrence_text(recurrences: list[str]) -> str:
    """How the export writes a task's recurrences in the "Lặp lại" column."""
    return "; ".join(RECURRENCE_WORDS.get(code, code) for code in recurrences)


def due_text(due: date | None, precision: str | None) -> str | None:
    """A deadline text the import reads back as this date and precision."""
    if due is None:
        return None
    if precision == DuePrecision.MONTH:
        return f"Tháng {due.month}/{due.year}"
    return due.strftime("%d/%m/%Y")


# --- budgets --------------------------------------------------------------------------------------


def budget_of(value: object) -> Decimal | None:
    """An amount in million VND (the rules are in the module docstring)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int | float):
        number = Decimal(str(round(value, 6))) if value == value and abs(value) != float("inf") else None
    else:
        number = parse_number(_BUDGET_UNITS.sub("", _plain(text_of(value) or "")).strip())
    if number is None:
        raise CellError(
            _("'%(text)s' is not an amount in million VND, e.g. 1.500 or 1,5", text=text_of(value))
        )
    if number < 0:
        raise CellError(_("the budget cannot be negative"))
    if number >= MAX_BUDGET:
        raise CellError(_("the amount is too large"))
    if number != number.quantize(Decimal("0.001")):
        raise CellError(_("at most 3 decimal places (million VND to the thousand VND)"))
    return number


def _plain(text: str) -> str:
    """Lower case without diacritics (đ → d), for reading the unit after an amount."""
    decomposed = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
