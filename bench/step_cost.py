"""What one workflow step costs: bare SpiffWorkflow vs. the whole HTTP "complete step" path.

(a) bare: the SpiffWorkflow cycle the notes measure (guides/spiffworkflow-notes.md): deserialize the
    full serializer's JSON, complete the READY user task, do_engine_steps, serialize again.
(b) api: `POST /api/v1/work-items/{id}/complete` through the Flask test client on a SQLite file
    database with the demo seed and bearer tokens from /api/v1/auth/token, timed per request.
(c) age: (b) at instance age 1 vs. after 20 "return for revision" loops (the cost must stay flat).
(d) stored: (a) with its state locked, read and written back in (b)'s database, one transaction per
    step: the least any persisted step costs there (on a database server, its round trips).

`--database FILE` runs (b) and (c) on a copy of a generated data set (bench/generate_data.py, SQLite)
instead of the demo seed: the same steps on tables of 1 % or the full size.

Both (a) and (b) run bpmn/draft_plan.bpmn with the identical workload: per instance, alternate
`draft` and `review_draft` with decision "return", so the same two steps recur and the history
grows exactly alike. Run: `make bench` or `.venv/bin/python bench/step_cost.py [--json]`.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_common import PASSWORD  # noqa: E402  (every demo and generated account's)
from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser  # noqa: E402
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from config import Config  # noqa: E402

BPMN = ROOT / "bpmn" / "draft_plan.bpmn"
TARGET_RATIO = 2.0
DRAFT = {"consulted_units": ["VP", "SO_NGANH_DP"], "summary": "Dự thảo Kế hoạch (đo hiệu năng)"}
RETURN = {"decision": "return"}
COMMENT = "Sửa lại dự thảo"
AGE_OLD = 40  # steps done before the "old" window: 20 draft + 20 returns


def step_input(index: int, lead_units: frozenset[str] = frozenset()) -> tuple[dict, str | None]:
    """The form data and comment of the index-th step of an instance: draft, return, draft, ...

    A task's lead units are not offered for consulting on it: a VP-led task consults another internal
    unit instead of VP (same number of units, so the same workload)."""
    if index % 2:
        return RETURN, COMMENT
    internal = next(code for code in ("VP", "CNTT", "HTS") if code not in lead_units)
    return {**DRAFT, "consulted_units": [internal, "SO_NGANH_DP"]}, None


def clock() -> tuple[float, float]:
    """(wall, CPU of this process): CPU time is the steadier figure on a machine shared with other jobs."""
    return time.perf_counter(), time.process_time()


def since(started: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = clock()
    return wall - started[0], cpu - started[1]


def summary(samples: list[tuple[float, float]]) -> dict:
    """n, median and p95 of the wall times, and the median CPU time, in ms."""
    walls = sorted(wall for wall, _ in samples)
    p95 = walls[min(len(walls) - 1, round(0.95 * (len(walls) - 1)))]
    return {
        "n": len(samples),
        "median_ms": statistics.median(walls) * 1e3,
        "p95_ms": p95 * 1e3,
        "median_cpu_ms": statistics.median(cpu for _, cpu in samples) * 1e3,
    }


# --- (a) bare SpiffWorkflow -------------------------------------------------------------------


class BareInstance:
    SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    _specs = None

    @classmethod
    def specs(cls):
        if cls._specs is None:
            parser = SpiffBpmnParser(validator=VALIDATOR)
            parser.add_bpmn_file(str(BPMN))
            cls._specs = parser.get_spec("draft_plan"), parser.get_subprocess_specs("draft_plan")
        return cls._specs

    def __init__(self, number: int):
        workflow = BpmnWorkflow(*self.specs())
        workflow.task_tree.data.update({"task_id": number, "task_code": f"b{number}", "lead_unit": "CNTT"})
        workflow.do_engine_steps()
        self.state = self.SERIALIZER.serialize_json(workflow)
        self.steps = 0

    def step(self) -> tuple[float, float]:
        data, _ = step_input(self.steps)
        started = clock()
        workflow = self.SERIALIZER.deserialize_json(self.state)
        [task] = workflow.get_tasks(state=TaskState.READY, manual=True)
        task.set_data(**data)
        task.run()
        workflow.do_engine_steps()
        self.state = self.SERIALIZER.serialize_json(workflow)
        elapsed = since(started)
        self.steps += 1
        return elapsed


class StoredBareInstance(BareInstance):
    """(d) the bare cycle with its state kept in (b)'s database, one transaction per step: lock and read
    the row, run (a), write the row back, commit. The least that any step keeping its state does: on a
    database server each statement, BEGIN and COMMIT is a round trip to it."""

    def __init__(self, number: int, stored):
        super().__init__(number)
        self.engine, self.table = stored
        with self.engine.begin() as connection:
            inserted = connection.execute(self.table.insert().values(state=self.state))
            self.row_id = inserted.inserted_primary_key[0]

    def step(self) -> tuple[float, float]:
        from sqlalchemy import select

        data, _ = step_input(self.steps)
        table = self.table
        started = clock()
        with self.engine.begin() as connection:
            query = select(table.c.state).where(table.c.id == self.row_id).with_for_update()
            workflow = self.SERIALIZER.deserialize_json(connection.execute(query).scalar_one())
            [task] = workflow.get_tasks(state=TaskState.READY, manual=True)
            task.set_data(**data)
            task.run()
            workflow.do_engine_steps()
            state = self.SERIALIZER.serialize_json(workflow)
            connection.execute(table.update().where(table.c.id == self.row_id).values(state=state))
        elapsed = since(started)
        self.steps += 1
        return elapsed


def stored_bare_table(app):
    """(engine, table) of (d): a table of its own beside (b)'s, in the same database."""
    from sqlalchemy import Column, Integer, MetaData, Table, Text

    from app.extensions import db

    table = Table(
        "bench_bare_states", MetaData(), Column("id", Integer, primary_key=True), Column("state", Text)
    )
    with app.app_context():
        engine = db.engine
        table.create(engine, checkfirst=True)
    return engine, table


# --- (b) the API ------------------------------------------------------------------------------


def build_app(directory: Path):
    """The app on a fresh SQLite file with the schema and the demo seed (like the tests' `app`)."""
    from app import create_app
    from app.extensions import db
    from app.services.demo import seed_demo

    class BenchConfig(Config):
        SECRET_KEY = "bench-only-not-secret"
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{directory / 'bench.sqlite'}"
        PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # only seeding and token issue; not measured

    app = create_app(BenchConfig)
    with app.app_context():
        db.create_all()
        seed_demo(PASSWORD)
        db.session.commit()
    return app


def data_set_app(source: Path, directory: Path):
    """The app on a copy of a generated SQLite data set (the steps write to the copy, not to `source`)."""
    import sqlite3

    from bench_common import bench_app

    from app.extensions import db

    target = directory / "bench.sqlite"
    with sqlite3.connect(source) as original, sqlite3.connect(target) as copy:
        original.backup(copy)
    original.close()
    copy.close()
    app = bench_app(target, directory)
    with app.app_context():
        db.create_all()  # the tables a data set built by an older generator lacks (empty ones)
    return app


def server_app(url: str, directory: Path):
    """The app on a database server (PostgreSQL): an empty database gets the schema and the demo seed,
    a generated data set is used as it is. The steps write to it: give a throw-away database."""
    from bench_common import bench_app
    from sqlalchemy import inspect, select

    from app.extensions import db
    from app.models import Task
    from app.services.demo import seed_demo

    app = bench_app(url, directory)
    with app.app_context():
        empty = not inspect(db.engine).has_table(Task.__tablename__)
        db.create_all()
        if empty or db.session.scalar(select(Task.id).limit(1)) is None:
            seed_demo(PASSWORD)
            db.session.commit()
    return app


def runnable_tasks(app, wanted: int = 60) -> list[tuple[int, str, str, frozenset[str]]]:
    """(task id, specialist, unit head, lead unit codes) for up to `wanted` plan tasks not started yet
    whose lead unit has both accounts, in plan order. Their "5 rõ" are set first (as a first step would),
    so every draft step does the same work."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Role, Task, TaskState, User, UserRole
    from app.services.task_types import PERIODIC_TYPES

    with app.app_context():
        holders: dict[tuple[int, str], User] = {}
        accounts = (
            select(User, UserRole.role)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role.in_((Role.SPECIALIST, Role.UNIT_HEAD)), User.active.is_(True))
            .order_by(User.id)
        )
        for user, role in db.session.execute(accounts):
            holders.setdefault((user.unit_id, role), user)
        candidates = (
            select(Task)
            .where(Task.kind == "plan", Task.state == TaskState.NOT_STARTED)
            .order_by(Task.plan_id, Task.position)
            .limit(wanted * 4)
        )
        found = []
        for task in db.session.scalars(candidates):
            lead = task.lead_sub_unit or task.lead_unit
            specialist = holders.get((lead.id, Role.SPECIALIST))
            head = holders.get((lead.id, Role.UNIT_HEAD))
            if specialist is None or head is None or task.task_type in PERIODIC_TYPES:
                continue  # the scheduler starts standing duties; a unit without both cannot do the loop
            task.assignee, task.expected_result = specialist, "Kết quả (đo hiệu năng)"
            leads = frozenset(unit.code for unit in (task.lead_unit, task.lead_sub_unit) if unit)
            found.append((task.id, specialist.username, head.username, leads))
            if len(found) == wanted:
                break
        db.session.commit()
        return found


class ApiInstance:
    def __init__(self, client, tokens: dict[str, str], task_id: int, specialist: str, head: str, lead_units):
        self.client, self.steps, self.lead_units = client, 0, lead_units
        self.headers = [self._auth(tokens, specialist), self._auth(tokens, head)]
        response = client.post(
            f"/api/v1/tasks/{task_id}/start", json={"process": "draft_plan"}, headers=self.headers[0]
        )
        assert response.status_code == 201, response.get_json()
        [item] = response.get_json()["open_steps"]
        self.item_id = item["id"]

    @staticmethod
    def _auth(tokens: dict[str, str], username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[username]}"}

    def step(self) -> tuple[float, float]:
        data, comment = step_input(self.steps, self.lead_units)
        body = {"data": data, "comment": comment}
        url = f"/api/v1/work-items/{self.item_id}/complete"
        started = clock()
        response = self.client.post(url, json=body, headers=self.headers[self.steps % 2])
        elapsed = since(started)
        assert response.status_code == 200, (response.status_code, response.get_json())
        [item] = response.get_json()["next_steps"]
        self.item_id, self.steps = item["id"], self.steps + 1
        return elapsed


class ApiBench:
    def __init__(self, directory: Path, data_set: Path | None = None, database_url: str | None = None):
        if database_url:
            self.app = server_app(database_url, directory)
        elif data_set is not None:
            self.app = data_set_app(data_set, directory)
        else:
            self.app = build_app(directory)
        self.client = self.app.test_client()
        self.stored = stored_bare_table(self.app)
        self.tasks = runnable_tasks(self.app)
        self.tokens: dict[str, str] = {}
        for _, specialist, head, _ in self.tasks:
            for username in (specialist, head):
                if username not in self.tokens:
                    self.tokens[username] = self._token(username)

    def _token(self, username: str) -> str:
        response = self.client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.get_json()
        return response.get_json()["token"]

    def new_instance(self) -> ApiInstance:
        if not self.tasks:
            raise RuntimeError("no demo task left to start: lower --instances or --age-pairs")
        return ApiInstance(self.client, self.tokens, *self.tasks.pop(0))


# --- the runs ---------------------------------------------------------------------------------


def compare(api: ApiBench, instances: int, steps: int) -> tuple[list, list, list]:
    """(a), (b) and (d) on the same workload, interleaved per instance so machine drift hits all alike."""
    bare, http, stored = [], [], []
    for number in range(instances):
        instance = BareInstance(number)
        bare += [instance.step() for _ in range(steps)]
        api_instance = api.new_instance()
        http += [api_instance.step() for _ in range(steps)]
        stored_instance = StoredBareInstance(number, api.stored)
        stored += [stored_instance.step() for _ in range(steps)]
    return bare, http, stored


def by_age(api: ApiBench, pairs: int, window: int) -> dict:
    """(b) at instance age 1 vs. after 20 returns: pairs of a fresh and an aged instance, stepped in turn
    (fresh, aged, fresh, aged, ...) so that machine noise hits both ages alike. The bare cycle is run the
    same way beside it, for reference (its JSON carries the history too)."""
    samples = {"api_age_1": [], "api_after_20_returns": [], "bare_age_1": [], "bare_after_20_returns": []}
    series: list[list[tuple[float, float]]] = [[] for _ in range(AGE_OLD + window)]
    for number in range(pairs):
        aged, aged_bare = api.new_instance(), BareInstance(2000 + number)
        for index in range(AGE_OLD):
            series[index].append(aged.step())
            aged_bare.step()
        fresh, fresh_bare = api.new_instance(), BareInstance(3000 + number)
        for index in range(window):
            samples["api_age_1"].append(fresh.step())
            samples["api_after_20_returns"].append(aged.step())
            series[AGE_OLD + index].append(samples["api_after_20_returns"][-1])
            samples["bare_age_1"].append(fresh_bare.step())
            samples["bare_after_20_returns"].append(aged_bare.step())
    result = {name: summary(values) for name, values in samples.items()}
    for kind in ("api", "bare"):
        ratio = result[f"{kind}_after_20_returns"]["median_ms"] / result[f"{kind}_age_1"]["median_ms"]
        result[f"{kind}_old_over_young"] = ratio
    result["api_median_ms_by_steps_done"] = {
        f"{start}-{min(start + 9, len(series) - 1)}": round(
            statistics.median([c[0] for costs in series[start : start + 10] for c in costs]) * 1e3, 2
        )
        for start in range(0, len(series), 10)
    }
    return result


# Where a request's time goes: (module, function) timed while (b) runs; nested ones are included in
# their callers (advance includes the SpiffWorkflow calls, the work items and the commit).
BREAKDOWN = (
    ("app.api.workflow_routes", "advance"),
    ("workflows.engine", "load_workflow"),
    ("workflows.engine", "complete_user_task"),
    ("workflows.engine", "dump_workflow"),
    ("workflows.engine", "sync_work_items"),
    ("app.api.workflow_routes", "task_json"),
)


def breakdown(api: ApiBench, steps: int) -> dict:
    """Mean ms per request spent in each part of (b), by wrapping the functions with timers."""
    import importlib

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from app.extensions import db

    totals: dict[str, float] = dict.fromkeys([name for _, name in BREAKDOWN] + ["commit"], 0.0)

    def timed(name, function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                totals[name] += time.perf_counter() - started

        return wrapper

    patched = []
    for module_name, name in BREAKDOWN:
        module = importlib.import_module(module_name)
        if hasattr(module, name):
            patched.append((module, name, getattr(module, name)))
            setattr(module, name, timed(name, getattr(module, name)))
    db.session.commit = timed("commit", db.session.commit)
    statements = [0]

    def count_statement(*args) -> None:
        statements[0] += 1

    instance = api.new_instance()
    event.listen(Engine, "before_cursor_execute", count_statement)
    try:
        request = sum(instance.step()[0] for _ in range(steps))
    finally:
        event.remove(Engine, "before_cursor_execute", count_statement)
        del db.session.commit
        for module, name, function in patched:
            setattr(module, name, function)
    parts = {name: total / steps * 1e3 for name, total in totals.items()}
    spiff = parts["load_workflow"] + parts["complete_user_task"] + parts["dump_workflow"]
    parts["advance_rest"] = parts["advance"] - spiff - parts["sync_work_items"] - parts["commit"]
    parts["outside_advance"] = request / steps * 1e3 - parts["advance"] - parts["task_json"]
    parts["request"] = request / steps * 1e3
    parts = {name: round(value, 2) for name, value in parts.items()}
    parts["sql_statements_per_request"] = statements[0] / steps
    return parts


def profile(api: ApiBench, steps: int, top: int) -> str:
    """cProfile of (b): where a request's time goes."""
    instance = api.new_instance()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        instance.step()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    out.write(f"cProfile of {steps} API completions, by cumulative time\n")
    stats.sort_stats("cumulative").print_stats(top)
    out.write("by own time\n")
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def machine() -> dict:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "spiffworkflow": version("SpiffWorkflow"),
        "sqlalchemy": version("SQLAlchemy"),
        "flask": version("Flask"),
    }


def _row(name: str, s: dict) -> tuple[str, ...]:
    return name, str(s["n"]), f"{s['median_ms']:.2f}", f"{s['p95_ms']:.2f}", f"{s['median_cpu_ms']:.2f}"


def table(report: dict) -> str:
    rows = [("measure", "n", "median ms", "p95 ms", "median CPU ms")]
    for name, key in (
        ("(a) bare SpiffWorkflow cycle", "bare"),
        ("(b) POST .../complete", "api"),
        ("(d) (a) kept in the database", "stored_bare"),
    ):
        s = report[key]
        rows.append(_row(name, s))
    age = report["age"]
    for name, key in (
        ("(c) API, instance age 1", "api_age_1"),
        ("(c) API, after 20 returns", "api_after_20_returns"),
        ("    bare, age 1", "bare_age_1"),
        ("    bare, after 20 returns", "bare_after_20_returns"),
    ):
        s = age[key]
        rows.append(_row(name, s))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    ratio = report["ratio_b_over_a"]
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    lines.append(
        f"ratio (b)/(a) median: {ratio:.2f} (target <= {TARGET_RATIO}: {verdict}); "
        f"by CPU time {report['ratio_b_over_a_cpu']:.2f}"
    )
    lines.append(
        f"(d)/(a): {report['ratio_d_over_a']:.2f} (what keeping the state in this database costs at the "
        f"least); (b)/(d): {report['ratio_b_over_d']:.2f}"
    )
    lines.append(
        f"(c) after 20 returns / age 1, median: API {age['api_old_over_young']:.2f}, "
        f"bare {age['bare_old_over_young']:.2f}"
    )
    lines.append(f"(c) API median ms by steps already done: {age['api_median_ms_by_steps_done']}")
    parts = report.get("breakdown")
    if parts:
        lines.append("(b) mean ms per request: " + ", ".join(f"{k} {v}" for k, v in parts.items()))
    lines.append(f"database: {report['database']}")
    lines += [f"{key}: {value}" for key, value in report["machine"].items()]
    return "\n".join(lines)


def _database_name(args) -> str:
    if args.database_url:
        from sqlalchemy.engine import make_url

        return make_url(args.database_url).render_as_string(hide_password=True)
    return str(args.database) if args.database else "demo seed (SQLite)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=12, help="instances for (a)/(b)")
    parser.add_argument("--steps", type=int, default=20, help="steps per instance for (a)/(b)")
    parser.add_argument("--age-pairs", type=int, default=4, help="fresh/aged instance pairs for (c)")
    parser.add_argument("--window", type=int, default=10, help="steps measured at each age in (c)")
    parser.add_argument("--profile", choices=("auto", "always", "never"), default="auto")
    parser.add_argument("--profile-steps", type=int, default=40)
    parser.add_argument("--top", type=int, default=30, help="profile entries to print")
    parser.add_argument("--json", action="store_true", help="print only the JSON report")
    parser.add_argument(
        "--database", type=Path, help="a generated SQLite data set to run (b) and (c) on (a copy of it)"
    )
    parser.add_argument(
        "--database-url",
        help="run (b) and (c) on this database (PostgreSQL; written to: a throw-away one): empty, it gets "
        "the demo seed; a generated data set is used as it is",
    )
    args = parser.parse_args(argv)

    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tien-do-bench-") as directory:
        api = ApiBench(Path(directory), args.database, args.database_url)
        compare(api, 1, 6)  # warm up: parse, caches, first queries; not counted
        bare, http, stored = compare(api, args.instances, args.steps)
        report = {
            "bare": summary(bare),
            "api": summary(http),
            "stored_bare": summary(stored),
            "steps_per_instance": args.steps,
        }
        report["ratio_b_over_d"] = report["api"]["median_ms"] / report["stored_bare"]["median_ms"]
        report["ratio_d_over_a"] = report["stored_bare"]["median_ms"] / report["bare"]["median_ms"]
        report["ratio_b_over_a"] = report["api"]["median_ms"] / report["bare"]["median_ms"]
        report["ratio_b_over_a_p95"] = report["api"]["p95_ms"] / report["bare"]["p95_ms"]
        report["ratio_b_over_a_cpu"] = report["api"]["median_cpu_ms"] / report["bare"]["median_cpu_ms"]
        report["age"] = by_age(api, args.age_pairs, args.window)
        report["breakdown"] = breakdown(api, args.steps)
        report["machine"] = machine()
        report["database"] = _database_name(args)
        needs_profile = args.profile == "always" or (
            args.profile == "auto" and report["ratio_b_over_a"] > TARGET_RATIO
        )
        profile_text = profile(api, args.profile_steps, args.top) if needs_profile else None
    report["seconds"] = round(time.perf_counter() - began, 1)
    if not args.json:
        print(table(report))
        if profile_text:
            print()
            print(profile_text)
        print()
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
