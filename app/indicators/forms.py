"""The form for an indicator's value: period, value, note, evidence. The rules are
app.services.indicator_values'; its English error details are shown here in the user's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.services.indicator_values import MAX_EVIDENCE, MAX_NOTE, MAX_VALUE_TEXT

# What the service says (by the start of its message), in the user's words.
SERVICE_MESSAGES = (
    ("required: a year", _l("Enter the period: a year YYYY, a quarter YYYY-Qn or a month YYYY-MM.")),
    ("must be a year", _l("The period must be a year YYYY, a quarter YYYY-Qn or a month YYYY-MM.")),
    ("the year must be from", _l("The year must be between 2000 and the indicator's target year.")),
    ("this period has not begun", _l("This period has not begun yet.")),
    ("required: a number", _l("Enter the value: a number, or a text for a qualitative indicator.")),
    ("must be a number", _l("The value must be a number, e.g. 55 or 2,5.")),
    ("a rank must be", _l("A rank must be a whole number from 1.")),
    ("too large", _l("This value is too large.")),
    ("at most", _l("This text is too long.")),
)
NOT_ACCEPTED = _l("This value is not accepted.")


class IndicatorValueForm(FlaskForm):
    period = StringField(
        _l("Period"),
        validators=[
            DataRequired(message=_l("Enter the period: a year YYYY, a quarter YYYY-Qn or a month YYYY-MM."))
        ],
        description=_l("A year (2025), a quarter (2025-Q2) or a month (2025-06)."),
    )
    value = StringField(
        _l("Value"),
        validators=[
            DataRequired(message=_l("Enter the value: a number, or a text for a qualitative indicator.")),
            Length(max=MAX_VALUE_TEXT, message=_l("At most %(max)d characters.")),
        ],
    )
    note = TextAreaField(
        _l("Note"), validators=[Optional(), Length(max=MAX_NOTE, message=_l("At most %(max)d characters."))]
    )
    evidence = StringField(
        _l("Evidence (document number or link)"),
        validators=[Optional(), Length(max=MAX_EVIDENCE, message=_l("At most %(max)d characters."))],
    )

    def show_service_errors(self, details: dict[str, str]) -> None:
        for name, message in details.items():
            field = getattr(self, name, None)
            if field is None:
                continue
            text = next(
                (shown for start, shown in SERVICE_MESSAGES if message.startswith(start)), NOT_ACCEPTED
            )
            field.errors = [*field.errors, str(text)]
