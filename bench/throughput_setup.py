"""What the throughput benchmark (bench/throughput.py) sets up and tears down: a PostgreSQL server (the
project's scripts/postgres-test-server.sh), a migrated and seeded database, a pool of fresh draft_plan
instances with API tokens (through the services), and gunicorn with the production configuration.

Everything started here is stopped by the caller's ExitStack (callbacks registered as things start).
"""

from __future__ import annotations

import json
import math
import os
import random
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
PG_SCRIPT = ROOT / "scripts" / "postgres-test-server.sh"
DATABASE = "tien_do_throughput"
POOL_LEADS = ["BU001", "BU002", "BU003", "BU004"]  # the generator's first divisions (each: .tp, .cv1-4)
POOL_TITLE = "Kế hoạch đo thông lượng"
STOPS = (signal.SIGINT, signal.SIGTERM)


def log(message: str) -> None:
    print(f"throughput: {message}", file=sys.stderr, flush=True)


# --- PostgreSQL ------------------------------------------------------------------------------


def start_postgres() -> tuple[str, Path]:
    """A throw-away server through the project's script: (server URL, its directory)."""
    completed = subprocess.run(
        ["bash", str(PG_SCRIPT), "start"], capture_output=True, text=True, start_new_session=True
    )
    if completed.returncode:
        raise RuntimeError(f"postgres-test-server.sh start failed:\n{completed.stderr}")
    values = dict(line.split("=", 1) for line in completed.stdout.splitlines() if "=" in line)
    return values["TEST_DATABASE_URL"], Path(values["PG_TEST_DIR"])


@contextmanager
def deferred_interrupts():
    """Hold Ctrl-C and SIGTERM while something starts that must be registered for cleanup first (the
    server's directory is known only when the script ends); raise them afterwards."""
    received: list[int] = []
    previous = {sig: signal.signal(sig, lambda number, _: received.append(number)) for sig in STOPS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if received:
            raise KeyboardInterrupt if received[0] == signal.SIGINT else SystemExit(143)


def stop_postgres(directory: Path) -> None:
    subprocess.run(["bash", str(PG_SCRIPT), "stop", str(directory)], capture_output=True, text=True)


def postmaster_pid(directory: Path | None) -> int | None:
    """The server's main process (its backends are its children), when it runs on this machine."""
    if directory is None:
        return None
    try:
        return int((directory / "data" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def fresh_database(server_url: str, name: str = DATABASE, create: bool = True) -> str:
    """(Re)create the benchmark's database on the server (or only drop it); its URL."""
    from bench_common import fresh_database as recreate

    return recreate(server_url, name, create)


def server_environment(url: str, workdir: Path, bind: str | None = None) -> dict[str, str]:
    """The production configuration (README "Production") on this database, files in `workdir`."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("TEST_DATABASE_URL", "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS", "TIEN_DO_ENV")
    }
    environment.update(
        FLASK_APP="app:create_app",
        TIEN_DO_ENV="production",
        SECRET_KEY=secrets.token_hex(32),
        DATABASE_URL=url,
        OUTBOX_PATH=str(workdir / "outbox.jsonl"),
        ATTACHMENTS_DIR=str(workdir / "attachments"),
    )
    if bind:
        environment.update(BIND=bind, WEB_CONCURRENCY="2")
    return environment


def migrate_and_seed(url: str, scale: float, workdir: Path) -> dict:
    """`flask db upgrade`, then the generator at `scale` (its demo seed included), or only the demo seed
    when scale is 0. The generator's report (or {})."""
    environment = server_environment(url, workdir)
    started = time.perf_counter()
    upgrade = [str(BIN / "flask"), "db", "upgrade"]
    completed = subprocess.run(upgrade, cwd=ROOT, env=environment, capture_output=True, text=True)
    if completed.returncode:
        raise RuntimeError(f"flask db upgrade failed:\n{completed.stderr[-3000:]}")
    log(f"migrated in {time.perf_counter() - started:.1f} s")
    if scale <= 0:
        return {}
    started = time.perf_counter()
    generator = [sys.executable, str(HERE / "generate_data.py"), "--scale", str(scale)]
    generator += ["--database-url", url, "--workers", "2", "--json"]
    # its own session, so that its worker processes go with it if this run is stopped
    process = subprocess.Popen(
        generator, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = process.communicate()
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    if process.returncode:
        raise RuntimeError(f"generate_data.py failed:\n{err[-3000:]}")
    log(f"generated scale {scale} in {time.perf_counter() - started:.1f} s")
    return json.loads(out)


def dispose(app) -> None:
    """Close this process's connections (before the database is dropped)."""
    from app.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def seed_demo_only() -> None:
    """The demo seed (in an app context), for --scale 0."""
    from bench_common import PASSWORD

    from app.extensions import db
    from app.services.demo import seed_demo

    seed_demo(PASSWORD)
    db.session.commit()


def analyze(vacuum: bool = True) -> None:
    """VACUUM ANALYZE the database (in an app context): what autovacuum does on a real server; the
    throw-away server runs without it."""
    from app.extensions import db

    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE" if vacuum else "ANALYZE")


def database_size() -> dict:
    """The database's size, its tables' (with indexes and TOAST), the biggest tables, and the rows."""
    from bench_common import data_set_size
    from sqlalchemy import text

    from app.extensions import db

    rows = db.session.execute(
        text(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 2 DESC"
        )
    ).all()
    size = data_set_size()
    database = int(db.session.scalar(text("SELECT pg_database_size(current_database())")))
    tables = sum(int(bytes_) for _, bytes_ in rows)
    tasks = max(1, size["tasks"])
    return {
        "tasks": size["tasks"],
        "rows": {k: size[k] for k in ("process_instances", "open_work_items", "work_items", "audit_events")},
        "database_bytes": database,
        "tables_bytes": tables,
        "database_mb_per_1000_tasks": round(database / tasks * 1000 / 2**20, 2),
        "tables_mb_per_1000_tasks": round(tables / tasks * 1000 / 2**20, 2),
        "largest_tables_mb": {name: round(int(b) / 2**20, 2) for name, b in rows[:6]},
    }


# --- the pool of instances --------------------------------------------------------------------


def ensure_pool_people() -> None:
    """The pool's lead divisions and their people (created like the generator does when missing)."""
    from generate_data import add_units, add_users
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Unit

    if db.session.scalar(select(Unit.id).where(Unit.code == POOL_LEADS[0])) is None:
        add_units(POOL_LEADS)
        add_users(POOL_LEADS)


class Pool:
    """Fresh draft_plan instances for the clients, made through the services: plans imported like
    `flask plans import` (every task a draft plan, led by the pool's divisions), each task's process
    started with `workflows.engine.start_process` by its assignee; tokens through `issue_token`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir, self.plans, self.tokens = workdir, 0, {}
        self.rng = random.Random(99)
        self.spare: list = []  # made but not used by a run: still at their first step
        self.spare_tasks: list[int] = []  # imported, not started yet
        self.made, self.seconds = 0, 0.0

    def take(self, count: int) -> list:
        """`count` instances at their first step: spare ones first, then new ones."""
        taken, self.spare = self.spare[:count], self.spare[count:]
        if len(taken) < count:
            started = time.perf_counter()
            taken += self.instances(count - len(taken))
            self.seconds += time.perf_counter() - started
        return taken

    def give_back(self, unused: list) -> None:
        self.spare = unused + self.spare

    def report(self) -> dict:
        return {"instances_made": self.made, "plans_imported": self.plans, "seconds": round(self.seconds, 1)}

    def token(self, username: str) -> str:
        from sqlalchemy import select

        from app.extensions import db
        from app.models import User
        from app.services.api_tokens import issue_token

        if username not in self.tokens:
            user = db.session.scalar(select(User).where(User.username == username))
            self.tokens[username] = issue_token(user)[0]
            db.session.commit()
        return self.tokens[username]

    def import_plan(self) -> list[int]:
        """One more plan of draft-plan tasks; their ids."""
        from generate_data import plan_document
        from sqlalchemy import select

        from app.extensions import db
        from app.models import Plan, Task
        from app.services.clock import local_today
        from app.services.plan_import import import_plan_files

        number = 4000 + self.plans
        self.plans += 1
        others = [code for code in ("VP", "CNTT", "HTS") if code not in POOL_LEADS]
        issued = local_today() - timedelta(days=30)
        document = plan_document(number, issued, POOL_LEADS, others, self.rng)
        document["document"]["title"] = title = f"{POOL_TITLE} {number}"
        for task in document["tasks"]:
            task["task_type"] = "draft_plan"
            task["deadline"] = {"due": (issued + timedelta(days=365)).isoformat(), "due_precision": "day"}
            task["deadline"]["recurrence"] = ["none"]
        path = self.workdir / f"throughput-pool-{number}.yaml"
        path.write_text(yaml.safe_dump(document, allow_unicode=True))
        import_plan_files(path)
        path.unlink()
        plan_id = db.session.scalar(select(Plan.id).where(Plan.title == title))
        return list(
            db.session.scalars(
                select(Task.id)
                .where(Task.plan_id == plan_id, Task.task_type == "draft_plan")
                .order_by(Task.id)
            )
        )

    def instances(self, count: int) -> list:
        """`count` fresh instances, each at its first step (draft)."""
        from load_client import Instance

        from app.extensions import db
        from app.models import Task
        from workflows.engine import start_process

        made = []
        while len(made) < count:
            if not self.spare_tasks:
                self.spare_tasks = self.import_plan()
            task = db.session.get(Task, self.spare_tasks.pop(0))
            lead = task.lead_unit.code
            specialist, head = task.assignee.username, f"{lead.lower()}.tp"
            result = start_process(task, task.assignee, "draft_plan")
            [item] = result.next_items
            made.append(Instance(item.id, (self.token(specialist), self.token(head)), frozenset({lead})))
            db.session.expire_all()
        self.made += len(made)
        return made


def pool_size_for(steps_per_s: float, duration: float, steps_per_instance: int, clients: int) -> int:
    """Instances a run needs at this rate, with a margin (a client that runs dry stops early)."""
    return math.ceil(steps_per_s * 1.5 * duration / steps_per_instance) + 2 * clients


# --- gunicorn ---------------------------------------------------------------------------------


class Gunicorn:
    """gunicorn -c gunicorn.conf.py wsgi:app with 2 workers on 127.0.0.1:PORT, in its own session."""

    def __init__(self, url: str, workdir: Path, worker_class: str, threads: int, max_requests: int | None):
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_path = workdir / f"gunicorn-{worker_class}.log"
        command = [
            str(BIN / "gunicorn"),
            "-c",
            "gunicorn.conf.py",
            "wsgi:app",
            "--worker-class",
            worker_class,
        ]
        if worker_class == "gthread":
            command += ["--threads", str(threads)]
        if max_requests is not None:
            command += ["--max-requests", str(max_requests)]
        with self.log_path.open("w") as log_file:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=server_environment(url, workdir, bind=f"127.0.0.1:{port}"),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid = self.process.pid

    def wait_ready(self, seconds: float = 60) -> None:
        from proc_stats import children

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + self.log_path.read_text()[-3000:])
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=2) as response:
                    if response.status == 200 and len(children(self.pid)) == 2:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer /healthz:\n" + self.log_path.read_text()[-3000:])

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL to its process group (its own session: only gunicorn)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=35)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)  # leftover workers, if any
        except (ProcessLookupError, PermissionError):
            pass
        if self.process.poll() is None:
            self.process.wait(timeout=10)

    def problems(self) -> list[str]:
        """The first error lines of its log (tracebacks, [ERROR], worker time-outs)."""
        lines = self.log_path.read_text(errors="replace").splitlines()
        found = [
            line for line in lines if "[ERROR]" in line or "Traceback" in line or "WORKER TIMEOUT" in line
        ]
        return found[:5]

    def restarts(self) -> int:
        """Workers the master replaced (gunicorn logs "Booting worker" for each)."""
        return max(0, self.log_path.read_text(errors="replace").count("Booting worker") - 2)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
