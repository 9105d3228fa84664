"""Throughput of step completions on gunicorn (2 workers) and PostgreSQL, memory per worker, database
size per 1,000 tasks (issue 9, measures 4 and 5).

One run: a throw-away PostgreSQL server (scripts/postgres-test-server.sh; or a database created and
dropped on --database-url's server), `flask db upgrade`, bench/generate_data.py at --scale (default
0.01: realistic table sizes; 0 = the demo seed only), the database's size per 1,000 tasks, then a pool
of fresh draft_plan instances and API tokens through the services. Then one gunicorn per worker class
(sync, and gthread with --threads), side by side, with gunicorn.conf.py (the production settings,
TIEN_DO_ENV=production, 2 workers, 127.0.0.1 on free ports); each is warmed up, then for each C in
--clients the classes take turns (the order alternates, so that the machine's other load hits them
alike; the idle one costs nothing): C client processes (bench/load_client.py: keep-alive HTTP/1.1, closed
loop) complete steps through `POST /api/v1/work-items/{id}/complete` for --duration seconds, per instance
draft, review_draft "return" (with its comment), draft, ... like bench/step_cost.py, --steps-per-instance
steps, then a fresh instance. Between runs the database is VACUUM ANALYZEd (the test server runs
without autovacuum).

Reported per run: steps/s, % of the physical limit (cores ÷ the bare SpiffWorkflow cycle, measured in
the same run with bench/step_cost.py's BareInstance, before and after the load), latency median/p95,
successes, 409s and errors, the CPU time split from /proc (clients, gunicorn, PostgreSQL, this process,
the rest of the machine) and per step; RSS and PSS of the master and each worker after the warm-up,
their peak during the load, and after it. Targets: >= 50 % of the limit, <= 200 MB per worker.

Run: `.venv/bin/python bench/throughput.py [--json]` (4-6 minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import proc_stats  # noqa: E402
import throughput_setup as setup  # noqa: E402
from bench_common import bench_app, format_table, machine  # noqa: E402
from load_client import Instance, run_load  # noqa: E402
from step_cost import BareInstance, step_input  # noqa: E402

TARGET_SHARE = 0.5  # of the physical limit
TARGET_WORKER_MB = 200
FIRST_RATE_GUESS = 250.0  # steps/s, to size the first pool (later pools from the fastest run so far)


def step_body(index: int, instance: Instance) -> dict:
    """step_cost.py's workload: draft (its form), then review_draft "return" with the comment, ..."""
    data, comment = step_input(index, instance.lead_units)
    return {"data": data, "comment": comment}


def bare_cycle(instances: int, steps: int) -> dict:
    """The bare SpiffWorkflow cycle (step_cost.py's (a)) on the same workload: median wall and CPU ms."""
    BareInstance(0).step()  # parse the diagram, warm up
    samples = []
    for number in range(instances):
        instance = BareInstance(number)
        samples += [instance.step() for _ in range(steps)]
    return {
        "n": len(samples),
        "median_ms": round(statistics.median(wall for wall, _ in samples) * 1e3, 3),
        "median_cpu_ms": round(statistics.median(cpu for _, cpu in samples) * 1e3, 3),
    }


class Meter:
    """CPU readings of everything the run started (and the machine), and memory of gunicorn's processes."""

    def __init__(self, gunicorn: setup.Gunicorn, postmaster: int | None) -> None:
        self.gunicorn, self.postmaster = gunicorn, postmaster
        self.peak_rss: dict[int, float] = {}

    def cpu(self) -> dict:
        machine_cpu = proc_stats.machine_cpu()
        master = proc_stats.process_cpu(self.gunicorn.pid)
        times = os.times()
        return {
            "machine": machine_cpu["busy"],
            "interrupts": machine_cpu["interrupts"],
            "gunicorn": proc_stats.tree_cpu(self.gunicorn.pid),
            "gunicorn_master": master.own if master else 0.0,
            "postgres": proc_stats.tree_cpu(self.postmaster) if self.postmaster else None,
            "this_process": times.user + times.system,
        }

    def sample(self) -> None:
        for pid in [self.gunicorn.pid, *proc_stats.children(self.gunicorn.pid)]:
            rss = proc_stats.rss_mb(pid)
            if rss is not None:
                self.peak_rss[pid] = max(rss, self.peak_rss.get(pid, 0.0))

    def memory(self) -> dict:
        """RSS and PSS of the master and each live worker."""
        out = {"master": proc_stats.memory_mb(self.gunicorn.pid)}
        for pid in proc_stats.children(self.gunicorn.pid):
            out[f"worker {pid}"] = proc_stats.memory_mb(pid)
        return out


def cpu_split(before: dict, after: dict, load: dict) -> dict:
    """Seconds of CPU per party during a run, the rest of the machine, and ms per completed step."""
    used = {
        "clients": load["clients_cpu_s"],
        "gunicorn_workers": after["gunicorn"]
        - before["gunicorn"]
        - (after["gunicorn_master"] - before["gunicorn_master"]),
        "gunicorn_master": after["gunicorn_master"] - before["gunicorn_master"],
        "postgres": None if before["postgres"] is None else after["postgres"] - before["postgres"],
        "this_process": after["this_process"] - before["this_process"],
        "interrupts": after["interrupts"] - before["interrupts"],
    }
    busy = after["machine"] - before["machine"]
    ours = sum(value for value in used.values() if value is not None)
    used["other_processes"] = max(0.0, busy - ours)  # other people's jobs, the kernel's own threads
    used["machine_busy"] = busy
    used["machine_capacity"] = (os.cpu_count() or 1) * load["duration_s"]
    split = {name: round(value, 2) for name, value in used.items() if value is not None}
    steps = max(1, load["ok"])
    per_step = {
        name: round(value / steps * 1e3, 2)
        for name, value in used.items()
        if value is not None and name != "machine_capacity"
    }
    split["ms_per_step"] = per_step
    # What the server side costs a step (gunicorn, PostgreSQL, the kernel's network work), and what two
    # cores could complete if nothing else ran on them (no clients, no other jobs).
    server = sum(
        per_step.get(k, 0.0) for k in ("gunicorn_workers", "gunicorn_master", "postgres", "interrupts")
    )
    split["server_ms_per_step"] = round(server, 2)
    split["server_bound_steps_per_s"] = round((os.cpu_count() or 1) / server * 1e3, 1) if server else None
    return split


def one_run(gunicorn, meter, instances, clients, duration, steps_per_instance) -> dict:
    readings = {}

    def at_start() -> None:
        readings["before"] = meter.cpu()
        readings["load_before"] = proc_stats.load_average()

    load = run_load(
        gunicorn.base_url,
        instances,
        clients,
        duration,
        step_body,
        steps_per_instance,
        at_start=at_start,
        during=meter.sample,
    )
    after = meter.cpu()
    load["cpu_s"] = cpu_split(readings["before"], after, load)
    load["load_average_before"] = readings["load_before"]
    load["load_average_after"] = proc_stats.load_average()
    return load


class Runs:
    """The load runs: every gunicorn (one per worker class) runs side by side, idle but for the one under
    load; for each C the classes take turns (the order alternates), so that drift in the machine's other
    load hits every class alike."""

    def __init__(self, args, app, pool, servers: dict[str, setup.Gunicorn], postmaster: int | None):
        self.args, self.app, self.pool, self.servers = args, app, pool, servers
        self.meters = {name: Meter(server, postmaster) for name, server in servers.items()}
        self.rates: list[float] = []

    def instances(self, seconds: float, clients: int) -> list[Instance]:
        """Enough fresh instances for a run (2 x the fastest rate seen so far), made between runs."""
        rate = 2 * max(self.rates) if self.rates else FIRST_RATE_GUESS
        with self.app.app_context():
            setup.analyze()  # VACUUM ANALYZE: what autovacuum would have done by now
            return self.pool.take(setup.pool_size_for(rate, seconds, self.args.steps_per_instance, clients))

    def load(self, name: str, clients: int, seconds: float, measured: bool = True) -> dict:
        instances = self.instances(seconds, clients)
        server, meter, args = self.servers[name], self.meters[name], self.args
        if measured:
            setup.log(f"{name}: {clients} clients for {seconds:.0f} s")
            run = one_run(server, meter, instances, clients, seconds, args.steps_per_instance)
        else:
            run = run_load(server.base_url, instances, clients, seconds, step_body, args.steps_per_instance)
        self.pool.give_back(instances[run["instances_used"] :])
        self.rates.append(run["steps_per_s"])
        return run

    def all(self) -> dict:
        args, results = self.args, {}
        for name in self.servers:
            warmup = self.load(name, 4, args.warmup, measured=False)
            results[name] = {
                "threads": args.threads if name == "gthread" else 1,
                "warmup": {k: warmup[k] for k in ("ok", "errors", "conflicts_409", "steps_per_s")},
                "memory_after_warmup": self.meters[name].memory(),
                "runs": {},
            }
        for turn, clients in enumerate(args.clients):
            order = list(self.servers) if turn % 2 == 0 else list(reversed(self.servers))
            for name in order:
                results[name]["runs"][str(clients)] = self.load(name, clients, args.duration)
        for name, server in self.servers.items():
            meter = self.meters[name]
            results[name]["runs"] = {str(c): results[name]["runs"][str(c)] for c in args.clients}
            results[name]["memory_after_load"] = meter.memory()
            results[name]["peak_rss_mb"] = {
                ("master" if pid == server.pid else f"worker {pid}"): value
                for pid, value in meter.peak_rss.items()
            }
            results[name]["workers_replaced"] = server.restarts()
            results[name]["server_log_problems"] = server.problems()
        return results


def load_runs(args, url, workdir, pg_dir, app, pool) -> dict:
    """Start one gunicorn per worker class, run everything, stop them (also on errors and Ctrl-C)."""
    servers: dict[str, setup.Gunicorn] = {}
    try:
        for name in args.worker_classes:
            with setup.deferred_interrupts():
                servers[name] = setup.Gunicorn(url, workdir, name, args.threads, args.max_requests)
        for server in servers.values():
            server.wait_ready()
        return Runs(args, app, pool, servers, setup.postmaster_pid(pg_dir)).all()
    finally:
        for server in servers.values():
            server.stop()


def measure(args) -> dict:
    report: dict = {"machine": machine(), "settings": settings(args)}
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="tien-do-throughput-") as directory:
        workdir = Path(directory)
        if args.database_url:
            server_url, pg_dir = args.database_url, None
        else:
            setup.log("starting PostgreSQL (scripts/postgres-test-server.sh)")
            with setup.deferred_interrupts():
                server_url, pg_dir = setup.start_postgres()
                stack.callback(setup.stop_postgres, pg_dir)
        url = setup.fresh_database(server_url)
        stack.callback(setup.fresh_database, server_url, create=False)
        generated = setup.migrate_and_seed(url, args.scale, workdir)
        report["generation"] = {k: generated.get(k) for k in ("total_s", "reached")} if generated else None
        app = bench_app(url, workdir)
        stack.callback(setup.dispose, app)
        with app.app_context():
            if not generated:
                setup.seed_demo_only()
            setup.analyze()
            report["database_size"] = setup.database_size()
            setup.ensure_pool_people()
        setup.log("the bare SpiffWorkflow cycle")
        bare = [bare_cycle(args.bare_instances, args.steps_per_instance)]
        pool = setup.Pool(workdir)
        classes = load_runs(args, url, workdir, pg_dir, app, pool)
        report["pool"] = pool.report()
        bare.append(bare_cycle(args.bare_instances, args.steps_per_instance))
        with app.app_context():
            report["database_size_after_load"] = setup.database_size()
    cores = os.cpu_count() or 1
    # CPU time, not wall time: on a shared machine the wall time of the bare cycle includes waiting for
    # the CPU, which would lower the limit; on a quiet machine the two agree.
    bare_ms = statistics.median([b["median_cpu_ms"] for b in bare])
    limit = cores / (bare_ms / 1e3)
    report["bare_cycle"] = {"before": bare[0], "after": bare[1], "median_cpu_ms": bare_ms}
    report["physical_limit_steps_per_s"] = round(limit, 1)
    for result in classes.values():
        for run in result["runs"].values():
            run["share_of_limit"] = round(run["steps_per_s"] / limit, 3)
    report["worker_classes"] = classes
    report["verdict"] = verdict(report)
    report["machine"]["load_average_at_end"] = proc_stats.load_average()
    return report


def verdict(report: dict) -> dict:
    runs = [run for result in report["worker_classes"].values() for run in result["runs"].values()]
    best = max(runs, key=lambda run: run["steps_per_s"])
    workers = [
        peak
        for result in report["worker_classes"].values()
        for name, peak in result["peak_rss_mb"].items()
        if name != "master"
    ]
    return {
        "best_steps_per_s": best["steps_per_s"],
        "best_share_of_limit": best["share_of_limit"],
        "throughput_target_met": best["share_of_limit"] >= TARGET_SHARE,
        "errors": sum(run["errors"] for run in runs),
        "conflicts_409": sum(run["conflicts_409"] for run in runs),
        "max_worker_peak_rss_mb": max(workers) if workers else None,
        "memory_target_met": bool(workers) and max(workers) <= TARGET_WORKER_MB,
    }


def settings(args) -> dict:
    return {
        k: getattr(args, k)
        for k in (
            "scale", "clients", "duration", "worker_classes", "threads", "steps_per_instance",
            "warmup", "max_requests",
        )
    }  # fmt: skip


def tables(report: dict) -> str:
    limit = report["physical_limit_steps_per_s"]
    header = ("class", "C", "steps/s", "% limit", "median ms", "p95 ms", "ok", "409", "errors")
    header += ("CPU ms/step: workers", "postgres", "irq", "clients", "other", "server-bound/s", "load")
    rows = []
    for name, result in report["worker_classes"].items():
        for clients, run in result["runs"].items():
            per = run["cpu_s"]["ms_per_step"]
            rows.append(
                (
                    name, clients, f"{run['steps_per_s']:.0f}", f"{run['share_of_limit'] * 100:.0f} %",
                    f"{run['latency_ms']['median']}", f"{run['latency_ms']['p95']}", str(run["ok"]),
                    str(run["conflicts_409"]), str(run["errors"]), f"{per['gunicorn_workers']:.2f}",
                    f"{per['postgres']:.2f}" if 'postgres' in per else 'n/a', f"{per['interrupts']:.2f}",
                    f"{per['clients']:.2f}", f"{per['other_processes']:.2f}",
                    f"{run['cpu_s']['server_bound_steps_per_s']:.0f}", str(run["load_average_after"][0]),
                )
            )  # fmt: skip
    bare = report["bare_cycle"]
    lines = [
        f"bare SpiffWorkflow cycle: {bare['median_cpu_ms']:.2f} ms CPU median (wall: before "
        f"{bare['before']['median_ms']}, after {bare['after']['median_ms']}) -> physical limit "
        f"{limit:.0f} steps/s on {os.cpu_count()} cores; "
        f"target >= {TARGET_SHARE:.0%} = {limit * TARGET_SHARE:.0f} steps/s",
        format_table(header, rows),
        "",
        format_table(("class", "process", "after warm-up RSS/PSS MB", "peak RSS MB", "after load RSS/PSS MB"),
                     memory_rows(report)),
    ]  # fmt: skip
    size = report["database_size"]
    lines += [
        "",
        f"database: {size['tasks']} tasks, {size['rows']}; {size['database_bytes'] / 2**20:.1f} MB "
        f"({size['database_mb_per_1000_tasks']} MB per 1,000 tasks), tables with indexes "
        f"{size['tables_bytes'] / 2**20:.1f} MB ({size['tables_mb_per_1000_tasks']} MB per 1,000 tasks)",
        f"verdict: {json.dumps(report['verdict'])}",
    ]
    lines += [f"{key}: {value}" for key, value in report["machine"].items()]
    return "\n".join(lines)


def memory_rows(report: dict) -> list[tuple[str, ...]]:
    def pair(values) -> str:
        return f"{values['rss_mb']:.0f} / {values['pss_mb']:.0f}" if values else "gone"

    rows = []
    for name, result in report["worker_classes"].items():
        warm, after, peak = result["memory_after_warmup"], result["memory_after_load"], result["peak_rss_mb"]
        for process in dict.fromkeys([*warm, *after, *peak]):
            rows.append((name, process, pair(warm.get(process)), str(peak.get(process, "")),
                         pair(after.get(process))))  # fmt: skip
        rows.append((name, "workers replaced", "", str(result["workers_replaced"]), ""))
    return rows


def parse_args(argv):
    class Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
        pass

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=Formatter)
    parser.add_argument("--scale", type=float, default=0.01, help="generator scale (0: the demo seed only)")
    parser.add_argument("--database-url", help="a PostgreSQL server URL to use instead of a throw-away one")
    parser.add_argument("--clients", default="2,4,8", help="concurrent clients, one run each")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per run")
    parser.add_argument("--worker-classes", default="sync,gthread", help="gunicorn worker classes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--steps-per-instance", type=int, default=20, help="steps before a fresh instance")
    parser.add_argument("--warmup", type=float, default=4.0, help="seconds of warm-up per worker class")
    parser.add_argument("--bare-instances", type=int, default=12, help="instances of the bare cycle")
    parser.add_argument(
        "--max-requests", type=int, help="override gunicorn.conf.py's worker recycling (0: never)"
    )
    parser.add_argument("--json", action="store_true", help="print only the JSON report")
    args = parser.parse_args(argv)
    args.clients = [int(value) for value in args.clients.split(",")]
    args.worker_classes = args.worker_classes.split(",")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so that every process started is stopped (ExitStack, finally).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        report = measure(args)
    except KeyboardInterrupt:
        print("throughput: interrupted; every process it started is stopped", file=sys.stderr)
        return 130
    if not args.json:
        print(tables(report), end="\n\n")
    print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    return 0 if report["verdict"]["errors"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
