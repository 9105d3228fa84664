"""What can go wrong when someone acts on a workflow, each mapped to an HTTP status by the views."""

from __future__ import annotations

# PostgreSQL's "send the transaction again" errors: a deadlock (two transactions waiting for each other's
# locks: the engine takes its locks in one order, see engine._take_item, but other writers may not) and
# a serialization failure. The database rolled the transaction back: nothing was written, and the same
# request sent again will most likely pass. A 409 to retry, never a server error.
TRY_AGAIN_SQLSTATES = frozenset({"40P01", "40001"})


def must_try_again(error: BaseException) -> bool:
    """Whether `error` (SQLAlchemy's DBAPIError, or a driver error) is one of TRY_AGAIN_SQLSTATES."""
    driver_error = getattr(error, "orig", error)
    return getattr(driver_error, "sqlstate", None) in TRY_AGAIN_SQLSTATES


class WorkflowError(Exception):
    status = 400

    def __init__(self, message: str, details=None):
        super().__init__(message)
        self.message = message
        self.details = details


class NotAllowed(WorkflowError):
    status = 403


class NotFound(WorkflowError):
    status = 404


class Conflict(WorkflowError):
    """The item is no longer open, someone else holds it, or the instance changed under it."""

    status = 409


class InvalidData(WorkflowError):
    """The submitted data fails the step's form; `details` maps each field to what is wrong."""

    status = 422


class ProcessFailed(WorkflowError):
    """The diagram could not continue with this step (e.g. a condition failed or was refused by the
    sandbox); nothing was written. An administrator must fix the process definition."""

    status = 422
