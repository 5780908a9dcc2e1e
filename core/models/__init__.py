"""All SQLModel tables. Importing this package registers every table on SQLModel.metadata."""

from sqlmodel import SQLModel

from core.models.base import NAMING_CONVENTION

SQLModel.metadata.naming_convention = NAMING_CONVENTION

from core.models.access import (  # noqa: E402
    GroupRole,
    Menu,
    PermissionGroup,
    Role,
    RoleMenu,
    UserGroup,
)
from core.models.attachments import TicketAttachment  # noqa: E402
from core.models.audit import AuditLog  # noqa: E402
from core.models.auth import AuthSession, PasswordReset, SessionKind  # noqa: E402
from core.models.calls import (  # noqa: E402
    AgentState,
    BlacklistEntry,
    CallQueueConfig,
    CallQueueMember,
    CallRecord,
    InboundRoute,
    IvrMenu,
    QueueEvent,
)
from core.models.casbin import CasbinRule  # noqa: E402
from core.models.catalog import Area, AreaLevel, TicketField  # noqa: E402
from core.models.credentials import ProviderCredential  # noqa: E402
from core.models.kb import ApiToken, KbAnswer, KbAttachment, KbQuestion  # noqa: E402
from core.models.messages import Message, MessageChannel, MessageDirection, MessageStatus  # noqa: E402
from core.models.notifications import NotificationDelivery, UserNotificationSetting  # noqa: E402
from core.models.org import OrgUnit, OrgUnitKind  # noqa: E402
from core.models.tickets import (  # noqa: E402
    AutoDispatchRule,
    BpmnVersion,
    Channel,
    HumanTask,
    HumanTaskStatus,
    InAppNotification,
    Ticket,
    TicketCounter,
    TicketEvent,
    TicketStatus,
)
from core.models.users import User  # noqa: E402

metadata = SQLModel.metadata

__all__ = [
    "ApiToken",
    "Area",
    "KbAnswer",
    "KbAttachment",
    "KbQuestion",
    "AutoDispatchRule",
    "BpmnVersion",
    "Channel",
    "HumanTask",
    "HumanTaskStatus",
    "InAppNotification",
    "Message",
    "MessageChannel",
    "MessageDirection",
    "MessageStatus",
    "NotificationDelivery",
    "ProviderCredential",
    "Ticket",
    "TicketCounter",
    "TicketAttachment",
    "TicketEvent",
    "TicketStatus",
    "AreaLevel",
    "AuditLog",
    "AuthSession",
    "CasbinRule",
    "TicketField",
    "GroupRole",
    "Menu",
    "OrgUnit",
    "OrgUnitKind",
    "PasswordReset",
    "PermissionGroup",
    "Role",
    "RoleMenu",
    "SessionKind",
    "User",
    "UserGroup",
    "UserNotificationSetting",
    "metadata",
]
