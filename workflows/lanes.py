"""BPMN lanes ↔ roles: which role a lane stands for, by its name.

A user task may narrow or widen this with its own `roles` property.
"""

from __future__ import annotations

import unicodedata

from app.models import Role

LANE_ROLES: dict[str, tuple[str, ...]] = {
    "chuyên viên": (Role.SPECIALIST,),
    "trưởng đơn vị": (Role.UNIT_HEAD,),
    "lãnh đạo sở": (Role.LEADER,),
    "đơn vị được xin ý kiến": (Role.SPECIALIST, Role.UNIT_HEAD),
    **{role: (role,) for role in Role.ACTING},
}


def _normalise(name: str) -> str:
    return unicodedata.normalize("NFC", " ".join(name.split())).casefold()


def roles_for_lane(lane_name: str | None) -> tuple[str, ...]:
    """The roles a lane stands for; empty when the lane is unknown or absent."""
    if not lane_name:
        return ()
    return LANE_ROLES.get(_normalise(lane_name), ())


def known_lane_names() -> list[str]:
    return ["Chuyên viên", "Trưởng đơn vị", "Lãnh đạo Sở", "Đơn vị được xin ý kiến", *Role.ACTING]
