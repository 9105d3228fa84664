"""The sheets of a plan workbook (already read into rows of cell values) as a `tien-do/seed-plan/v1`
document, the shape the YAML import takes, with every problem found on the way and where it is.

Rows are numbered as Excel shows them. Nothing here touches the database but the unit matcher.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from app.models import UnitKind
from app.services.plan_import_validation import PLAN_SCHEMA
from app.services.plan_xlsx_template import (
    INDICATOR_COLUMNS,
    PLAN_FIELDS,
    SHEET_INDICATORS,
    SHEET_PLAN,
    SHEET_TASKS,
    TASK_COLUMNS,
    Column,
    header_key,
)
from app.services.plan_xlsx_values import (
    CellError,
    blank_to_none,
    budget_of,
    code_of,
    day_of,
    deadline_of,
    line_of,
    number_text,
    recurrences_of,
    section_of,
    split_number,
    task_item,
    text_of,
    whole_number,
)
from app.services.unit_matching import Match, UnitMatcher, lead_and_sub_unit

Row = Sequence[Any]
MAX_TASKS = 2000
MAX_INDICATORS = 1000
HEADER_SEARCH_ROWS = 10
_BAD = object()  # a cell that could not be read (its problem is already listed)
_SEPARATORS = re.compile(r"[;\n]")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the workbook: where (sheet, Excel row, column header) and what."""

    sheet: str | None
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = {"sheet": self.sheet, "row": self.row, "column": self.column, "message": self.message}
        if self.sheet == SHEET_TASKS and self.row and self.column:
            return _("Row %(row)d, column %(column)s: %(message)s", **where)
        if self.sheet and self.row and self.column:
            return _("Sheet %(sheet)s, row %(row)d, column %(column)s: %(message)s", **where)
        if self.sheet and self.column:
            return _("Sheet %(sheet)s, %(column)s: %(message)s", **where)
        if self.sheet:
            return _("Sheet %(sheet)s: %(message)s", **where)
        return self.message


@dataclass
class _Section:
    heading: str | None
    row: int


@dataclass
class WorkbookReader:
    """Reads the sheets' rows into `document()`, collecting `problems`."""

    matcher: UnitMatcher
    problems: list[Problem] = field(default_factory=list)

    def add(self, sheet: str | None, row: int | None, column: str | None, message: str) -> None:
        self.problems.append(Problem(sheet, row, column, message))

    def cell(self, sheet: str, row: int | None, column: str, read: Callable[[Any], Any], value: Any) -> Any:
        """read(value), or _BAD after listing the problem."""
        try:
            return read(value)
        except CellError as error:
            self.add(sheet, row, column, error.message)
            return _BAD

    def required(self, sheet: str, row: int | None, column: str, value: Any) -> bool:
        if value is None:
            self.add(sheet, row, column, _("required"))
        return value is not None and value is not _BAD

    # --- the document ---------------------------------------------------------------------------

    def document(self, sheets: dict[str, list[Row]]) -> dict:
        """The seed document of the workbook's sheets (by canonical sheet name; a missing one absent)."""
        document = self._plan(sheets.get(SHEET_PLAN))
        sections: dict[str, _Section] = {}
        tasks = self._tasks(sheets.get(SHEET_TASKS), sections)
        indicators = self._indicators(sheets.get(SHEET_INDICATORS))
        section_list = [{"number": n, "heading": s.heading} for n, s in sections.items()]
        return {
            "schema": PLAN_SCHEMA,
            "document": document,
            "tasks_section": {"sections": section_list},
            "tasks": tasks,
            "appendix_i": {"indicators": indicators},
        }

    # --- units ----------------------------------------------------------------------------------

    def unit(self, sheet: str, row: int, column: str, text: str) -> Match | None:
        match = self.matcher.match(text)
        names = "; ".join(f"{unit.name} ({unit.code})" for unit in match.candidates)
        if match.inactive:
            self.add(sheet, row, column, _("the unit '%(name)s' is deactivated", name=text))
        elif match.ambiguous:
            message = _("'%(name)s' may be several units: %(units)s", name=text, units=names)
            self.add(sheet, row, column, message)
        elif match.unit is None:
            self.add(sheet, row, column, _("there is no unit '%(name)s'", name=text))
        return match if match.unit is not None else None

    def units(
        self, sheet: str, row: int, column: str, value: Any, one: str | None = None
    ) -> list[Match] | None:
        """The units a cell names, split at ";" and line breaks (None when it is empty), after listing
        those it cannot find; `one`: the message when the cell may name only one unit but names more."""
        text = self.cell(sheet, row, column, text_of, value)
        if text is None or text is _BAD:
            return None if text is None else []
        names = [name for name in (" ".join(part.split()) for part in _SEPARATORS.split(text)) if name]
        if one is not None and len(names) > 1:
            self.add(sheet, row, column, one)
            return []
        matches = []
        for name in names:
            if len(name) > 300:
                self.add(sheet, row, column, _("too long (at most %(max)d characters)", max=300))
            elif (match := self.unit(sheet, row, column, name)) is not None:
                matches.append(match)
        return matches

    # --- the plan's header ----------------------------------------------------------------------

    def _plan(self, rows: list[Row] | None) -> dict:
        if rows is None:
            self.add(None, None, None, _("The workbook has no sheet '%(sheet)s'.", sheet=SHEET_PLAN))
            return {}
        found: dict[str, tuple[int, Any]] = {}
        labels = {header_key(label): key for key, label, _note in PLAN_FIELDS}
        for number, row in enumerate(rows[:40], 1):
            key = labels.get(header_key(row[0])) if row else None
            if key is not None and key not in found:
                found[key] = (number, row[1] if len(row) > 1 else None)
        values = {
            key: self._plan_value(key, label, *found.get(key, (None, None))) for key, label, _n in PLAN_FIELDS
        }
        number, symbol = split_number(values["number"])
        if number is not None and len(number) > 50:
            self.add(SHEET_PLAN, None, PLAN_FIELDS[0][1], _("too long (at most %(max)d characters)", max=50))
        return {
            "issuer": {"name": values["issuer"]},
            "doc_type": values["doc_type"] or "Kế hoạch",
            "number": number,
            "number_symbol": symbol,
            "date": values["date"],
            "title": values["title"],
        }

    def _plan_value(self, key: str, label: str, row: int | None, value: Any) -> Any:
        readers: dict[str, Callable[[Any], Any]] = {
            "number": lambda v: line_of(v, 150),
            "date": day_of,
            "title": text_of,
            "issuer": lambda v: line_of(v, 200),
            "doc_type": lambda v: line_of(v, 100),
        }
        read = self.cell(SHEET_PLAN, None, label, readers[key], value) if row else None  # named by its label
        if key != "doc_type" and read is None:
            self.add(SHEET_PLAN, None, label, _("required"))
        if key == "issuer" and isinstance(read, str):
            match = self.matcher.match(read)
            if match.unit is not None and match.unit.kind == UnitKind.DEPARTMENT:
                read = match.unit.name  # links the plan to the department (plan_import._upsert_plan)
        return None if read is _BAD else read

    # --- tables ---------------------------------------------------------------------------------

    def table(
        self, rows: list[Row] | None, sheet: str, columns: tuple[Column, ...]
    ) -> list[tuple[int, dict]]:
        """(Excel row, {key: value}) of each non-empty row under the header; [] after listing problems."""
        if rows is None:
            return []
        wanted = {header_key(column.header): column.key for column in columns}
        best: tuple[int, dict[str, int]] = (0, {})
        for number, row in enumerate(rows[:HEADER_SEARCH_ROWS], 1):
            found: dict[str, int] = {}
            for index, value in enumerate(row):
                key = wanted.get(header_key(value)) if value is not None else None
                if key is not None and key not in found:
                    found[key] = index
            if len(found) > len(best[1]):
                best = (number, found)
        header_row, positions = best
        missing = [column.header for column in columns if column.key not in positions]
        for header in missing:
            self.add(sheet, None, None, _("the column '%(column)s' is missing", column=header))
        if missing:
            return []
        result = []
        for number, row in enumerate(rows[header_row:], header_row + 1):
            values = {key: row[index] if index < len(row) else None for key, index in positions.items()}
            if any(value is not None and str(value).strip() for value in values.values()):
                result.append((number, {key: blank_to_none(value) for key, value in values.items()}))
        return result

    # --- tasks ----------------------------------------------------------------------------------

    def _tasks(self, rows: list[Row] | None, sections: dict[str, _Section]) -> list[dict]:
        if rows is None:
            self.add(None, None, None, _("The workbook has no sheet '%(sheet)s'.", sheet=SHEET_TASKS))
            return []
        header = {column.key: column.header for column in TASK_COLUMNS}
        table = self.table(rows, SHEET_TASKS, TASK_COLUMNS)
        if len(table) > MAX_TASKS:
            self.add(SHEET_TASKS, None, None, _("too many rows (at most %(max)d)", max=MAX_TASKS))
            return []
        if not table and not any(p.sheet == SHEET_TASKS for p in self.problems):
            self.add(SHEET_TASKS, None, None, _("the sheet has no tasks"))
        tasks, codes, current, referenced = [], {}, None, {}
        for number, values in table:
            current = self._section(
                number, values["section"], sections, current, referenced, header["section"]
            )
            task = _TaskRow(self, number, header, values).read(current)
            code = task.get("code")
            if isinstance(code, str) and code in codes:
                message = _(
                    "the code '%(code)s' is used twice (also on row %(row)d)", code=code, row=codes[code]
                )
                self.add(SHEET_TASKS, number, header["code"], message)
            elif isinstance(code, str):
                codes[code] = number
            tasks.append(task)
        for section_number, row in referenced.items():
            if sections[section_number].heading is None:
                message = _(
                    "section %(number)s has no heading: write '%(number)s. <heading>' on one of its rows",
                    number=section_number,
                )
                self.add(SHEET_TASKS, row, header["section"], message)
        return tasks

    def _section(
        self, row: int, value: Any, sections: dict, current: str | None, referenced: dict, column: str
    ):
        """The row's section number; defines or checks the section's heading."""
        if value is None:
            if current is None:
                self.add(SHEET_TASKS, row, column, _("required"))
            return current
        read = self.cell(SHEET_TASKS, row, column, section_of, value)
        if read is _BAD:
            return None
        number, heading = read
        known = sections.setdefault(number, _Section(heading, row))
        if heading is None:
            referenced.setdefault(number, row)
        elif known.heading is None:
            known.heading, known.row = heading, row
        elif known.heading != heading:
            message = _("section %(number)s has another heading on row %(row)d", number=number, row=known.row)
            self.add(SHEET_TASKS, row, column, message)
        return number

    # --- indicators -----------------------------------------------------------------------------

    def _indicators(self, rows: list[Row] | None) -> list[dict]:
        header = {column.key: column.header for column in INDICATOR_COLUMNS}
        table = self.table(rows, SHEET_INDICATORS, INDICATOR_COLUMNS)
        if len(table) > MAX_INDICATORS:
            self.add(SHEET_INDICATORS, None, None, _("too many rows (at most %(max)d)", max=MAX_INDICATORS))
            return []
        seen: dict[tuple[int, int], int] = {}
        indicators = []
        for number, values in table:
            record = self._indicator(number, values, header)
            key = (record.get("horizon"), record.get("number"))
            if all(isinstance(part, int) for part in key) and key in seen:
                message = _(
                    "the indicator %(horizon)d-%(number)d is listed twice (also on row %(row)d)",
                    horizon=key[0], number=key[1], row=seen[key],
                )  # fmt: skip
                self.add(SHEET_INDICATORS, number, header["number"], message)
            seen.setdefault(key, number)
            indicators.append(record)
        return indicators

    def _indicator(self, row: int, values: dict, header: dict[str, str]) -> dict:
        def read(key: str, reader: Callable[[Any], Any], required: bool = False) -> Any:
            value = self.cell(SHEET_INDICATORS, row, header[key], reader, values[key])
            if required:
                self.required(SHEET_INDICATORS, row, header[key], value)
            return None if value is _BAD else value

        record = {
            "horizon": read("horizon", lambda v: whole_number(v, 2000, 2100), required=True),
            "number": read("number", lambda v: whole_number(v, 1, 10_000), required=True),
            "name": read("name", text_of, required=True),
            "unit": read("unit", lambda v: line_of(v, 200)),
            "target": read("target", number_text, required=True),
            "responsible_unit": None,
        }
        one = _("write one unit")
        matches = self.units(SHEET_INDICATORS, row, header["responsible"], values["responsible"], one)
        if matches:
            record["responsible_unit"] = {"code": matches[0].unit.code, "as_written": matches[0].as_written()}
        return record


@dataclass
class _TaskRow:
    """One row of the tasks sheet as a seed task record."""

    reader: WorkbookReader
    row: int
    header: dict[str, str]
    values: dict[str, Any]

    def read(self, section: str | None) -> dict:
        code = self._get("code", lambda v: code_of(v, 20), required=True)
        raw, due, precision, parsed = self._get("deadline", deadline_of) or (None, None, None, [])
        recurrence = self._get("recurrence", recurrences_of) or parsed
        deadline = {"raw": raw, "due": due, "due_precision": precision, "recurrence": recurrence}
        record = {
            "code": code,
            "section_number": section,
            "item": task_item(code, section),
            "title": self._get("title", text_of, required=True),
            "content": self._get("content", text_of),
            "lead": self._lead(),
            "coordinating": self._coordinating(),
            "deadline": deadline,
            "expected_result": self._get("expected_result", text_of),
        }
        budget = self._get("budget", budget_of)
        record["budget"] = str(budget) if budget is not None else None
        return record

    def _get(self, key: str, read: Callable[[Any], Any], required: bool = False) -> Any:
        value = self.reader.cell(SHEET_TASKS, self.row, self.header[key], read, self.values[key])
        if required:
            self.reader.required(SHEET_TASKS, self.row, self.header[key], value)
        return None if value is _BAD else value

    def _units(self, key: str) -> list[Match] | None:
        one = _("write one lead unit") if key == "lead" else None
        return self.reader.units(SHEET_TASKS, self.row, self.header[key], self.values[key], one)

    def _lead(self) -> dict | None:
        matches = self._units("lead")
        if matches is None:
            self.reader.add(SHEET_TASKS, self.row, self.header["lead"], _("required"))
        if not matches:
            return None
        lead, sub_unit = lead_and_sub_unit(matches[0].unit)
        record = {"code": lead.code, "as_written": matches[0].as_written()}
        if sub_unit is not None:
            record["sub_unit"] = {"code": sub_unit.code}
        return record

    def _coordinating(self) -> list[dict]:
        records, seen = [], set()
        for match in self._units("coordinating") or []:
            if match.unit.code in seen:
                message = _("the unit '%(name)s' is listed twice", name=match.text)
                self.reader.add(SHEET_TASKS, self.row, self.header["coordinating"], message)
                continue
            seen.add(match.unit.code)
            records.append({"code": match.unit.code, "as_written": match.as_written()})
        return records
