"""What our engine reads from each user task of a diagram (its `spiffworkflow:properties`).

- `unit`: whose worklist the step lands in: `lead` (the task's lead unit), `item` (the unit of the
  multi-instance item, e.g. a consulted unit) or `any` (no unit: e.g. the department's leader).
- `roles`: comma-separated roles that may act (default: the lane's roles).
- `task_state`: the task's workflow state while this step is open.
- `form`: the form key (default: the element id); `external_form` / `external_roles`: used instead
  when a `unit=item` step's unit is an outside body (the lead unit records its answer).
- `due`: an ISO 8601 duration such as `P10D` from the moment the step opens.
- `due_calendar`: how `due` counts: `calendar` (default: elapsed time) or `working`: whole working days
  (`P10D` = 10 working days, Mon–Fri without Vietnamese public holidays, app/services/working_days.py)
  after the day the step opens, ending at 23:59:59 Asia/Ho_Chi_Minh of the last one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from app.models import Role, TaskState
from workflows.lanes import roles_for_lane

UNIT_RULES = ("lead", "item", "any")
CALENDAR = "calendar"
WORKING = "working"
DUE_CALENDARS = (CALENDAR, WORKING)
_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?)?$"
)


@dataclass(frozen=True)
class StepConfig:
    step: str
    name: str
    lane: str | None
    unit_rule: str
    roles: tuple[str, ...]
    task_state: str | None
    form_key: str
    external_form: str | None
    external_roles: tuple[str, ...]
    due: timedelta | None
    documentation: str | None
    due_calendar: str = CALENDAR

    @property
    def due_working_days(self) -> int | None:
        """With `due_calendar=working`: the number of working days of `due` (None otherwise)."""
        if self.due_calendar != WORKING or self.due is None:
            return None
        return self.due.days


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 duration of weeks, days, hours and minutes (`P10D`, `PT4H`)."""
    match = _DURATION.match(text.strip()) if text else None
    if not match or not any(match.groupdict().values()):
        raise ValueError(f"'{text}' is not a duration such as P10D or PT4H")
    parts = {k: int(v) for k, v in match.groupdict().items() if v}
    return timedelta(**parts)


def _roles(text: str | None) -> tuple[str, ...]:
    return tuple(r.strip() for r in (text or "").split(",") if r.strip())


def step_config(task_spec) -> StepConfig:
    """Read one user task spec; `check_step` says what is wrong with it."""
    props = (task_spec.extensions or {}).get("properties", {})
    roles = _roles(props.get("roles")) or roles_for_lane(task_spec.lane)
    due = props.get("due")
    return StepConfig(
        step=task_spec.bpmn_id,
        name=task_spec.bpmn_name or task_spec.bpmn_id,
        lane=task_spec.lane,
        unit_rule=props.get("unit", "lead"),
        roles=roles,
        task_state=props.get("task_state"),
        form_key=props.get("form") or task_spec.bpmn_id,
        external_form=props.get("external_form"),
        external_roles=_roles(props.get("external_roles")) or (Role.SPECIALIST,),
        due=parse_duration(due) if due and _DURATION.match(due.strip()) else None,
        documentation=getattr(task_spec, "documentation", None),
        due_calendar=props.get("due_calendar") or CALENDAR,
    )


def check_step(task_spec, form_keys: set[str]) -> list[str]:
    """Every reason this user task cannot run here, in plain words."""
    props = (task_spec.extensions or {}).get("properties", {})
    config = step_config(task_spec)
    reasons = []
    if config.unit_rule not in UNIT_RULES:
        reasons.append(f"property unit must be one of {', '.join(UNIT_RULES)}, not '{config.unit_rule}'")
    if not config.roles:
        reasons.append(f"no role: put it in a known lane or set the roles property (lane '{config.lane}')")
    for role in (*config.roles, *config.external_roles):
        if role == Role.SUPERVISOR:
            reasons.append("role 'supervisor' cannot act: supervisors read everything and change nothing")
        elif role not in Role.ALL:
            reasons.append(f"unknown role '{role}'")
    if config.task_state is not None and config.task_state not in TaskState.ALL:
        reasons.append(f"unknown task_state '{config.task_state}'")
    for key in filter(None, (config.form_key, config.external_form)):
        if key not in form_keys:
            reasons.append(f"no form '{key}'")
    if props.get("due") and config.due is None:
        reasons.append(f"due '{props['due']}' is not a duration such as P10D")
    if config.due_calendar not in DUE_CALENDARS:
        reasons.append(
            f"property due_calendar must be one of {', '.join(DUE_CALENDARS)}, not '{config.due_calendar}'"
        )
    elif config.due_calendar == WORKING and config.due is not None and not _whole_days(props["due"]):
        reasons.append(f"due '{props['due']}' counts working days: write whole days such as P10D")
    return reasons


def _whole_days(text: str) -> bool:
    """`P10D`: days only (no weeks, hours or minutes), which is what working days can count."""
    match = _DURATION.match(text.strip())
    return (
        bool(match)
        and match["days"] is not None
        and not any(match[part] for part in ("weeks", "hours", "minutes"))
    )
