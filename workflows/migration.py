"""Moving running instances onto a newer version of their process (admins only).

SpiffWorkflow 3.2 compares the two specs (`SpecDiff`: task specs aligned by BPMN id, else by position;
an aligned spec is "changed" when any attribute of its serialized form differs: name, connections,
conditions, lane, properties, documentation, ...). An instance can move when nothing it completed or
waits on was removed or changed; then `migrate_workflow` points its tasks at the new specs and predicts
again what follows its waiting tasks.

`migrate_workflow` resets every READY/WAITING task, which clears its data and internal data: a
multi-instance child would forget its item (the consulted unit) and a timer its due time. Those tasks'
specs are unchanged (else the instance is not movable), so their data is put back as it was.
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, field

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import joinedload, undefer
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.models import InstanceStatus, ProcessDefinition, ProcessInstance, Role, User
from app.services.clock import utcnow
from workflows import audit, engine, signals
from workflows.errors import Conflict, NotAllowed
from workflows.runtime import LoadedSpec, dump_workflow, load_workflow, loaded_spec, ready_user_tasks
from workflows.sandbox import UnsafeCode
from workflows.serializer import REGISTRY

INSTANCE_MIGRATED = "instance.migrated"  # the audit action (also audit.Action.INSTANCE_MIGRATED)
# What an instance waits on (a multi-instance step is STARTED while its items are READY), and has reached.
OPEN_STATES = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
REACHED = OPEN_STATES | TaskState.COMPLETED
# A diagram SpiffWorkflow cannot compare or move an instance onto: that instance is skipped, with the reason.
ENGINE_ERRORS = (SpiffWorkflowException, UnsafeCode, KeyError, AttributeError, TypeError, ValueError)
# SpiffWorkflow's attribute names, as a modeller calls them.
CHANGE_LABELS = {
    "typename": _l("type"),
    "bpmn_name": _l("name"),
    "inputs": _l("incoming flows"),
    "outputs": _l("outgoing flows"),
    "cond_task_specs": _l("conditions"),
    "default_task_spec": _l("default flow"),
    "lane": _l("lane"),
    "extensions": _l("properties"),
    "documentation": _l("description"),
}

# (kind, completed) -> the reason, without its final full stop (a changed step lists what changed).
STEP_MESSAGES = {
    ("removed", True): _l(
        "Step '%(name)s' (%(id)s), which this instance completed, was removed in version %(version)s"
    ),
    ("removed", False): _l(
        "Step '%(name)s' (%(id)s), which this instance waits on, was removed in version %(version)s"
    ),
    ("changed", True): _l(
        "Step '%(name)s' (%(id)s), which this instance completed, was changed in version %(version)s"
    ),
    ("changed", False): _l(
        "Step '%(name)s' (%(id)s), which this instance waits on, was changed in version %(version)s"
    ),
}


@dataclass(frozen=True)
class Reason:
    """Why an instance cannot move. `kind`: removed, changed, subprocess_removed, unreadable."""

    kind: str
    version: int
    element_id: str = ""
    element_name: str = ""
    completed: bool = False  # the instance completed the element (else it waits on it)
    changes: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        values = {"name": self.element_name, "id": self.element_id, "version": self.version}
        if self.kind == "unreadable":
            return gettext("This instance's progress cannot be compared with version %(version)s.", **values)
        if self.kind == "subprocess_removed":
            return gettext(
                "Sub-process '%(name)s', which this instance runs, was removed in version %(version)s.",
                **values,
            )
        text = str(STEP_MESSAGES[(self.kind, self.completed)]) % values
        if self.kind == "removed" or not self.changes:
            return text + "."
        return f"{text} ({', '.join(str(CHANGE_LABELS.get(c, c)) for c in self.changes)})."


@dataclass(frozen=True)
class CurrentStep:
    step: str
    name: str


@dataclass
class Candidate:
    """A running instance on an older version, and whether it can move to the new one."""

    instance: ProcessInstance
    from_version: int
    steps: list[CurrentStep]
    reasons: list[Reason] = field(default_factory=list)

    @property
    def movable(self) -> bool:
        return not self.reasons

    @property
    def task(self):
        return self.instance.task


@dataclass(frozen=True)
class Skipped:
    instance_id: int
    reason: str


@dataclass
class MigrationResult:
    migrated: list[int] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def may_migrate(user: User | None) -> bool:
    return user is not None and user.has_role(Role.ADMIN)


def preview(definition: ProcessDefinition) -> list[Candidate]:
    """Every running instance of the process on an older version, movable or not (and why)."""
    target = loaded_spec(definition)
    candidates = []
    for instance in _older_instances(definition):
        workflow = load_workflow(loaded_spec(instance.definition), instance.state)
        candidates.append(_candidate(instance, workflow, target)[0])
    return candidates


def migrate(definition: ProcessDefinition, instance_ids: list[int] | None, user: User) -> MigrationResult:
    """Move the movable instances among `instance_ids` (None: all of them) to `definition`, in one
    transaction: all are moved, or (on any failure) none. Instances that cannot move are skipped."""
    if not may_migrate(user):
        raise NotAllowed("only administrators move instances to another version")
    if not definition.active:
        raise Conflict(f"version {definition.version} is not active")
    result, events = MigrationResult(), []
    try:
        instances = _older_instances(definition, instance_ids, lock=True)
        found = {instance.id for instance in instances}
        for instance_id in instance_ids or []:
            if instance_id not in found:
                result.skipped.append(Skipped(instance_id, _not_eligible(definition)))
        for instance in instances:
            event = _migrate_one(instance, definition, user, result)
            if event is not None:
                events.append((instance.task, event))
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise Conflict("an instance changed while it was being moved; nothing was moved, try again") from None
    except Exception:
        db.session.rollback()
        raise
    for task, event in events:
        signals.transition_committed.send(task, events=[event])
    return result


def _not_eligible(definition: ProcessDefinition) -> str:
    return gettext("Not a running instance of an older version of process %(key)s.", key=definition.key)


def _older_instances(
    definition: ProcessDefinition, ids: list[int] | None = None, lock: bool = False
) -> list[ProcessInstance]:
    query = (
        select(ProcessInstance)
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .where(
            ProcessDefinition.key == definition.key,
            ProcessDefinition.version < definition.version,
            ProcessInstance.status == InstanceStatus.RUNNING,
        )
        .options(undefer(ProcessInstance.state), joinedload(ProcessInstance.task))
        .order_by(ProcessInstance.id)
    )
    if ids is not None:
        query = query.where(ProcessInstance.id.in_(ids))
    if lock:  # PostgreSQL: FOR UPDATE; SQLite: the version column catches a concurrent step
        query = query.with_for_update(of=ProcessInstance).execution_options(populate_existing=True)
    return list(db.session.scalars(query).unique())


def _migrate_one(instance: ProcessInstance, definition, user: User, result: MigrationResult):
    target = loaded_spec(definition)
    workflow = load_workflow(loaded_spec(instance.definition), instance.state)
    candidate, diffs = _candidate(instance, workflow, target)
    if not candidate.movable:
        result.skipped.append(Skipped(instance.id, " ".join(r.text for r in candidate.reasons)))
        return None
    try:
        workflow = _moved(workflow, diffs, target)
    except ENGINE_ERRORS as error:
        reason = gettext("The process could not continue on version %(version)s: %(error)s")
        result.skipped.append(Skipped(instance.id, reason % {"version": definition.version, "error": error}))
        return None
    from_version = instance.definition.version
    instance.definition = definition
    task = instance.task
    _, before = engine._write_state(instance, workflow, target, task, utcnow())
    db.session.flush()
    data = {"process": definition.key, "from_version": from_version, "to_version": definition.version}
    event = audit.record(
        INSTANCE_MIGRATED, user, task, instance=instance, from_state=before, to_state=task.state, data=data
    )
    result.migrated.append(instance.id)
    return event


def _moved(workflow, diffs, target: LoadedSpec):
    """The workflow on the target spec, restored from its dumped state (so it round-trips, and runs
    with our restricted script engine again), run up to its next wait."""
    top_diff, sub_diffs = diffs
    kept = {
        t.id: (deepcopy(t.data), deepcopy(t.internal_data)) for t in workflow.get_tasks(state=OPEN_STATES)
    }
    migrate_workflow(top_diff, workflow, target.spec)
    for sub_id, sub in list(workflow.subprocesses.items()):
        if sub_diffs.get(sub_id) is not None:  # None: dropped with a reset branch (gone ones block)
            migrate_workflow(sub_diffs[sub_id], sub, target.subprocess_specs[sub.spec.name])
    workflow.subprocess_specs = target.subprocess_specs
    for task in workflow.get_tasks(state=OPEN_STATES):
        if task.id in kept:
            task.data, task.internal_data = kept[task.id]
    workflow = load_workflow(target, dump_workflow(workflow))
    workflow.do_engine_steps()
    return workflow


def _candidate(instance: ProcessInstance, workflow, target: LoadedSpec) -> tuple[Candidate, tuple]:
    candidate = Candidate(instance, instance.definition.version, _current_steps(workflow))
    try:
        top_diff, sub_diffs, changes = _diff(workflow, target)
    except ENGINE_ERRORS:
        candidate.reasons.append(Reason("unreadable", target.version))
        return candidate, (None, {})
    candidate.reasons.extend(_reasons(top_diff, changes, target.version))
    for sub_id, sub_diff in sub_diffs.items():
        if sub_diff is None:
            sub = workflow.subprocesses[sub_id]
            name = sub.spec.description or sub.spec.name
            candidate.reasons.append(Reason("subprocess_removed", target.version, sub.spec.name, name))
        else:
            candidate.reasons.extend(_reasons(sub_diff, changes, target.version))
    return candidate, (top_diff, sub_diffs)


def _diff(workflow, target: LoadedSpec):
    """SpiffWorkflow's `diff_workflow`, keeping what changed on each spec: (the workflow's diff, its
    sub-processes' diffs by id (None: the sub-process is gone), {old spec: changed attributes})."""
    top = SpecDiff(REGISTRY, workflow.spec, target.spec)
    changes = dict(top.changed)
    sub_diffs = {}
    for sub_id, sub in workflow.subprocesses.items():
        new_spec = target.subprocess_specs.get(sub.spec.name)
        if new_spec is None:
            sub_diffs[sub_id] = None
            continue
        spec_diff = SpecDiff(REGISTRY, sub.spec, new_spec)
        changes.update(spec_diff.changed)
        sub_diffs[sub_id] = WorkflowDiff(sub, spec_diff)
    return WorkflowDiff(workflow, top), sub_diffs, changes


def _reasons(diff: WorkflowDiff, changes: dict, version: int) -> list[Reason]:
    """One reason per element the instance reached (completed or waits on) that was removed or changed."""
    reasons: dict[tuple, Reason] = {}
    removed = set(diff.removed)
    for task in [*diff.removed, *diff.changed]:
        if not task.state & REACHED:
            continue
        spec = task.task_spec
        element_id = getattr(spec, "bpmn_id", None) or spec.name
        reason = Reason(
            "removed" if task in removed else "changed",
            version,
            element_id,
            _display_name(spec),
            completed=task.state == TaskState.COMPLETED,
            changes=() if task in removed else tuple(changes.get(spec, ())),
        )
        reasons.setdefault((reason.kind, element_id, reason.completed), reason)
    return list(reasons.values())


def _display_name(spec) -> str:
    name = getattr(spec, "bpmn_name", None)
    if not name and isinstance(spec, LoopTask):  # a multi-instance step's name is on its child
        child = spec._wf_spec.task_specs.get(spec.task_spec)
        name = getattr(child, "bpmn_name", None)
    return name or getattr(spec, "bpmn_id", None) or spec.name


def _current_steps(workflow) -> list[CurrentStep]:
    steps: dict[str, CurrentStep] = {}
    for task in ready_user_tasks(workflow):
        spec = task.task_spec
        if isinstance(spec, UserTask):
            steps.setdefault(spec.bpmn_id, CurrentStep(spec.bpmn_id, spec.bpmn_name or spec.bpmn_id))
    return list(steps.values())
