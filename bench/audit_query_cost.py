"""How fast is the audit page at scale? First page and page 50 of /audit's query, per filter.

Builds the demo database in a temporary directory, adds N audit rows over a year (default 200,000;
half of them by one heavy user, five by a rare unit, actor and task, to show the worst cases), and
times app.services.audit_queries.audit_page (query + the rows as the page shows them) for each filter,
best of three, with the indexes the models declare and then with the composite indexes proposed in
the audit page's report: (actor_id, at, id), (actor_unit_code, at, id), (task_id, at, id),
(action, at, id). It prints the SQLite query plan of each filter, and the time to stream the CSV and
build the XLSX of `--export-rows` rows.

Run: `.venv/bin/python bench/audit_query_cost.py [--rows 1000000] [--export-rows 30000]`.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from step_cost import build_app  # noqa: E402

ACTIONS = [
    "process.started",
    "step.completed",
    "step.completed",
    "step.returned",
    "step.claimed",
    "task.updated",
]
INDEXES = {
    "ix_bench_actor_at": "actor_id, at, id",
    "ix_bench_unit_at": "actor_unit_code, at, id",
    "ix_bench_task_at": "task_id, at, id",
    "ix_bench_action_at": "action, at, id",
}


def fill(count: int) -> None:
    from sqlalchemy import insert, select, text

    from app.extensions import db
    from app.models import AuditEvent, Task, Unit, User

    rnd = random.Random(1)
    users = db.session.execute(select(User.id, User.username, User.full_name, User.unit_id)).all()
    codes = dict(db.session.execute(select(Unit.id, Unit.code)).tuples().all())
    tasks = list(db.session.scalars(select(Task.id).where(Task.code != "1.b")))
    rare_task = db.session.scalar(select(Task.id).where(Task.code == "1.b"))
    heavy = next(u for u in users if u.username == "giamdoc")
    plain = [u for u in users if u.username not in ("giamdoc", "hts.tp")]
    rare = next(u for u in users if u.username == "hts.tp")
    columns = {column.name for column in AuditEvent.__table__.columns}
    end = datetime.now(UTC)
    rare_rows = {10, count // 4, count // 2, 3 * count // 4, count - 10}
    batch = []
    for i in range(count):
        who = rare if i in rare_rows else heavy if i % 2 == 0 else rnd.choice(plain)
        row = {
            "at": end - timedelta(seconds=(count - i) * 365 * 86400 / count),
            "actor_id": who.id,
            "actor_username": who.username,
            "actor_name": who.full_name,
            "actor_unit_code": "RARE" if i in rare_rows else codes[who.unit_id],
            "action": rnd.choice(ACTIONS),
            "task_id": rare_task if i in rare_rows else rnd.choice(tasks),
            "step": "draft",
            "step_name": "Soạn dự thảo",
            "from_state": "drafting",
            "to_state": "reviewing",
            "prev_hash": f"p{i:063d}",  # the hash chain's columns, when they exist: unique placeholders
            "hash": f"h{i:063d}",
        }
        batch.append({key: value for key, value in row.items() if key in columns})
        if len(batch) == 10_000:
            db.session.execute(insert(AuditEvent.__table__), batch)
            batch = []
    if batch:
        db.session.execute(insert(AuditEvent.__table__), batch)
    db.session.commit()
    db.session.execute(text("ANALYZE"))


def best_ms(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def plan(filters) -> str:
    from sqlalchemy import text

    from app.extensions import db
    from app.services.audit_queries import _newest_first, filtered

    sql = str(
        _newest_first(filtered(filters)).limit(51).compile(db.engine, compile_kwargs={"literal_binds": True})
    )
    return "; ".join(row[-1] for row in db.session.execute(text("EXPLAIN QUERY PLAN " + sql)))


def measure(tag: str) -> None:
    from app.services.audit_export import audit_rows
    from app.services.audit_queries import AuditFilters, audit_page

    today = date.today()
    month_start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    month_end = today.replace(day=1) - timedelta(days=1)
    cases = {
        "no filter": AuditFilters(),
        "actor=hts.cv": AuditFilters(actor="hts.cv"),
        "unit=HTS": AuditFilters(unit="HTS"),
        "task=1.a": AuditFilters(task="1.a"),
        "action=step.returned": AuditFilters(actions=("step.returned",)),
        "unit=HTS, step.completed, last month": AuditFilters(
            unit="HTS", actions=("step.completed",), since=month_start, until=month_end
        ),
        "rare task 1.b (5 rows)": AuditFilters(task="1.b"),
        "rare unit (5 rows)": AuditFilters(unit="RARE"),
        "heavy actor giamdoc (half the rows)": AuditFilters(actor="giamdoc"),
    }
    for name, filters in cases.items():
        first = best_ms(lambda f=filters: audit_rows(audit_page(f).events))
        cursor = None
        for _ in range(49):
            cursor = audit_page(filters, cursor).next_cursor
            if cursor is None:
                break
        fiftieth = (
            best_ms(lambda f=filters, c=cursor: audit_rows(audit_page(f, c).events)) if cursor else None
        )
        page50 = f"{fiftieth:8.1f} ms" if fiftieth is not None else "       —   "
        print(f"[{tag}] {name:38s} page 1 {first:8.1f} ms   page 50 {page50}   plan: {plan(filters)}")


def measure_exports(rows: int) -> None:
    from app.services.audit_export import Export, csv_chunks, export_rows, xlsx_bytes
    from app.services.audit_queries import AuditFilters, newest_id

    export = Export(AuditFilters(), newest_id(), rows, False)
    started = time.perf_counter()
    size = sum(len(chunk) for chunk in csv_chunks(export_rows(export)))
    print(f"CSV  of {rows} rows: {time.perf_counter() - started:6.2f} s ({size / 1e6:.1f} M characters)")
    started = time.perf_counter()
    data = xlsx_bytes(export_rows(export))
    print(f"XLSX of {rows} rows: {time.perf_counter() - started:6.2f} s ({len(data) / 1e6:.1f} MB)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--export-rows", type=int, default=10_000)
    args = parser.parse_args(argv)
    from sqlalchemy import text

    from app.extensions import db

    with tempfile.TemporaryDirectory(prefix="tien-do-bench-") as directory:
        app = build_app(Path(directory))
        with app.test_request_context():
            started = time.perf_counter()
            fill(args.rows)
            print(f"{args.rows} audit rows added in {time.perf_counter() - started:.1f} s")
            measure("declared indexes")
            for name, columns in INDEXES.items():
                db.session.execute(text(f"CREATE INDEX {name} ON audit_events ({columns})"))
            db.session.commit()
            db.session.execute(text("ANALYZE"))
            measure("+ composite indexes")
            measure_exports(min(args.export_rows, args.rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
