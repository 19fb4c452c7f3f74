"""All models, imported here so that Alembic and the app see the whole schema."""

from app.models.approval import RunApproval
from app.models.audit import AuditLog
from app.models.budget import ProjectBudgetAlert
from app.models.command import CommandRun
from app.models.execution import OutputLine, TaskExecution
from app.models.project import Project, ProjectMember
from app.models.run_account import RunAccount
from app.models.session import SessionEvent, SessionSnapshot, UserSession
from app.models.system import SystemSetting
from app.models.task import Task, TaskDependency, TaskTag
from app.models.user import User
from app.models.webhook import Webhook, WebhookAttempt, WebhookDelivery

__all__ = [
    "AuditLog", "CommandRun", "OutputLine", "Project", "ProjectBudgetAlert", "ProjectMember",
    "RunAccount", "RunApproval",
    "SessionEvent", "SessionSnapshot", "SystemSetting", "Task", "TaskDependency", "TaskExecution",
    "TaskTag", "User", "UserSession", "Webhook", "WebhookAttempt", "WebhookDelivery",
]
