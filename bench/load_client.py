"""A small closed-loop HTTP load generator for the throughput benchmark (bench/throughput.py).

`run_load` forks C client processes. Each holds one keep-alive HTTP/1.1 connection (http.client: it
reconnects by itself when the server closes, as gunicorn's sync workers do after every response) and,
from a shared start time until the deadline, completes workflow steps through
`POST /api/v1/work-items/{id}/complete` one after the other: on an instance taken from a shared pool,
step 0 with the first token, step 1 with the second, ... (the next item's id comes from the response's
`next_steps`), and after `steps_per_instance` steps it takes the next instance. Each client counts
successes (200, with the latency of each), conflicts (409: retried up to MAX_RETRIES times, then the
instance is abandoned) and errors (any other status, a malformed answer, a connection error or a time-out:
the instance is abandoned, since its state is then unknown). No request starts after the deadline.

The body of step i comes from `step_body(i, instance)`: {"data": ..., "comment": ...}.
Clients ignore SIGINT: the caller stops them (run_load terminates them when it is interrupted).
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import queue
import resource
import signal
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_RETRIES = 3  # 409s in a row on one step before the instance is abandoned
FIRST_ERRORS = 5  # error descriptions kept per client
START_DELAY = 0.3  # seconds between the clients being ready and the shared start


@dataclass(frozen=True)
class Instance:
    """A process instance whose open step a client completes: its first open item's id, the tokens of
    the people who act in turn (step i uses tokens[i % len(tokens)]), and what the step bodies need."""

    item_id: int
    tokens: tuple[str, ...]
    lead_units: frozenset[str] = frozenset()


@dataclass
class ClientResult:
    ok: int = 0
    conflicts: int = 0
    errors: int = 0
    statuses: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # seconds, successes only
    first_errors: list[str] = field(default_factory=list)
    instances: int = 0
    exhausted: bool = False  # the pool ran dry before the deadline
    cpu_s: float = 0.0  # this client's CPU time from the start to its last answer
    last_end: float = 0.0  # time.monotonic() of its last answer
    crashed: str | None = None


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _Client:
    def __init__(
        self, base_url: str, pool: Sequence[Instance], taken, step_body, steps_per_instance, timeout
    ):
        parts = urlsplit(base_url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        self.pool, self.taken, self.step_body = pool, taken, step_body
        self.steps_per_instance = steps_per_instance
        self.result = ClientResult()

    def take(self) -> Instance | None:
        with self.taken.get_lock():
            index = self.taken.value
            if index >= len(self.pool):
                return None
            self.taken.value = index + 1
        self.result.instances += 1
        return self.pool[index]

    def post(self, item_id: int, token: str, body: dict) -> tuple[int, bytes]:
        payload = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        self.connection.request("POST", f"/api/v1/work-items/{item_id}/complete", payload, headers)
        response = self.connection.getresponse()
        return response.status, response.read()

    def error(self, text: str) -> None:
        self.result.errors += 1
        if len(self.result.first_errors) < FIRST_ERRORS:
            self.result.first_errors.append(text[:300])

    def run(self, start: float, deadline: float) -> ClientResult:
        result = self.result
        instance, step, retries, item_id = self.take(), 0, 0, None
        if instance is not None:
            item_id = instance.item_id
        time.sleep(max(0.0, start - time.monotonic()))
        cpu_at_start = _cpu()
        while time.monotonic() < deadline:
            if instance is None:
                result.exhausted = True
                break
            body = self.step_body(step, instance)
            token = instance.tokens[step % len(instance.tokens)]
            began = time.perf_counter()
            try:
                status, raw = self.post(item_id, token, body)
            except (OSError, http.client.HTTPException) as problem:
                result.last_end = time.monotonic()
                result.statuses["connection error"] += 1
                self.error(f"item {item_id}: {type(problem).__name__}: {problem}")
                self.connection.close()
                instance, step, retries = self.take(), 0, 0
                item_id = instance.item_id if instance else None
                continue
            elapsed = time.perf_counter() - began
            result.last_end = time.monotonic()
            result.statuses[str(status)] += 1
            if status == 200:
                try:
                    item_id = json.loads(raw)["next_steps"][0]["id"]
                except (ValueError, KeyError, IndexError, TypeError):
                    self.error(f"item {item_id}: 200 without a next step: {raw[:200]!r}")
                    instance, step, retries = self.take(), 0, 0
                    item_id = instance.item_id if instance else None
                    continue
                result.ok += 1
                result.latencies.append(elapsed)
                step, retries = step + 1, 0
                if step >= self.steps_per_instance:
                    instance, step = self.take(), 0
                    item_id = instance.item_id if instance else None
            elif status == 409 and retries < MAX_RETRIES:
                result.conflicts += 1
                retries += 1
                time.sleep(0.01 * retries)
            else:
                if status == 409:
                    result.conflicts += 1
                else:
                    self.error(f"item {item_id} step {step}: HTTP {status}: {raw[:200]!r}")
                instance, step, retries = self.take(), 0, 0
                item_id = instance.item_id if instance else None
        result.cpu_s = _cpu() - cpu_at_start
        self.connection.close()
        return result


def _client_main(index, base_url, pool, taken, step_body, steps_per_instance, timeout, ready, times, out):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    try:
        client = _Client(base_url, pool, taken, step_body, steps_per_instance, timeout)
        ready.wait()
        result = client.run(times[0], times[1])
    except BaseException:  # report instead of dying silently: the parent waits for every result
        result = ClientResult(crashed=traceback.format_exc()[-1500:])
    out.put((index, result))


def run_load(
    base_url: str,
    pool: Sequence[Instance],
    clients: int,
    duration: float,
    step_body: Callable[[int, Instance], dict],
    steps_per_instance: int = 20,
    timeout: float = 60.0,
    at_start: Callable[[], None] | None = None,
    during: Callable[[], None] | None = None,
    tick: float = 1.0,
) -> dict:
    """Run `clients` client processes for `duration` seconds; their results merged.

    `at_start` is called in this process at the shared start, `during` every `tick` seconds until the
    deadline (e.g. to sample the server's memory). The pool is shared: an instance goes to one client."""
    context = multiprocessing.get_context("fork")
    taken = context.Value("i", 0)
    times = context.Array("d", 2)
    ready = context.Barrier(clients + 1)
    out = context.Queue()
    processes = [
        context.Process(
            target=_client_main,
            args=(n, base_url, pool, taken, step_body, steps_per_instance, timeout, ready, times, out),
            daemon=True,
        )
        for n in range(clients)
    ]
    results: dict[int, ClientResult] = {}
    try:
        for process in processes:
            process.start()
        start = time.monotonic() + START_DELAY
        times[0], times[1] = start, start + duration
        ready.wait(timeout=60)
        time.sleep(max(0.0, start - time.monotonic()))
        if at_start:
            at_start()
        last_tick = time.monotonic()
        give_up = start + duration + timeout + 30
        while len(results) < clients:  # until every client reported (early when the pool ran dry)
            try:
                index, result = out.get(timeout=max(0.01, min(tick, start + duration - time.monotonic())))
                results[index] = result
            except queue.Empty:
                if time.monotonic() > give_up or not any(p.is_alive() for p in processes):
                    raise RuntimeError(f"only {len(results)} of {clients} clients reported") from None
            if during and time.monotonic() - last_tick >= tick and time.monotonic() < start + duration:
                during()
                last_tick = time.monotonic()
        for process in processes:
            process.join(timeout=10)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
    return merge(list(results.values()), start, duration)


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def merge(results: list[ClientResult], start: float, duration: float) -> dict:
    """The clients' results as one report: counts, steps/s, latency (ms), the clients' CPU."""
    latencies = sorted(value for result in results for value in result.latencies)
    ok = sum(result.ok for result in results)
    # A request in flight at the deadline still finishes: the window ends at the last answer.
    window = max([duration] + [result.last_end - start for result in results])
    statuses: Counter = Counter()
    for result in results:
        statuses.update(result.statuses)
    return {
        "clients": len(results),
        "duration_s": round(window, 2),
        "ok": ok,
        "conflicts_409": sum(result.conflicts for result in results),
        "errors": sum(result.errors for result in results),
        "statuses": dict(statuses),
        "steps_per_s": round(ok / window, 1) if window else 0.0,
        "latency_ms": {
            "median": round(percentile(latencies, 0.5) * 1e3, 2) if latencies else None,
            "p95": round(percentile(latencies, 0.95) * 1e3, 2) if latencies else None,
            "max": round(latencies[-1] * 1e3, 2) if latencies else None,
        },
        "instances_used": sum(result.instances for result in results),
        "pool_exhausted": any(result.exhausted for result in results),
        "clients_cpu_s": round(sum(result.cpu_s for result in results), 2),
        "first_errors": [text for result in results for text in result.first_errors][:FIRST_ERRORS],
        "crashed": [result.crashed for result in results if result.crashed],
    }
