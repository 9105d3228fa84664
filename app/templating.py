"""Jinja filters and globals: dates as dd/mm/yyyy in Asia/Ho_Chi_Minh, translated labels."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask

from app import labels
from app.services import deadlines, five_clears
from app.services.clock import local_today, to_local


def vn_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value)
    return value.strftime("%d/%m/%Y")


def vn_datetime(value: datetime | None) -> str:
    return "" if value is None else to_local(value).strftime("%d/%m/%Y %H:%M")


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(vn_date=vn_date, vn_datetime=vn_datetime, due=deadlines.format_due)
    app.jinja_env.globals.update(
        labels=labels,
        local_today=local_today,
        is_overdue=deadlines.is_overdue,
        extra_recurrences=deadlines.extra_recurrences,
        missing_clears=five_clears.missing_clears,
    )
