"""The task page's forms: the "5 rõ" fields (assignee, expected result, deadline) and the central guidance.

The forms only carry what was typed; the rules are the services' (app.services.task_editing and
app.services.task_types), whose English error details are shown here in the user's language.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import DateInput

from app.models import Task
from app.services.task_editing import assignable_users

MAX_TEXT = 4000

# What app.services.task_editing says, in the user's words; anything else gets the last one.
SERVICE_MESSAGES = {
    "no active user with this username": _l("Choose an active user of the lead unit."),
    "this user does not belong to the task's lead unit": _l("Choose someone of the task's lead unit."),
    "must not be empty": _l("The expected result cannot be left empty."),
    "must be a date YYYY-MM-DD": _l("Enter a valid date."),
}
NOT_ACCEPTED = _l("This value is not accepted.")


class TaskFieldsForm(FlaskForm):
    """Assignee, expected result and deadline; an empty assignee or deadline clears it."""

    assignee = SelectField(_l("Assignee"), choices=[], validate_choice=False)
    expected_result = TextAreaField(
        _l("Expected result"),
        validators=[Length(max=MAX_TEXT, message=_l("At most %(max)d characters."))],
    )
    deadline = StringField(_l("Deadline"), widget=DateInput())

    @classmethod
    def for_task(cls, task: Task, **kwargs: Any) -> TaskFieldsForm:
        """The form for `task`: the users it may be given to, and its current values as defaults."""
        form = cls(
            assignee=task.assignee.username if task.assignee else "",
            expected_result=task.expected_result or "",
            deadline=task.due_date.isoformat() if task.due_date else "",
            **kwargs,
        )
        people = assignable_users(task)
        if task.assignee is not None and task.assignee not in people:
            people.append(task.assignee)  # shown as it is, so that saving other fields keeps it
        form.assignee.choices = [("", str(_l("— Not assigned —")))] + [
            (user.username, f"{user.full_name} ({user.unit.short_name or user.unit.name})") for user in people
        ]
        return form

    def changes(self, task: Task) -> dict[str, str | None]:
        """The sent fields whose value differs from the task's (PATCH-like), for update_task_fields.

        A field missing from the request changes nothing (a browser always sends all three).
        """
        current = {
            "assignee": task.assignee.username if task.assignee else None,
            "expected_result": (task.expected_result or "").strip(),
            "deadline": task.due_date.isoformat() if task.due_date else None,
        }
        changes: dict[str, str | None] = {}
        for name, old in current.items():
            field = getattr(self, name)
            if not field.raw_data:
                continue
            new = (field.data or "").strip()
            new = new if name == "expected_result" else new or None
            if new != old:
                changes[name] = new
        return changes

    def show_service_errors(self, details: dict[str, str]) -> None:
        for name, message in details.items():
            field = getattr(self, name, None)
            if field is not None:
                field.errors = [*field.errors, str(SERVICE_MESSAGES.get(message, NOT_ACCEPTED))]


class GuidanceForm(FlaskForm):
    """The central guidance document that arrived: its number, date and a summary."""

    number = StringField(
        _l("Document number"),
        validators=[
            DataRequired(message=_l("Enter the number of the guidance document.")),
            Length(max=100, message=_l("At most %(max)d characters.")),
        ],
    )
    issued = StringField(
        _l("Date of the document"),
        widget=DateInput(),
        validators=[DataRequired(message=_l("Enter the date of the guidance document."))],
    )
    summary = TextAreaField(
        _l("Summary"),
        validators=[Optional(), Length(max=MAX_TEXT - 200, message=_l("At most %(max)d characters."))],
    )

    def validate_issued(self, field: StringField) -> None:
        text = (field.data or "").strip()
        try:
            date.fromisoformat(text)
        except ValueError:
            text = ""
        if len(text) != 10:  # YYYY-MM-DD, as a date input sends it
            raise ValidationError(str(SERVICE_MESSAGES["must be a date YYYY-MM-DD"]))

    def issued_date(self) -> date:
        return date.fromisoformat(self.issued.data.strip())
