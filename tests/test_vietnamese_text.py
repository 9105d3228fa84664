"""Vietnamese text survives the database, the pages and the API byte for byte, in NFC."""

import html
import unicodedata

from sqlalchemy import select

from app.extensions import db
from app.models import Task

SAMPLE = "Ứng dụng “chuyển đổi số” ở Đắk Lắk: Quản lý, điều hành – thử nghiệm ỹ, Ỷ, ữ, ặ, ộ."


def _task(code="4.h") -> Task:
    return db.session.scalar(select(Task).where(Task.code == code))


def test_sample_is_nfc():
    assert unicodedata.is_normalized("NFC", SAMPLE)


def test_text_round_trips_through_database(app):
    task = _task()
    task.title = SAMPLE
    db.session.commit()
    db.session.expire_all()
    assert _task().title == SAMPLE


def test_text_round_trips_through_task_page(app, client, auth):
    task = _task()
    task.expected_result = SAMPLE
    db.session.commit()
    auth.login()
    page = html.unescape(client.get(f"/tasks/{task.id}").get_data(as_text=True))
    assert SAMPLE in page
    assert unicodedata.is_normalized("NFC", page)


def test_text_round_trips_through_api(app, client, api_token):
    task = _task()
    task.content = SAMPLE
    db.session.commit()
    response = client.get(f"/api/v1/tasks/{task.id}", headers={"Authorization": f"Bearer {api_token()}"})
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.get_json()["content"] == SAMPLE


def test_imported_plan_text_is_nfc(app):
    for task in db.session.scalars(select(Task)):
        for text in (task.title, task.content, task.lead_unit.name, task.section.heading):
            assert unicodedata.is_normalized("NFC", text), task.code
