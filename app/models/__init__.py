"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from app.models.api_key import ApiKey
from app.models.certificate import CertificateAlert
from app.models.channel import NotificationChannel
from app.models.cron_job import CronJob
from app.models.group import Group
from app.models.history import CheckResult, CronExecution, DailyRollup, Ping
from app.models.incident import Incident, IncidentUpdate
from app.models.maintenance import MaintenanceWindow
from app.models.monitor import Monitor
from app.models.notification import NotificationAttempt, NotificationLog
from app.models.setting import Setting
from app.models.tag import Tag
from app.models.user import RecoveryCode, User

__all__ = [
    "ApiKey",
    "CertificateAlert",
    "CheckResult",
    "CronExecution",
    "CronJob",
    "DailyRollup",
    "Group",
    "Incident",
    "IncidentUpdate",
    "MaintenanceWindow",
    "Monitor",
    "NotificationAttempt",
    "NotificationChannel",
    "NotificationLog",
    "Ping",
    "RecoveryCode",
    "Setting",
    "Tag",
    "User",
]
