"""Targets of the plan's indicators (chỉ tiêu) as written, read into something a value can be compared with.

`parse_target(text, unit)` never raises; it returns a `Target` of one of four kinds:

- `comparator`: an operator and a number. "≥ 55", "> 0.8", "≤ 5", "< 15", "tối thiểu 50", "ít nhất 3",
  "không dưới 10" (≥); "trên 30", "hơn 30" (>); "dưới 5" (<); "tối đa 3", "không quá 3" (≤). A bare number
  ("2", "100%", "01"), "= N", "đạt N" and "bằng N" are a level to reach: ≥ N (plans write "= 60" or
  just "60" for "reach 60"; the OCR of the demo plan even turned a "≥" into "=").
- `range`: "16 - 18", "1-2", "16–18", "từ 16 đến 18". Reaching the lower bound meets the target; a
  value above the upper bound meets it too (a band of ambition, not a ceiling).
- `rank`: a place in a national ranking, lower is better: "Xếp hạng ở nhóm 15 tỉnh, thành",
  "Nhóm 20 tỉnh dẫn đầu", "top 10", "hạng 5" → rank ≤ N. A bare number or "đạt N" whose unit of measure
  is a ranking ("Thứ bậc", "thứ hạng", "xếp hạng") is a rank too; with an explicit operator ("< 15")
  it stays a comparator, which compares the rank number as written.
- `not_measurable`: anything else ("Tiên tiến, hiện đại", "Thuộc nhóm các địa phương dẫn đầu ...").

Numbers are read as Vietnamese write them: "," is the decimal separator ("2,5" = 2.5) and "." groups
thousands ("1.000" = 1000, "1.234.567"); a single "." not followed by exactly three digits, or after
a leading 0, is a decimal point ("0.8", "2.5"). When both appear, the last one is the decimal separator
("1.234,5" and "1,234.5" = 1234.5); several "," group thousands ("1,000,000"). A "%" is noted, not
scaled: "100%" with unit "%" is 100.

`compare(target, value, period_fraction=None)` gives one of:

- `achieved`: the value meets the target (see each kind above);
- `on_track`: it does not meet it yet, but the horizon year has not ended (`period_fraction` — the
  share of the time from the plan's start to the end of the horizon year that has passed — is None or
  below 1). We do not pro-rate: the plans give no baseline value, and a straight line from zero would
  call most indicators "behind" on day one;
- `behind`: it does not meet it and the horizon year is over (`period_fraction` ≥ 1);
- `not_measurable`: the target is not measurable, or the value is not a number.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

COMPARATOR = "comparator"
RANGE = "range"
RANK = "rank"
NOT_MEASURABLE = "not_measurable"

ACHIEVED = "achieved"
ON_TRACK = "on_track"
BEHIND = "behind"
STATUSES = (ACHIEVED, ON_TRACK, BEHIND, NOT_MEASURABLE)

MAX_TEXT = 2000  # longer texts are not read (a target is a line of a table)

NUMBER = r"\d+(?:[.,]\d+)*"
SYMBOLS = {
    "≥": ">=", ">=": ">=", "=>": ">=", "⩾": ">=", "≧": ">=",
    "≤": "<=", "<=": "<=", "=<": "<=", "⩽": "<=", "≦": "<=",
    ">": ">", "<": "<", "=": ">=",
}  # fmt: skip
WORDS = {
    "tối thiểu": ">=", "ít nhất": ">=", "không dưới": ">=", "không thấp hơn": ">=", "không ít hơn": ">=",
    "tối đa": "<=", "không quá": "<=", "không vượt quá": "<=", "không cao hơn": "<=", "không hơn": "<=",
    "lớn hơn": ">", "cao hơn": ">", "nhiều hơn": ">", "trên": ">", "hơn": ">", "vượt": ">",
    "nhỏ hơn": "<", "thấp hơn": "<", "ít hơn": "<", "dưới": "<",
    "đạt": ">=", "bằng": ">=", "đạt mức": ">=", "đạt tối thiểu": ">=", "đạt trên": ">",
}  # fmt: skip
_OPERATOR = "|".join(
    re.escape(key) for key in sorted([*SYMBOLS, *WORDS], key=len, reverse=True)
)  # longest first: "≥" before ">", "không dưới" before "dưới"
_TAIL = r"(?P<tail>[^\d]{0,80})"  # words after the number: a unit, "tỉnh", nothing with a digit
COMPARATOR_RE = re.compile(rf"^(?:(?P<op>{_OPERATOR})\s*)?(?P<number>{NUMBER})\s*(?P<percent>%)?\s*{_TAIL}$")
RANGE_RE = re.compile(
    rf"^(?:từ\s+)?(?P<low>{NUMBER})\s*(?P<p1>%)?\s*(?:-|–|—|~|đến|tới)\s*(?P<high>{NUMBER})\s*(?P<percent>%)?\s*{_TAIL}$"
)
RANK_RES = (
    re.compile(rf"\b(?:top|nhóm)\s*(?P<number>{NUMBER})\b"),
    re.compile(rf"^(?:xếp\s+)?(?:thứ\s+hạng|hạng|xếp\s+thứ)\s*(?:thứ\s+)?(?P<number>{NUMBER})\b"),
    re.compile(rf"\b(?P<number>{NUMBER})\s+(?:tỉnh|địa phương)[^\d]*\bdẫn đầu\b"),
)
RANK_UNITS = ("thứ bậc", "thứ hạng", "xếp hạng", "hạng")


@dataclass(frozen=True)
class Target:
    """A target as read: `kind` and, by kind, `op` + `value` (comparator), `low` + `high` (range),
    `value` (rank: the worst rank that meets it). `text` is the target as written."""

    kind: str
    text: str
    op: str | None = None
    value: Decimal | None = None
    low: Decimal | None = None
    high: Decimal | None = None
    percent: bool = False

    @property
    def measurable(self) -> bool:
        return self.kind != NOT_MEASURABLE

    def describe(self) -> str:
        """A short reading, e.g. "≥ 55", "16 – 18", "rank ≤ 15" (for tests, logs and the API)."""
        shown = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}
        if self.kind == COMPARATOR:
            return f"{shown[self.op or '>=']} {_plain(self.value)}"
        if self.kind == RANGE:
            return f"{_plain(self.low)} – {_plain(self.high)}"
        if self.kind == RANK:
            return f"rank ≤ {_plain(self.value)}"
        return "not measurable"

    @property
    def op_symbol(self) -> str:
        return {">=": "≥", "<=": "≤", ">": ">", "<": "<"}.get(self.op or "", "")

    def shown(self, name: str) -> str:
        """`value`, `low` or `high` as Vietnamese write it (decimal comma): for the pages."""
        number = getattr(self, name)
        return "" if number is None else _plain(number).replace(".", ",")

    def as_json(self) -> dict:
        def number(value: Decimal | None) -> float | int | None:
            if value is None:
                return None
            return int(value) if value == value.to_integral_value() else float(value)

        return {
            "kind": self.kind,
            "op": self.op,
            "value": number(self.value),
            "low": number(self.low),
            "high": number(self.high),
            "percent": self.percent,
            "reading": self.describe(),
        }


def _plain(value: Decimal | None) -> str:
    if value is None:
        return "?"
    text = format(value.normalize(), "f")
    return text


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower()
    text = text.replace("\u00a0", " ").replace("％", "%")
    return " ".join(text.split()).strip(" .;:")


def parse_number(text: str) -> Decimal | None:
    """A number as Vietnamese write it (see the module docstring), or None when it is not one."""
    if not isinstance(text, str):
        return None
    text = text.strip().replace(" ", "").replace("\u00a0", "")
    negative = text.startswith("-")
    text = text.lstrip("+-")
    if not re.fullmatch(NUMBER, text or "x"):
        return None
    dots, commas = text.count("."), text.count(",")
    if dots and commas:
        decimal_mark = "." if text.rfind(".") > text.rfind(",") else ","
        grouping = "," if decimal_mark == "." else "."
        whole, _, fraction = text.partition(decimal_mark)
        if fraction.count(grouping) or whole.count(decimal_mark):
            return None
        text = whole.replace(grouping, "") + "." + fraction
    elif commas > 1:
        text = text.replace(",", "") if _groups_of_three(text, ",") else ""
    elif commas == 1:
        text = text.replace(",", ".")
    elif dots > 1:
        text = text.replace(".", "") if _groups_of_three(text, ".") else ""
    elif dots == 1:
        whole, _, fraction = text.partition(".")
        if len(fraction) == 3 and whole.lstrip("0"):
            text = whole + fraction
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    return -number if negative else number


def _groups_of_three(text: str, mark: str) -> bool:
    head, *rest = text.split(mark)
    return 1 <= len(head) <= 3 and all(len(group) == 3 for group in rest)


def _is_rank_unit(unit: str | None) -> bool:
    return bool(unit) and any(word in _normalise(unit) for word in RANK_UNITS)


def parse_target(text: object, unit: object = None) -> Target:
    """Read a target as written (see the module docstring). Never raises."""
    try:
        return _parse(text if isinstance(text, str) else "", unit if isinstance(unit, str) else None)
    except Exception:  # noqa: BLE001 — a target we cannot read is simply not measurable
        return Target(NOT_MEASURABLE, text if isinstance(text, str) else "")


def _parse(written: str, unit: str | None) -> Target:
    text = _normalise(written[:MAX_TEXT]) if len(written) <= MAX_TEXT else ""
    if not text:
        return Target(NOT_MEASURABLE, written)
    for pattern in RANK_RES:
        match = pattern.search(text)
        if match and (number := parse_number(match["number"])) is not None and number > 0:
            return Target(RANK, written, op="<=", value=number)
    match = RANGE_RE.match(text)
    if match:
        low, high = parse_number(match["low"]), parse_number(match["high"])
        if low is not None and high is not None:
            low, high = min(low, high), max(low, high)
            percent = bool(match["percent"] or match["p1"])
            return Target(RANGE, written, low=low, high=high, percent=percent)
    match = COMPARATOR_RE.match(text)
    if match and (number := parse_number(match["number"])) is not None:
        op = match["op"]
        operator = (SYMBOLS.get(op) or WORDS.get(op) or ">=") if op else ">="
        bare = op is None or op in ("=", "đạt", "bằng", "đạt mức")
        if bare and _is_rank_unit(unit):
            return Target(RANK, written, op="<=", value=number)
        return Target(COMPARATOR, written, op=operator, value=number, percent=bool(match["percent"]))
    return Target(NOT_MEASURABLE, written)


def as_number(value: object) -> Decimal | None:
    """A value to compare: a Decimal/int/float as is, a string read like a target's number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value)) if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, str):
        return parse_number(value.strip().rstrip("%").strip())
    return None


def meets(target: Target, value: Decimal) -> bool:
    """Whether `value` meets a measurable target."""
    if target.kind == RANGE:
        return value >= target.low
    if target.kind == RANK:
        return value <= target.value
    return {
        ">=": value >= target.value,
        ">": value > target.value,
        "<=": value <= target.value,
        "<": value < target.value,
    }[target.op or ">="]


def compare(target: Target, value: object, period_fraction: float | None = None) -> str:
    """achieved / on_track / behind / not_measurable (the rule is in the module docstring)."""
    number = as_number(value)
    if not target.measurable or number is None:
        return NOT_MEASURABLE
    if meets(target, number):
        return ACHIEVED
    if period_fraction is None or period_fraction < 1:
        return ON_TRACK
    return BEHIND
