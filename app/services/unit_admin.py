"""Administering units from the browser: the tree, creating, editing, (de)activating.

A deactivated unit keeps its history (plans, audit rows, past steps name it) but is no longer offered
for new choices: people's units, parents, consultations. A unit that still has active people, open
steps or active sub-units cannot be deactivated; the refusal says which and how many.
Every change is audited (`unit.created`, `unit.updated`) with the unit before and after.
Nothing here commits: the caller commits, or rolls back on AdminError.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import Unit, UnitKind, User, WorkItem, WorkItemStatus
from app.services.user_admin import MEMBER_UNIT_KINDS, AdminError
from workflows import audit

UNIT_CREATED = "unit.created"
UNIT_UPDATED = "unit.updated"
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_]*$")
CODE_MAX, NAME_MAX, SHORT_NAME_MAX, ALIAS_MAX, ALIASES_MAX = 40, 300, 200, 300, 50
# Kinds that stand on their own: the department, groups of units, outside bodies, communes and wards.
TOP_LEVEL_KINDS = (
    UnitKind.DEPARTMENT,
    UnitKind.GROUP,
    UnitKind.WORK_GROUP,
    UnitKind.EXTERNAL,
    UnitKind.COMMUNE,
)
# Kinds a unit may sit under.
PARENT_KINDS = MEMBER_UNIT_KINDS
_KIND_ORDER = {kind: position for position, kind in enumerate(UnitKind.ALL)}


@dataclass(frozen=True)
class UnitNode:
    unit: Unit
    depth: int
    active_users: int


@dataclass(frozen=True)
class UnitChanges:
    name: str
    short_name: str | None
    aliases: list[str]
    parent_code: str | None
    kind: str


def unit_tree() -> list[UnitNode]:
    """Every unit, depth first: the department and what sits under it, then groups, then outside bodies."""
    units = list(db.session.scalars(select(Unit).order_by(Unit.id)))
    active_users = (
        select(User.unit_id, func.count(User.id)).where(User.active.is_(True)).group_by(User.unit_id)
    )
    counts = dict(db.session.execute(active_users).tuples().all())
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    nodes: list[UnitNode] = []

    def walk(unit: Unit, depth: int) -> None:
        nodes.append(UnitNode(unit, depth, counts.get(unit.id, 0)))
        for child in children.get(unit.id, []):
            walk(child, depth + 1)

    for root in sorted(children.get(None, []), key=lambda u: (_KIND_ORDER.get(u.kind, 99), u.id)):
        walk(root, 0)
    return nodes


def parent_choices(unit: Unit | None = None) -> list[Unit]:
    """Active units that `unit` may be placed under (not itself nor anything under it), plus its parent."""
    excluded = _subtree_ids(unit) if unit is not None else set()
    query = select(Unit).where(Unit.kind.in_(PARENT_KINDS), Unit.active.is_(True)).order_by(Unit.id)
    choices = [u for u in db.session.scalars(query) if u.id not in excluded]
    if unit is not None and unit.parent is not None and unit.parent not in choices:
        choices.append(unit.parent)
    return choices


def unit_snapshot(unit: Unit) -> dict:
    return {
        "code": unit.code,
        "name": unit.name,
        "short_name": unit.short_name,
        "kind": unit.kind,
        "parent": unit.parent.code if unit.parent else None,
        "aliases": list(unit.aliases or []),
        "active": unit.active,
    }


def create_unit(actor: User, code: str, changes: UnitChanges) -> Unit:
    """A new active unit. Audited `unit.created`."""
    code = (code or "").strip().upper()
    if not CODE_PATTERN.match(code) or len(code) > CODE_MAX:
        raise AdminError("code", "code_format")
    if db.session.scalar(select(Unit.id).where(func.upper(Unit.code) == code)) is not None:
        raise AdminError("code", "code_taken")
    unit = Unit(code=code, name="", kind=changes.kind, aliases=[], external_roles=[], active=True)
    _apply(unit, changes, current_parent=None)
    db.session.add(unit)
    db.session.flush()
    audit.record(UNIT_CREATED, actor, None, data={"code": unit.code, "after": unit_snapshot(unit)})
    return unit


def update_unit(actor: User, unit: Unit, changes: UnitChanges) -> bool:
    """Change name, short name, aliases, parent and kind (the code stays: plans and history name it).
    Says whether anything changed (audited `unit.updated`)."""
    before = unit_snapshot(unit)
    if changes.kind not in MEMBER_UNIT_KINDS and _active_users(unit):
        raise AdminError("kind", "kind_has_users", {"count": _active_users(unit)})
    if changes.kind not in PARENT_KINDS and any(child.active for child in unit.children):
        raise AdminError("kind", "kind_has_children")
    _apply(unit, changes, current_parent=unit.parent)
    db.session.flush()
    return _audit(actor, unit, before, "edited")


def deactivation_blockers(unit: Unit) -> dict[str, int]:
    """What keeps the unit from being deactivated: active users, open steps, active sub-units (non-zero)."""
    open_items = db.session.scalar(
        select(func.count(WorkItem.id)).where(
            WorkItem.status == WorkItemStatus.OPEN,
            or_(WorkItem.candidate_unit_id == unit.id, WorkItem.item_unit_id == unit.id),
        )
    )
    children = db.session.scalar(
        select(func.count(Unit.id)).where(Unit.parent_id == unit.id, Unit.active.is_(True))
    )
    counts = {"users": _active_users(unit), "open_items": open_items or 0, "children": children or 0}
    return {name: count for name, count in counts.items() if count}


def deactivate_unit(actor: User, unit: Unit) -> bool:
    """Deactivate the unit; False when it was inactive already. Refused (AdminError `unit_in_use`,
    params: the blockers) while it has active users, open steps or active sub-units."""
    if not unit.active:
        return False
    blockers = deactivation_blockers(unit)
    if blockers:
        raise AdminError(None, "unit_in_use", blockers)
    before = unit_snapshot(unit)
    unit.active = False
    db.session.flush()
    return _audit(actor, unit, before, "deactivated")


def reactivate_unit(actor: User, unit: Unit) -> bool:
    """Offer the unit again; False when it was active already. Its parent must be active."""
    if unit.active:
        return False
    if unit.parent is not None and not unit.parent.active:
        raise AdminError(None, "parent_inactive", {"parent": unit.parent.name})
    before = unit_snapshot(unit)
    unit.active = True
    db.session.flush()
    return _audit(actor, unit, before, "reactivated")


def clean_aliases(lines: Iterable[str]) -> list[str]:
    """Trimmed, non-empty, each once, in the given order."""
    seen: list[str] = []
    for line in lines:
        text = " ".join((line or "").split())
        if text and text not in seen:
            seen.append(text)
    return seen


def _apply(unit: Unit, changes: UnitChanges, current_parent: Unit | None) -> None:
    name = " ".join((changes.name or "").split())
    if not name or len(name) > NAME_MAX:
        raise AdminError("name", "name_missing" if not name else "too_long", {"max": NAME_MAX})
    short_name = " ".join((changes.short_name or "").split()) or None
    if short_name and len(short_name) > SHORT_NAME_MAX:
        raise AdminError("short_name", "too_long", {"max": SHORT_NAME_MAX})
    aliases = clean_aliases(changes.aliases)
    if len(aliases) > ALIASES_MAX or any(len(alias) > ALIAS_MAX for alias in aliases):
        raise AdminError("aliases", "aliases_too_many", {"count": ALIASES_MAX, "max": ALIAS_MAX})
    if changes.kind not in UnitKind.ALL:
        raise AdminError("kind", "kind_unknown")
    parent = _parent(unit, changes, current_parent)
    unit.name, unit.short_name, unit.aliases, unit.kind = name, short_name, aliases, changes.kind
    if unit.parent is not parent:
        unit.parent = parent


def _parent(unit: Unit, changes: UnitChanges, current: Unit | None) -> Unit | None:
    code = (changes.parent_code or "").strip()
    if changes.kind in TOP_LEVEL_KINDS:
        if code:
            raise AdminError("parent", "parent_not_allowed")
        return None
    if not code:
        raise AdminError("parent", "parent_missing")
    parent = db.session.scalar(select(Unit).where(Unit.code == code))
    if parent is None or parent.kind not in PARENT_KINDS:
        raise AdminError("parent", "parent_unknown")
    if unit.id is not None and parent.id in _subtree_ids(unit):
        raise AdminError("parent", "parent_cycle")
    if not parent.active and parent is not current:
        raise AdminError("parent", "parent_inactive", {"parent": parent.name})
    return parent


def _subtree_ids(unit: Unit) -> set[int]:
    """The unit's id and those of every unit under it."""
    pairs = db.session.execute(select(Unit.id, Unit.parent_id)).tuples().all()
    found, frontier = {unit.id}, [unit.id]
    while frontier:
        frontier = [uid for uid, parent_id in pairs if parent_id in frontier and uid not in found]
        found.update(frontier)
    return found


def _active_users(unit: Unit) -> int:
    query = select(func.count(User.id)).where(User.unit_id == unit.id, User.active.is_(True))
    return db.session.scalar(query) or 0


def _audit(actor: User, unit: Unit, before: dict, change: str) -> bool:
    after = unit_snapshot(unit)
    if after == before:
        return False
    data = {"code": unit.code, "change": change, "before": before, "after": after}
    audit.record(UNIT_UPDATED, actor, None, data=data)
    return True
