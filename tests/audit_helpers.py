"""For tests that compare whole tables before and after a request: the audit rows of signing in (the web
form, an API token, or a failed attempt) are the request's credentials, not its effect, so they are left
out of the comparison. Every other audit row still counts."""

from __future__ import annotations


def comparable_rows(table: str, order_by: str = "1") -> str:
    """SELECT every row of `table` (for audit_events: but the sign-in rows) in a stable order."""
    where = " WHERE action NOT LIKE 'auth.%'" if table == "audit_events" else ""
    return f"SELECT * FROM {table}{where} ORDER BY {order_by}"
