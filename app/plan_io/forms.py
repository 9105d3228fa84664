"""The upload form of the plan import (CSRF by Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired


class PlanImportForm(FlaskForm):
    file = FileField(_l("Excel workbook (.xlsx)"), validators=[FileRequired(_l("Choose an .xlsx file."))])
