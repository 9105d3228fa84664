"""Import the seed YAML (units, then a plan) into the database, idempotently.

Files are checked in full before anything is written (see plan_import_validation). Records are
matched by stable keys (unit code, plan source key, section number, task code, indicator horizon and
number) and only values that differ are written, so importing the same files twice changes nothing.
A task's workflow fields (state, progress, assignee) are left alone unless the file states them.
A task without a `task_type` gets one by the rule of app.services.task_types (a type already stored
is kept); a new task that waits for central guidance starts in `waiting_guidance`.
After the plan is written, its reporting tasks (kind `report`: one monthly report per unit and one
consolidation, from the plan's reporting rules) are created or updated in the same transaction by
app.services.reporting.ensure_reporting_tasks, counted apart as "reporting tasks".
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Indicator, Plan, PlanSection, Task, TaskCoordination, Unit, UnitKind, User
from app.services.plan_import_validation import (
    GROUP_KINDS,
    PlanImportError,
    as_code,
    issuer_name,
    jsonable,
    load_yaml,
    nfc,
    parse_date,
    unit_codes,
    validate_plan,
    validate_units,
)
from app.services.reporting import ensure_reporting_tasks
from app.services.task_types import apply_rule
from workflows import audit

# Optional task fields: YAML key -> column. Written only when the key is in the file.
OPTIONAL_TASK_FIELDS = {
    "expected_result": "expected_result",
    "budget": "budget_million_vnd",
    "task_type": "task_type",
}


@dataclass
class KindStats:
    """How many records of one kind an import created, updated or left unchanged."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def add(self, created: bool, changed: bool) -> None:
        outcome = "created" if created else "updated" if changed else "unchanged"
        setattr(self, outcome, getattr(self, outcome) + 1)

    def describe(self, noun: str) -> str:
        counts = f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        return f"{self.total} {noun} ({counts})"


@dataclass
class ImportStats:
    """Counts per kind of record; `lines()` gives e.g. "28 tasks (0 created, 0 updated, 28 unchanged)"."""

    units: KindStats = field(default_factory=KindStats)
    plans: KindStats = field(default_factory=KindStats)
    sections: KindStats = field(default_factory=KindStats)
    tasks: KindStats = field(default_factory=KindStats)
    indicators: KindStats = field(default_factory=KindStats)
    reporting_tasks: KindStats = field(default_factory=KindStats)

    def kinds(self) -> dict[str, KindStats]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def merge(self, other: ImportStats) -> ImportStats:
        for name, mine in self.kinds().items():
            theirs = getattr(other, name)
            for count in ("created", "updated", "unchanged"):
                setattr(mine, count, getattr(mine, count) + getattr(theirs, count))
        return self

    @property
    def changed(self) -> bool:
        return any(stats.created or stats.updated for stats in self.kinds().values())

    def lines(self) -> list[str]:
        kinds = self.kinds().items()
        return [
            stats.describe((name if stats.total != 1 else name[:-1]).replace("_", " "))
            for name, stats in kinds
            if stats.total
        ]


def import_plan_files(plan_path: str | Path, units_path: str | Path | None = None) -> ImportStats:
    """Import the units file (if given) and the plan file in one transaction, and commit.

    Both files are checked before anything is written; on any error the session is rolled back.
    """
    try:
        plan_data = nfc(load_yaml(plan_path))
        units_data = nfc(load_yaml(units_path)) if units_path is not None else None
        _validate_together(plan_data, units_data)
        stats = ImportStats()
        if units_data is not None:
            stats.merge(import_units(units_data))
        stats.merge(import_plan(plan_data))
        _audit_import(stats, plan_path, units_path)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return stats


def _audit_import(stats: ImportStats, plan_path: str | Path, units_path: str | Path | None) -> None:
    """`plan.imported` with the files' names and the counts per kind, when the import changed something."""
    if not stats.changed:
        return
    counts = {name: vars(kind) for name, kind in stats.kinds().items() if kind.total}
    files = {"plan_file": Path(plan_path).name, "units_file": Path(units_path).name if units_path else None}
    audit.record(audit.Action.PLAN_IMPORTED, None, None, data=files | {"counts": counts})


def _validate_together(plan_data: Any, units_data: Any) -> None:
    """Check both files, the plan against the stored units plus those the units file defines."""
    known = set(db.session.scalars(select(Unit.code)))
    errors = []
    if units_data is not None:
        errors += validate_units(units_data, known)
        known |= unit_codes(units_data)
    errors += validate_plan(plan_data, known, set(db.session.scalars(select(User.username))))
    if errors:
        raise PlanImportError(errors)


def _assign(obj: Any, values: dict[str, Any]) -> bool:
    """Set the attributes that differ; say whether any did."""
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def _assign_ref(obj: Any, name: str, target: Any | None) -> bool:
    """Point relationship `name` at target unless its foreign key already does; say whether it changed."""
    if getattr(obj, f"{name}_id") == (target.id if target is not None else None):
        return False
    setattr(obj, name, target)
    return True


def _units_by_code() -> dict[str, Unit]:
    return {unit.code: unit for unit in db.session.scalars(select(Unit))}


def import_units(data: dict) -> ImportStats:
    """Upsert the units of a `tien-do/seed-units/v1` document by code. Flushes; does not commit."""
    data, by_code = nfc(data), _units_by_code()
    errors = validate_units(data, by_code.keys())
    if errors:
        raise PlanImportError(errors)
    rows = _unit_rows(data)
    outcome = {code: _upsert_unit(by_code, code, values) for code, values, _, _ in rows}
    db.session.flush()
    stats = ImportStats()
    for code, _, parent, members in rows:
        linked = _link_unit(by_code, by_code[code], parent, members)
        created, changed = outcome[code]
        stats.units.add(created, changed or linked)
    db.session.flush()
    return stats


def _unit_rows(data: dict) -> list[tuple[str, dict, str | None, list[str] | None]]:
    """(code, column values, parent code, member codes) per record, the department first."""
    department = data["department"]
    top = as_code(department["code"])
    rows = [(department, UnitKind.DEPARTMENT, None)]
    rows += [(r, r["kind"], as_code(r.get("parent")) or top) for r in data.get("units") or []]
    rows += [(r, r["kind"], None) for r in data.get("groups") or []]
    rows += [(r, UnitKind.EXTERNAL, None) for r in data.get("external_bodies") or []]
    return [(as_code(r["code"]), _unit_values(r, kind), p, _members(r, kind)) for r, kind, p in rows]


def _unit_values(record: dict, kind: str) -> dict[str, Any]:
    return {
        "name": record["name"],
        "short_name": record.get("short_name"),
        "kind": kind,
        "aliases": list(record.get("aliases") or []),
        "external_roles": list(record.get("roles") or []),
        "notes": record.get("notes_vi"),
    }


def _members(record: dict, kind: str) -> list[str] | None:
    return [as_code(m) for m in record.get("members") or []] if kind in GROUP_KINDS else None


def _upsert_unit(by_code: dict[str, Unit], code: str, values: dict) -> tuple[bool, bool]:
    """(created, changed) after bringing the unit's own columns to these values."""
    unit = by_code.get(code)
    if unit is None:
        by_code[code] = Unit(code=code, **values)
        db.session.add(by_code[code])
        return True, True
    return False, _assign(unit, values)


def _link_unit(by_code: dict[str, Unit], unit: Unit, parent: str | None, members: list[str] | None) -> bool:
    """Set the unit's parent and, for a group, its members; say whether either changed."""
    changed = _assign_ref(unit, "parent", by_code[parent] if parent else None)
    if members is not None:
        wanted = [by_code[code] for code in members]
        if {m.id for m in unit.members} != {m.id for m in wanted}:
            unit.members = sorted(wanted, key=lambda m: m.code)
            changed = True
    return changed


@dataclass
class _PlanWrite:
    """What writing one plan needs: the plan, the stored rows by key, and the running counts."""

    plan: Plan
    units: dict[str, Unit]
    stats: ImportStats
    sections: dict[str, PlanSection] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    indicators: dict[tuple[int, int], Indicator] = field(default_factory=dict)


def plan_source_key(document: dict) -> str:
    """The plan's stable identity: issuer, number and symbol, and date of issue."""
    issued = parse_date(document.get("date"))
    number = f"{as_code(document.get('number')) or ''}{document.get('number_symbol') or ''}"
    return f"{issuer_name(document)}|{number}|{issued.isoformat() if issued else ''}"


def import_plan(data: dict) -> ImportStats:
    """Upsert the plan of a `tien-do/seed-plan/v1` document with its sections, tasks and indicators.

    The units it names must already be stored. Flushes; does not commit.
    """
    data = nfc(data)
    units = _units_by_code()
    errors = validate_plan(data, units.keys(), set(db.session.scalars(select(User.username))))
    if errors:
        raise PlanImportError(errors)
    stats = ImportStats()
    w = _PlanWrite(_upsert_plan(data, units, stats), units, stats)
    db.session.flush()
    w.sections = {section.number: section for section in w.plan.sections}
    for position, record in enumerate(data["tasks_section"]["sections"], start=1):
        _upsert_section(w, record, position)
    db.session.flush()
    w.tasks = {task.code: task for task in w.plan.tasks}
    for position, record in enumerate(data["tasks"], start=1):
        _upsert_task(w, record, position)
    w.indicators = {(i.horizon, i.number): i for i in w.plan.indicators}
    for position, record in enumerate((data.get("appendix_i") or {}).get("indicators") or [], start=1):
        _upsert_indicator(w, record, position)
    db.session.flush()
    for outcome in ensure_reporting_tasks(w.plan):
        stats.reporting_tasks.add(outcome.created, outcome.changed)
    return stats


def _plan_values(data: dict) -> dict[str, Any]:
    document = data["document"]
    return {
        "issuer_name": issuer_name(document),
        "doc_type": document["doc_type"],
        "number": as_code(document.get("number")),
        "number_symbol": document["number_symbol"],
        "issued_on": parse_date(document["date"]),
        "title": document["title"],
        "implements": jsonable(document.get("implements") or []),
        "replaces": jsonable(document.get("replaces")),
        "other_references": jsonable(document.get("other_references") or []),
        "principle_5_ro": jsonable(document.get("principle_5_ro")),
        "purpose": jsonable(data.get("purpose")),
        "organisation": jsonable(data.get("organisation")),
        "reporting_rules": jsonable(data.get("reporting")),
        "signer": jsonable(document.get("signer")),
        "recipients": jsonable(document.get("recipients") or []),
    }


def _upsert_plan(data: dict, units: dict[str, Unit], stats: ImportStats) -> Plan:
    """Find the plan by source key and bring it to the file's values; the issuer is its department."""
    key = plan_source_key(data["document"])
    values = _plan_values(data)
    departments = (u for u in units.values() if u.kind == UnitKind.DEPARTMENT)
    issuer = next((u for u in departments if values["issuer_name"] == u.name), None)
    plan = db.session.scalar(select(Plan).where(Plan.source_key == key))
    if plan is None:
        plan = Plan(source_key=key, issuer_unit=issuer, **values)
        db.session.add(plan)
        stats.plans.add(created=True, changed=True)
        return plan
    changed = _assign(plan, values)
    stats.plans.add(created=False, changed=_assign_ref(plan, "issuer_unit", issuer) or changed)
    return plan


def _upsert_section(w: _PlanWrite, record: dict, position: int) -> None:
    number = as_code(record["number"])
    values = {"heading": record["heading"], "position": position}
    section = w.sections.get(number)
    if section is None:
        w.sections[number] = PlanSection(plan=w.plan, number=number, **values)
        db.session.add(w.sections[number])
        w.stats.sections.add(created=True, changed=True)
    else:
        w.stats.sections.add(created=False, changed=_assign(section, values))


def _upsert_task(w: _PlanWrite, record: dict, position: int) -> None:
    """Create or update one task; its workflow state, progress and (unless given) assignee are kept."""
    code = as_code(record["code"])
    task = w.tasks.get(code)
    created = task is None
    if task is None:
        task = w.tasks[code] = Task(plan=w.plan, code=code)
        db.session.add(task)
    changed = _assign(task, _task_values(record, position))
    changed = _assign_task_refs(w, task, record) or changed
    changed = _sync_coordinations(task, record.get("coordinating") or [], w.units) or changed
    changed = apply_rule(task, created=created) or changed
    w.stats.tasks.add(created, changed)


def _task_values(record: dict, position: int) -> dict[str, Any]:
    deadline = record.get("deadline") or {}
    values = {
        "position": position,
        "item": as_code(record.get("item")),
        "title": record["title"],
        "content": record.get("content"),
        "lead_as_written": record["lead"].get("as_written"),
        "deadline_raw": deadline.get("raw"),
        "due_date": parse_date(deadline.get("due")),
        "due_precision": deadline.get("due_precision"),
        "recurrence": list(deadline.get("recurrence") or []),
        "ocr_note": record.get("ocr_note"),
    }
    for key, column in OPTIONAL_TASK_FIELDS.items():
        if key in record:
            values[column] = record[key]
    if values.get("budget_million_vnd") is not None:
        values["budget_million_vnd"] = Decimal(str(values["budget_million_vnd"]))
    return values


def _assign_task_refs(w: _PlanWrite, task: Task, record: dict) -> bool:
    """Point the task at its section, lead unit, sub-unit and (when the file says) assignee."""
    lead = record["lead"]
    sub_unit = lead.get("sub_unit")
    refs: dict[str, Any] = {
        "section": w.sections[as_code(record["section_number"])],
        "lead_unit": w.units[as_code(lead["code"])],
        "lead_sub_unit": w.units[as_code(sub_unit["code"])] if sub_unit else None,
    }
    if record.get("assignee") is not None:
        with db.session.no_autoflush:  # a new task is not complete yet (its section is set below)
            refs["assignee"] = db.session.scalar(select(User).where(User.username == record["assignee"]))
    changed = False
    for name, target in refs.items():
        changed = _assign_ref(task, name, target) or changed
    return changed


def _sync_coordinations(task: Task, records: list[dict], units: dict[str, Unit]) -> bool:
    """Make the coordinating rows match the file, in order, reusing existing rows."""
    wanted = [(units[as_code(r["code"])], r.get("as_written")) for r in records]
    current = [(c.unit_id, c.position, c.as_written) for c in task.coordinations]
    if current == [(unit.id, pos, as_written) for pos, (unit, as_written) in enumerate(wanted, start=1)]:
        return False
    existing = {row.unit_id: row for row in task.coordinations}
    rows = []
    for position, (unit, as_written) in enumerate(wanted, start=1):
        row = existing.get(unit.id) or TaskCoordination(unit=unit)
        row.position, row.as_written = position, as_written
        rows.append(row)
    task.coordinations = rows
    return True


def _upsert_indicator(w: _PlanWrite, record: dict, position: int) -> None:
    key = (record["horizon"], record["number"])
    responsible = record.get("responsible_unit") or {}
    values = {
        "position": position,
        "name": record["name"],
        "unit_of_measure": record.get("unit"),
        "target": str(record["target"]),
        "responsible_as_written": responsible.get("as_written"),
        "number_as_read": as_code(record.get("number_as_read")),
        "ocr_note": record.get("ocr_note"),
    }
    indicator = w.indicators.get(key)
    created = indicator is None
    if indicator is None:
        indicator = w.indicators[key] = Indicator(plan=w.plan, horizon=key[0], number=key[1])
        db.session.add(indicator)
    changed = _assign(indicator, values)
    unit = w.units[as_code(responsible["code"])] if responsible.get("code") else None
    w.stats.indicators.add(created, _assign_ref(indicator, "responsible_unit", unit) or changed)
