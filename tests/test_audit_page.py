"""The /audit page, its CSV and XLSX exports and the printable history of a task.

Supervisors, leaders and admins filter the trail and take it away as a file; the file holds the same
rows as the page, with Vietnamese intact, and the export is itself audited. Anyone who may read a task
may print its history.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent
from app.services import audit_export
from tests.audit_data import RETURN_COMMENT, VP_COMMENT, bulk_rows, drive_1a, edge_rows, newest_first_ids

MARCH_HTS = "unit=HTS&action=step.completed&action=step.returned&since=2025-03-01&until=2025-03-31"


@pytest.fixture
def trail(app):
    t1a = drive_1a()
    return t1a, edge_rows(t1a)


@pytest.fixture
def supervisor(client, auth):
    assert auth.login("giamsat").status_code == 302
    return client


def _row_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-event-id="(\d+)"', html)]


def _next_link(html: str, which: str = "next-page") -> str | None:
    match = re.search(rf'id="{which}" href="([^"]+)"', html)
    return match.group(1).replace("&amp;", "&") if match else None


def _exports() -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == "audit.exported").order_by(AuditEvent.id)
    db.session.expire_all()
    return list(db.session.scalars(query))


# --- who may see it ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/audit", "/audit/export.csv", "/audit/export.xlsx"])
def test_a_specialist_is_refused_the_page_and_the_exports(trail, client, auth, url):
    auth.login("hts.cv")
    assert client.get(url).status_code == 403
    assert _exports() == []


def test_the_menu_shows_the_audit_link_to_supervisors_only(app, client, auth):
    auth.login("cntt.cv")
    assert 'id="nav-audit"' not in client.get("/plans").get_data(as_text=True)
    auth.logout()
    auth.login("giamsat")
    assert 'id="nav-audit"' in client.get("/plans").get_data(as_text=True)


@pytest.mark.parametrize("username", ["giamdoc", "admin"])
def test_leaders_and_admins_see_the_page(trail, client, auth, username):
    auth.login(username)
    assert client.get("/audit").status_code == 200


# --- filters ----------------------------------------------------------------------------------------


def test_the_supervisor_finds_what_a_unit_did_in_a_month(trail, supervisor):
    _, edges = trail
    html = supervisor.get(f"/audit?{MARCH_HTS}").get_data(as_text=True)
    assert _row_ids(html) == [edges.march_last, edges.march_first]
    assert "31/03/2025 23:59" in html and "01/03/2025 00:00" in html  # local time, dd/mm/yyyy
    assert "Phòng Hạ tầng số" in html  # the actor's unit by name
    assert "Hoàn thành bước" in html and "Trả lại" in html  # action labels in Vietnamese
    assert 'id="audit-summary"' in html and "2" in re.search(r'id="audit-summary">([^<]*)', html).group(1)
    assert 'value="2025-03-01"' in html  # the filters stay in the form, ISO in the date inputs
    assert "01/03/2025 – 31/03/2025" in html


def test_each_filter_alone_on_the_page(trail, supervisor):
    t1a, edges = trail
    assert _row_ids(supervisor.get("/audit?actor=hts.cv").get_data(as_text=True)) == [
        edges.after_march,
        edges.march_last,
        edges.march_first,
        edges.before_march,
    ]
    by_task = supervisor.get("/audit?task=1.a").get_data(as_text=True)
    assert len(_row_ids(by_task)) == 7 and _row_ids(by_task)[-1] == edges.vp_on_1a
    assert f'href="/tasks/{t1a.id}"' in by_task and RETURN_COMMENT in by_task and VP_COMMENT in by_task
    returned = supervisor.get("/audit?action=step.returned").get_data(as_text=True)
    assert len(_row_ids(returned)) == 2 and edges.march_last in _row_ids(returned)
    assert _row_ids(supervisor.get("/audit?unit=VP").get_data(as_text=True)) == [edges.vp_on_1a]
    assert _row_ids(supervisor.get("/audit?since=2025-04-01&until=2025-04-01").get_data(as_text=True)) == [
        edges.after_march
    ]


def test_a_returned_step_shows_its_states_and_comment(trail, supervisor):
    html = supervisor.get("/audit?task=1.a&action=step.returned").get_data(as_text=True)
    assert len(_row_ids(html)) == 1
    row = html[html.index("<tr data-event-id") :]
    assert RETURN_COMMENT in row and "→" in row


@pytest.mark.parametrize(
    "query",
    [
        "since=2025-13-01",
        "until=31-31-2025",
        "since=2025-03-02&until=2025-03-01",
        "cursor=%%%",
        "cursor=abc",
        "action=nope.nope",
        "since=0001-01-01",
        "until=9999-12-31",
        "task=" + "x" * 50,
    ],
)
def test_bad_filters_are_400_with_the_form_not_500(trail, supervisor, query):
    response = supervisor.get(f"/audit?{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="audit-errors"' in html and 'id="audit-filters"' in html


def test_pages_visit_every_row_once_in_order(trail, supervisor):
    bulk_rows(130)
    expected = newest_first_ids()
    seen, url, pages = [], "/audit", 0
    while url:
        html = supervisor.get(url).get_data(as_text=True)
        seen += _row_ids(html)
        pages += 1
        url = _next_link(html)
    assert seen == expected and len(seen) == len(set(seen)) and pages == -(-len(expected) // 50)


def test_previous_page_goes_back_one_page_with_the_filters(trail, supervisor):
    bulk_rows(180)  # every third is giamdoc's: 60 rows
    first = supervisor.get("/audit?actor=giamdoc").get_data(as_text=True)
    assert _next_link(first, "previous-page") is None  # nothing newer than the first page
    second = supervisor.get(_next_link(first)).get_data(as_text=True)
    back = _next_link(second, "previous-page")
    assert back and "actor=giamdoc" in back and "Trang trước" in second
    again = supervisor.get(back).get_data(as_text=True)
    assert _row_ids(again) == _row_ids(first)
    assert _next_link(again, "previous-page") is None and _next_link(again) == _next_link(first)
    bad = supervisor.get("/audit?before=not-a-cursor")
    assert bad.status_code == 400 and "Liên kết trang không hợp lệ" in bad.get_data(as_text=True)


def test_the_next_page_keeps_the_filters(trail, supervisor):
    bulk_rows(180)  # every third is giamdoc's: 60 rows, two pages
    html = supervisor.get("/audit?actor=giamdoc").get_data(as_text=True)
    link = _next_link(html)
    assert link and "actor=giamdoc" in link
    second = _row_ids(supervisor.get(link).get_data(as_text=True))
    assert len(_row_ids(html)) == 50 and len(second) == 10
    events = {e.id: e for e in db.session.scalars(select(AuditEvent).where(AuditEvent.id.in_(second)))}
    assert {e.actor_username for e in events.values()} == {"giamdoc"}


# --- exports ----------------------------------------------------------------------------------------


def _csv_rows(response) -> list[list[str]]:
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())  # the BOM that makes Excel read UTF-8
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_the_csv_holds_the_pages_rows_with_vietnamese_intact(trail, supervisor):
    page_ids = _row_ids(supervisor.get("/audit?task=1.a").get_data(as_text=True))
    response = supervisor.get("/audit/export.csv?task=1.a")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    header, *rows = _csv_rows(response)
    assert header[0] and len(header) == 12
    assert [int(row[0]) for row in rows] == page_ids
    assert RETURN_COMMENT in [row[11] for row in rows] and VP_COMMENT in [row[11] for row in rows]
    vp_row = next(row for row in rows if row[11] == VP_COMMENT)
    assert vp_row[1] == "15/03/2025 10:00:00" and vp_row[2] == "vp.cv" and vp_row[7] == "1.a"
    assert vp_row[5] == "Văn phòng Sở"


def test_the_xlsx_has_a_real_header_datetimes_and_the_same_rows(trail, supervisor):
    _, edges = trail
    page_ids = _row_ids(supervisor.get(f"/audit?{MARCH_HTS}").get_data(as_text=True))
    response = supervisor.get(f"/audit/export.xlsx?{MARCH_HTS}")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [row[0] for row in rows[1:]] == page_ids == [edges.march_last, edges.march_first]
    assert all(cell.font.b for cell in sheet[1]) and sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:L3"
    assert sheet.column_dimensions["L"].width > 20
    assert rows[1][1] == datetime(2025, 3, 31, 23, 59, 59) and rows[2][1] == datetime(2025, 3, 1, 0, 0)
    assert sheet.cell(row=2, column=2).number_format == "dd/mm/yyyy hh:mm:ss"
    assert rows[1][5] == "Phòng Hạ tầng số và Tiêu chuẩn chất lượng"


def test_an_export_is_audited_with_its_filters_and_row_count_and_leaves_itself_out(trail, supervisor):
    before = db.session.scalar(select(func.count(AuditEvent.id)))
    _, *rows = _csv_rows(supervisor.get("/audit/export.csv"))
    assert len(rows) == before  # every row so far, not the export's own
    workbook = load_workbook(io.BytesIO(supervisor.get(f"/audit/export.xlsx?{MARCH_HTS}").get_data()))
    assert workbook.active.max_row == 3
    first, second = _exports()
    assert first.actor_username == "giamsat" and first.data["format"] == "csv"
    assert first.data["rows"] == before and first.data["filters"] == {} and first.data["truncated"] is False
    assert second.data["rows"] == 2 and second.data["filters"] == {
        "unit": "HTS",
        "action": ["step.completed", "step.returned"],
        "since": "2025-03-01",
        "until": "2025-03-31",
    }
    html = supervisor.get("/audit?action=audit.exported").get_data(as_text=True)
    assert _row_ids(html) == [second.id, first.id]


def test_an_export_with_bad_filters_is_400_and_not_audited(trail, supervisor):
    assert supervisor.get("/audit/export.csv?since=yesterday").status_code == 400
    assert supervisor.get("/audit/export.xlsx?action=nope.nope").status_code == 400
    assert _exports() == []


# --- the printable history ----------------------------------------------------------------------------


def test_anyone_who_may_read_the_task_prints_its_history(trail, client, auth):
    t1a, _ = trail
    auth.login("hts.cv")  # a specialist of another unit: may read the task, not the audit page
    response = client.get(f"/tasks/{t1a.id}/history/print")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="main-nav"' not in html and "@media print" in html
    assert RETURN_COMMENT in html and VP_COMMENT in html and "1.a" in html
    assert html.count("<tr data-action=") == 7
    assert client.get("/tasks/999999/history/print").status_code == 404


def test_the_printed_history_is_oldest_first(trail, client, auth):
    t1a, _ = trail
    auth.login("giamsat")
    html = client.get(f"/tasks/{t1a.id}/history/print").get_data(as_text=True)
    actions = re.findall(r'<tr data-action="([^"]+)"', html)
    assert actions[0] == "step.completed"  # vp.cv's row of March 2025 comes first
    assert actions[1] == "process.started" and "step.returned" in actions


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_beyond_the_cap_holds_the_newest_rows_and_says_it_was_cut(
    trail, supervisor, monkeypatch, fmt
):
    monkeypatch.setitem(audit_export.EXPORT_MAX_ROWS, fmt, 3)
    response = supervisor.get(f"/audit/export.{fmt}?actor=hts.cv")
    assert response.headers["X-Export-Truncated"] == "true" and response.headers["X-Export-Rows"] == "3"
    if fmt == "csv":
        ids = [int(row[0]) for row in _csv_rows(response)[1:]]
    else:
        sheet = load_workbook(io.BytesIO(response.get_data())).active
        ids = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    _, edges = trail
    assert ids == [edges.after_march, edges.march_last, edges.march_first]
    (export,) = _exports()
    assert export.data["rows"] == 3 and export.data["truncated"] is True
