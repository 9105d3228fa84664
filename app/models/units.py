"""Organisational units: the department, its divisions and centres, groups and outside bodies."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, String, Table, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db


class UnitKind:
    """The kinds of unit. Internal kinds can have members of staff; the others are named in plans."""

    DEPARTMENT = "department"
    LEADERSHIP = "leadership"
    OFFICE = "office"
    DIVISION = "division"
    SUB_UNIT = "sub_unit"
    CENTRE = "centre"
    GROUP = "group"
    WORK_GROUP = "work_group"
    EXTERNAL = "external"
    # A commune or ward (xã, phường) that builds its plan from the department's framework, and its offices
    # (Văn phòng HĐND-UBND, ...): not the department's staffed units (never consulted, no monthly report).
    COMMUNE = "commune"
    COMMUNE_OFFICE = "commune_office"

    STAFFED = (LEADERSHIP, OFFICE, DIVISION, SUB_UNIT, CENTRE)
    COMMUNE_KINDS = (COMMUNE, COMMUNE_OFFICE)
    ALL = (DEPARTMENT, *STAFFED, GROUP, WORK_GROUP, EXTERNAL, *COMMUNE_KINDS)


unit_group_members = Table(
    "unit_group_members",
    db.metadata,
    Column("group_id", ForeignKey("units.id", ondelete="CASCADE"), primary_key=True),
    Column("member_id", ForeignKey("units.id", ondelete="CASCADE"), primary_key=True),
)


class Unit(db.Model):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    short_name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    aliases: Mapped[list] = mapped_column(JSON, default=list)
    external_roles: Mapped[list] = mapped_column(JSON, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    # A deactivated unit keeps its history but is no longer offered for new choices (people, consultations).
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent")
    members: Mapped[list[Unit]] = relationship(
        secondary=unit_group_members,
        primaryjoin=id == unit_group_members.c.group_id,
        secondaryjoin=id == unit_group_members.c.member_id,
        order_by="Unit.code",
    )

    @property
    def is_staffed(self) -> bool:
        return self.kind in UnitKind.STAFFED

    @property
    def display_name(self) -> str:
        return self.short_name or self.name

    def __repr__(self) -> str:
        return f"<Unit {self.code}>"
