"""Reading the targets of the plan's indicators as written (app/services/indicator_targets.py), over every
target of the demo plan's Appendix I, and comparing a value with them."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.demo import DEMO_PLAN_PATH
from app.services.indicator_targets import (
    ACHIEVED,
    BEHIND,
    COMPARATOR,
    NOT_MEASURABLE,
    ON_TRACK,
    RANGE,
    RANK,
    compare,
    parse_number,
    parse_target,
)

with open(DEMO_PLAN_PATH, encoding="utf-8") as handle:
    DEMO_INDICATORS = yaml.safe_load(handle)["appendix_i"]["indicators"]

# (horizon, number) -> the reading of its target, one row per indicator of Appendix I.
EXPECTED = {
    (2030, 1): "not measurable",  # "Thuộc nhóm các địa phương dẫn đầu ...": no number of places
    (2030, 2): "rank ≤ 20",  # "Nhóm 20 tỉnh dẫn đầu cả nước"
    (2030, 3): "rank ≤ 15",  # "Xếp hạng ở nhóm 15 tỉnh, thành"
    (2030, 4): "rank ≤ 15",
    (2030, 5): "> 55",
    (2030, 6): "> 30",
    (2030, 7): "> 30",
    (2030, 8): "> 40",
    (2030, 9): "> 0.8",  # a single "." before one digit is a decimal point
    (2030, 10): "≥ 2",  # a bare number is a level to reach
    (2030, 11): "≥ 60",
    (2030, 12): "≥ 12",
    (2030, 13): "1 – 2",  # "1-2"
    (2030, 14): "16 – 18",
    (2030, 15): "8 – 10",
    (2030, 16): "not measurable",  # "Tiên tiến, hiện đại"
    (2030, 17): "≥ 100",  # "100%"
    (2030, 18): "≥ 99",
    (2030, 19): "≥ 1",
    (2030, 20): "≥ 100",
    (2030, 21): "> 3",  # "> 03"
    (2030, 22): "> 70",
    (2045, 1): "> 50",
    (2045, 2): "< 15",  # an explicit operator on a ranking compares the rank as written
    (2045, 3): "≥ 1",  # "01"
    (2045, 4): "≥ 5",
}


def test_the_table_covers_all_26_demo_targets():
    assert len(DEMO_INDICATORS) == 26
    assert {(i["horizon"], i["number"]) for i in DEMO_INDICATORS} == set(EXPECTED)


@pytest.mark.parametrize("record", DEMO_INDICATORS, ids=lambda r: f"{r['horizon']}-{r['number']}")
def test_each_demo_target_is_read_as_expected(record):
    target = parse_target(record["target"], record.get("unit"))
    assert target.describe() == EXPECTED[(record["horizon"], record["number"])]
    assert target.text == record["target"]


def test_the_demo_kinds():
    kinds = [parse_target(r["target"], r.get("unit")).kind for r in DEMO_INDICATORS]
    assert kinds.count(RANK) == 3
    assert kinds.count(RANGE) == 3
    assert kinds.count(NOT_MEASURABLE) == 2
    assert kinds.count(COMPARATOR) == 18


@pytest.mark.parametrize(
    ("text", "unit", "reading"),
    [
        ("≥ 55", "%", "≥ 55"),
        (">= 55", None, "≥ 55"),
        ("≤ 5", None, "≤ 5"),
        ("<=5", None, "≤ 5"),
        ("= 60", "%", "≥ 60"),
        ("tối thiểu 50%", "%", "≥ 50"),
        ("Tối thiểu 50 %", "%", "≥ 50"),
        ("ít nhất 3 doanh nghiệp", None, "≥ 3"),
        ("không dưới 10", None, "≥ 10"),
        ("trên 1.000 doanh nghiệp", None, "> 1000"),
        ("dưới 5", None, "< 5"),
        ("tối đa 3", None, "≤ 3"),
        ("không quá 3", None, "≤ 3"),
        ("đạt 2,5", "%", "≥ 2.5"),
        ("Đạt 100%", "%", "≥ 100"),
        ("1.234.567", None, "≥ 1234567"),
        ("1.234,5", None, "≥ 1234.5"),
        ("0,8", None, "≥ 0.8"),
        ("từ 16 đến 18", "%", "16 – 18"),
        ("16–18%", "%", "16 – 18"),
        ("18 - 16", None, "16 – 18"),
        ("2,5 - 3,5", None, "2.5 – 3.5"),
        ("top 10", None, "rank ≤ 10"),
        ("Top 10 tỉnh", None, "rank ≤ 10"),
        ("Hạng 5", None, "rank ≤ 5"),
        ("10", "Thứ bậc", "rank ≤ 10"),  # a bare number on a ranking is the rank to reach
        ("đạt 10", "Thứ hạng", "rank ≤ 10"),
        ("Thuộc nhóm dẫn đầu", "Thứ bậc", "not measurable"),
        ("Hoàn thành 3 khu công nghệ vào năm 2030", None, "not measurable"),
        ("", None, "not measurable"),
        ("   ", None, "not measurable"),
        (" - ", None, "not measurable"),
        ("≥", None, "not measurable"),
        ("x" * 5000, None, "not measurable"),
    ],
)
def test_edge_cases(text, unit, reading):
    assert parse_target(text, unit).describe() == reading


def test_percent_is_noted_not_scaled():
    target = parse_target("100%", "%")
    assert target.percent and target.value == Decimal(100)
    assert not parse_target("> 55", "%").percent


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("1.000", Decimal(1000)),
        ("2,5", Decimal("2.5")),
        ("0.8", Decimal("0.8")),
        ("2.5", Decimal("2.5")),
        ("1,000,000", Decimal(1000000)),
        ("1,234.5", Decimal("1234.5")),
        ("01", Decimal(1)),
        ("1.2.3", None),
        ("12.34.567", None),
        ("abc", None),
        ("", None),
        ("1e5", None),
        ("NaN", None),
    ],
)
def test_numbers_as_vietnamese_write_them(text, number):
    assert parse_number(text) == number


@pytest.mark.parametrize(
    ("text", "unit", "value", "fraction", "status"),
    [
        ("> 55", "%", 60, 0.3, ACHIEVED),
        ("> 55", "%", 55, 0.3, ON_TRACK),  # not above yet, time is left
        ("> 55", "%", 55, 1.0, BEHIND),  # the horizon year is over
        ("> 55", "%", 40, None, ON_TRACK),  # no horizon given: not over
        ("≥ 60", "%", "60", 1.2, ACHIEVED),
        ("≥ 60", "%", "59,9", 1.2, BEHIND),
        ("< 15", "Thứ bậc", 14, 0.5, ACHIEVED),
        ("< 15", "Thứ bậc", 15, 0.5, ON_TRACK),
        ("Xếp hạng ở nhóm 15 tỉnh, thành", "Thứ bậc", 15, 1.0, ACHIEVED),
        ("Xếp hạng ở nhóm 15 tỉnh, thành", "Thứ bậc", 16, 1.0, BEHIND),
        ("Xếp hạng ở nhóm 15 tỉnh, thành", "Thứ bậc", 30, 0.2, ON_TRACK),
        ("16 - 18", "%/năm", 16, 1.0, ACHIEVED),
        ("16 - 18", "%/năm", 20, 1.0, ACHIEVED),  # above the band still meets it
        ("16 - 18", "%/năm", Decimal("15.9"), 1.0, BEHIND),
        ("100%", "%", 100, 1.0, ACHIEVED),
        ("Tiên tiến, hiện đại", None, "Đã hiện đại", 1.0, NOT_MEASURABLE),
        ("> 55", "%", "không rõ", 0.5, NOT_MEASURABLE),  # a value that is not a number
        ("> 55", "%", None, 0.5, NOT_MEASURABLE),
        ("> 55", "%", True, 0.5, NOT_MEASURABLE),
    ],
)
def test_compare(text, unit, value, fraction, status):
    assert compare(parse_target(text, unit), value, fraction) == status


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(st.text(), st.from_regex(r"[<>≥≤=]?\s?\d{1,4}([.,]\d{1,3})*\s?%?", fullmatch=True)),
    unit=st.one_of(st.none(), st.text(max_size=30), st.sampled_from(["Thứ bậc", "%", "Đô thị"])),
)
def test_parse_target_never_raises(text, unit):
    target = parse_target(text, unit)
    assert target.kind in (COMPARATOR, RANGE, RANK, NOT_MEASURABLE)
    assert compare(target, "12,5", 0.5) in (ACHIEVED, ON_TRACK, BEHIND, NOT_MEASURABLE)


@given(st.one_of(st.none(), st.integers(), st.floats(), st.lists(st.integers()), st.binary()))
def test_parse_target_never_raises_on_what_is_not_text(value):
    assert parse_target(value, value).kind == NOT_MEASURABLE
