"""Nhật ký: the audit trail for supervisors, leaders and admins (filters, pages, CSV/XLSX exports), and a
printable history of one task for anyone who may read the task."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from app.services.audit_queries import may_read_audit

bp = Blueprint("audit", __name__)


@bp.app_context_processor
def inject_audit_link() -> dict:
    def audit_link_visible() -> bool:
        try:
            return current_user.is_authenticated and may_read_audit(current_user)
        except SQLAlchemyError:  # an error page after a failed transaction still renders its menu
            return False

    return {"audit_link_visible": audit_link_visible}


from app.audit import routes  # noqa: E402,F401
