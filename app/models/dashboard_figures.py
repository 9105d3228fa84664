"""The dashboard's department-wide counts as the scheduler last computed them (one row per scope)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class DashboardFigures(db.Model):
    __tablename__ = "dashboard_figures"

    scope: Mapped[str] = mapped_column(String(20), primary_key=True)  # "all_plans"
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    local_date: Mapped[date] = mapped_column(Date)  # the day "overdue" was counted for (Asia/Ho_Chi_Minh)
    # [[lead unit id, state, tasks, sum of progress, overdue], ...] as app.services.dashboard counts them
    rows: Mapped[list] = mapped_column(JSON)
