"""Does a standing duty get slower with time? The 1st vs the 24th monthly instance of a continuous duty.

A `continuous_duty` task (2.a) runs one process instance per month (workflows/periods.py), so no
instance grows with the duty's age. This measures it: 24 months in a row, each started as the scheduler
does (`start_period`), then its two steps (`period_report` by the unit's specialist, `head_review` by
its head) completed through `POST /api/v1/work-items/{id}/complete`, timed per request. It reports the
median per step of the first and the last months, their ratio (target <= 1.2), and the stored state size
of the first and the 24th instance. Run: `make bench` or `.venv/bin/python bench/period_cost.py [--json]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from step_cost import PASSWORD, build_app, machine  # noqa: E402

TARGET = 1.2
MONTHS = 24
WINDOW = 3  # months averaged at each end
REPORT = {"done": "Tuyên truyền trên cổng thông tin", "results": "12 tin bài", "percent": 100}
STEPS = ("period_report", "head_review")
APPROVE = {"decision": "approve"}


def months(first_year: int, first_month: int, count: int) -> list[str]:
    out, year, month = [], first_year, first_month
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def run(count: int) -> dict:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import ProcessInstance, Task, User
    from workflows.periods import start_period

    with tempfile.TemporaryDirectory(prefix="tien-do-bench-") as directory:
        app = build_app(Path(directory))
        client = app.test_client()
        with app.app_context():
            duty = db.session.scalars(select(Task).where(Task.code == "2.a")).one()
            unit = duty.lead_unit.code.lower()
            # The "5 rõ" are set once, as the first period's first step would; every month then alike.
            duty.assignee = db.session.scalars(select(User).where(User.username == f"{unit}.cv")).one()
            duty.expected_result = "Tin bài tuyên truyền hằng tháng"
            db.session.commit()
            duty_id = duty.id
        tokens = {}
        for who in (f"{unit}.cv", f"{unit}.tp"):
            response = client.post("/api/v1/auth/token", json={"username": who, "password": PASSWORD})
            tokens[who] = {"Authorization": f"Bearer {response.get_json()['token']}"}

        per_month: list[list[float]] = []
        sizes: dict[str, int] = {}
        for period in months(2025, 3, count):
            with app.app_context():
                start_period(db.session.get(Task, duty_id), period)
            samples = []
            for who, data in ((f"{unit}.cv", REPORT), (f"{unit}.tp", APPROVE)):
                task = client.get(f"/api/v1/tasks/{duty_id}", headers=tokens[who]).get_json()
                [item] = [
                    step for step in task["open_steps"] if step["step"] in ("period_report", "head_review")
                ]
                started = time.perf_counter()
                response = client.post(
                    f"/api/v1/work-items/{item['id']}/complete", json={"data": data}, headers=tokens[who]
                )
                samples.append(time.perf_counter() - started)
                assert response.status_code == 200, response.get_json()
            per_month.append(samples)
            with app.app_context():
                size = db.session.scalar(
                    select(func.length(ProcessInstance.state.cast(db.String))).where(
                        ProcessInstance.task_id == duty_id, ProcessInstance.period == period
                    )
                )
                sizes[period] = int(size or 0)

    first = [s for month in per_month[:WINDOW] for s in month]
    last = [s for month in per_month[-WINDOW:] for s in month]
    first_ms, last_ms = statistics.median(first) * 1e3, statistics.median(last) * 1e3
    periods = list(sizes)
    return {
        "months": count,
        "first_months_median_ms": round(first_ms, 2),
        "last_months_median_ms": round(last_ms, 2),
        "ratio_last_over_first": round(last_ms / first_ms, 3),
        "target": TARGET,
        "state_bytes_first": sizes[periods[0]],
        "state_bytes_last": sizes[periods[-1]],
        "machine": machine(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--months", type=int, default=MONTHS)
    parser.add_argument("--json", action="store_true", help="print only the JSON report")
    args = parser.parse_args(argv)
    report = run(args.months)
    if not args.json:
        verdict = "met" if report["ratio_last_over_first"] <= TARGET else "NOT met"
        print(
            f"continuous duty, {report['months']} monthly instances: step median "
            f"{report['first_months_median_ms']} ms (months 1-{WINDOW}) vs "
            f"{report['last_months_median_ms']} ms (last {WINDOW}); ratio {report['ratio_last_over_first']} "
            f"(target <= {TARGET}: {verdict}); state {report['state_bytes_first']} B vs "
            f"{report['state_bytes_last']} B"
        )
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
