"""The throughput benchmark's pieces (bench/load_client.py, bench/proc_stats.py) against a stand-in
server: the clients follow the step protocol (the next item's id from `next_steps`, the people in turn,
the comment on a return, a fresh instance after N steps), retry a 409, abandon an instance after an
error, stop when the pool runs dry; and the CPU of a child that exited is still counted.

No database and no timing: it runs once, in the SQLite pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from itertools import count
from pathlib import Path

import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from tests.conftest import ON_POSTGRES, REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))

from load_client import Instance, run_load  # noqa: E402
from proc_stats import machine_cpu, memory_mb, process_cpu, tree_cpu  # noqa: E402

pytestmark = [
    pytest.mark.skipif(ON_POSTGRES, reason="no database: runs once, in the SQLite pass"),
    pytest.mark.skipif(not Path("/proc/self/smaps_rollup").exists(), reason="needs Linux /proc"),
]

STEPS = 3  # per instance


class StandIn:
    """A server for the complete-step call: item ids chain through `next_steps`; item 1001 answers 409
    once, instance 2's second step answers 500; every breach of the protocol is recorded."""

    def __init__(self, instances: int):
        self.lock = threading.Lock()
        self.ids = count(10_000_000)  # above every first item id (1000 * n + 1)
        # item id -> (instance number, step index)
        self.open = {1000 * n + 1: (n, 0) for n in range(1, instances + 1)}
        self.steps_done: dict[int, int] = {}
        self.breaches: list[str] = []
        self.served_ok = self.conflicted = 0
        self.app = Flask("stand-in")
        self.app.add_url_rule(
            "/api/v1/work-items/<int:item>/complete", view_func=self.complete, methods=["POST"]
        )

    def complete(self, item: int):
        body, token = request.get_json(), request.headers.get("Authorization", "")
        with self.lock:
            if item not in self.open:
                self.breaches.append(f"unknown or finished item {item}")
                return jsonify(error="no such item"), 404
            number, step = self.open[item]
            if item == 1001 and not self.conflicted:
                self.conflicted += 1
                return jsonify(error="busy"), 409
            if (number, step) == (2, 1):
                return jsonify(error="boom"), 500
            expected = f"Bearer {'specialist' if step % 2 == 0 else 'head'}-{number}"
            if token != expected:
                self.breaches.append(f"item {item}: token {token}, expected {expected}")
            if (step % 2 == 1) != bool(body.get("comment")) or body["data"].get("step") != step:
                self.breaches.append(f"item {item}: body {body} at step {step}")
            del self.open[item]
            following = next(self.ids)
            self.open[following] = (number, step + 1)
            self.steps_done[number] = self.steps_done.get(number, 0) + 1
            self.served_ok += 1
        return jsonify(task={}, next_steps=[{"id": following}])


def body_of(index: int, instance: Instance) -> dict:
    return {"data": {"step": index}, "comment": "Sửa lại" if index % 2 else None}


@pytest.fixture
def stand_in():
    def serve(instances: int):
        server = StandIn(instances)
        http = make_server("127.0.0.1", 0, server.app, threaded=True)
        thread = threading.Thread(target=http.serve_forever, daemon=True)
        thread.start()
        started.append(http)
        pool = [
            Instance(1000 * n + 1, (f"specialist-{n}", f"head-{n}"), frozenset({"BU001"}))
            for n in range(1, instances + 1)
        ]
        return server, f"http://127.0.0.1:{http.server_port}", pool

    started = []
    yield serve
    for http in started:
        http.shutdown()


def test_clients_follow_the_step_protocol(stand_in):
    server, url, pool = stand_in(2000)
    result = run_load(url, pool, clients=2, duration=1.0, step_body=body_of, steps_per_instance=STEPS)

    assert server.breaches == []
    assert result["ok"] == server.served_ok > 0
    assert result["conflicts_409"] == 1 and server.steps_done[1] >= 1  # retried, then went on
    assert result["errors"] == 1 and result["statuses"]["500"] == 1
    assert "HTTP 500" in result["first_errors"][0]
    assert server.steps_done.get(2) == 1  # abandoned after its failed second step
    assert max(server.steps_done.values()) == STEPS  # a fresh instance after STEPS steps
    assert result["instances_used"] >= len(server.steps_done)
    assert result["latency_ms"]["median"] is not None and result["steps_per_s"] > 0
    assert not result["pool_exhausted"] and not result["crashed"]


def test_clients_stop_when_the_pool_runs_dry(stand_in):
    server, url, pool = stand_in(1)
    result = run_load(url, pool, clients=2, duration=30.0, step_body=body_of, steps_per_instance=STEPS)

    assert result["pool_exhausted"] and result["ok"] == STEPS == server.served_ok
    assert result["errors"] == 0 and server.breaches == []


def test_a_finished_childs_cpu_counts_for_its_parent():
    burn = "import time\nwhile time.process_time() < 0.3: pass"
    before = tree_cpu(os.getpid())
    subprocess.run([sys.executable, "-c", burn], check=True)

    assert tree_cpu(os.getpid()) - before >= 0.25
    assert process_cpu(os.getpid()).reaped >= 0.25
    memory = memory_mb(os.getpid())
    assert 0 < memory["pss_mb"] <= memory["rss_mb"]
    machine = machine_cpu()
    assert 0 < machine["busy"] <= machine["total"]
