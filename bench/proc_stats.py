"""What the throughput benchmark (bench/throughput.py) reads from Linux's /proc: CPU time of a process
and of the children it has reaped, CPU time of a whole server (master, live children, reaped children),
the machine's busy CPU time, and a process's memory (RSS, PSS from smaps_rollup).

Times are in seconds, memory in MB (MiB). A process that is gone reads as None / zero: servers replace
their workers, and a snapshot may race with an exit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcessCpu:
    own: float  # utime + stime of the process itself
    reaped: float  # cutime + cstime: children it has waited for (e.g. workers a server replaced)


def process_cpu(pid: int) -> ProcessCpu | None:
    """CPU seconds of a process and of its reaped children, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) ": state is fields[0]
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return ProcessCpu((utime + stime) / TICK, (cutime + cstime) / TICK)


def children(pid: int) -> list[int]:
    """The live direct children of a process (all its threads' children)."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                found += [int(child) for child in (task / "children").read_text().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
    except (FileNotFoundError, ProcessLookupError):
        return []
    return sorted(set(found))


def tree_cpu(pid: int) -> float:
    """CPU seconds of a server: the process, its live children, and the children it has reaped.

    The difference of two readings is the CPU the server used in between, including the whole life of a
    child that exited in between (it moves from "live" to the parent's reaped time when it is waited for:
    only its CPU before the first reading is subtracted). Grandchildren are counted only once reaped."""
    root = process_cpu(pid)
    if root is None:
        return 0.0
    total = root.own + root.reaped
    for child in children(pid):
        reading = process_cpu(child)
        if reading is not None:
            total += reading.own
    return total


def machine_cpu() -> dict[str, float]:
    """CPU seconds of the whole machine since boot, from /proc/stat (every core): "busy" (everything but
    idle and I/O wait), "interrupts" (hard and soft interrupts: with interrupt time accounting they are
    in no process's time; loopback TCP is processed there) and "total"."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user
    total = sum(fields[:8])
    busy = total - fields[3] - fields[4]
    return {"busy": busy / TICK, "interrupts": (fields[5] + fields[6]) / TICK, "total": total / TICK}


def memory_mb(pid: int) -> dict[str, float] | None:
    """{"rss_mb", "pss_mb"} of a process (PSS shares each page among the processes mapping it), or None."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    values = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss"):
            values[f"{name.lower()}_mb"] = round(int(rest.split()[0]) / 1024, 1)
    return values or None


def rss_mb(pid: int) -> float | None:
    """The resident set of a process (cheaper than memory_mb: /proc/PID/status)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]
