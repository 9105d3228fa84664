"""Values of the plan's indicators (chỉ tiêu) per period, as the responsible unit reports them.

Every entry is kept: a correction is a new row. The current value of an indicator is the entry of its
latest period (by the period's last day), and of that period the one entered last
(app/services/indicator_values.py).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.plans import Indicator
from app.models.users import User


class IndicatorValue(db.Model):
    __tablename__ = "indicator_values"
    __table_args__ = (Index("ix_indicator_values_indicator_id_period_end", "indicator_id", "period_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(10))  # "2025", "2025-Q2" or "2025-06"
    period_end: Mapped[date] = mapped_column(Date)  # the period's last day, to order periods
    # The number (a rank for a ranking); None for a qualitative target, whose value is `value_text`.
    value: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))
    value_text: Mapped[str] = mapped_column(String(500))  # as entered
    note: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(String(1000))  # a document number or a link
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    indicator: Mapped[Indicator] = relationship()
    entered_by: Mapped[User | None] = relationship()
