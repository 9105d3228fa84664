"""Importing the seed YAML: what lands in the database, validation, idempotence, all-or-nothing."""

from __future__ import annotations

import copy
import unicodedata
from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from app.extensions import db
from app.models import Indicator, Plan, PlanSection, Task, TaskCoordination, TaskState, Unit, UnitKind, User
from app.models.plans import TaskKind
from app.services import plan_import
from app.services.demo import DEMO_PLAN_PATH, DEMO_UNITS_PATH
from app.services.plan_import import (
    PlanImportError,
    import_plan,
    import_plan_files,
    import_units,
    load_yaml,
)
from app.services.plan_import_validation import validate_units

PLAN_YAML = yaml.safe_load(DEMO_PLAN_PATH.read_text(encoding="utf-8"))
UNITS_YAML = yaml.safe_load(DEMO_UNITS_PATH.read_text(encoding="utf-8"))


def dump_database() -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order."""
    return {
        table.name: [tuple(row) for row in db.session.execute(select(table).order_by(*table.primary_key))]
        for table in db.metadata.sorted_tables
    }


def write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def broken_plan(tmp_path: Path, change) -> Path:
    """The demo plan with one change applied, written to a file."""
    data = copy.deepcopy(PLAN_YAML)
    change(data)
    return write_yaml(tmp_path / "plan.yaml", data)


def task(code: str) -> Task:
    return db.session.scalar(select(Task).where(Task.code == code))


def unit(code: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def plan_task_count() -> int:
    """The plan's own tasks (not its reporting tasks, kind `report`)."""
    return db.session.scalar(select(func.count()).select_from(Task).where(Task.kind == TaskKind.PLAN))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def imported(empty_app):
    """An empty database after importing the demo units and plan files."""
    stats = import_plan_files(DEMO_PLAN_PATH, DEMO_UNITS_PATH)
    return stats


# --- what the import stores ------------------------------------------------------------------


def test_import_into_empty_database_creates_everything(imported):
    assert imported.lines() == [
        "23 units (23 created, 0 updated, 0 unchanged)",
        "1 plan (1 created, 0 updated, 0 unchanged)",
        "10 sections (10 created, 0 updated, 0 unchanged)",
        "28 tasks (28 created, 0 updated, 0 unchanged)",
        "26 indicators (26 created, 0 updated, 0 unchanged)",
        "9 reporting tasks (9 created, 0 updated, 0 unchanged)",  # app.services.reporting
    ]
    assert (count(Plan), count(PlanSection), count(Indicator)) == (1, 10, 26)
    assert (plan_task_count(), count(Task)) == (28, 28 + 9)
    horizons = db.session.execute(select(Indicator.horizon, func.count()).group_by(Indicator.horizon)).all()
    assert dict(horizons) == {2030: 22, 2045: 4}


def test_plan_document_fields(imported):
    plan = db.session.scalar(select(Plan))
    document = PLAN_YAML["document"]
    assert plan.issuer_unit.code == "SKHCN_HD"
    assert plan.issuer_name == "Sở Khoa học và Công nghệ tỉnh Hải Dương"
    assert (plan.doc_type, plan.number, plan.number_symbol) == ("Kế hoạch", None, "/KH-SKHCN")
    assert plan.document_number == "/KH-SKHCN"
    assert plan.issued_on == date(2025, 3, 4)
    assert plan.title == document["title"]
    assert plan.source_key == "Sở Khoa học và Công nghệ tỉnh Hải Dương|/KH-SKHCN|2025-03-04"
    assert plan.implements[0] == {**document["implements"][0], "date": "2025-02-20"}
    assert plan.replaces["ref"] == "355/KHLN-KHCN-TTTT"
    assert plan.other_references[0]["date"] == "2014-03-31"
    assert plan.principle_5_ro["section_III_items"][2] == "rõ tiến độ"
    assert plan.purpose == PLAN_YAML["purpose"]
    assert plan.organisation == PLAN_YAML["organisation"]
    assert plan.reporting_rules["monthly_report"]["day_of_month"] == 15
    assert plan.reporting_rules["tracking_software"]["due_before"] == "2025-03-10"
    assert plan.signer["name"] == "Nguyễn Cao Thắng"
    assert [r.get("code") for r in plan.recipients] == ["UBND_TINH", "LDS", "ALL", None]


def test_sections_and_task_positions_follow_the_file(imported):
    plan = db.session.scalar(select(Plan))
    assert [(s.number, s.position) for s in plan.sections] == [(str(n), n) for n in range(1, 11)]
    own = [t for t in plan.tasks if t.kind == TaskKind.PLAN]
    assert [t.code for t in own] == [t["code"] for t in PLAN_YAML["tasks"]]
    assert [t.position for t in own] == list(range(1, 29))
    assert [t.position for t in plan.tasks if t.kind == TaskKind.REPORT] == list(range(29, 38))  # after them
    assert task("5").item is None and task("5").section.number == "5"
    assert task("4.h").section.heading == "Tăng cường đầu tư, hoàn thiện hạ tầng công nghệ thông tin"


def test_task_4h_lead_sub_unit_and_as_written(imported):
    t = task("4.h")
    assert t.lead_unit.code == "VP"
    assert t.lead_sub_unit.code == "KHTC"
    assert t.lead_as_written == "Văn phòng Sở (Bộ phận Kế hoạch Tài chính)"
    assert [u.code for u in t.coordinating_units] == ["CNTT", "TTCNTT"]
    assert t.ocr_note.startswith("Content opening is garbled")
    assert (t.due_date, t.due_precision, t.recurrence) == (date(2025, 3, 30), "day", ["none"])
    assert task("1.a").lead_sub_unit is None and task("1.a").lead_as_written is None


def test_deadlines_and_recurrences(imported):
    assert task("8.c").recurrence == ["continuous", "yearly", "on_demand"]
    assert task("8.c").due_date is None
    b2 = task("2.b")
    assert (b2.due_date, b2.due_precision, b2.recurrence) == (date(2025, 5, 31), "month", ["continuous"])
    assert b2.deadline_raw == "tháng 5/2025 và thường xuyên"
    b9 = task("9.b")
    assert (b9.recurrence, b9.due_date, b9.due_precision) == (["on_guidance"], None, None)
    assert task("10.a").recurrence == ["continuous", "yearly"]


def test_coordinating_units_keep_order_and_as_written(imported):
    rows = task("10.c").coordinations
    assert [(r.unit.code, r.position, r.as_written) for r in rows] == [
        ("HTS", 1, None),
        ("TTCNTT", 2, "Trung tâm Công nghệ thông tin và Truyền thông"),
    ]
    assert task("1.a").coordinations == []
    assert [u.code for u in task("2.a").coordinating_units] == ["ALL"]


def test_new_tasks_start_in_the_workflow_initial_state(imported):
    # Tasks "theo hướng dẫn của Trung ương" wait for that guidance; every other task has not started.
    states = {t.code: t.state for t in db.session.scalars(select(Task))}
    assert {code for code, state in states.items() if state == TaskState.WAITING_GUIDANCE} == {"9.b"}
    assert {state for code, state in states.items() if code != "9.b"} == {TaskState.NOT_STARTED}
    assert {t.progress for t in db.session.scalars(select(Task))} == {0}
    assert {t.assignee_id for t in db.session.scalars(select(Task))} == {None}


def test_units_kinds_parents_groups_and_external_bodies(imported):
    department = unit("SKHCN_HD")
    assert (department.kind, department.parent, department.short_name) == (
        UnitKind.DEPARTMENT,
        None,
        "Sở Khoa học và Công nghệ",
    )
    assert unit("KHTC").parent.code == "VP"
    assert unit("KHTC").kind == UnitKind.SUB_UNIT
    divisions = db.session.scalars(select(Unit).where(Unit.kind == UnitKind.DIVISION))
    assert {u.parent.code for u in divisions} == {"SKHCN_HD"}
    assert unit("TTCNTT").aliases == ["Trung tâm Công nghệ thông tin và Truyền thông"]
    assert unit("LDS").notes.startswith("Giám đốc Sở ký ban hành Kế hoạch")
    members = unit("ALL").members
    assert len(members) == 7
    assert {m.code for m in members} == {"VP", "CNTT", "HTS", "QLKH", "QLCN", "TTCNTT", "TTUD"}
    assert unit("PHONG_TTHC").members == [] and unit("PHONG_TTHC").kind == UnitKind.GROUP
    assert unit("TCT").kind == UnitKind.WORK_GROUP
    ubnd = unit("UBND_TINH")
    assert (ubnd.kind, ubnd.short_name) == (UnitKind.EXTERNAL, "UBND tỉnh")
    assert ubnd.external_roles == ["issues", "approves", "receives_reports"]
    assert ubnd.parent is None
    assert count(Unit) == 23


def test_indicators(imported):
    i11 = db.session.scalar(select(Indicator).where(Indicator.horizon == 2030, Indicator.number == 11))
    assert i11.target == "≥ 60"
    assert (i11.unit_of_measure, i11.responsible_unit.code) == ("%", "QLKH")
    i2 = db.session.scalar(select(Indicator).where(Indicator.horizon == 2030, Indicator.number == 2))
    assert i2.number_as_read == "5"
    assert i2.responsible_as_written == "Phòng Quản lý Công nghệ - Sở hữu trí tuệ"
    i16 = db.session.scalar(select(Indicator).where(Indicator.horizon == 2030, Indicator.number == 16))
    assert (i16.unit_of_measure, i16.target) == (None, "Tiên tiến, hiện đại")
    last = db.session.scalar(select(Indicator).order_by(Indicator.position.desc()))
    assert (last.horizon, last.number, last.position) == (2045, 4, 26)


def test_vietnamese_text_is_stored_exactly_as_in_the_yaml(imported):
    for record in PLAN_YAML["tasks"]:
        stored = task(record["code"])
        for value, expected in ((stored.title, record["title"]), (stored.content, record["content"])):
            assert value == expected
            assert unicodedata.is_normalized("NFC", value)
    for record in UNITS_YAML["units"] + UNITS_YAML["groups"] + UNITS_YAML["external_bodies"]:
        assert unit(record["code"]).name == record["name"]
    names = db.session.scalars(select(Indicator.name)).all()
    assert names == [i["name"] for i in PLAN_YAML["appendix_i"]["indicators"]]


def test_decomposed_vietnamese_is_normalised_to_nfc(empty_app):
    units = copy.deepcopy(UNITS_YAML)
    units["units"][2]["name"] = unicodedata.normalize("NFD", "Phòng Công nghệ thông tin")
    import_units(units)
    assert unit("CNTT").name == unicodedata.normalize("NFC", "Phòng Công nghệ thông tin")


def test_optional_task_fields_and_assignee_are_imported_when_present(app):
    data = copy.deepcopy(PLAN_YAML)
    data["tasks"][0].update(
        expected_result="Kế hoạch được ban hành", budget=120.5, task_type="plan", assignee="cntt.cv"
    )
    import_plan(data)
    t = task("1.a")
    assert (t.expected_result, t.budget_million_vnd, t.task_type) == ("Kế hoạch được ban hành", 120.5, "plan")
    assert t.assignee.username == "cntt.cv"


# --- validation: a broken file changes nothing ---------------------------------------------


def set_lead_xyz(data):
    data["tasks"][7]["lead"]["code"] = "XYZ"


@pytest.mark.parametrize("fixture", ["app", "empty_app"])
def test_broken_record_changes_nothing(fixture, request, tmp_path):
    request.getfixturevalue(fixture)
    before = dump_database()
    with pytest.raises(PlanImportError) as caught:
        import_plan_files(broken_plan(tmp_path, set_lead_xyz), DEMO_UNITS_PATH)
    assert caught.value.errors == ["tasks[7].lead.code: unknown unit 'XYZ'"]
    assert str(caught.value) == "tasks[7].lead.code: unknown unit 'XYZ'"
    assert dump_database() == before


def test_failure_after_writing_started_rolls_everything_back(empty_app, monkeypatch):
    def explode(data):
        raise RuntimeError("disk full")

    monkeypatch.setattr(plan_import, "import_plan", explode)
    with pytest.raises(RuntimeError):
        import_plan_files(DEMO_PLAN_PATH, DEMO_UNITS_PATH)
    assert all(rows == [] for rows in dump_database().values())


def test_all_errors_are_reported_together(app, tmp_path):
    def break_many(data):
        data["tasks"][2]["deadline"]["recurrence"] = ["weekly"]
        data["tasks"][3]["title"] = None
        data["tasks"][5]["code"] = "1.a"
        data["tasks"][6]["section_number"] = "11"
        data["tasks"][8]["deadline"]["due_precision"] = "week"
        data["tasks"][10]["coordinating"][0]["code"] = "NOPE"
        data["appendix_i"]["indicators"][0]["responsible_unit"]["code"] = "XYZ"
        data["counts"]["tasks"] = 27

    before = dump_database()
    with pytest.raises(PlanImportError) as caught:
        import_plan_files(broken_plan(tmp_path, break_many))
    assert caught.value.errors == [
        "tasks[2].deadline.recurrence[0]: unknown recurrence 'weekly'",
        "tasks[3].title: required",
        "tasks[5].code: duplicate task code '1.a'",
        "tasks[6].section_number: unknown section '11'",
        "tasks[8].deadline.due_precision: unknown precision 'week'; one of day, month",
        "tasks[10].coordinating[0].code: unknown unit 'NOPE'",
        "appendix_i.indicators[0].responsible_unit.code: unknown unit 'XYZ'",
        "counts.tasks: the file states 27 but holds 28",
    ]
    assert dump_database() == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d.update(schema="tien-do/seed-plan/v2"),
            "schema: expected 'tien-do/seed-plan/v1', got 'tien-do/seed-plan/v2'",
        ),
        (lambda d: d.pop("schema"), "schema: required, expected 'tien-do/seed-plan/v1'"),
        (
            lambda d: d["tasks"][4]["deadline"].update(due="30/02/2025"),
            "tasks[4].deadline.due: invalid date '30/02/2025'",
        ),
        (lambda d: d["document"].update(date=None), "document.date: required"),
        (
            lambda d: d["tasks"][2]["deadline"].update(recurrence=["weekly"]),
            "tasks[2].deadline.recurrence[0]: unknown recurrence 'weekly'",
        ),
        (
            lambda d: d["tasks"][0]["deadline"].update(due=date(2025, 5, 30), due_precision="month"),
            "tasks[0].deadline.due: month precision needs the last day of the month, got 2025-05-30",
        ),
        (lambda d: d["tasks"][1]["lead"].pop("code"), "tasks[1].lead.code: required"),
        (
            lambda d: d["tasks"][14]["coordinating"].append({"code": "CNTT"}),
            "tasks[14].coordinating[2].code: duplicate unit 'CNTT'",
        ),
        (
            lambda d: d["tasks"][14]["lead"]["sub_unit"].update(code="ZZ"),
            "tasks[14].lead.sub_unit.code: unknown unit 'ZZ'",
        ),
        (
            lambda d: d["appendix_i"]["indicators"][1].update(number=1),
            "appendix_i.indicators[1].number: duplicate indicator '2030-1'",
        ),
        (
            lambda d: d["counts"].update(indicators_2045=5),
            "counts.indicators_2045: the file states 5 but holds 4",
        ),
        (lambda d: d["tasks"][0].update(assignee="nobody"), "tasks[0].assignee: unknown user 'nobody'"),
        (lambda d: d["tasks"][0].update(budget="many"), "tasks[0].budget: expected a number, got 'many'"),
    ],
)
def test_each_invalid_value_gets_an_exact_message(app, tmp_path, change, message):
    before = dump_database()
    with pytest.raises(PlanImportError) as caught:
        import_plan_files(broken_plan(tmp_path, change))
    assert caught.value.errors == [message]
    assert dump_database() == before


def test_yaml_syntax_error_names_file_and_line(app, tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text("schema: tien-do/seed-plan/v1\ntasks:\n  - code: '1.a'\n   title: x\n", encoding="utf-8")
    before = dump_database()
    with pytest.raises(PlanImportError) as caught:
        import_plan_files(path, DEMO_UNITS_PATH)
    assert caught.value.errors == [
        f"{path}: line 4, column 4: invalid YAML: expected <block end>, but found '<block mapping start>'"
    ]
    assert dump_database() == before


def test_impossible_unquoted_date_is_a_yaml_error_with_its_line(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text("schema: tien-do/seed-plan/v1\ndocument:\n  date: 2025-02-30\n", encoding="utf-8")
    with pytest.raises(PlanImportError) as caught:
        load_yaml(path)
    assert caught.value.errors == [
        f"{path}: line 3, column 9: invalid YAML: invalid date '2025-02-30' (day is out of range for month)"
    ]


def test_missing_file_is_an_import_error(empty_app, tmp_path):
    with pytest.raises(PlanImportError) as caught:
        import_plan_files(tmp_path / "nope.yaml")
    assert caught.value.errors[0].startswith(f"{tmp_path / 'nope.yaml'}: cannot read the file")


def test_plan_naming_units_that_are_not_stored_is_refused(empty_app):
    with pytest.raises(PlanImportError) as caught:
        import_plan(copy.deepcopy(PLAN_YAML))
    assert "tasks[0].lead.code: unknown unit 'CNTT'" in caught.value.errors
    assert count(Plan) == 0


def test_units_file_validation():
    data = copy.deepcopy(UNITS_YAML)
    data["units"][1]["kind"] = "ministry"
    data["units"][2].pop("parent")
    data["units"][3]["parent"] = "NOWHERE"
    data["groups"][0]["members"].append("GHOST")
    data["external_bodies"][1]["code"] = "UBND_TINH"
    assert validate_units(data) == [
        "external_bodies[1].code: duplicate code 'UBND_TINH'",
        "units[1].kind: unknown kind 'ministry'; one of leadership, office, division, sub_unit, centre",
        "units[2].parent: required for a sub_unit",
        "units[3].parent: unknown unit 'NOWHERE'",
        "groups[0].members[7]: unknown unit 'GHOST'",
    ]
    assert validate_units({"schema": "tien-do/seed-plan/v1"}) == [
        "schema: expected 'tien-do/seed-units/v1', got 'tien-do/seed-plan/v1'"
    ]


# --- idempotence -----------------------------------------------------------------------------


def test_importing_twice_changes_nothing(imported):
    before = dump_database()
    stats = import_plan_files(DEMO_PLAN_PATH, DEMO_UNITS_PATH)
    assert not stats.changed
    assert stats.lines() == [
        "23 units (0 created, 0 updated, 23 unchanged)",
        "1 plan (0 created, 0 updated, 1 unchanged)",
        "10 sections (0 created, 0 updated, 10 unchanged)",
        "28 tasks (0 created, 0 updated, 28 unchanged)",
        "26 indicators (0 created, 0 updated, 26 unchanged)",
        "9 reporting tasks (0 created, 0 updated, 9 unchanged)",
    ]
    assert dump_database() == before


def test_reimport_keeps_workflow_state_progress_and_assignee(app):
    t = task("4.h")
    t.state, t.progress = TaskState.IN_PROGRESS, 40
    t.assignee = db.session.scalar(select(User).where(User.username == "vp.cv"))
    db.session.commit()
    stats = import_plan_files(DEMO_PLAN_PATH, DEMO_UNITS_PATH)
    assert not stats.changed
    db.session.expire_all()
    t = task("4.h")
    assert (t.state, t.progress, t.assignee.username) == (TaskState.IN_PROGRESS, 40, "vp.cv")


def test_reimport_updates_changed_records_only(app, tmp_path):
    def edit(data):
        data["tasks"][0]["title"] = "Tiêu đề mới"
        data["tasks"][27]["coordinating"].reverse()
        data["tasks"][26]["coordinating"].pop()
        data["appendix_i"]["indicators"][10]["target"] = "≥ 65"

    stats = import_plan_files(broken_plan(tmp_path, edit))
    assert stats.tasks.describe("tasks") == "28 tasks (0 created, 3 updated, 25 unchanged)"
    assert stats.indicators.describe("indicators") == "26 indicators (0 created, 1 updated, 25 unchanged)"
    db.session.expire_all()
    assert task("1.a").title == "Tiêu đề mới"
    assert [(r.unit.code, r.position) for r in task("10.c").coordinations] == [("TTCNTT", 1), ("HTS", 2)]
    assert [u.code for u in task("10.b").coordinating_units] == ["CNTT", "QLKH"]
    assert count(TaskCoordination) == 37


def test_import_functions_do_not_commit(empty_app):
    import_units(load_yaml(DEMO_UNITS_PATH))
    stats = import_plan(load_yaml(DEMO_PLAN_PATH))
    assert stats.tasks.created == 28
    db.session.rollback()
    assert (count(Unit), count(Task)) == (0, 0)


# --- CLI -------------------------------------------------------------------------------------


def test_cli_import_into_empty_database(empty_app):
    result = empty_app.test_cli_runner().invoke(
        args=["plans", "import", str(DEMO_PLAN_PATH), "--units", str(DEMO_UNITS_PATH)]
    )
    assert result.exit_code == 0, result.output
    assert "28 tasks (28 created, 0 updated, 0 unchanged)" in result.output
    assert "9 reporting tasks (9 created, 0 updated, 0 unchanged)" in result.output
    assert plan_task_count() == 28


def test_cli_import_again_reports_unchanged(runner):
    result = runner.invoke(args=["plans", "import", str(DEMO_PLAN_PATH), "--units", str(DEMO_UNITS_PATH)])
    assert result.exit_code == 0, result.output
    assert "28 tasks (0 created, 0 updated, 28 unchanged)" in result.output
    assert "26 indicators (0 created, 0 updated, 26 unchanged)" in result.output


def test_cli_import_of_broken_file_fails_and_imports_nothing(empty_app, tmp_path):
    path = broken_plan(tmp_path, set_lead_xyz)
    args = ["plans", "import", str(path), "--units", str(DEMO_UNITS_PATH)]
    result = empty_app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 1
    assert "error: tasks[7].lead.code: unknown unit 'XYZ'" in result.stderr
    assert result.stdout == ""
    assert all(rows == [] for rows in dump_database().values())


def test_a_new_task_naming_its_assignee_is_imported(app):
    """The assignee is looked up while the new task is still incomplete: that lookup must not flush it."""
    data = copy.deepcopy(PLAN_YAML)
    added = dict(copy.deepcopy(data["tasks"][0]), code="1.z", item="z", assignee="cntt.cv")
    data["tasks"].append(added)
    if isinstance(data.get("counts"), dict) and "tasks" in data["counts"]:
        data["counts"]["tasks"] += 1
    import_plan(data)
    assert (
        task("1.z").assignee.username == "cntt.cv"
        and task("1.z").section.number == task("1.a").section.number
    )
