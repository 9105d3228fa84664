"""Read seed files and check them before anything is written. Every error names its record and field
with YAML keys and 0-based indexes: `tasks[7].lead.code: ...`. Budgets: million VND, 0 <= budget < 10^13."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from app.models import DuePrecision, Recurrence, UnitKind

PLAN_SCHEMA = "tien-do/seed-plan/v1"
UNITS_SCHEMA = "tien-do/seed-units/v1"
INTERNAL_KINDS = (UnitKind.LEADERSHIP, UnitKind.OFFICE, UnitKind.DIVISION, UnitKind.SUB_UNIT, UnitKind.CENTRE)
GROUP_KINDS = (UnitKind.GROUP, UnitKind.WORK_GROUP)
UNIT_LISTS = ("units", "groups", "external_bodies")


class PlanImportError(Exception):
    """A seed file that cannot be imported. `errors` lists every problem found, one per line."""

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


class _Loader(yaml.SafeLoader):
    """yaml.safe_load's loader, except that an impossible date is a YAML error with its line."""

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"invalid date {node.value!r} ({exc})", node.start_mark
            ) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def load_yaml(path: str | Path) -> Any:
    """The content of a YAML file (safe loading). Unreadable or invalid files raise PlanImportError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanImportError([f"{path}: cannot read the file ({exc})"]) from None
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader: same as yaml.safe_load
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        raise PlanImportError([f"{path}:{line} invalid YAML: {exc.problem or exc.context}"]) from None
    except yaml.YAMLError as exc:
        raise PlanImportError([f"{path}: invalid YAML: {exc}"]) from None


def transform(value: Any, leaf: Callable[[Any], Any]) -> Any:
    """The value with `leaf` applied to every key and scalar inside its mappings and lists."""
    if isinstance(value, dict):
        return {transform(k, leaf): transform(v, leaf) for k, v in value.items()}
    if isinstance(value, list):
        return [transform(v, leaf) for v in value]
    return leaf(value)


def nfc(value: Any) -> Any:
    """The value with every string in Unicode NFC (Vietnamese may arrive decomposed)."""
    return transform(value, lambda v: unicodedata.normalize("NFC", v) if isinstance(v, str) else v)


def jsonable(value: Any) -> Any:
    """The value with dates as ISO strings, ready for a JSON column."""
    return transform(value, lambda v: v.isoformat() if isinstance(v, date) else v)


def as_code(value: Any) -> str | None:
    """A code as text: YAML may load `code: 5` as an int. Anything else gives None."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    try:
        return _is_scalar(value) and Decimal(str(value)).is_finite()
    except InvalidOperation:
        return False


def parse_date(value: Any) -> date | None:
    """A YAML date or an ISO `YYYY-MM-DD` string as a date; None stays None. Raise ValueError otherwise."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise ValueError("not a date")


def issuer_name(document: dict) -> str | None:
    """The issuer's name: `issuer` may be a mapping with `name` or the name itself."""
    issuer = document.get("issuer")
    return issuer.get("name") if isinstance(issuer, dict) else issuer


class Checker:
    """Collect errors of the form `path: message`."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    def value(self, value: Any, path: str, required: bool, valid: bool, what: str) -> Any:
        """The value if `valid`; None, after reporting it, if it is missing (and required) or not valid."""
        if value is None or value == "":
            if required:
                self.add(path, "required")
            return None
        if not valid:
            self.add(path, f"expected {what}, got {value!r}")
            return None
        return value

    def mapping(self, value: Any, path: str, required: bool = True) -> dict | None:
        return self.value(value, path, required, isinstance(value, dict), "a mapping")

    def items(self, value: Any, path: str, required: bool = False) -> list:
        """The list at `path`; null gives an empty list."""
        return self.value(value, path, required, isinstance(value, list), "a list") or []

    def records(self, value: Any, path: str, required: bool = False) -> Iterator[tuple[dict, str]]:
        """Each mapping of the list at `path`, with its own path (`tasks[3]`)."""
        for index, record in enumerate(self.items(value, path, required)):
            if self.mapping(record, f"{path}[{index}]") is not None:
                yield record, f"{path}[{index}]"

    def text(self, record: dict, key: str, path: str, required: bool = True) -> str | None:
        value = record.get(key)
        return self.value(value, f"{path}.{key}", required, isinstance(value, str), "text")

    def code(self, record: dict, key: str, path: str, required: bool = True) -> str | None:
        value = as_code(record.get(key))
        return self.value(value or record.get(key), f"{path}.{key}", required, value is not None, "a code")

    def integer(self, record: dict, key: str, path: str) -> int | None:
        value = record.get(key)
        return self.value(value, f"{path}.{key}", True, type(value) is int, "a whole number")

    def unique(self, seen: set, key: Any, path: str, what: str) -> None:
        """Report `key` if it was seen before; None is never a duplicate."""
        if key is not None and key in seen:
            self.add(path, f"duplicate {what} {key!r}")
        seen.add(key)

    def unit_ref(self, record: dict, key: str, path: str, known: Collection[str]) -> str | None:
        code = self.code(record, key, path)
        if code is not None and code not in known:
            self.add(f"{path}.{key}", f"unknown unit {code!r}")
        return code if code in known else None

    def day(self, record: dict, key: str, path: str, required: bool = False) -> date | None:
        value = record.get(key)
        if value is None and required:
            self.add(f"{path}.{key}", "required")
        try:
            return parse_date(value)
        except ValueError:
            self.add(f"{path}.{key}", f"invalid date {value!r}")
            return None

    def schema(self, data: Any, expected: str) -> bool:
        """Check the top level is a mapping tagged `schema: <expected>`."""
        if not isinstance(data, dict):
            self.errors.append("expected a mapping at the top level of the file")
            return False
        tag = data.get("schema")
        if tag is None:
            self.add("schema", f"required, expected {expected!r}")
        elif tag != expected:
            self.add("schema", f"expected {expected!r}, got {tag!r}")
        return tag == expected


def _unit_records(data: Any) -> list[tuple[dict, str]]:
    """Every unit record of a units file with its path, the department first."""
    if not isinstance(data, dict):
        return []
    pairs = [(data.get("department"), "department")]
    for key in UNIT_LISTS:
        items = data.get(key) if isinstance(data.get(key), list) else []
        pairs += [(record, f"{key}[{index}]") for index, record in enumerate(items)]
    return [(record, path) for record, path in pairs if isinstance(record, dict)]


def unit_codes(data: Any) -> set[str]:
    """The codes a units file defines (department, units, groups, external bodies)."""
    return {as_code(record.get("code")) for record, _ in _unit_records(data)} - {None}


def validate_units(data: Any, known_codes: Collection[str] = ()) -> list[str]:
    """Every problem of a `tien-do/seed-units/v1` document; `known_codes` are units already stored."""
    ck = Checker()
    if not ck.schema(data, UNITS_SCHEMA):
        return ck.errors
    known, seen = set(known_codes) | unit_codes(data), set()
    for record, path in _unit_records(data):
        ck.unique(seen, ck.code(record, "code", path), f"{path}.code", "code")
    department = ck.mapping(data.get("department"), "department")
    if department is not None:
        ck.text(department, "name", "department")
    for record, path in ck.records(data.get("units"), "units"):
        _check_unit(ck, record, path, known)
    for record, path in ck.records(data.get("groups"), "groups"):
        _check_group(ck, record, path, known)
    for record, path in ck.records(data.get("external_bodies"), "external_bodies"):
        ck.text(record, "name", path)
        _check_strings(ck, record, "roles", path)
        _check_strings(ck, record, "aliases", path)
    return ck.errors


def _check_unit(ck: Checker, record: dict, path: str, known: set[str]) -> None:
    ck.text(record, "name", path)
    kind = record.get("kind")
    if kind not in INTERNAL_KINDS:
        ck.add(f"{path}.kind", f"unknown kind {kind!r}; one of {', '.join(INTERNAL_KINDS)}")
    if record.get("parent") is not None:
        ck.unit_ref(record, "parent", path, known)
    elif kind == UnitKind.SUB_UNIT:
        ck.add(f"{path}.parent", "required for a sub_unit")
    ck.text(record, "notes_vi", path, required=False)
    _check_strings(ck, record, "aliases", path)


def _check_group(ck: Checker, record: dict, path: str, known: set[str]) -> None:
    ck.text(record, "name", path)
    kind = record.get("kind")
    if kind not in GROUP_KINDS:
        ck.add(f"{path}.kind", f"unknown kind {kind!r}; one of {', '.join(GROUP_KINDS)}")
    for index, member in enumerate(ck.items(record.get("members"), f"{path}.members")):
        code = as_code(member)
        if code not in known:
            ck.add(f"{path}.members[{index}]", f"unknown unit {member!r}")
    _check_strings(ck, record, "aliases", path)


def _check_strings(ck: Checker, record: dict, key: str, path: str) -> None:
    for index, value in enumerate(ck.items(record.get(key), f"{path}.{key}")):
        if not isinstance(value, str) or not value:
            ck.add(f"{path}.{key}[{index}]", f"expected text, got {value!r}")


def validate_plan(data: Any, known_units: Collection[str], known_users: Collection[str] = ()) -> list[str]:
    """Every problem of a `tien-do/seed-plan/v1` document, against the unit codes and usernames given."""
    ck = Checker()
    if not ck.schema(data, PLAN_SCHEMA):
        return ck.errors
    _check_document(ck, data.get("document"))
    sections = _check_sections(ck, data.get("tasks_section"))
    tasks = ck.items(data.get("tasks"), "tasks", required=True)
    _check_tasks(ck, tasks, sections, set(known_units), set(known_users))
    appendix = ck.mapping(data.get("appendix_i"), "appendix_i", required=False) or {}
    indicators = ck.items(appendix.get("indicators"), "appendix_i.indicators")
    _check_indicators(ck, indicators, set(known_units))
    _check_counts(ck, data, tasks, indicators)
    return ck.errors


def _check_document(ck: Checker, value: Any) -> None:
    document = ck.mapping(value, "document")
    if document is None:
        return
    if isinstance(document.get("issuer"), dict):
        ck.text(document["issuer"], "name", "document.issuer")
    else:
        ck.text(document, "issuer", "document")
    for key in ("doc_type", "number_symbol", "title"):
        ck.text(document, key, "document")
    ck.code(document, "number", "document", required=False)
    ck.day(document, "date", "document", required=True)


def _check_sections(ck: Checker, value: Any) -> set[str]:
    """The section numbers, after checking each section."""
    part = ck.mapping(value, "tasks_section")
    numbers: set[str] = set()
    for record, path in ck.records((part or {}).get("sections"), "tasks_section.sections", part is not None):
        ck.unique(numbers, ck.code(record, "number", path), f"{path}.number", "section")
        ck.text(record, "heading", path)
    return numbers - {None}


def _check_tasks(ck: Checker, tasks: list, sections: set[str], units: set[str], users: set[str]) -> None:
    seen: set[str] = set()
    for record, path in ck.records(tasks, "tasks"):
        ck.unique(seen, ck.code(record, "code", path), f"{path}.code", "task code")
        number = ck.code(record, "section_number", path)
        if number is not None and number not in sections:
            ck.add(f"{path}.section_number", f"unknown section {number!r}")
        ck.text(record, "title", path)
        for key in ("content", "expected_result", "task_type", "ocr_note"):
            ck.text(record, key, path, required=False)
        ck.code(record, "item", path, required=False)
        _check_lead(ck, record.get("lead"), f"{path}.lead", units)
        _check_coordinating(ck, record.get("coordinating"), f"{path}.coordinating", units)
        _check_deadline(ck, record.get("deadline"), f"{path}.deadline")
        _check_budget_and_assignee(ck, record, path, users)


def _check_lead(ck: Checker, value: Any, path: str, units: set[str]) -> None:
    lead = ck.mapping(value, path)
    if lead is None:
        return
    ck.unit_ref(lead, "code", path, units)
    ck.text(lead, "as_written", path, required=False)
    sub_unit = ck.mapping(lead.get("sub_unit"), f"{path}.sub_unit", required=False)
    if sub_unit is not None:
        ck.unit_ref(sub_unit, "code", f"{path}.sub_unit", units)


def _check_coordinating(ck: Checker, value: Any, path: str, units: set[str]) -> None:
    seen: set[str] = set()
    for record, record_path in ck.records(value, path):
        ck.unique(seen, ck.unit_ref(record, "code", record_path, units), f"{record_path}.code", "unit")
        ck.text(record, "as_written", record_path, required=False)


def _check_deadline(ck: Checker, value: Any, path: str) -> None:
    deadline = ck.mapping(value, path, required=False)
    if deadline is None:
        return
    ck.text(deadline, "raw", path, required=False)
    due = ck.day(deadline, "due", path)
    precision = deadline.get("due_precision")
    if precision is not None and precision not in DuePrecision.ALL:
        ck.add(f"{path}.due_precision", f"unknown precision {precision!r}; one of day, month")
    elif precision is not None and deadline.get("due") is None:
        ck.add(f"{path}.due_precision", "given without a due date")
    elif precision == DuePrecision.MONTH and due and (due + timedelta(days=1)).day != 1:
        ck.add(f"{path}.due", f"month precision needs the last day of the month, got {due.isoformat()}")
    for index, recurrence in enumerate(ck.items(deadline.get("recurrence"), f"{path}.recurrence")):
        if recurrence not in Recurrence.ALL:
            ck.add(f"{path}.recurrence[{index}]", f"unknown recurrence {recurrence!r}")


def _check_budget_and_assignee(ck: Checker, record: dict, path: str, users: set[str]) -> None:
    budget = record.get("budget")
    if ck.value(budget, f"{path}.budget", False, _is_number(budget), "a number") is not None:
        ck.value(budget, f"{path}.budget", False, 0 <= Decimal(str(budget)) < 10**13, "from 0 to below 10^13")
    username = ck.text(record, "assignee", path, required=False)
    if username is not None and username not in users:
        ck.add(f"{path}.assignee", f"unknown user {username!r}")


def _check_indicators(ck: Checker, indicators: list, units: set[str]) -> None:
    seen: set[tuple] = set()
    for record, path in ck.records(indicators, "appendix_i.indicators"):
        horizon, number = ck.integer(record, "horizon", path), ck.integer(record, "number", path)
        key = f"{horizon}-{number}" if horizon is not None and number is not None else None
        ck.unique(seen, key, f"{path}.number", "indicator")
        ck.text(record, "name", path)
        ck.text(record, "unit", path, required=False)
        ck.text(record, "ocr_note", path, required=False)
        ck.value(record.get("target"), f"{path}.target", True, _is_scalar(record.get("target")), "text")
        responsible = ck.mapping(record.get("responsible_unit"), f"{path}.responsible_unit", required=False)
        if responsible is not None:
            ck.unit_ref(responsible, "code", f"{path}.responsible_unit", units)
            ck.text(responsible, "as_written", f"{path}.responsible_unit", required=False)


def _check_counts(ck: Checker, data: dict, tasks: list, indicators: list) -> None:
    """When `counts` is given, each stated total must match the file."""
    counts = ck.mapping(data.get("counts"), "counts", required=False)
    if counts is None:
        return
    sections = ((data.get("tasks_section") or {}).get("sections")) or []
    found = {"tasks": len(tasks), "indicators": len(indicators), "sections": len(sections)}
    for record in indicators:
        if isinstance(record, dict) and record.get("horizon") is not None:
            key = f"indicators_{record['horizon']}"
            found[key] = found.get(key, 0) + 1
    for key, stated in counts.items():
        if key in found or str(key).startswith("indicators_"):
            actual = found.get(key, 0)
            if stated != actual:
                ck.add(f"counts.{key}", f"the file states {stated!r} but holds {actual}")
