"""Delivering notifications outside the application: e-mail through Flask-Mail, or the outbox file.

`deliver(messages)` is called after the notification rows are committed (workflows/reminders.py), so a
failure here never loses a notification: it is logged, the undelivered messages are appended to the
outbox file instead, and the problem comes back as a line for the scheduler's report.

- MAIL_SERVER set: each message goes by e-mail to its user's address (users without one get the in-app
  notification only). MAIL_PORT, MAIL_USE_TLS, MAIL_USERNAME, MAIL_PASSWORD, MAIL_DEFAULT_SENDER as in
  Flask-Mail; MAIL_TIMEOUT bounds the wait for the server. Under TESTING nothing leaves the machine
  (Flask-Mail's MAIL_SUPPRESS_SEND) but `mail.record_messages()` sees every message.
- MAIL_SERVER unset: one JSON line per message appended to OUTBOX_PATH (when that is set).
"""

from __future__ import annotations

import json
import smtplib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import Flask, current_app
from flask_mail import Connection, Mail, Message

mail = Mail()


@dataclass(frozen=True)
class Outgoing:
    """One notification for one user, as it leaves the application."""

    to: str | None  # the user's e-mail address, if any
    username: str
    kind: str  # remind-7d, escalate-head, ...
    subject: str
    body: str
    at: datetime

    def outbox_line(self) -> str:
        record = {
            "at": self.at.isoformat(),
            "to": self.to,
            "username": self.username,
            "kind": self.kind,
            "subject": self.subject,
            "body": self.body,
        }
        return json.dumps(record, ensure_ascii=False)


def init_app(app: Flask) -> None:
    """Register Flask-Mail (its settings are read again at every delivery)."""
    mail.init_app(app)


def deliver(messages: list[Outgoing]) -> list[str]:
    """E-mail the messages when MAIL_SERVER is set, else write them to the outbox; return the problems."""
    if not messages:
        return []
    if not current_app.config.get("MAIL_SERVER"):
        return _to_outbox(messages)
    mailable = [message for message in messages if message.to]
    sent: list[Outgoing] = []
    try:
        _send(mailable, sent)
    except Exception as error:  # SMTP refusal, network, bad address: keep the tick going
        unsent = mailable[len(sent) :]
        if not unsent:  # every message went out; only closing the connection failed
            current_app.logger.warning("closing the SMTP connection failed: %s", error)
            return []
        names = ", ".join(m.username for m in unsent)
        current_app.logger.warning(
            "e-mail to %s failed (%s: %s); written to the outbox instead", names, type(error).__name__, error
        )
        return [f"mail failed for {names}: {type(error).__name__}: {error}", *_to_outbox(unsent)]
    return []


def _to_outbox(messages: list[Outgoing]) -> list[str]:
    """Write to the outbox; a full disk or a wrong path is logged and reported, not raised."""
    try:
        write_outbox(messages)
    except OSError as error:
        current_app.logger.error("writing the outbox failed: %s", error)
        return [f"outbox failed: {type(error).__name__}: {error}"]
    return []


def write_outbox(messages: list[Outgoing]) -> None:
    """Append one JSON line per message to OUTBOX_PATH (nothing when it is not set)."""
    path = current_app.config.get("OUTBOX_PATH")
    if not path or not messages:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as outbox:
        outbox.write("".join(message.outbox_line() + "\n" for message in messages))


def _send(messages: list[Outgoing], sent: list[Outgoing]) -> None:
    """Send over one SMTP connection, adding each message that went out to `sent`; raise on a failure."""
    if not messages:
        return
    app = current_app._get_current_object()
    if "mail" not in app.extensions:
        mail.init_app(app)
    state = mail.init_mail(app.config, app.debug, app.testing)  # the settings as they are now
    sender = state.default_sender or state.username
    if not sender:
        raise ValueError("MAIL_DEFAULT_SENDER is not set")
    with _TimedConnection(state, float(app.config.get("MAIL_TIMEOUT", 10))) as connection:
        for message in messages:
            connection.send(
                Message(
                    subject=_one_line(message.subject),
                    recipients=[message.to],
                    body=message.body,
                    sender=sender,
                )
            )
            sent.append(message)


def _one_line(text: str) -> str:
    return " ".join(text.split())


class _TimedConnection(Connection):
    """Flask-Mail's connection with a time limit on reaching the server (0.10 has none)."""

    def __init__(self, state, timeout: float) -> None:
        super().__init__(state)
        self.timeout = timeout

    def configure_host(self) -> smtplib.SMTP:
        state = self.mail
        factory = smtplib.SMTP_SSL if state.use_ssl else smtplib.SMTP
        host = factory(state.server, state.port, timeout=self.timeout)
        try:
            host.set_debuglevel(int(state.debug))
            if state.use_tls:
                host.starttls()
            if state.username and state.password:
                host.login(state.username, state.password)
        except Exception:
            host.close()
            raise
        return host
