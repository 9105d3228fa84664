"""All models, importable from one place (Alembic autogenerate reads db.metadata after this import)."""

from app.models.attachments import Attachment
from app.models.commune_plans import CommunePlan, PlanFramework  # noqa: F401  (kế hoạch cấp xã)
from app.models.dashboard_figures import DashboardFigures
from app.models.indicator_values import IndicatorValue
from app.models.notifications import Notification, NotificationKind, ReminderSent
from app.models.plans import (
    DuePrecision,
    Indicator,
    Plan,
    PlanSection,
    Recurrence,
    Task,
    TaskCoordination,
    TaskState,
)
from app.models.process_drafts import ProcessDraft
from app.models.reports import ReportDocument  # noqa: F401  (báo cáo tháng, biên bản)
from app.models.tokens import ApiToken
from app.models.units import Unit, UnitKind, unit_group_members
from app.models.users import Role, User, UserRole
from app.models.workflow import (
    AuditEvent,
    InstanceStatus,
    ProcessDefinition,
    ProcessInstance,
    WorkItem,
    WorkItemStatus,
)

__all__ = [
    "Attachment",
    "Notification",
    "NotificationKind",
    "ReminderSent",
    "AuditEvent",
    "DashboardFigures",
    "InstanceStatus",
    "ProcessDefinition",
    "ProcessDraft",
    "ProcessInstance",
    "WorkItem",
    "WorkItemStatus",
    "ApiToken",
    "DuePrecision",
    "Indicator",
    "IndicatorValue",
    "Plan",
    "PlanSection",
    "Recurrence",
    "Role",
    "Task",
    "TaskCoordination",
    "TaskState",
    "Unit",
    "UnitKind",
    "User",
    "UserRole",
    "unit_group_members",
]
