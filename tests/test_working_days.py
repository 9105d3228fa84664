"""Working days in Viet Nam (app/services/working_days.py) and steps whose `due` counts them.

Dates checked against the government's holiday schedules: Tết Ất Tỵ 2025 (Mon 27/01 – Sat 01/02),
Tết Bính Ngọ 2026 (Mon 16/02 – Fri 20/02), Giỗ Tổ 07/04/2025, 30/4 – 1/5 (2025: with Friday 02/05 off
in exchange for Saturday 26/04, a make-up working day), Quốc khánh 01–02/09/2025 and 2026.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace

import pytest
import time_machine

from app.extensions import db
from app.services.clock import LOCAL_TZ
from app.services.working_days import (
    add_working_days,
    holiday_name,
    is_working_day,
    working_days_between,
    working_due_at,
)
from tests.engine_helpers import form_of, open_item, open_items, sample_data, task, user
from workflows.deploy import SHIPPED_BPMN_DIR, deploy
from workflows.engine import advance, start_process
from workflows.forms import load_forms
from workflows.steps import CALENDAR, WORKING, check_step, step_config


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 3, 3), True),  # Monday
        (date(2025, 3, 7), True),  # Friday
        (date(2025, 3, 8), False),  # Saturday
        (date(2025, 3, 9), False),  # Sunday
        (date(2025, 1, 1), False),  # Tết Dương lịch
        (date(2025, 1, 27), False),  # Tết Ất Tỵ: 29 tháng Chạp ...
        (date(2025, 1, 31), False),  # ... to mùng 3 (Friday)
        (date(2025, 2, 3), True),  # back at work on Monday
        (date(2025, 4, 7), False),  # Giỗ Tổ Hùng Vương
        (date(2025, 4, 26), True),  # Saturday worked in exchange for Friday 02/05
        (date(2025, 4, 30), False),
        (date(2025, 5, 1), False),
        (date(2025, 5, 2), False),
        (date(2025, 9, 1), False),
        (date(2025, 9, 2), False),
        (date(2025, 9, 3), True),
        (date(2026, 2, 13), True),  # the Friday before Tết Bính Ngọ
        (date(2026, 2, 16), False),
        (date(2026, 2, 20), False),
        (date(2026, 2, 23), True),
        (date(2026, 4, 30), False),
        (date(2026, 5, 1), False),
        (date(2026, 9, 2), False),
    ],
)
def test_working_days_of_2025_and_2026(day, working):
    assert is_working_day(day) is working


def test_holidays_have_names_and_weekdays_do_not():
    assert "Lunar New Year" in holiday_name(date(2026, 2, 17))
    assert holiday_name(date(2026, 2, 23)) is None


def test_adding_working_days_skips_weekends_and_does_not_count_the_first_day():
    assert add_working_days(date(2025, 3, 3), 0) == date(2025, 3, 3)
    assert add_working_days(date(2025, 3, 3), 1) == date(2025, 3, 4)  # Monday → Tuesday
    assert add_working_days(date(2025, 3, 7), 1) == date(2025, 3, 10)  # Friday → Monday
    assert add_working_days(date(2025, 3, 8), 1) == date(2025, 3, 10)  # opened on a Saturday
    assert add_working_days(date(2025, 3, 3), 10) == date(2025, 3, 17)  # two full weeks


def test_ten_working_days_across_tet():
    # Friday 24/01/2025: Mon 27/01 – Sat 01/02 are Tết; the count resumes on Monday 03/02.
    assert add_working_days(date(2025, 1, 24), 10) == date(2025, 2, 14)
    # Friday 13/02/2026: Tết Bính Ngọ takes Mon 16/02 – Fri 20/02.
    assert add_working_days(date(2026, 2, 13), 10) == date(2026, 3, 6)


def test_working_days_around_30_4_and_2_9():
    # From Friday 25/04/2025: Sat 26/04 (worked), Mon 28, Tue 29, then Wed 30/04 – Fri 02/05 off.
    assert add_working_days(date(2025, 4, 25), 3) == date(2025, 4, 29)
    assert add_working_days(date(2025, 4, 25), 4) == date(2025, 5, 5)
    # From Friday 29/08/2025: Mon 01/09 and Tue 02/09 off.
    assert add_working_days(date(2025, 8, 29), 1) == date(2025, 9, 3)
    # Across the new year: Wed 31/12/2025 → Fri 02/01/2026 (Thu 01/01 off).
    assert add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 2)


def test_counting_working_days_between_two_dates():
    assert working_days_between(date(2025, 3, 3), date(2025, 3, 17)) == 10
    assert working_days_between(date(2026, 2, 13), date(2026, 3, 6)) == 10
    assert working_days_between(date(2025, 3, 17), date(2025, 3, 3)) == 0
    for start in (date(2025, 1, 24), date(2025, 4, 25), date(2026, 8, 28)):
        for days in (1, 5, 10, 22):
            assert working_days_between(start, add_working_days(start, days)) == days


def test_a_negative_or_absurd_count_is_refused():
    with pytest.raises(ValueError):
        add_working_days(date(2025, 3, 3), -1)
    with pytest.raises(ValueError):
        add_working_days(date(2025, 3, 3), 100_000)


def test_the_due_moment_is_the_end_of_the_last_day_in_vietnam():
    # 20:00 UTC on Sunday 02/03/2025 is already Monday 03/03 03:00 in Hà Nội: counting starts from Monday.
    due = working_due_at(datetime(2025, 3, 2, 20, 0, tzinfo=UTC), 1)
    assert due == datetime(2025, 3, 4, 23, 59, 59, tzinfo=LOCAL_TZ)
    assert due.astimezone(UTC) == datetime(2025, 3, 4, 16, 59, 59, tzinfo=UTC)
    naive_utc = working_due_at(datetime(2025, 3, 2, 20, 0), 1)
    assert naive_utc == due


def _spec(**props):
    return SimpleNamespace(
        extensions={"properties": props},
        bpmn_id="collect_opinions",
        bpmn_name="Góp ý",
        lane="Chuyên viên",
        documentation=None,
    )


def test_a_step_counts_calendar_days_unless_it_says_working():
    assert step_config(_spec(due="P10D")).due_calendar == CALENDAR
    assert step_config(_spec(due="P10D")).due_working_days is None
    working = step_config(_spec(due="P10D", due_calendar="working"))
    assert (working.due_calendar, working.due_working_days) == (WORKING, 10)
    assert check_step(_spec(due="P10D", due_calendar="working"), {"collect_opinions"}) == []
    assert check_step(_spec(due="P10D", due_calendar="calendar"), {"collect_opinions"}) == []


@pytest.mark.parametrize(
    ("props", "reason"),
    [
        ({"due": "P10D", "due_calendar": "lunar"}, "due_calendar must be one of calendar, working"),
        ({"due": "PT4H", "due_calendar": "working"}, "write whole days such as P10D"),
        ({"due": "P2W", "due_calendar": "working"}, "write whole days such as P10D"),
        ({"due": "P1DT2H", "due_calendar": "working"}, "write whole days such as P10D"),
    ],
)
def test_check_step_refuses_an_unknown_calendar_and_partial_working_days(props, reason):
    reasons = check_step(_spec(**props), {"collect_opinions"})
    assert len(reasons) == 1 and reason in reasons[0]


SHIPPED_XML = (SHIPPED_BPMN_DIR / "draft_plan.bpmn").read_text(encoding="utf-8")
SHIPPED_CALENDAR = '<spiffworkflow:property name="due_calendar" value="working" />'
CALENDAR_PROPERTY = '<spiffworkflow:property name="due_calendar" value="{calendar}" />'


def _deploy_draft_plan(calendar: str):
    """draft_plan with collect_opinions' calendar set to `calendar` (the shipped one counts working days)."""
    assert SHIPPED_XML.count(SHIPPED_CALENDAR) == 1
    xml = SHIPPED_XML.replace(SHIPPED_CALENDAR, CALENDAR_PROPERTY.format(calendar=calendar))
    return deploy(xml, load_forms(SHIPPED_BPMN_DIR / "forms" / "draft_plan"), source="draft_plan.bpmn")


def test_deploy_refuses_a_diagram_with_an_unknown_calendar(app):
    from workflows.problems import DefinitionError

    with pytest.raises(DefinitionError) as error:
        _deploy_draft_plan("lunar")
    db.session.rollback()
    assert any("due_calendar" in problem.message for problem in error.value.problems)


def test_collecting_opinions_in_working_days_ends_after_tet(app):
    _deploy_draft_plan("working")
    db.session.commit()
    t1a = task("1.a")
    # Friday 13/02/2026, 10:00 in Hà Nội: the review approves and the opinions are asked for.
    with time_machine.travel(datetime(2026, 2, 13, 10, 0, tzinfo=LOCAL_TZ), tick=False):
        start_process(t1a, user("cntt.cv"))
        draft = open_item(t1a, "draft")
        advance(draft, user("cntt.cv"), sample_data(form_of(draft)), None)
        review = open_item(t1a, "review_draft")
        advance(review, user("cntt.tp"), sample_data(form_of(review)), None)
    items = open_items(t1a, "collect_opinions")
    assert items
    expected = datetime.combine(date(2026, 3, 6), time(23, 59, 59), tzinfo=LOCAL_TZ)
    for item in items:
        due = item.due_at if item.due_at.tzinfo else item.due_at.replace(tzinfo=UTC)
        assert due == expected  # 10 working days: Tết Bính Ngọ (16–20/02) does not count
        assert due - datetime(2026, 2, 13, 10, 0, tzinfo=LOCAL_TZ) > timedelta(days=20)
