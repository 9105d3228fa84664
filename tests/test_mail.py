"""E-mail of reminders and escalations (app/services/mail.py), and the outbox when no server is set.

Task 1.a is started as cntt.cv; its draft step is due at DUE. Under TESTING Flask-Mail sends nothing
(MAIL_SUPPRESS_SEND) but `mail.record_messages()` sees each message; the tests that need a real SMTP
conversation turn suppression off and talk to a tiny local server, or to a port nobody listens on.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Notification, ReminderSent, Task, User, WorkItem, WorkItemStatus
from app.services.mail import mail
from config import config_from_env
from workflows.assignment import reassign
from workflows.engine import start_process
from workflows.reminders import escalate_overdue, send_due_reminders
from workflows.scheduler import tick

DUE = datetime(2027, 3, 10, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


@pytest.fixture
def outbox(app, tmp_path):
    path = tmp_path / "outbox.jsonl"
    app.config["OUTBOX_PATH"] = str(path)
    return path


@pytest.fixture
def mail_config(app, outbox):
    app.config.update(MAIL_SERVER="smtp.example.test", MAIL_DEFAULT_SENDER="tien-do@example.test")
    return app.config


@pytest.fixture
def item_id(app, outbox) -> int:
    task = db.session.scalar(select(Task).where(Task.code == "1.a"))
    start_process(task, _user("cntt.cv"))
    item = db.session.scalar(
        select(WorkItem).where(WorkItem.task_id == task.id, WorkItem.status == WorkItemStatus.OPEN)
    )
    item.due_at = DUE
    db.session.commit()
    return item.id


def _notification_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Notification.id)))


def test_each_escalation_is_mailed_to_its_recipient(app, mail_config, item_id, outbox):
    with mail.record_messages() as sent:
        assert escalate_overdue(DUE + 3 * DAY) == [f"escalate-head #{item_id}", f"escalate-leader #{item_id}"]
    assert sorted(m.recipients[0] for m in sent) == [
        "cntt.tp@skhcn.haiduong.gov.vn",
        "giamdoc@skhcn.haiduong.gov.vn",
    ]
    message = sent[0]
    assert message.subject.startswith("Quá hạn: ") and "nhiệm vụ 1.a" in message.subject
    assert message.sender == "tien-do@example.test"
    assert "Hạn: 10/03/2027 09:00" in message.body  # local time of DUE
    assert len(sent) == _notification_count()
    assert not outbox.exists()  # with a mail server the outbox is not written


def test_a_reminder_is_mailed_once(app, mail_config, item_id):
    with mail.record_messages() as sent:
        assert send_due_reminders(DUE - 7 * DAY) == [f"remind-7d #{item_id}"]
        assert send_due_reminders(DUE - 7 * DAY) == []
        assert send_due_reminders(DUE - 6 * DAY) == []
    assert [m.recipients for m in sent] == [["cntt.cv@skhcn.haiduong.gov.vn"]]  # CNTT's specialist
    assert sent[0].subject.startswith("Sắp đến hạn: ")


def test_users_without_an_address_get_the_in_app_notification_only(app, mail_config, item_id):
    _user("cntt.tp").email = None
    db.session.commit()
    with mail.record_messages() as sent:
        assert escalate_overdue(DUE + 3 * DAY) == [f"escalate-head #{item_id}", f"escalate-leader #{item_id}"]
    assert [m.recipients for m in sent] == [["giamdoc@skhcn.haiduong.gov.vn"]]
    notified = set(db.session.scalars(select(Notification.user_id)))
    assert notified == {_user("cntt.tp").id, _user("giamdoc").id}


def test_without_a_mail_server_nothing_is_mailed_and_the_outbox_gets_it(app, item_id, outbox):
    with mail.record_messages() as sent:
        send_due_reminders(DUE - DAY)
    assert sent == []
    lines = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == _notification_count() > 0
    assert {line["kind"] for line in lines} == {"remind-1d"}


def test_an_unwritable_outbox_is_reported_and_the_notification_kept(app, item_id, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    app.config["OUTBOX_PATH"] = str(blocker / "outbox.jsonl")
    lines = send_due_reminders(DUE - DAY)
    assert lines[0] == f"remind-1d #{item_id}"
    assert lines[1].startswith(f"remind-1d #{item_id} outbox failed: ")
    assert _notification_count() == 1
    assert send_due_reminders(DUE - DAY) == []


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_server_loses_nothing_and_does_not_stop_the_tick(
    app, mail_config, item_id, outbox, caplog
):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=_closed_port(), MAIL_SUPPRESS_SEND=False)
    report = tick(DUE + 5 * DAY)
    lines = report.done["escalations_sent"]
    assert lines[0] == f"escalate-head #{item_id}"
    assert lines[1].startswith(f"escalate-head #{item_id} mail failed for cntt.tp: ConnectionRefusedError")
    assert lines[2] == f"escalate-leader #{item_id}"
    assert lines[3].startswith(f"escalate-leader #{item_id} mail failed for giamdoc")
    assert "marks_updated" in report.done  # the steps after it ran

    # The notifications are in the database, marked sent, and the undelivered mail is in the outbox.
    assert _notification_count() == 2
    assert sorted(db.session.scalars(select(ReminderSent.kind))) == ["escalate-head", "escalate-leader"]
    written = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    assert sorted(line["username"] for line in written) == ["cntt.tp", "giamdoc"]
    assert "e-mail to cntt.tp failed" in caplog.text
    assert tick(DUE + 5 * DAY).done["escalations_sent"] == []  # nothing is sent twice


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough of SMTP for smtplib: every command accepted, each message's data kept."""

    def handle(self) -> None:
        self.wfile.write(b"220 test ESMTP\r\n")
        while line := self.rfile.readline():
            command = line.decode("ascii", "replace").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.wfile.write(b"250 test\r\n")
            elif command == "DATA":
                self.wfile.write(b"354 go on\r\n")
                data = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(chunk)
                self.server.received.append(b"".join(data))
                self.wfile.write(b"250 queued\r\n")
            elif command == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_real_smtp_conversation_delivers_utf8_messages(app, mail_config, item_id, smtp_server, outbox):
    app.config.update(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.server_address[1], MAIL_SUPPRESS_SEND=False
    )
    assert escalate_overdue(DUE) == [f"escalate-head #{item_id}"]
    [raw] = smtp_server.received
    text = raw.decode("utf-8", "replace")
    assert "To: cntt.tp@skhcn.haiduong.gov.vn" in text and "From: tien-do@example.test" in text
    assert "Subject: =?utf-8?" in text  # the Vietnamese subject is encoded, not mangled
    assert not outbox.exists()


def test_mail_settings_come_from_the_environment():
    config = config_from_env(
        {
            "MAIL_SERVER": "smtp.haiduong.gov.vn",
            "MAIL_PORT": "587",
            "MAIL_USE_TLS": "1",
            "MAIL_USERNAME": "tien-do",
            "MAIL_PASSWORD": "secret",
            "MAIL_DEFAULT_SENDER": "Tiến độ <tien-do@skhcn.haiduong.gov.vn>",
        }
    )
    assert (config.MAIL_SERVER, config.MAIL_PORT, config.MAIL_USE_TLS) == ("smtp.haiduong.gov.vn", 587, True)
    assert (config.MAIL_USERNAME, config.MAIL_PASSWORD) == ("tien-do", "secret")
    assert config.MAIL_DEFAULT_SENDER == "Tiến độ <tien-do@skhcn.haiduong.gov.vn>"
    assert config_from_env({}).MAIL_SERVER is None  # no server: the outbox


def test_a_reassigned_step_is_mailed_to_its_new_holder(app, mail_config, item_id):
    item = db.session.get(WorkItem, item_id)
    with mail.record_messages() as sent:
        reassign(item, _user("cntt.tp"), "cntt.cv")  # the unit head gives the draft to its specialist
    [message] = sent
    assert message.recipients == ["cntt.cv@skhcn.haiduong.gov.vn"]
    assert message.subject.startswith("Được giao: ") and "1.a" in message.subject


def test_without_a_mail_server_a_reassignment_goes_to_the_outbox(app, item_id, outbox):
    reassign(db.session.get(WorkItem, item_id), _user("giamdoc"), "cntt.cv")
    [line] = outbox.read_text(encoding="utf-8").splitlines()
    assert '"kind": "assignment"' in line and '"username": "cntt.cv"' in line
