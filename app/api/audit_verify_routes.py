"""GET /api/v1/audit/verify: is the audit trail's hash chain intact? Supervisors, leaders and admins.

`{"ok": bool, "checked": N, "first_bad": id|null}`, and beyond the contract `reason` (why the first bad
row is bad, or null). See workflows/audit_verify.py.
"""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from app.api import bp
from app.api.auth import current_api_user
from app.api.errors import ApiError
from app.models import Role
from workflows.audit_verify import verify

VERIFIERS = (Role.SUPERVISOR, Role.LEADER, Role.ADMIN)


@bp.get("/audit/verify")
def verify_audit_trail() -> ResponseReturnValue:
    if not current_api_user().has_role(*VERIFIERS):
        raise ApiError(403, "only supervisors, leaders and administrators verify the audit trail")
    report = verify()
    return {
        "ok": report.ok,
        "checked": report.checked,
        "first_bad": report.first_bad,
        "reason": report.reason,
    }
