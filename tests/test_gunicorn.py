"""The real server: gunicorn (2 sync workers, gunicorn.conf.py) on a migrated, seeded SQLite file.

Workflow steps are completed over HTTP through the JSON API. Then a worker is SIGKILLed in the middle
of completing a step: the test itself holds SQLite's write lock (BEGIN IMMEDIATE), so the worker's
first write waits in its busy timeout, and the worker dies there. That request must have committed
nothing, what was committed before must be intact, the master must replace the worker, and the same
completion must then succeed exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ON_POSTGRES, REPO_ROOT

BIN = Path(sys.executable).parent
PASSWORD = "gunicorn-test-pw"
BY_ID = "FROM %s ORDER BY id"
# The first step also states the task's "5 rõ" the plan left open: who is responsible, what result.
FIVE_CLEARS = {"assignee": "cntt.cv", "expected_result": "Kế hoạch được UBND tỉnh ban hành"}
DRAFT = {
    "consulted_units": ["VP", "SO_NGANH_DP"],
    "summary": "Dự thảo kế hoạch chạy trên gunicorn.",
    **FIVE_CLEARS,
}

pytestmark = [
    pytest.mark.skipif(
        not (BIN / "gunicorn").exists() or not Path("/proc/net/tcp").exists(),
        reason="needs gunicorn in the venv and Linux /proc",
    ),
    pytest.mark.skipif(ON_POSTGRES, reason="uses its own SQLite file: runs once, in the SQLite pass"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(tmp_path: Path, port: int) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("TEST_DATABASE_URL", "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS", "PORT")
    }
    environment.update(
        FLASK_APP="app:create_app",
        TIEN_DO_ENV="production",
        SECRET_KEY="gunicorn-test-secret",
        DATABASE_URL=f"sqlite:///{tmp_path / 'live.sqlite'}",
        DEMO_PASSWORD=PASSWORD,
        PASSWORD_HASH_METHOD="pbkdf2:sha256:1000",
        BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        GUNICORN_TIMEOUT="30",
    )
    return environment


class Http:
    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"
        self.tokens: dict[str, str] = {}

    def call(self, method: str, path: str, body=None, user: str | None = None, timeout: float = 15):
        headers = {"Content-Type": "application/json"}
        if user:
            headers["Authorization"] = f"Bearer {self.token(user)}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"null"), response.headers
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null"), error.headers

    def token(self, user: str) -> str:
        if user not in self.tokens:
            credentials = {"username": user, "password": PASSWORD}
            status, body, _ = self.call("POST", "/api/v1/auth/token", credentials)
            assert status == 200, body
            self.tokens[user] = body["token"]
        return self.tokens[user]

    def item(self, user: str, task_id: int, step: str) -> dict:
        status, body, _ = self.call("GET", "/api/v1/worklist", user=user)
        assert status == 200, body
        found = [i for i in body["items"] if i["task_id"] == task_id and i["step"] == step]
        assert len(found) == 1, body
        return found[0]

    def complete(self, user: str, item_id: int, data: dict, timeout: float = 15):
        return self.call(
            "POST", f"/api/v1/work-items/{item_id}/complete", {"data": data}, user=user, timeout=timeout
        )


def worker_pids(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return {int(pid) for pid in children}


def handling_worker(master: int, port: int) -> int | None:
    """The worker holding an established connection on the server's port (sync workers hold one only
    while they handle a request)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01":  # ESTABLISHED
            inodes.add(fields[9])
    for pid in worker_pids(master):
        try:
            links = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
        except (FileNotFoundError, ProcessLookupError):
            continue
        if any(f"socket:[{inode}]" in links for inode in inodes):
            return pid
    return None


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def read_db(path: Path, sql: str, *params):
    connection = sqlite3.connect(path, timeout=10)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def flask(environment: dict[str, str], *args: str) -> None:
    completed = subprocess.run(
        [str(BIN / "flask"), *args],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.fixture
def server(tmp_path):
    port = free_port()
    environment = server_environment(tmp_path, port)
    flask(environment, "db", "upgrade")
    flask(environment, "seed", "demo")
    log = (tmp_path / "gunicorn.log").open("w")
    master = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=REPO_ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        http = Http(port)

        def healthy():
            if master.poll() is not None:
                raise AssertionError("gunicorn exited: " + (tmp_path / "gunicorn.log").read_text())
            try:
                return http.call("GET", "/healthz", timeout=2)[0] == 200
            except OSError:
                return False

        wait_for(healthy, 30, "gunicorn to answer /healthz")
        wait_for(lambda: len(worker_pids(master.pid)) == 2, 15, "two workers")
        yield master, http, tmp_path / "live.sqlite", port
    finally:
        master.terminate()
        try:
            master.wait(timeout=15)
        except subprocess.TimeoutExpired:
            master.kill()
            master.wait()
        log.close()
        print((tmp_path / "gunicorn.log").read_text()[-5000:])


def test_killing_a_worker_mid_request_loses_nothing_and_commits_nothing_partial(server):
    master, http, database, port = server
    (task_id,) = read_db(database, "SELECT id FROM tasks WHERE code = '1.a'")[0]

    # Committed work, over HTTP
    status, body, headers = http.call("POST", f"/api/v1/tasks/{task_id}/start", user="cntt.cv")
    assert status == 201, body
    assert headers["X-Request-ID"]
    draft = http.item("cntt.cv", task_id, "draft")
    status, body, _ = http.complete("cntt.cv", draft["id"], DRAFT)
    assert status == 200, body
    review = http.item("cntt.tp", task_id, "review_draft")

    def snapshot():
        return {
            "items": read_db(database, f"SELECT id, step, status, completed_by_id {BY_ID % 'work_items'}"),
            "audit": read_db(database, f"SELECT id, action, work_item_id {BY_ID % 'audit_events'}"),
            "instance": read_db(database, f"SELECT id, status, lock_version {BY_ID % 'process_instances'}"),
            "task": read_db(database, "SELECT state FROM tasks WHERE id = ?", task_id),
        }

    committed = snapshot()
    assert ("completed",) in {(row[2],) for row in committed["items"] if row[0] == draft["id"]}

    # Hold the write lock so the worker's first write waits; then kill that worker.
    blocker = sqlite3.connect(database, isolation_level=None)
    outcome: dict = {}

    def doomed_request():
        try:
            outcome["response"] = http.complete("cntt.tp", review["id"], {"decision": "approve"}, timeout=30)
        except Exception as exc:  # the connection dies with the worker
            outcome["error"] = exc

    try:
        blocker.execute("BEGIN IMMEDIATE")
        thread = threading.Thread(target=doomed_request, daemon=True)
        thread.start()
        victim = wait_for(lambda: handling_worker(master.pid, port), 10, "a worker to take the request")
        time.sleep(0.5)  # it reads, then blocks on its first write
        assert thread.is_alive(), outcome
        os.kill(victim, signal.SIGKILL)
        thread.join(10)
        assert not thread.is_alive()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert "error" in outcome, f"the killed request should have no answer, got {outcome}"

    # Nothing of the killed request was committed; everything committed before is still there.
    assert snapshot() == committed

    # The master replaced the worker.
    wait_for(
        lambda: len(worker_pids(master.pid)) == 2 and victim not in worker_pids(master.pid),
        15,
        "the master to start a new worker",
    )

    # The same completion now succeeds, exactly once.
    status, body, _ = http.complete("cntt.tp", review["id"], {"decision": "approve"})
    assert status == 200, body
    status, body, _ = http.complete("cntt.tp", review["id"], {"decision": "approve"})
    assert status == 409, body
    completions = read_db(
        database,
        "SELECT count(*) FROM audit_events WHERE work_item_id = ? AND action LIKE '%complet%'",
        review["id"],
    )
    assert completions == [(1,)]
    (lock_before,) = [row[2] for row in committed["instance"]]
    (lock_after,) = [row[0] for row in read_db(database, "SELECT lock_version FROM process_instances")]
    assert lock_after > lock_before
    status, health, _ = http.call("GET", "/healthz")
    assert status == 200 and health["status"] == "ok"
