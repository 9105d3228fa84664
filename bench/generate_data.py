"""Build a provincial-scale data set THROUGH THE SERVICES, for the page benchmark (bench/page_cost.py).

`--scale 1.0` is the size of issue 9: 100,000 tasks across plans and units, 100,000 process instances
in all states, 50,000 open work items, 1,000,000 audit events, 2,000 users; `--scale 0.01` is 1 %.
Nothing is written by raw SQL: units through `import_units`, accounts through
`accounts.create_or_update_user`, plans through `plan_import.import_plan_files` (the `flask plans import`
path, from generated YAML files: sections, tasks with their "5 rõ", indicators, reporting tasks),
processes through `workflows.engine.start_process` / `advance`, `workflows.periods.start_period` and
`workflows.assignment.claim`, so instances, work items and audit rows are real and the audit hash chain
is valid (checked at the end, like `flask audit verify`).

Time is simulated, as `flask workflows tick --now` does: the services' clock (`app.services.clock`)
moves from two years ago to now while the instances run, so audit rows, due dates and periods spread
over two years instead of the minutes the run takes. Instances run in waves, one step each in turn.

The engine commits every step (one transaction per service call, as on the server); accounts are
committed 200 at a time and each plan file is one transaction. The run prints the counts reached
against the targets, seconds per 1,000 tasks and ms per engine call, and predicts the full size's
time from them (hours: see docs/performance.md). `--workers 2` runs the instances in two processes,
which pays on PostgreSQL only.

Run: `.venv/bin/python bench/generate_data.py --scale 0.01 --database /tmp/bench-1pct.sqlite`
     (or `--database-url postgresql+psycopg://user:pw@host/db`, an empty database).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import FULL_SIZE, PASSWORD, bench_app, data_set_size, database_bytes, machine  # noqa: E402
from generate_processes import Job, plan_jobs, run_jobs  # noqa: E402

# The shape of the data (scale 1.0); everything but the demo seed scales with --scale.
UNITS_FULL = 400  # generated divisions; each has a head and four specialists: 2,000 accounts
SPECIALISTS_PER_UNIT = 4
PLANS_FULL = 1000
TASKS_PER_PLAN = 95  # + up to 5 reporting tasks the import adds (one consolidation, one per lead unit)
LEADS_PER_PLAN = 4
SECTIONS_PER_PLAN = 10
TYPE_MIX = (  # task type, share of a plan's tasks (the last one: waiting for central guidance)
    ("draft_plan", 0.28),
    ("review_propose", 0.20),
    ("implement_report", 0.42),
    ("continuous_duty", 0.08),
    ("waiting_guidance", 0.02),
)
SPAN_DAYS = 730  # the simulated clock runs over the last two years


# --- units, accounts, plans -----------------------------------------------------------------


def unit_codes(scale: float) -> list[str]:
    return [f"BU{n:03d}" for n in range(1, max(LEADS_PER_PLAN, round(UNITS_FULL * scale)) + 1)]


def add_units(codes: list[str]) -> None:
    from app.extensions import db
    from app.services.demo import DEMO_UNITS_PATH
    from app.services.plan_import import import_units, load_yaml

    department = load_yaml(DEMO_UNITS_PATH)["department"]
    units = [
        {"code": c, "name": f"Phòng Nghiệp vụ {c[2:]}", "kind": "division", "aliases": []} for c in codes
    ]
    import_units({"schema": "tien-do/seed-units/v1", "department": department, "units": units})
    db.session.commit()


def add_users(codes: list[str]) -> int:
    from app.extensions import db
    from app.models import Role
    from app.services.accounts import create_or_update_user

    count = 0
    for code in codes:
        people = [(f"{code.lower()}.tp", f"Trưởng phòng Nghiệp vụ {code[2:]}", Role.UNIT_HEAD)]
        people += [
            (f"{code.lower()}.cv{k}", f"Chuyên viên {k} Phòng {code[2:]}", Role.SPECIALIST)
            for k in range(1, SPECIALISTS_PER_UNIT + 1)
        ]
        for username, full_name, role in people:
            create_or_update_user(
                username=username, password=PASSWORD, unit_code=code, roles=[role], full_name=full_name
            )
            count += 1
            if count % 200 == 0:
                db.session.commit()
    db.session.commit()
    return count


WORDS = (
    "chuyển đổi số",
    "đổi mới sáng tạo",
    "cơ sở dữ liệu chuyên ngành",
    "dịch vụ công trực tuyến",
    "hạ tầng công nghệ thông tin",
    "an toàn thông tin",
    "ứng dụng khoa học và công nghệ",
    "doanh nghiệp khởi nghiệp",
)
VERBS = ("Triển khai", "Xây dựng", "Rà soát, đề xuất", "Tổ chức thực hiện", "Nâng cấp", "Hướng dẫn")


def plan_document(number: int, issued: date, leads: list[str], others: list[str], rng) -> dict:
    """A `tien-do/seed-plan/v1` document: sections, tasks with lead, coordination and "5 rõ", indicators."""
    sections = [
        {"number": str(s), "heading": f"Nhóm nhiệm vụ {s}: {rng.choice(WORDS)}"}
        for s in range(1, SECTIONS_PER_PLAN + 1)
    ]
    kinds = [kind for kind, share in TYPE_MIX for _ in range(round(share * TASKS_PER_PLAN))]
    kinds = (kinds + ["implement_report"] * TASKS_PER_PLAN)[:TASKS_PER_PLAN]
    rng.shuffle(kinds)
    tasks = []
    for index, kind in enumerate(kinds):
        section = index * SECTIONS_PER_PLAN // TASKS_PER_PLAN + 1
        lead = leads[index % len(leads)]
        topic = rng.choice(WORDS)
        due = issued + timedelta(days=rng.randint(45, 720))
        record = {
            "code": f"{section}.{index + 1}",
            "section_number": str(section),
            "title": f"{rng.choice(VERBS)} {topic} năm {due.year} (kế hoạch {number}, nhiệm vụ {index + 1})",
            "content": f"Chủ trì tham mưu, tổ chức thực hiện nội dung về {topic}; báo cáo kết quả.",
            "lead": {"code": lead},
            "coordinating": [{"code": c} for c in rng.sample(others, min(len(others), rng.randint(0, 2)))],
            "expected_result": f"Báo cáo kết quả thực hiện về {topic}",
            "assignee": f"{lead.lower()}.cv{rng.randint(1, SPECIALISTS_PER_UNIT)}",
            "task_type": "implement_report" if kind == "waiting_guidance" else kind,
            "deadline": {"due": due.isoformat(), "due_precision": "day", "recurrence": ["none"]},
        }
        if kind == "continuous_duty":
            record["deadline"] = {"raw": "Thường xuyên", "recurrence": ["continuous"]}
        elif kind == "waiting_guidance":
            record["deadline"] = {"raw": "Theo hướng dẫn của Trung ương", "recurrence": ["on_guidance"]}
        tasks.append(record)
    indicators = [
        {"horizon": 2030, "number": n, "name": f"Chỉ tiêu {n} về {rng.choice(WORDS)}", "unit": "%",
         "target": str(rng.randint(50, 100)), "responsible_unit": {"code": leads[n % len(leads)]}}
        for n in range(1, 4)
    ]  # fmt: skip
    return {
        "schema": "tien-do/seed-plan/v1",
        "document": {
            "issuer": {"name": "Sở Khoa học và Công nghệ tỉnh Hải Dương"},
            "doc_type": "Kế hoạch",
            "number": str(1000 + number),
            "number_symbol": "/KH-SKHCN",
            "date": issued.isoformat(),
            "title": f"Kế hoạch số {1000 + number} về {rng.choice(WORDS)} (dữ liệu đo hiệu năng)",
        },
        "tasks_section": {"heading": "II. NHIỆM VỤ, GIẢI PHÁP", "sections": sections},
        "tasks": tasks,
        "appendix_i": {"indicators": indicators},
        "reporting": {
            "monthly_report": {"to": {"code": leads[0]}, "day_of_month": 15},
            "monthly_review_meeting": {"day_of_month": 20},
        },
    }


def add_plans(scale: float, codes: list[str], start: date, directory: Path, rng) -> int:
    from app.services.plan_import import import_plan_files

    count = max(1, round(PLANS_FULL * scale))
    for number in range(count):
        first = number * LEADS_PER_PLAN % len(codes)
        leads = [codes[(first + k) % len(codes)] for k in range(LEADS_PER_PLAN)]
        others = [c for c in codes if c not in leads][:50] or leads
        issued = start + timedelta(days=round(number * (SPAN_DAYS * 0.8) / count))
        path = directory / f"plan-{number:04d}.yaml"
        path.write_text(yaml.safe_dump(plan_document(number, issued, leads, others, rng), allow_unicode=True))
        import_plan_files(path)
        path.unlink()
    return count


# --- the run ----------------------------------------------------------------------------------


def generate(database: str, scale: float, seed: int, workers: int = 1, quiet: bool = False) -> dict:
    from app.extensions import db
    from app.services.demo import seed_demo
    from workflows.audit_verify import verify

    rng = random.Random(seed)
    began = time.perf_counter()
    phases: dict[str, float] = {}

    def phase(name: str, since: float) -> float:
        now = time.perf_counter()
        phases[name] = round(now - since, 2)
        if not quiet:
            print(f"  {name}: {phases[name]:.1f} s", file=sys.stderr, flush=True)
        return now

    with tempfile.TemporaryDirectory(prefix="tien-do-gen-") as directory:
        app = bench_app(database, Path(directory))
        with app.app_context():
            db.create_all()
            seed_demo(PASSWORD)
            db.session.commit()
            mark = phase("schema_and_demo_seed", began)
            codes = unit_codes(scale)
            add_units(codes)
            users = add_users(codes)
            mark = phase("units_and_users", mark)
            end = datetime.now(UTC) - timedelta(minutes=5)
            start = end - timedelta(days=SPAN_DAYS)
            plans = add_plans(scale, codes, start.date(), Path(directory), rng)
            tasks_after_import = data_set_size()["tasks"]
            mark = phase("plans_import", mark)
            jobs = plan_jobs(start, end, random.Random(seed + 1))
            if workers > 1:
                db.session.remove()
                db.engine.dispose()  # the workers open their own connections
                calls, failures = run_in_workers(database, jobs, start, end, scale, workers, Path(directory))
            else:
                calls, failures = run_jobs(jobs, start, end, scale, quiet)
            mark = phase("processes", mark)
            # The planner's statistics and visibility map, as a deployed database has them: on
            # PostgreSQL autovacuum keeps both (the throw-away test server runs without it; without the
            # visibility map an index-only scan still reads every heap page); on SQLite the migrations
            # run ANALYZE and the app refreshes it with PRAGMA optimize (app/sqlite_pragmas.py). The
            # schema here comes from the models, not the migrations, so run the same ANALYZE.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                if db.engine.dialect.name == "sqlite":
                    connection.exec_driver_sql("PRAGMA analysis_limit=0")  # as migration b7c8d9e0f1a2
                    connection.exec_driver_sql("ANALYZE")
                else:
                    connection.exec_driver_sql("VACUUM ANALYZE")
            report = verify()
            phase("audit_verify", mark)
            size = data_set_size()
            size_bytes = database_bytes()
    total = time.perf_counter() - began
    counts = {"plans": plans, "users": users, "tasks": tasks_after_import, "calls": calls, "workers": workers}
    return summarize(scale, phases, total, size, size_bytes, counts, failures, report)


def run_in_workers(database: str, jobs: list[Job], start, end, scale: float, workers: int, directory: Path):
    """Split the instances over `workers` processes (each job runs whole in one of them). Worth it on
    PostgreSQL, where only the audit chain's lock (from the audit row to the commit) serialises writers;
    SQLite lets one writer at a time from the first write of a step to its commit."""
    path = directory / "jobs.json"
    rows = [[j.task_id, j.task_type, j.at.isoformat(), j.budget, j.period] for j in jobs]
    path.write_text(json.dumps({"start": start.isoformat(), "end": end.isoformat(), "jobs": rows}))
    target = ["--database-url", database] if "://" in database else ["--database", database]
    command = [sys.executable, __file__, *target, "--scale", str(scale), "--jobs-file", str(path)]
    running = [
        subprocess.Popen([*command, "--worker", f"{k}/{workers}"], stdout=subprocess.PIPE, text=True)
        for k in range(workers)
    ]
    calls, failures = 0, []
    for process in running:
        out, _ = process.communicate()
        if process.returncode:
            raise SystemExit(f"a worker failed ({process.returncode})")
        result = json.loads(out)
        calls, failures = calls + result["calls"], failures + result["failures"]
    return calls, failures


def worker_main(database: str, scale: float, jobs_file: str, worker: str) -> int:
    """One worker of --workers: its share of the jobs file, on its own simulated clock."""
    index, count = (int(part) for part in worker.split("/"))
    spec = json.loads(Path(jobs_file).read_text())
    start, end = datetime.fromisoformat(spec["start"]), datetime.fromisoformat(spec["end"])
    jobs = [
        Job(task_id, task_type, datetime.fromisoformat(at), budget, period, rng=random.Random(number))
        for number, (task_id, task_type, at, budget, period) in enumerate(spec["jobs"])
    ][index::count]
    with tempfile.TemporaryDirectory(prefix="tien-do-gen-worker-") as directory:
        app = bench_app(database, Path(directory))
        with app.app_context():
            calls, failures = run_jobs(jobs, start, end, scale, quiet=index != 0, share=count)
    print(json.dumps({"calls": calls, "failures": failures}))
    return 0


def summarize(scale, phases, total, size, size_bytes, counts, failures, verified) -> dict:
    """The counts reached against the scaled targets, rates, and the full size predicted from them."""
    targets = {name: round(value * scale) for name, value in FULL_SIZE.items()}
    calls, tasks, users = counts["calls"], counts["tasks"], counts["users"]
    per_call = phases["processes"] / max(1, calls)
    per_task_import = phases["plans_import"] / max(1, tasks)
    per_user = phases["units_and_users"] / max(1, users)
    full_calls = calls / max(1, size["audit_events"]) * FULL_SIZE["audit_events"]
    predicted = {
        "plans_import_s": round(per_task_import * FULL_SIZE["tasks"]),
        "units_and_users_s": round(per_user * FULL_SIZE["users"]),
        "engine_calls": round(full_calls),
        "processes_s": round(per_call * full_calls),
        "audit_verify_s": round(
            phases["audit_verify"] / max(1, size["audit_events"]) * FULL_SIZE["audit_events"]
        ),
    }
    predicted["total_hours"] = round(sum(v for k, v in predicted.items() if k.endswith("_s")) / 3600, 2)
    return {
        "scale": scale,
        "targets": targets,
        "reached": size,
        "generated": counts | {"failures": len(failures)},
        "failures_first": failures[:5],
        "audit_chain_ok": verified.ok,
        "audit_rows_checked": verified.checked,
        "phases_s": phases,
        "total_s": round(total, 1),
        "seconds_per_1000_tasks": round(total / max(1, size["tasks"]) * 1000, 2),
        "ms_per_engine_call": round(per_call * 1e3, 2),
        "plan_import_ms_per_task": round(per_task_import * 1e3, 2),
        "database_bytes": size_bytes,
        "database_bytes_per_1000_tasks": round(size_bytes / max(1, size["tasks"]) * 1000)
        if size_bytes
        else None,
        "predicted_full_size": predicted,
        "machine": machine(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--scale", type=float, default=0.01, help="1.0 = the issue's full size (default 0.01)"
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--database", help="a SQLite file to create (must not exist)")
    where.add_argument("--database-url", help="an empty database, e.g. postgresql+psycopg://u:p@host/db")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--workers", type=int, default=1, help="processes running the instances (PostgreSQL)")
    parser.add_argument("--json", action="store_true", help="print only the JSON report")
    parser.add_argument("--jobs-file", help=argparse.SUPPRESS)  # a worker of --workers
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.database or args.database_url, args.scale, args.jobs_file, args.worker)
    if args.database and Path(args.database).exists():
        parser.error(f"{args.database} exists; the generator builds a new database")
    report = generate(
        args.database or args.database_url, args.scale, args.seed, args.workers, quiet=args.json
    )
    if not args.json:
        reached, targets = report["reached"], report["targets"]
        for name, target in targets.items():
            print(f"{name}: {reached[name]} (target {target})")
        print(
            f"generation: {report['total_s']} s, {report['seconds_per_1000_tasks']} s per 1,000 tasks, "
            f"{report['ms_per_engine_call']} ms per engine call; audit chain "
            f"{'valid' if report['audit_chain_ok'] else 'BROKEN'}"
        )
        print(f"predicted full size: {report['predicted_full_size']}")
    print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    return 0 if report["audit_chain_ok"] and not report["generated"]["failures"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
