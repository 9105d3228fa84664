"""What the data generator (bench/generate_data.py) and the page benchmark (bench/page_cost.py) share:
the app on a benchmark database, timing summaries, the size of the data set, the machine.

The database is a SQLite file (a path) or a database URL (`--database-url postgresql+psycopg://...`).
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from config import Config  # noqa: E402

PASSWORD = "bench-pass-123"  # every generated and demo account (the demo seed takes it as its password)

# The full data set (scale 1.0); --scale 0.01 is 1 % of each.
FULL_SIZE = {
    "tasks": 100_000,
    "process_instances": 100_000,
    "open_work_items": 50_000,
    "audit_events": 1_000_000,
    "users": 2_000,
}


def database_uri(database: str | Path) -> str:
    """A SQLAlchemy URL for a SQLite file path or a URL given as is."""
    text = str(database)
    return text if "://" in text else f"sqlite:///{Path(text).resolve()}"


def bench_app(database: str | Path, workdir: Path | None = None):
    """The app on the benchmark database: production settings but a fixed secret, a cheap password hash
    (seeding 2,000 accounts and signing in are not what is measured), no outbox file, files in `workdir`."""
    from app import create_app

    workdir = workdir or Path(os.environ.get("TMPDIR", "/tmp"))

    class BenchConfig(Config):
        SECRET_KEY = "bench-only-not-secret"
        SQLALCHEMY_DATABASE_URI = database_uri(database)
        PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
        OUTBOX_PATH = None
        ATTACHMENTS_DIR = str(workdir / "attachments")
        RATELIMIT_ENABLED = False  # the page bench signs in as several people from one address

    return create_app(BenchConfig)


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))]


def summary_ms(seconds: list[float]) -> dict:
    """n, median, p95 and max of timings given in seconds, in ms."""
    ordered = sorted(seconds)
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered) * 1e3, 2),
        "p95_ms": round(percentile(ordered, 0.95) * 1e3, 2),
        "max_ms": round(ordered[-1] * 1e3, 2),
    }


def data_set_size() -> dict:
    """Rows of what the issue sizes, in the current app context."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import AuditEvent, Plan, ProcessInstance, Task, Unit, User, WorkItem, WorkItemStatus

    def count(query) -> int:
        return int(db.session.scalar(query) or 0)

    return {
        "tasks": count(select(func.count(Task.id))),
        "plans": count(select(func.count(Plan.id))),
        "units": count(select(func.count(Unit.id))),
        "users": count(select(func.count(User.id))),
        "process_instances": count(select(func.count(ProcessInstance.id))),
        "instances_by_status": dict(
            db.session.execute(
                select(ProcessInstance.status, func.count()).group_by(ProcessInstance.status)
            ).all()
        ),
        "open_work_items": count(
            select(func.count(WorkItem.id)).where(WorkItem.status == WorkItemStatus.OPEN)
        ),
        "work_items": count(select(func.count(WorkItem.id))),
        "audit_events": count(select(func.count(AuditEvent.id))),
        "tasks_by_state": dict(
            db.session.execute(select(Task.state, func.count()).group_by(Task.state)).all()
        ),
    }


def database_bytes() -> int | None:
    """The database's size on disk: the SQLite file (after a WAL checkpoint), or pg_database_size."""
    from sqlalchemy import text

    from app.extensions import db

    engine = db.engine
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        path = engine.url.database
        return Path(path).stat().st_size if path else None
    if engine.dialect.name == "postgresql":
        return int(db.session.scalar(text("SELECT pg_database_size(current_database())")))
    return None


def peak_rss_mb() -> float:
    """The largest resident set this process has had (Linux reports kB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def current_rss_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def machine() -> dict:
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_1_5_15": [round(value, 2) for value in load] if load else None,
        "python": platform.python_version(),
        "spiffworkflow": version("SpiffWorkflow"),
        "sqlalchemy": version("SQLAlchemy"),
        "flask": version("Flask"),
        "at_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    }


def format_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A plain aligned table: the first column left, the others right."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(row) -> str:
        return "  ".join(
            str(cell).ljust(w) if i == 0 else str(cell).rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )

    out = [line(header), "-" * len(line(header))]
    return "\n".join(out + [line(row) for row in rows])


def fresh_database(server_url: str, name: str, create: bool = True) -> str:
    """(Re)create database `name` on the PostgreSQL server of `server_url` (or only drop it); its URL."""
    from sqlalchemy import create_engine, make_url, text

    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)
