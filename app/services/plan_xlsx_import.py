"""Importing a plan from an `.xlsx` workbook laid out as the template (app.services.plan_xlsx_template).

Who: leaders and admins (`may_import_plans`): an import creates a whole plan, with tasks every unit
then works on; unit heads, specialists and supervisors may not.

How: the whole workbook is read and checked first (plan_xlsx_reader), every problem listed with its
sheet, Excel row and column in the interface language; when there is any, XlsxImportError lists them
all and nothing is written. Otherwise the workbook becomes a `tien-do/seed-plan/v1` document and goes
through the YAML import's own checks and writing (plan_import_validation.validate_plan,
plan_import.import_plan), in one transaction audited as `plan.imported` (format, file name, plan id,
counts). An import always creates a new plan: a plan already stored with the same issuer, số/ký hiệu
and date is refused (the YAML import, by contrast, updates it).

Files that are not workbooks (not a zip, a corrupt zip, a zip that is not a workbook, a zip that
expands to more than MAX_UNPACKED_BYTES or holds a DTD) are refused with a message, never a 500.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

from flask_babel import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Plan, Role, Unit, User
from app.services.plan_import import ImportStats, import_plan, plan_source_key
from app.services.plan_import_validation import validate_plan
from app.services.plan_xlsx_reader import Problem, Row, WorkbookReader
from app.services.plan_xlsx_template import (
    PLAN_FIELDS,
    SHEET_INDICATORS,
    SHEET_PLAN,
    SHEET_TASKS,
    header_key,
)
from app.services.unit_matching import UnitMatcher
from workflows import audit

try:  # lxml, which openpyxl uses when it is installed, has its own parse error
    from lxml.etree import LxmlError
except ImportError:  # pragma: no cover
    LxmlError = ParseError  # type: ignore[misc,assignment]

MAX_UNPACKED_BYTES = 30 * 1024 * 1024
MAX_MEMBERS = 500
MAX_ROWS_READ = 5000  # rows read of a sheet, empty ones included
MAX_COLUMNS_READ = 60
SHEETS = (SHEET_PLAN, SHEET_TASKS, SHEET_INDICATORS)
_UNREADABLE = (
    zipfile.BadZipFile, zlib.error, InvalidFileException, KeyError, ValueError, TypeError, IndexError,
    AttributeError, OSError, EOFError, ParseError, LxmlError, NotImplementedError,
)  # fmt: skip


class XlsxImportError(Exception):
    """A workbook that cannot be imported; `problems` lists everything wrong with it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))

    @property
    def messages(self) -> list[str]:
        return [str(problem) for problem in self.problems]


@dataclass
class ImportedPlan:
    plan: Plan
    stats: ImportStats


def may_import_plans(user: Any) -> bool:
    return bool(
        getattr(user, "is_authenticated", False) and user.active and user.has_role(Role.LEADER, Role.ADMIN)
    )


def import_xlsx_file(path: str | Path, user: User | None = None) -> ImportedPlan:
    """Import the workbook at `path` (the CLI)."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise XlsxImportError(
            [_file_problem(_("Cannot read the file: %(error)s", error=error.strerror))]
        ) from None
    return import_xlsx(data, Path(path).name, user)


def import_xlsx(data: bytes, filename: str, user: User | None) -> ImportedPlan:
    """Check the whole workbook, then create its plan in one transaction and commit; or change nothing."""
    sheets = read_sheets(data)
    reader = WorkbookReader(UnitMatcher.from_database())
    seed = reader.document(sheets)
    problems = list(reader.problems)
    if not problems:
        problems += _already_stored(seed["document"])
    if not problems:
        known_units = set(db.session.scalars(select(Unit.code)))
        errors = validate_plan(seed, known_units, set(db.session.scalars(select(User.username))))
        problems += [_file_problem(error) for error in errors]
    if problems:
        raise XlsxImportError(problems)
    try:
        stats = import_plan(seed)
        if stats.plans.created != 1:  # stored meanwhile by someone else: never update it from here
            raise IntegrityError("plan.imported", None, Exception("the plan already exists"))
        plan = db.session.scalar(select(Plan).where(Plan.source_key == plan_source_key(seed["document"])))
        plan.imported_by = user
        counts = {name: kind.created for name, kind in stats.kinds().items() if kind.total}
        name = Path(filename.replace("\x00", "").replace("\\", "/")).name[:200]
        data_ = {"format": "xlsx", "file": name, "plan_id": plan.id, "counts": counts}
        audit.record(audit.Action.PLAN_IMPORTED, user, None, data=data_)
        db.session.commit()
    except IntegrityError:  # the same plan, imported at the same moment by someone else
        db.session.rollback()
        raise XlsxImportError(
            _already_stored(seed["document"]) or [_file_problem(_("Please try again."))]
        ) from None
    except Exception:
        db.session.rollback()
        raise
    return ImportedPlan(plan, stats)


def _already_stored(document: dict) -> list[Problem]:
    key = plan_source_key(document)
    label = PLAN_FIELDS[0][1]
    if len(key) > 300:
        return [
            Problem(SHEET_PLAN, None, PLAN_FIELDS[3][1], _("too long (at most %(max)d characters)", max=200))
        ]
    if db.session.scalar(select(Plan.id).where(Plan.source_key == key)) is None:
        return []
    issued = document["date"].strftime("%d/%m/%Y")
    number = f"{document.get('number') or ''}{document['number_symbol']}"
    message = _(
        "the plan %(number)s of %(date)s by %(issuer)s is already stored; an import creates a new plan",
        number=number, date=issued, issuer=document["issuer"]["name"],
    )  # fmt: skip
    return [Problem(SHEET_PLAN, None, label, message)]


def _file_problem(message: str) -> Problem:
    return Problem(None, None, None, message)


# --- reading the file -----------------------------------------------------------------------------


def read_sheets(data: bytes) -> dict[str, list[Row]]:
    """The rows of the plan, tasks and indicators sheets (by canonical name; a missing sheet absent).

    Raise XlsxImportError when the bytes are not a workbook we are willing to read.
    """
    if not data:
        raise XlsxImportError([_file_problem(_("The file is empty."))])
    not_a_workbook = XlsxImportError([_file_problem(_("The file is not an Excel workbook (.xlsx)."))])
    try:
        _check_archive(data)
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            return _rows_by_sheet(workbook)
        finally:
            workbook.close()
    except XlsxImportError:
        raise
    except _UNREADABLE:
        raise not_a_workbook from None


def _check_archive(data: bytes) -> None:
    """A zip of reasonable size whose XML parts declare no DTD (a workbook never does)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS or sum(member.file_size for member in members) > MAX_UNPACKED_BYTES:
            raise XlsxImportError([_file_problem(_("The workbook is too large to import."))])
        for member in members:
            if member.filename.endswith((".xml", ".rels")):
                with archive.open(member) as part:
                    head = part.read(4096)
                if b"<!DOCTYPE" in head.upper() or b"<!ENTITY" in head.upper():
                    raise zipfile.BadZipFile("a DTD in a workbook part")


def _rows_by_sheet(workbook) -> dict[str, list[Row]]:
    wanted = {header_key(name): name for name in SHEETS}
    sheets: dict[str, list[Row]] = {}
    for name in workbook.sheetnames:
        canonical = wanted.get(header_key(name))
        if canonical is None or canonical in sheets:
            continue
        sheet = workbook[name]
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()  # some writers state wrong dimensions; read what is there
        rows: list[Row] = []
        for row in sheet.iter_rows(max_col=MAX_COLUMNS_READ, values_only=True):
            if len(rows) >= MAX_ROWS_READ:
                raise XlsxImportError(
                    [Problem(canonical, None, None, _("too many rows (at most %(max)d)", max=MAX_ROWS_READ))]
                )
            rows.append(row)
        sheets[canonical] = rows
    return sheets
