"""Keeping a looping instance's state from growing with every return.

SpiffWorkflow keeps every task it ever ran: a draft returned ten times for revision carries ten
completed copies of `draft`, `review_draft` and the decision gateway, and every later step loads and
stores them all. What the product reads from the tree is the open steps, the data they carry, the
completed step last run and the path drawn on the diagram; who did what and when is in the audit trail.

So before the state is stored, each earlier pass through a loop is cut out of the tree: within a
straight run of completed user tasks and exclusive gateways (one child each, nothing else hanging
from them), from a task to the last completed task of the same step further down, the tasks in between
are dropped and the run is joined again. The latest completed pass stays, so every step reached is
still in the tree, every edge left is a real sequence flow of the diagram, and the data of the tasks
kept is unchanged (SpiffWorkflow stores each task's data as a difference from its parent, computed when
the state is written). Multi-instance items, boundary events, subprocesses and parallel branches are
never touched: a run stops at anything that is not a plain single-child step.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.util.task import TaskState

_PLAIN_STEPS = (UserTask, ExclusiveGateway)


def compact_loops(workflow) -> int:
    """Drop the tasks of earlier passes through loops from the workflow's top-level tree.
    Returns how many tasks were dropped."""
    removed = 0
    pending = [workflow.task_tree]
    while pending:
        task = pending.pop()
        run = _plain_run_below(workflow, task)
        if run:
            removed += _cut_repeats(workflow, run)
            pending.extend(run[-1].children)
        else:
            pending.extend(task.children)
    return removed


def _is_plain(workflow, task) -> bool:
    parent = task.parent
    return (
        isinstance(task.task_spec, _PLAIN_STEPS)
        and task.state == TaskState.COMPLETED
        and len(task._children) == 1
        and parent is not None
        and not isinstance(parent.task_spec, MultiInstanceTask)
        and task is not workflow.last_task
    )


def _plain_run_below(workflow, task) -> list:
    """The straight run of plain completed steps that starts at a child of `task` (when it has
    exactly one), ending with the first task below it that is not plain (kept as the run's end)."""
    if len(task._children) != 1:
        return []
    run = []
    current = task.children[0]
    while _is_plain(workflow, current):
        run.append(current)
        current = current.children[0]
    if not run:
        return []
    return [*run, current]


def _cut_repeats(workflow, run: list) -> int:
    """Within `run` (plain tasks, then the end task), cut each stretch from a task up to (not
    including) the last plain task of the same step further down."""
    removed = 0
    index = 0
    plain = run[:-1]
    while index < len(plain):
        spec = plain[index].task_spec
        later = [j for j in range(index + 1, len(plain)) if plain[j].task_spec is spec]
        if not later:
            index += 1
            continue
        keep_from = later[-1]
        _splice_out(workflow, plain[index:keep_from])
        removed += keep_from - index
        index = keep_from
    return removed


def _splice_out(workflow, stretch: list) -> None:
    """Remove a straight stretch of tasks, joining the task above it to the task below it."""
    above, below = stretch[0].parent, stretch[-1].children[0]
    # `below` keeps its data as a whole dict in memory; the serializer stores it as a difference from
    # its new parent when the state is written.
    above._children = [below.id if child == stretch[0].id else child for child in above._children]
    below._parent = above.id
    for task in stretch:
        del workflow.tasks[task.id]
