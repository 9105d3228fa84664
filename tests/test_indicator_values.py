"""Recording the actual values of the plan's indicators (app/services/indicator_values.py): who may, what is
kept, where each indicator stands; the pages and the API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import lxml.html
import pytest
from sqlalchemy import func, select, text

from app.extensions import db
from app.models import AuditEvent, Indicator, IndicatorValue, Plan, User
from app.services import indicator_values
from app.services.clock import local_today
from app.services.indicator_values import period_bounds, record_value
from tests.conftest import csrf_token_from
from workflows.errors import InvalidData, NotAllowed

LAST_YEAR = str(local_today().year - 1)


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _indicator(horizon: int, number: int) -> Indicator:
    return db.session.scalar(
        select(Indicator).where(Indicator.horizon == horizon, Indicator.number == number)
    )


def _plan() -> Plan:
    return db.session.scalar(select(Plan))


def _snapshot() -> tuple:
    db.session.expire_all()
    return tuple(
        db.session.execute(text(f"SELECT * FROM {table} ORDER BY 1")).all()
        for table in ("indicator_values", "audit_events")
    )


# --- who may record -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "horizon", "number"),
    [
        ("cntt.cv", 2030, 3),  # DTI: Phòng Công nghệ thông tin
        ("cntt.tp", 2030, 3),
        ("hts.cv", 2030, 5),  # TFP: Phòng Hạ tầng số
        ("vp.cv", 2030, 12),
        ("giamdoc", 2030, 5),  # a leader, any indicator
        ("admin", 2045, 2),
    ],
)
def test_the_responsible_unit_leaders_and_admins_record(app, username, horizon, number):
    indicator = _indicator(horizon, number)
    row = record_value(indicator, _user(username), LAST_YEAR, "12", "Số liệu năm", "Báo cáo số 12/BC-SKHCN")
    assert row.id and row.value == Decimal(12) and row.value_text == "12"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "indicator.value_recorded"))
    assert event.actor_username == username
    assert event.data["indicator_id"] == indicator.id and event.data["period"] == LAST_YEAR
    assert event.comment == "Số liệu năm"


@pytest.mark.parametrize(
    ("username", "horizon", "number"),
    [
        ("hts.cv", 2030, 3),  # another unit
        ("cntt.cv", 2030, 5),
        ("giamsat", 2030, 3),  # a supervisor reads only
        ("qlkh.cv", 2030, 3),
    ],
)
def test_others_are_refused_and_nothing_changes(app, username, horizon, number):
    before = _snapshot()
    with pytest.raises(NotAllowed):
        record_value(_indicator(horizon, number), _user(username), LAST_YEAR, "12")
    assert _snapshot() == before


def test_an_indicator_without_a_responsible_unit_is_the_monitoring_unit_s(app):
    indicator = _indicator(2030, 5)  # HTS's
    indicator.responsible_unit = None
    db.session.commit()
    assert indicator_values.responsible_unit(indicator).code == "CNTT"
    assert indicator_values.may_record(_user("cntt.cv"), indicator)
    assert not indicator_values.may_record(_user("hts.cv"), indicator)


# --- what is valid ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"period": "", "value": "60"}, {"period"}),
        ({"period": "2025-13", "value": "60"}, {"period"}),
        ({"period": "2025-Q5", "value": "60"}, {"period"}),
        ({"period": "25", "value": "60"}, {"period"}),
        ({"period": "1999", "value": "60"}, {"period"}),
        ({"period": "2031", "value": "60"}, {"period"}),  # after the horizon (2030)
        ({"period": None, "value": "60"}, {"period"}),
        ({"period": LAST_YEAR, "value": ""}, {"value"}),
        ({"period": LAST_YEAR, "value": "sáu mươi"}, {"value"}),
        ({"period": LAST_YEAR, "value": True}, {"value"}),
        ({"period": LAST_YEAR, "value": ["60"]}, {"value"}),
        ({"period": LAST_YEAR, "value": "1" * 30}, {"value"}),
        ({"period": LAST_YEAR, "value": "60", "note": 5}, {"note"}),
        ({"period": LAST_YEAR, "value": "60", "evidence": "x" * 1001}, {"evidence"}),
        ({"period": "abc", "value": "x", "note": ["a"]}, {"period", "value", "note"}),
    ],
)
def test_bad_input_is_422_per_field_and_changes_nothing(app, fields, errors):
    before = _snapshot()
    with pytest.raises(InvalidData) as raised:
        record_value(_indicator(2030, 5), _user("hts.cv"), **fields)
    assert raised.value.status == 422
    assert set(raised.value.details) == errors
    assert _snapshot() == before


def test_a_period_that_has_not_begun_is_refused(app):
    next_year = str(local_today().year + 1)
    with pytest.raises(InvalidData) as raised:
        record_value(_indicator(2045, 1), _user("cntt.cv"), next_year, "60")
    assert raised.value.details["period"] == "this period has not begun yet"


def test_a_rank_is_a_whole_number_from_one(app):
    for bad in ("0", "2,5", "-3"):
        with pytest.raises(InvalidData):
            record_value(_indicator(2030, 3), _user("cntt.cv"), LAST_YEAR, bad)
    assert record_value(_indicator(2030, 3), _user("cntt.cv"), LAST_YEAR, "12").value == 12


def test_numbers_as_vietnamese_write_them_and_qualitative_text(app):
    assert record_value(_indicator(2030, 5), _user("hts.cv"), LAST_YEAR, "55,5%").value == Decimal("55.5")
    assert record_value(_indicator(2030, 5), _user("hts.cv"), LAST_YEAR, 56).value == 56
    row = record_value(_indicator(2030, 16), _user("hts.cv"), LAST_YEAR, "Đã phủ cáp quang 100% xã")
    assert row.value is None and row.value_text == "Đã phủ cáp quang 100% xã"


@pytest.mark.parametrize(
    ("period", "bounds"),
    [
        ("2025", (date(2025, 1, 1), date(2025, 12, 31))),
        ("2025-Q2", (date(2025, 4, 1), date(2025, 6, 30))),
        ("2024-02", (date(2024, 2, 1), date(2024, 2, 29))),
    ],
)
def test_periods(period, bounds):
    assert period_bounds(period) == bounds


# --- history and status -------------------------------------------------------------------------


def test_every_entry_is_kept_and_the_latest_period_is_current(app):
    indicator, user = _indicator(2030, 5), _user("hts.cv")  # "> 55"
    record_value(indicator, user, "2025-Q1", "40")
    record_value(indicator, user, "2025", "58")
    record_value(indicator, user, "2025-Q2", "45")  # entered late, for an earlier period
    record_value(indicator, user, "2025", "57", "Điều chỉnh theo số liệu chính thức")  # a correction
    assert db.session.scalar(select(func.count()).select_from(IndicatorValue)) == 4
    history = indicator_values.history(indicator)
    assert [(row.period, row.value_text) for row in history] == [
        ("2025", "57"),
        ("2025", "58"),
        ("2025-Q2", "45"),
        ("2025-Q1", "40"),
    ]
    current = indicator_values.indicator_row(indicator, date(2026, 6, 1))
    assert current.current.value_text == "57" and current.status == "achieved"
    assert [row.value_text for row in indicator_values.series(indicator)] == ["40", "45", "57"]


def test_status_from_the_latest_value(app, monkeypatch):
    indicator, user = _indicator(2030, 5), _user("hts.cv")
    assert indicator_values.indicator_row(indicator, date(2026, 6, 1)).status is None
    record_value(indicator, user, LAST_YEAR, "50")
    assert indicator_values.indicator_row(indicator, date(2026, 6, 1)).status == "on_track"
    assert indicator_values.indicator_row(indicator, date(2031, 1, 1)).status == "behind"
    record_value(indicator, user, LAST_YEAR, "56")
    assert indicator_values.indicator_row(indicator, date(2031, 1, 1)).status == "achieved"
    record_value(_indicator(2030, 16), user, LAST_YEAR, "Đang triển khai")
    assert indicator_values.indicator_row(_indicator(2030, 16), date(2026, 6, 1)).status == "not_measurable"


# --- pages --------------------------------------------------------------------------------------


def _page(client, url: str, status: int = 200):
    response = client.get(url)
    assert response.status_code == status, url
    return lxml.html.fromstring(response.get_data(as_text=True)), response.get_data(as_text=True)


def test_the_tracking_page_shows_each_indicator_with_its_status_in_vietnamese(app, client, auth):
    record_value(_indicator(2030, 5), _user("hts.cv"), LAST_YEAR, "56")
    record_value(_indicator(2030, 11), _user("qlkh.cv"), LAST_YEAR, "40")
    record_value(_indicator(2030, 16), _user("hts.cv"), LAST_YEAR, "Đang triển khai")
    auth.login("giamsat")
    doc, html = _page(client, f"/plans/{_plan().id}/indicators/tracking")
    assert len(doc.xpath("//tr[@data-indicator]")) == 26
    headings = [
        " ".join(h.text_content().split()) for h in doc.xpath("//h2[contains(@class, 'horizon-heading')]")
    ]
    assert headings == ["Chỉ tiêu đến năm 2030", "Chỉ tiêu đến năm 2045"]

    def cells(key):
        row = doc.xpath(f"//tr[@data-indicator='{key}']")[0]
        return [" ".join(td.text_content().split()) for td in row.xpath("td")]

    assert cells("2030-5")[3:7] == ["> 55", "56", LAST_YEAR, "Đạt"]
    assert cells("2030-11")[6] == "Đúng tiến độ"
    assert cells("2030-16")[6] == "Không đo được"
    assert cells("2030-3")[4:7] == ["—", "", "Chưa có số liệu"]
    link = doc.xpath("//tr[@data-indicator='2030-5']//a[@class='indicator-link']")[0]
    assert link.get("href") == f"/indicators/{_indicator(2030, 5).id}"


def test_the_indicator_page_shows_history_chart_data_and_the_form_to_its_unit(app, client, auth):
    indicator = _indicator(2030, 3)
    record_value(indicator, _user("cntt.cv"), LAST_YEAR, "20", "Xếp hạng DTI", "https://dti.gov.vn/2025")
    auth.login("cntt.cv")
    doc, html = _page(client, f"/indicators/{indicator.id}")
    assert (
        "Xếp hạng chỉ số đánh giá chuyển đổi số (DTI)"
        in doc.get_element_by_id("indicator-name").text_content()
    )
    assert "Đúng tiến độ" in doc.get_element_by_id("indicator-current").text_content()
    assert "hạng 15 trở lên" in doc.get_element_by_id("indicator-reading").text_content()
    rows = doc.xpath("//table[@id='indicator-history']/tbody/tr")
    assert len(rows) == 1 and "Chuyên viên" in rows[0].text_content()
    assert doc.xpath("//table[@id='indicator-history']//a[@href='https://dti.gov.vn/2025']")
    data = doc.get_element_by_id("indicator-chart-data")
    assert data.get("type") == "application/json" and '"reverse": true' in data.text
    assert doc.xpath("//script[contains(@src, 'chart.umd.min.js')]")
    assert doc.xpath("//script[contains(@src, 'js/indicator-chart.js')]")
    assert not doc.xpath("//script[not(@src) and not(@type='application/json')]")  # CSP: no inline code
    assert doc.get_element_by_id("indicator-value-form") is not None
    assert [label.text_content() for label in doc.xpath("//form[@id='indicator-value-form']//label")][:2] == [
        "Kỳ",
        "Giá trị",
    ]


def test_the_form_is_not_offered_to_a_supervisor_or_another_unit(app, client, auth):
    indicator = _indicator(2030, 3)
    for username in ("giamsat", "hts.cv"):
        auth.login(username)
        doc, _ = _page(client, f"/indicators/{indicator.id}")
        assert not doc.xpath("//form[@id='indicator-value-form']")
        assert doc.get_element_by_id("indicator-read-only") is not None
        auth.logout()


def test_recording_through_the_form(app, client, auth):
    indicator = _indicator(2030, 3)
    auth.login("cntt.cv")
    _, html = _page(client, f"/indicators/{indicator.id}")
    fields = {
        "csrf_token": csrf_token_from(html),
        "period": LAST_YEAR,
        "value": "14",
        "note": "",
        "evidence": "",
    }
    response = client.post(f"/indicators/{indicator.id}/values", data=fields)
    assert response.status_code == 302 and response.headers["Location"] == f"/indicators/{indicator.id}"
    assert indicator_values.current_value(indicator).value == 14
    doc, _ = _page(client, f"/indicators/{indicator.id}")
    assert "Đạt" in doc.get_element_by_id("indicator-current").text_content()


def test_a_bad_form_says_what_is_wrong_in_vietnamese_and_saves_nothing(app, client, auth):
    indicator = _indicator(2030, 3)
    auth.login("cntt.cv")
    _, html = _page(client, f"/indicators/{indicator.id}")
    before = _snapshot()
    fields = {
        "csrf_token": csrf_token_from(html),
        "period": "2025-13",
        "value": "mười",
        "note": "<script>x</script>",
    }
    response = client.post(f"/indicators/{indicator.id}/values", data=fields)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Kỳ phải là năm YYYY" in page and "Thứ hạng phải là số nguyên" not in page
    assert "Giá trị phải là một số" in page
    assert "<script>x</script>" not in page
    assert _snapshot() == before


@pytest.mark.parametrize("username", ["giamsat", "hts.cv"])
def test_posting_the_form_as_someone_else_is_403(app, client, auth, username):
    indicator = _indicator(2030, 3)
    auth.login(username)
    _, html = _page(client, f"/indicators/{indicator.id}")
    before = _snapshot()
    fields = {"csrf_token": csrf_token_from(html), "period": LAST_YEAR, "value": "14"}
    assert client.post(f"/indicators/{indicator.id}/values", data=fields).status_code == 403
    assert _snapshot() == before


def test_unknown_ids_are_404(app, client, auth):
    auth.login("cntt.cv")
    _page(client, "/indicators/999999", 404)
    _page(client, "/plans/999999/indicators/tracking", 404)


# --- API ----------------------------------------------------------------------------------------


def test_api_lists_the_plan_s_indicators_with_where_they_stand(app, client, api_token):
    record_value(_indicator(2030, 5), _user("hts.cv"), LAST_YEAR, "56", evidence="Số 5/BC")
    token = api_token("giamsat")
    response = client.get(
        f"/api/v1/plans/{_plan().id}/indicators", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert len(items) == 26 and [i["horizon"] for i in items] == [2030] * 22 + [2045] * 4
    tfp = next(i for i in items if (i["horizon"], i["number"]) == (2030, 5))
    assert tfp["target"] == "> 55" and tfp["target_parsed"]["kind"] == "comparator"
    assert tfp["target_parsed"]["op"] == ">" and tfp["target_parsed"]["value"] == 55
    assert tfp["responsible_unit"]["code"] == "HTS" and tfp["status"] == "achieved"
    assert tfp["current"]["value"] == 56 and tfp["current"]["evidence"] == "Số 5/BC"
    assert tfp["current"]["entered_by"]["username"] == "hts.cv"
    dti = next(i for i in items if (i["horizon"], i["number"]) == (2030, 3))
    assert dti["current"] is None and dti["status"] is None and dti["target_parsed"]["kind"] == "rank"
    assert (
        client.get(
            "/api/v1/plans/999999/indicators", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 404
    )


def test_api_records_a_value(app, client, api_token):
    indicator = _indicator(2030, 3)
    headers = {"Authorization": f"Bearer {api_token('cntt.tp')}"}
    body = {"period": f"{LAST_YEAR}-Q4", "value": 14, "note": "DTI", "evidence": "QĐ 123/QĐ-BTTTT"}
    response = client.post(f"/api/v1/indicators/{indicator.id}/values", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["value"]["period"] == f"{LAST_YEAR}-Q4" and answer["value"]["value"] == 14
    assert answer["indicator"]["status"] == "achieved"
    assert db.session.scalar(select(func.count()).select_from(IndicatorValue)) == 1


@pytest.mark.parametrize(
    ("username", "body", "status", "details"),
    [
        ("giamsat", {"period": LAST_YEAR, "value": 14}, 403, None),
        ("hts.cv", {"period": LAST_YEAR, "value": 14}, 403, None),
        ("cntt.cv", {"period": "2025-13", "value": 14}, 422, {"period"}),
        ("cntt.cv", {"period": LAST_YEAR}, 422, {"value"}),
        ("cntt.cv", {}, 422, {"period", "value"}),
        ("cntt.cv", {"period": LAST_YEAR, "value": 14, "extra": 1}, 400, {"extra"}),
        ("cntt.cv", [1, 2], 400, None),
    ],
)
def test_api_refusals_change_nothing(app, client, api_token, username, body, status, details):
    indicator = _indicator(2030, 3)
    headers = {"Authorization": f"Bearer {api_token(username)}"}
    before = _snapshot()
    response = client.post(f"/api/v1/indicators/{indicator.id}/values", json=body, headers=headers)
    assert response.status_code == status, response.get_json()
    if details:
        assert set(response.get_json()["details"]) == details
    assert _snapshot() == before


def test_api_unknown_indicator_is_404(app, client, api_token):
    headers = {"Authorization": f"Bearer {api_token('admin')}"}
    response = client.post(
        "/api/v1/indicators/999999/values", json={"period": "2025", "value": 1}, headers=headers
    )
    assert response.status_code == 404


def test_the_chart_scripts_the_page_loads_are_served(app, client, auth):
    """The page's chart needs Chart.js from /vendor (node_modules) and our static script."""
    indicator = _indicator(2030, 5)
    record_value(indicator, _user("hts.cv"), LAST_YEAR, "50")
    auth.login("hts.cv")
    doc, _ = _page(client, f"/indicators/{indicator.id}")
    sources = [script.get("src") for script in doc.xpath("//script[@src]")]
    assert "/vendor/chart.js/dist/chart.umd.min.js" in sources
    node_modules = app.config["NODE_MODULES_DIR"]
    if not node_modules or not (Path(node_modules) / "chart.js" / "dist").is_dir():
        pytest.skip("node_modules/chart.js is not installed")
    for src in sources:
        assert client.get(src).status_code == 200, src
