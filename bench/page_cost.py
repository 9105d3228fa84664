"""How fast are the pages people use, on a generated data set? Median and p95 per page and API call.

On a database built by bench/generate_data.py (a SQLite file, or `--database-url` for PostgreSQL), through
the Flask test client with real sign-in (the login form with its CSRF token) and bearer tokens from
`POST /api/v1/auth/token`, it times, each request on its own (after two warm-up requests):

- the worklist (a unit's specialist, its head, and the leader, who sees every leader step),
- the page of an open step (its form: a draft offers every consultable unit; what earlier steps entered)
  and `GET /api/v1/work-items/{id}`,
- a plan page with its filters (none, one lead unit, one state, overdue) and `GET /api/v1/plans/{id}/tasks`,
- a task page with its history (a completed draft-plan task) and `GET /api/v1/tasks/{id}` + `/history`,
- the audit page (no filter, actor, unit, action, task, last month; page 50 through the keyset cursor)
  and `GET /api/v1/audit` with the same filters,
- the dashboard (no API counterpart exists), and the plan list (`/plans`, `GET /api/v1/plans`).

The dashboard for every plan reads the counts the scheduler's tick makes every minute
(app/services/dashboard_figures.py): the tick's step is run, and timed, just before the dashboard is,
as cron would have run it; its cost is reported beside the pages ("scheduler").

The people and records are chosen so that what each page shows does not grow with the scale (the same
generated unit, a plan of the same size, a task with a history of typical length); a page that still
gets slower with more data reads more than an index lookup. `--compare SMALL.json` sets each p95
beside the one of a smaller data set (target: p95 <= 100 ms on the full set and <= 1.3 x the 1 % set).
`--generate 0.01 --generate 0.1` builds each data set in a temporary directory first and measures them
in the same run (each measurement in its own process, so its memory figure is its own).

Run: `.venv/bin/python bench/page_cost.py --database /tmp/bench-1pct.sqlite [--json]`
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (  # noqa: E402
    PASSWORD,
    bench_app,
    current_rss_mb,
    data_set_size,
    database_bytes,
    format_table,
    fresh_database,
    machine,
    peak_rss_mb,
    summary_ms,
)

TARGET_P95_MS = 100.0
TARGET_GROWTH = 1.3
# Page sizes every data set from 1 % up fills (the 1 % set: 28 leader steps, 11 plans), for the like-for-like
# rows beside the default pages, which show more at the full size than at 1 %.
SAME_COUNT_ITEMS, SAME_COUNT_PLANS = 20, 10
AUDIT_PAGE = 50  # the page reached through the cursor
GENERATION_KEYS = (
    "total_s",
    "seconds_per_1000_tasks",
    "ms_per_engine_call",
    "audit_chain_ok",
    "predicted_full_size",
)
# What the pages show is held constant across data sets, so that only the tables' sizes differ: the
# task page's task is the completed draft-plan task whose history is closest to HISTORY_EVENTS rows; the
# worklists are those of the generated specialist and head whose open steps are closest to these counts.
HISTORY_EVENTS = 20
WORKLIST_ITEMS = {"specialist": 60, "unit_head": 30}


def choose_subjects() -> dict:
    """The people, plan, task and filters the cases use (in an app context)."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import AuditEvent, Plan, Role, Task, TaskState, Unit, User
    from app.services.audit_queries import AuditFilters, audit_page, parse_filters
    from app.services.clock import local_today

    unit = db.session.scalar(select(Unit).where(Unit.code == "BU001"))
    if unit is None:
        raise SystemExit("not a generated database: no unit BU001 (run bench/generate_data.py first)")
    plans = list(
        db.session.scalars(select(Plan.id).where(Plan.title.like("%đo hiệu năng%")).order_by(Plan.id))
    )
    plan_id = next(
        pid
        for pid in plans[len(plans) // 2 :] + plans
        if db.session.scalar(select(func.count()).where(Task.plan_id == pid, Task.lead_unit_id == unit.id))
    )
    drafts = select(Task.id).where(
        Task.task_type == "draft_plan", Task.state == TaskState.COMPLETED, Task.plan_id.in_(plans)
    )
    history = (
        select(AuditEvent.task_id, func.count().label("events"))
        .where(AuditEvent.task_id.in_(drafts))
        .group_by(AuditEvent.task_id)
        .subquery()
    )
    task_id, events = db.session.execute(
        select(history.c.task_id, history.c.events)
        .order_by(func.abs(history.c.events - HISTORY_EVENTS), history.c.task_id)
        .limit(1)
    ).one()
    task = db.session.get(Task, task_id)
    today = local_today()
    month_ago = (today - timedelta(days=30)).isoformat()
    audit_filters = {
        "none": {},
        "actor": {"actor": "bu001.cv1"},
        "unit": {"unit": "BU001"},
        "action": {"action": "step.returned"},
        "task": {"task": str(task_id)},
        "last_month": {"since": month_ago, "until": today.isoformat()},
    }
    cursors = {}
    for name in ("none", "action_completed"):
        args = {"action": "step.completed"} if name == "action_completed" else {}
        filters, cursor = (parse_filters(args) if args else AuditFilters()), None
        for _ in range(AUDIT_PAGE - 1):
            cursor = audit_page(filters, cursor).next_cursor
            if cursor is None:
                break
        cursors[name] = (args, cursor)
    step_item, step_user = step_subject(unit.id)
    return {
        "step_item": step_item,
        "step_user": step_user,
        "specialist": typical_user(Role.SPECIALIST, WORKLIST_ITEMS["specialist"]),
        "head": typical_user(Role.UNIT_HEAD, WORKLIST_ITEMS["unit_head"]),
        "leader": "giamdoc",
        "supervisor": "giamsat",
        "task_viewer": db.session.get(User, task.assignee_id).username,
        "plan_id": plan_id,
        "plan_unit": "BU001",
        "task_id": task_id,
        "task_history_events": events,
        "audit_filters": audit_filters,
        "audit_cursors": cursors,
    }


def step_subject(unit_id: int, sample: int = 200) -> tuple[int, str]:
    """(open draft step, a person who may complete it) of a task led by the unit: among the first
    `sample`, the one whose process has the longest history (returned drafts come back filled in, and
    the page shows what the earlier steps entered). Its form offers every consultable unit."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import AuditEvent, Task, User, WorkItem, WorkItemStatus
    from workflows.guards import may_act

    items = (
        select(WorkItem.id, WorkItem.instance_id)
        .join(Task, Task.id == WorkItem.task_id)
        .where(WorkItem.status == WorkItemStatus.OPEN, WorkItem.step == "draft", Task.lead_unit_id == unit_id)
        .order_by(WorkItem.id)
        .limit(sample)
        .subquery()
    )
    ranked = (
        select(items.c.id)
        .outerjoin(AuditEvent, AuditEvent.instance_id == items.c.instance_id)
        .group_by(items.c.id)
        .order_by(func.count(AuditEvent.id).desc(), items.c.id)
    )
    for item_id in db.session.scalars(ranked):
        item = db.session.get(WorkItem, item_id)
        for user in db.session.scalars(select(User).where(User.unit_id == unit_id).order_by(User.id)):
            if may_act(user, item):
                return item_id, user.username
    raise SystemExit("no open draft step of the unit that one of its people may complete")


def typical_user(role: str, wanted: int, sample: int = 40) -> str:
    """Among the first `sample` generated accounts with this role, the one whose worklist count is
    closest to `wanted`."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import User, UserRole
    from workflows.worklist import worklist_count

    users = db.session.scalars(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.username.like("bu%"), UserRole.role == role)
        .order_by(User.id)
        .limit(sample)
    )
    return min(users, key=lambda user: (abs(worklist_count(user) - wanted), user.id)).username


def cases(s: dict) -> list[tuple[str, str, str]]:
    """(name, user, url) of every measured request; URLs under /api/ are sent with the user's token."""
    plan, task = s["plan_id"], s["task_id"]
    out = [
        ("worklist (specialist)", s["specialist"], "/worklist"),
        ("worklist (unit head)", s["head"], "/worklist"),
        ("worklist (leader: every leader step)", s["leader"], "/worklist"),
        ("API worklist (specialist)", s["specialist"], "/api/v1/worklist"),
        ("API worklist (leader)", s["leader"], "/api/v1/worklist"),
        # like for like across sizes: a page both sizes fill (the leader's 1 % list is shorter than 100)
        (
            f"API worklist (leader), first {SAME_COUNT_ITEMS}",
            s["leader"],
            f"/api/v1/worklist?limit={SAME_COUNT_ITEMS}",
        ),
    ]
    plan_filters = {
        "": {},
        " unit": {"unit": s["plan_unit"]},
        " state": {"state": "in_progress"},
        " overdue": {"overdue": "true"},
    }
    for label, args in plan_filters.items():
        query = f"?{urlencode(args)}" if args else ""
        out.append((f"plan page{label}", s["specialist"], f"/plans/{plan}{query}"))
        out.append((f"API plan tasks{label}", s["specialist"], f"/api/v1/plans/{plan}/tasks{query}"))
    out += [
        ("step page (draft form, earlier entries)", s["step_user"], f"/steps/{s['step_item']}"),
        ("API work item", s["step_user"], f"/api/v1/work-items/{s['step_item']}"),
        ("task page with history", s["task_viewer"], f"/tasks/{task}"),
        ("API task", s["task_viewer"], f"/api/v1/tasks/{task}"),
        ("API task history", s["task_viewer"], f"/api/v1/tasks/{task}/history"),
    ]
    for label, args in s["audit_filters"].items():
        query = f"?{urlencode(args)}" if args else ""
        out.append((f"audit page, {label}", s["supervisor"], f"/audit{query}"))
        out.append((f"API audit, {label}", s["supervisor"], f"/api/v1/audit{query}"))
    for label, (args, cursor) in s["audit_cursors"].items():
        if cursor is None:
            continue  # fewer than 50 pages at this size
        query = urlencode({**args, "cursor": cursor})
        out.append((f"audit page {AUDIT_PAGE}, {label}", s["supervisor"], f"/audit?{query}"))
        out.append((f"API audit page {AUDIT_PAGE}, {label}", s["supervisor"], f"/api/v1/audit?{query}"))
        if label == "none":  # back from page 50 to page 49: the rows just newer than the cursor's row
            back = urlencode({**args, "before": cursor})
            out.append(
                (
                    f"API audit page {AUDIT_PAGE - 1} (previous), {label}",
                    s["supervisor"],
                    f"/api/v1/audit?{back}",
                )
            )
    out += [
        ("dashboard", s["supervisor"], "/dashboard"),
        ("plan list", s["supervisor"], "/plans"),
        ("API plan list", s["supervisor"], "/api/v1/plans"),
        (
            f"API plan list, first {SAME_COUNT_PLANS}",
            s["supervisor"],
            f"/api/v1/plans?limit={SAME_COUNT_PLANS}",
        ),
    ]
    return out


class Sessions:
    """One signed-in test client per person (the real login form) and one API token per person."""

    def __init__(self, app) -> None:
        self.app, self.clients, self.tokens = app, {}, {}

    def client(self, username: str):
        if username not in self.clients:
            client = self.app.test_client()
            page = client.get("/auth/login").get_data(as_text=True)
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
            response = client.post(
                "/auth/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
            )
            assert response.status_code == 302, f"sign-in of {username} failed: {response.status_code}"
            self.clients[username] = client
        return self.clients[username]

    def headers(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            response = self.app.test_client().post(
                "/api/v1/auth/token", json={"username": username, "password": PASSWORD}
            )
            assert response.status_code == 200, response.get_json()
            self.tokens[username] = response.get_json()["token"]
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def get(self, username: str, url: str):
        if url.startswith("/api/"):
            return self.app.test_client().get(url, headers=self.headers(username))
        return self.client(username).get(url)


def statements_of(sessions: Sessions, username: str, url: str) -> int:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    count = [0]

    def counted(*_args) -> None:
        count[0] += 1

    event.listen(Engine, "before_cursor_execute", counted)
    try:
        sessions.get(username, url)
    finally:
        event.remove(Engine, "before_cursor_execute", counted)
    return count[0]


def shown(response) -> str:
    """How much the response shows: items of a JSON list, or the HTML size."""
    if response.is_json:
        body = response.get_json()
        for key in ("items", "events", "history"):
            if isinstance(body, dict) and isinstance(body.get(key), list):
                return f"{len(body[key])} {key}"
        return f"{len(response.data) // 1024} KB"
    return f"{len(response.data) // 1024} KB html"


def measure(database: str, repeat: int) -> dict:
    from app.extensions import db

    with tempfile.TemporaryDirectory(prefix="tien-do-pages-") as directory:
        app = bench_app(database, Path(directory))
        with app.app_context():
            db.create_all()  # the tables a data set built by an older generator lacks (empty ones)
            size = data_set_size()
            subjects = choose_subjects()
        sessions = Sessions(app)
        gc.collect()
        gc.freeze()  # as each gunicorn worker does once it has built its app (gunicorn.conf.py)
        results, scheduler = {}, {}
        for name, user, url in cases(subjects):
            if name == "dashboard":
                scheduler["dashboard_counts"] = time_dashboard_counts(app, repeat)
            for _ in range(2):  # warm-up: sign-in, caches, first plans of the statements
                response = sessions.get(user, url)
                assert response.status_code == 200, (name, url, response.status_code)
            gc.collect()  # not the previous page's garbage
            samples = []
            for _ in range(repeat):
                started = time.perf_counter()
                response = sessions.get(user, url)
                samples.append(time.perf_counter() - started)
                assert response.status_code == 200, (name, url, response.status_code)
            results[name] = summary_ms(samples) | {
                "url": url,
                "user": user,
                "sql_statements": statements_of(sessions, user, url),
                "shows": shown(response),
            }
        with app.app_context():
            size_bytes = database_bytes()
    return {
        "database": database.split("@")[-1],
        "dialect": "postgresql" if database.startswith("postgresql") else "sqlite",
        "data_set": size,
        "database_bytes": size_bytes,
        "database_bytes_per_1000_tasks": round(size_bytes / size["tasks"] * 1000) if size_bytes else None,
        "subjects": {k: v for k, v in subjects.items() if k not in ("audit_cursors",)},
        "repeat": repeat,
        "pages": results,
        "scheduler": scheduler,
        "rss_mb_after": current_rss_mb(),
        "peak_rss_mb": peak_rss_mb(),
        "machine": machine(),
    }


def time_dashboard_counts(app, repeat: int) -> dict:
    """The scheduler's dashboard step (what `flask workflows tick` runs every minute), timed; the last
    run's counts are what the dashboard then reads."""
    from app.services.clock import utcnow
    from app.services.dashboard import refresh_department_figures

    samples = []
    with app.app_context():
        for _ in range(max(3, repeat // 4)):
            started = time.perf_counter()
            refresh_department_figures(utcnow())
            samples.append(time.perf_counter() - started)
    return summary_ms(samples)


def compare(report: dict, small: dict) -> None:
    """Each page's p95 against the smaller data set's and the targets."""
    for name, page in report["pages"].items():
        before = small["pages"].get(name)
        page["p95_vs_small"] = round(page["p95_ms"] / before["p95_ms"], 2) if before else None
        # False: this size shows more (or less) than the small one did, so the ratio is not like for like
        page["shows_as_small"] = before["shows"] == page["shows"] if before else None
        page["meets_targets"] = page["p95_ms"] <= TARGET_P95_MS and (
            page["p95_vs_small"] is None or page["p95_vs_small"] <= TARGET_GROWTH
        )
    report["compared_with"] = {"tasks": small["data_set"]["tasks"], "database": small["database"]}


def _growth(page: dict) -> str:
    if page.get("p95_vs_small") is None:
        return ""
    return f"{page['p95_vs_small']:.2f}" + (
        "" if page.get("shows_as_small", True) else " (shows another amount)"
    )


def table(report: dict) -> str:
    header = ("page", "median ms", "p95 ms", "SQL", "shows", "p95 / small")
    rows = [
        (
            name,
            f"{p['median_ms']:.1f}",
            f"{p['p95_ms']:.1f}",
            str(p["sql_statements"]),
            p["shows"],
            _growth(p),
        )
        for name, p in report["pages"].items()
    ]
    size = report["data_set"]
    lines = [
        f"{report['dialect']}: {size['tasks']} tasks, {size['process_instances']} instances, "
        f"{size['open_work_items']} open items, {size['audit_events']} audit events, {size['users']} users; "
        f"{report['repeat']} requests per page",
        format_table(header, rows),
        f"database {report['database_bytes']} bytes ({report['database_bytes_per_1000_tasks']} per 1,000 "
        f"tasks); this process: {report['rss_mb_after']} MB resident, peak {report['peak_rss_mb']} MB",
    ]
    if "generation" in report:
        built = report["generation"]
        lines.append(
            f"generated (scale {report['scale']}) in {built['total_s']} s: "
            f"{built['seconds_per_1000_tasks']} s per 1,000 tasks, "
            f"{built['ms_per_engine_call']} ms per engine call, audit chain "
            f"{'valid' if built['audit_chain_ok'] else 'BROKEN'}; full size predicted "
            f"{built['predicted_full_size']['total_hours']} h"
        )
    for name, step in report.get("scheduler", {}).items():
        lines.append(
            f"scheduler step {name} (once a minute, not on a page): median {step['median_ms']:.1f} ms, "
            f"p95 {step['p95_ms']:.1f} ms"
        )
    if "step" in report:
        step = report["step"]
        lines.append(
            f"step (bench/step_cost.py on this data set): API median {step['api_median_ms']} ms, bare "
            f"{step['bare_median_ms']} ms, ratio {step['ratio']} (target <= 2.0); after 20 returns / age 1: "
            f"{step['age_ratio']}"
        )
    over = [name for name, p in report["pages"].items() if p["p95_ms"] > TARGET_P95_MS]
    lines.append(f"p95 over {TARGET_P95_MS:.0f} ms: {', '.join(over) or 'none'}")
    lines += [f"{key}: {value}" for key, value in report["machine"].items()]
    return "\n".join(lines)


def step_ratio(here: Path, target: list[str]) -> dict:
    """Target 1 on this data set: bench/step_cost.py's bare cycle and API step on a copy of it."""
    command = [sys.executable, str(here / "step_cost.py"), *target, "--json", "--profile", "never"]
    report = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    return {
        "bare_median_ms": round(report["bare"]["median_ms"], 2),
        "api_median_ms": round(report["api"]["median_ms"], 2),
        "api_p95_ms": round(report["api"]["p95_ms"], 2),
        "ratio": round(report["ratio_b_over_a"], 2),
        "age_ratio": round(report["age"]["api_old_over_young"], 2),
    }


def generated_runs(scales: list[float], database_url: str | None, repeat: int) -> list[dict]:
    """Build each scale (a SQLite file in a temporary directory, or a new database on the server of
    --database-url, dropped afterwards), measure it in its own process, compare each with the first."""
    here = Path(__file__).resolve().parent
    reports = []
    with tempfile.TemporaryDirectory(prefix="tien-do-scales-") as directory:
        for number, scale in enumerate(scales):
            url = fresh_database(database_url, f"tien_do_bench_{number}") if database_url else None
            target = ["--database-url", url] if url else ["--database", f"{directory}/{scale}.sqlite"]
            try:
                generator = [sys.executable, str(here / "generate_data.py"), "--scale", str(scale), *target]
                built = json.loads(
                    subprocess.run([*generator, "--json"], check=True, capture_output=True, text=True).stdout
                )
                measuring = [
                    sys.executable,
                    str(here / "page_cost.py"),
                    *target,
                    "--repeat",
                    str(repeat),
                    "--json",
                ]
                out = subprocess.run(measuring, check=True, capture_output=True, text=True).stdout
                step = step_ratio(here, target)
            finally:
                if url:
                    fresh_database(database_url, f"tien_do_bench_{number}", create=False)
            report = json.loads(out) | {"scale": scale, "generation": {k: built[k] for k in GENERATION_KEYS}}
            if step is not None:
                report["step"] = step
            if reports:
                compare(report, reports[0])
            reports.append(report)
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", help="a SQLite file built by bench/generate_data.py")
    parser.add_argument(
        "--database-url",
        help="a database built by bench/generate_data.py (PostgreSQL); with --generate: the server on which "
        "to create a database per scale (dropped afterwards)",
    )
    parser.add_argument("--generate", type=float, action="append", help="build this scale first (repeat it)")
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per page")
    parser.add_argument("--compare", help="the JSON report of a smaller data set")
    parser.add_argument("--json", action="store_true", help="print only the JSON report")
    args = parser.parse_args(argv)
    if args.generate:
        reports = generated_runs(args.generate, args.database_url, args.repeat)
    elif args.database or args.database_url:
        reports = [measure(args.database or args.database_url, args.repeat)]
        if args.compare:
            compare(reports[0], json.loads(Path(args.compare).read_text()))
    else:
        parser.error("give --database, --database-url or --generate")
    if not args.json:
        for report in reports:
            print(table(report), end="\n\n")
    print(json.dumps(reports[0] if len(reports) == 1 else reports, indent=2, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
