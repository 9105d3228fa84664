"""The process instances of the generated data set: which to create, and running them through the engine.

Part of bench/generate_data.py (see there). `plan_jobs` decides, per task, whether its process is
started and how far it goes (to the end, or a random number of steps: every state of every process);
standing duties get one instance per month, reporting tasks one for this month. `Driver` runs them in
waves, one step of each in turn, as a person who may act on the step (`workflows.guards.may_act`), with
form data the step's form accepts (its JSON Schema, the options the server offers), through
`workflows.engine.start_process` / `advance`, `workflows.periods.start_period` and
`workflows.assignment.claim`. Time is simulated: `SimClock` stands in for `app.services.clock`.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

STARTED = 0.74  # share of the one-off tasks whose process was started
COMPLETED = 0.44  # share of the started ones run to the end; the others stop at a random step
DUTY_PERIODS = 4  # months of each standing duty: the last is open, the others completed
RETURN_P = 0.12  # a decision returns the work (with a comment)
PROGRESS_DONE_P = 0.12  # an implementation's progress update says "finished"
CLAIM_P = 0.5  # the actor claims the step before completing it
TYPICAL_STEPS = {
    "draft_plan": 10,
    "review_propose": 7,
    "implement_report": 9,
    "continuous_duty": 2,
    "monthly_report": 2,
    "monthly_consolidation": 3,
}
MAX_STEPS = 80  # a guard against a process that never ends


# --- the simulated clock --------------------------------------------------------------------


_MICROSECOND = timedelta(microseconds=1)


class SimClock:
    """Strictly increasing: moves by a fixed step per service call, jumps forward to a wave's start,
    stays before `end` (5 minutes before the real now). In the last 2 % of the time each step is a
    fraction of the time left (1 / `slowdown`, a 50th of the expected calls), so calls beyond the
    estimate still get times of their own, before `end` for about 40 % more calls than expected, then a
    microsecond apart. (It once stopped at the end instead: at the full size the calls beyond its
    estimate wrote 69,611 audit rows, 7 % of them, all at that one instant.)"""

    def __init__(self, start: datetime, end: datetime, expected_calls: int) -> None:
        self.now, self.end = start, end
        self.step = (end - start) / max(1, expected_calls)
        self.slowdown = max(100, expected_calls // 50)

    def tick(self) -> None:
        self.now += max(_MICROSECOND, min(self.step, (self.end - self.now) / self.slowdown))

    def jump_to(self, moment: datetime) -> None:
        self.now = max(self.now, min(moment, self.now + (self.end - self.now) / 2))

    def utcnow(self) -> datetime:
        return self.now

    def local_today(self) -> date:
        from app.services.clock import to_local

        return to_local(self.now).date()


def patch_clock(sim: SimClock) -> list[tuple[object, str, object]]:
    """Point every imported `utcnow` / `local_today` of app.* and workflows.* at the simulated clock."""
    import app.services.clock as clock
    import workflows.assignment  # noqa: F401  (imported now, so that its names are patched)
    import workflows.engine  # noqa: F401
    import workflows.periods  # noqa: F401

    real = {"utcnow": clock.utcnow, "local_today": clock.local_today}
    fake = {"utcnow": sim.utcnow, "local_today": sim.local_today}
    patched = []
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(("app", "workflows")):
            continue
        for attr, original in real.items():
            if getattr(module, attr, None) is original:
                patched.append((module, attr, original))
                setattr(module, attr, fake[attr])
    return patched


def unpatch(patched: list[tuple[object, str, object]]) -> None:
    for module, attr, original in patched:
        setattr(module, attr, original)


# --- processes --------------------------------------------------------------------------------


@dataclass
class Job:
    """One process instance to create: start it (a one-off task) or one period of a standing duty,
    then complete `budget` steps (None: until it ends)."""

    task_id: int
    task_type: str
    at: datetime  # when (simulated) it starts
    budget: int | None
    period: str | None = None
    instance_id: int | None = None
    steps: int = 0
    done: bool = False
    rng: random.Random = field(default_factory=random.Random)


def months_back(today: date, count: int) -> list[str]:
    year, month, out = today.year, today.month, []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


def month_start(period: str) -> datetime:
    return datetime.fromisoformat(f"{period}-01T02:00:00+00:00")  # 09:00 in Asia/Ho_Chi_Minh


def plan_jobs(start: datetime, end: datetime, rng: random.Random) -> list[Job]:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Task, TaskState
    from app.services.reporting import REPORTING_TYPES

    rows = db.session.execute(select(Task.id, Task.task_type, Task.state, Task.assignee_id).order_by(Task.id))
    periods = months_back(end.date(), DUTY_PERIODS)
    span = (end - start).total_seconds()
    jobs = []
    for task_id, task_type, state, assignee_id in rows:
        if state != TaskState.NOT_STARTED or task_type not in TYPICAL_STEPS:
            continue  # waiting for guidance, or not a process of the plans (the communes' own)
        typical = TYPICAL_STEPS.get(task_type, 6)
        if task_type in REPORTING_TYPES:  # this month only, as the scheduler starts them
            jobs.append(
                Job(task_id, task_type, month_start(periods[-1]), rng.randrange(typical), periods[-1])
            )
        elif task_type == "continuous_duty":
            for index, period in enumerate(periods):
                budget = None if index < len(periods) - 1 else rng.randrange(typical)
                jobs.append(Job(task_id, task_type, month_start(period), budget, period))
        elif assignee_id is not None and rng.random() < STARTED:  # the demo plan's tasks have none
            budget = None if rng.random() < COMPLETED else rng.randrange(typical)
            jobs.append(Job(task_id, task_type, start + timedelta(seconds=rng.random() * span * 0.9), budget))
    for number, job in enumerate(sorted(jobs, key=lambda j: j.at)):
        job.rng = random.Random(number)
    return sorted(jobs, key=lambda j: j.at)


class Driver:
    """Runs jobs through the engine as the people who may act, with form data their forms accept."""

    def __init__(self, sim: SimClock) -> None:
        from sqlalchemy import select

        from app.extensions import db
        from app.models import Unit, User

        self.sim, self.calls, self.failures = sim, 0, []
        self.parent = dict(db.session.execute(select(Unit.id, Unit.parent_id)).tuples().all())
        self.people: dict[int | None, list[int]] = {}
        self.roles: dict[int, set[str]] = {}
        for user in db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)):
            self.people.setdefault(user.unit_id, []).append(user.id)
            self.roles[user.id] = set(user.roles)

    def actor(self, item):
        from app.extensions import db
        from app.models import User
        from workflows.guards import may_act

        if item.assignee_id is not None:
            return db.session.get(User, item.assignee_id)
        unit = item.candidate_unit_id
        pool = (
            self.people.get(unit, []) + self.people.get(self.parent.get(unit), [])
            if unit
            else list(self.roles)
        )
        wanted = set(item.roles)
        for user_id in pool:
            if self.roles[user_id] & wanted:
                user = db.session.get(User, user_id)
                if may_act(user, item):
                    return user
        return None

    def form_data(self, item, job: Job) -> tuple[dict, str | None]:
        from app.services.form_options import options_for
        from workflows.step_data import step_form

        schema = step_form(item)
        fields, data = schema.get("properties") or {}, {}
        rng, today = job.rng, self.sim.local_today().isoformat()
        for name in schema.get("required") or []:
            spec = fields[name]
            items = spec.get("items") or {}
            if spec.get("x-options") or items.get("x-options"):
                offered = [value for value, _ in options_for({"properties": {name: spec}}, item.task)[name]]
                if spec.get("type") == "array":
                    data[name] = rng.sample(offered, min(len(offered), max(spec.get("minItems", 1), 2)))
                else:
                    data[name] = offered[0]
            elif spec.get("enum"):
                returns = "return" in spec["enum"] and rng.random() < RETURN_P
                data[name] = "return" if returns else spec["enum"][0]
            elif name == "finished":
                data[name] = rng.random() < PROGRESS_DONE_P
            elif spec.get("type") == "boolean":
                data[name] = True
            elif spec.get("type") == "integer":
                done = data.get("finished", rng.random() < 0.5)
                data[name] = spec.get("maximum", 100) if done else rng.randint(10, 90)
            elif spec.get("format") == "date":
                data[name] = today
            else:
                data[name] = f"Nội dung {name} của bước {item.name} (dữ liệu đo hiệu năng)"[
                    : spec.get("maxLength", 200)
                ]
        if "finished" in data and "percent" in data and data["finished"]:
            data["percent"] = 100
        needs_comment = any(data.get(k) in v for k, v in (schema.get("x-requires-comment") or {}).items())
        return data, ("Đề nghị chỉnh sửa, bổ sung" if needs_comment else None)

    def start(self, job: Job) -> None:
        from app.extensions import db
        from app.models import Task, User
        from workflows.engine import start_process
        from workflows.errors import WorkflowError
        from workflows.periods import start_period

        self.sim.tick()
        self.calls += 1
        task = db.session.get(Task, job.task_id)
        try:
            if job.period:
                instance = start_period(task, job.period)
                job.instance_id = instance.id if instance else None
            else:
                starter = db.session.get(User, task.assignee_id)
                result = start_process(task, starter)
                job.instance_id = result.instance.id if result.instance else None
        except WorkflowError as error:
            self.failures.append(f"task {job.task_id} start: {error.message} {error.details}")
        job.done = job.instance_id is None or job.budget == 0

    def step(self, job: Job) -> None:
        from sqlalchemy import select

        from app.extensions import db
        from app.models import WorkItem, WorkItemStatus
        from workflows.assignment import claim
        from workflows.engine import advance
        from workflows.errors import WorkflowError

        item = db.session.scalars(
            select(WorkItem)
            .where(WorkItem.instance_id == job.instance_id, WorkItem.status == WorkItemStatus.OPEN)
            .order_by(WorkItem.id)
            .limit(1)
        ).first()
        if item is None:  # ended, or waits for a timer
            job.done = True
            return
        user = self.actor(item)
        if user is None:
            self.failures.append(f"task {job.task_id}: nobody may act on {item.step}")
            job.done = True
            return
        try:
            if item.assignee_id is None and job.rng.random() < CLAIM_P:
                self.sim.tick()
                self.calls += 1
                claim(item, user)
            data, comment = self.form_data(item, job)
            self.sim.tick()
            self.calls += 1
            advance(item, user, data, comment)
        except WorkflowError as error:
            self.failures.append(f"task {job.task_id} {item.step}: {error.message} {error.details}")
            job.done = True
            return
        job.steps += 1
        limit = MAX_STEPS if job.budget is None else job.budget
        job.done = job.steps >= limit

    def run(self, jobs: list[Job], wave_size: int, progress) -> None:
        """Waves of jobs: start each, then one step of each in turn until all are done."""
        from app.extensions import db

        for first in range(0, len(jobs), wave_size):
            wave = jobs[first : first + wave_size]
            self.sim.jump_to(wave[0].at)
            for job in wave:
                self.start(job)
            active = [job for job in wave if not job.done]
            while active:
                for job in active:
                    self.step(job)
                active = [job for job in active if not job.done]
            db.session.remove()  # a fresh identity map for the next wave
            progress(first + len(wave), len(jobs), self.calls)


def expected_calls(jobs: list[Job]) -> int:
    steps = sum(1 + (j.budget if j.budget is not None else TYPICAL_STEPS.get(j.task_type, 6)) for j in jobs)
    return round(steps * (1 + CLAIM_P))


def run_jobs(jobs: list[Job], start: datetime, end: datetime, scale: float, quiet: bool, share: int = 1):
    """Run the jobs in this process on the simulated clock: (engine calls, failures)."""
    sim = SimClock(start, end, expected_calls(jobs))
    patched = patch_clock(sim)
    began = time.perf_counter()

    def progress(done: int, total: int, calls: int) -> None:
        if not quiet:
            rate = calls / max(1e-9, time.perf_counter() - began)
            print(f"  instances {done}/{total}, engine calls {calls} ({rate:.0f}/s)", file=sys.stderr)

    driver = Driver(sim)
    try:
        driver.run(jobs, max(50, round(5000 * scale / share)), progress)
    finally:
        unpatch(patched)
    return driver.calls, driver.failures
