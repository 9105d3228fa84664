"""Human labels for the enumerations, translated. One place, used by pages and exports."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.models import Recurrence, Role, TaskState, UnitKind

TASK_STATE_LABELS = {
    TaskState.NOT_STARTED: _l("Not started"),
    TaskState.WAITING_GUIDANCE: _l("Waiting for central guidance"),
    TaskState.IN_PROGRESS: _l("In progress"),
    TaskState.DRAFTING: _l("Drafting"),
    TaskState.REVIEWING: _l("Being reviewed by the unit head"),
    TaskState.COLLECTING_OPINIONS: _l("Collecting opinions"),
    TaskState.CONSOLIDATING: _l("Consolidating opinions"),
    TaskState.AWAITING_APPROVAL: _l("Awaiting approval"),
    TaskState.SUBMITTED: _l("Submitted to the People's Committee"),
    TaskState.UNDER_REVIEW: _l("Under review"),
    TaskState.RETURNED: _l("Returned for revision"),
    TaskState.COMPLETED: _l("Completed"),
    TaskState.CANCELLED: _l("Cancelled"),
}

RECURRENCE_LABELS = {
    Recurrence.NONE: _l("One-off"),
    Recurrence.CONTINUOUS: _l("Continuous"),
    Recurrence.YEARLY: _l("Yearly"),
    Recurrence.ON_GUIDANCE: _l("As guided by the central government"),
    Recurrence.ON_DEMAND: _l("When needed"),
}

ROLE_LABELS = {
    Role.SPECIALIST: _l("Specialist"),
    Role.UNIT_HEAD: _l("Unit head"),
    Role.LEADER: _l("Department leader"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.ADMIN: _l("Administrator"),
}

UNIT_KIND_LABELS = {
    UnitKind.DEPARTMENT: _l("Department"),
    UnitKind.LEADERSHIP: _l("Leadership"),
    UnitKind.OFFICE: _l("Office"),
    UnitKind.DIVISION: _l("Division"),
    UnitKind.SUB_UNIT: _l("Section"),
    UnitKind.CENTRE: _l("Centre"),
    UnitKind.GROUP: _l("Group of units"),
    UnitKind.WORK_GROUP: _l("Working group"),
    UnitKind.EXTERNAL: _l("Outside body"),
    UnitKind.COMMUNE: _l("Commune or ward"),
    UnitKind.COMMUNE_OFFICE: _l("Commune office"),
}

# The "5 rõ" principle: clear person, work, responsibility, time, result.
FIVE_CLEARS_LABELS = {
    "person": _l("no assignee"),
    "work": _l("no content"),
    "responsibility": _l("no lead unit"),
    "time": _l("no deadline"),
    "result": _l("no expected result"),
}

# Task types: the process each kind of work runs (see app/services/task_types.py).
TASK_TYPE_LABELS = {
    "draft_plan": _l("Draft, consult and submit for issuance"),
    "review_propose": _l("Review and propose"),
    "implement_report": _l("Implement and report"),
    "continuous_duty": _l("Continuous or yearly duty"),
    "monthly_report": _l("Monthly report"),
    "monthly_consolidation": _l("Monthly consolidation"),
    "commune_plan": _l("Commune plan from the department's framework"),
}
