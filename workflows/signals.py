"""The engine's events, like Zope's workflow events. Everything else subscribes.

Inside the transaction (a receiver's exception rolls the whole step back):
- `step_completing(sender=work_item, user, data, comment)`: before the engine runs; raise
  `StepVetoed` to refuse the step.
- `step_completed(sender=work_item, user, data, comment, next_items)`.
- `process_started(sender=instance, user)`, `process_completed(sender=instance, user)`.

After the commit (for notifications; a receiver's failure no longer changes anything):
- `transition_committed(sender=task, events=[AuditEvent, ...])`.
"""

from __future__ import annotations

from blinker import Namespace

from workflows.errors import WorkflowError

_signals = Namespace()

step_completing = _signals.signal("step-completing")
step_completed = _signals.signal("step-completed")
process_started = _signals.signal("process-started")
process_completed = _signals.signal("process-completed")
transition_committed = _signals.signal("transition-committed")


class StepVetoed(WorkflowError):
    """Raised by a `step_completing` receiver to refuse the step; the message is shown to the user."""

    status = 409
