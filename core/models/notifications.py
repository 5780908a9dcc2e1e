"""How each person wants to be told about their work (PERM-10), and the ledger of messages sent
outside the application (SMS today), which makes a retried activity send nothing twice."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from pydantic import ConfigDict
from sqlmodel import Field, SQLModel

from core.models.base import created_at_field, tz_field, updated_at_field


class NotificationEvent(StrEnum):
    """What happened, as a person chooses channels for it (not the in-app row's `kind`)."""

    ticket_received = "ticket_received"  # a ticket (or a support request) reached my unit
    task_dispatch = "task_dispatch"  # the desk: a ticket waits to be dispatched / closed
    task_assign = "task_assign"  # a ticket waits for me to assign it (or answer a support request)
    task_process = "task_process"  # a ticket waits for me to process it
    task_approve = "task_approve"  # a result / spam / out-of-area / support request waits for my approval
    ticket_due_soon = "ticket_due_soon"  # a ticket I (or my unit) process nears its deadline
    ticket_overdue = "ticket_overdue"  # a ticket of my unit (or the desk's) ran past its deadline


class UserNotificationSetting(SQLModel, table=True):
    """One person's choice for one event; no row = the defaults of `notification_settings.DEFAULTS`."""

    __tablename__ = "user_notification_setting"

    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE", primary_key=True)
    event: str = Field(max_length=30, primary_key=True)
    in_app: bool = True
    sms: bool = False
    email: bool = False
    sms_text: str | None = Field(default=None, max_length=300,
                                  description="own SMS text: a message template (core.services.message_templates)")
    updated_at: datetime = updated_at_field()


class MessageTemplate(SQLModel, table=True):
    """An administrator's text for one kind of message the system sends (core.services.message_templates);
    no row = the built-in default."""

    __tablename__ = "message_template"

    key: str = Field(primary_key=True, max_length=60)
    body: str = Field(sa_type=sa.Text)
    enabled: bool = True
    updated_at: datetime = updated_at_field()
    updated_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")


class DeliveryStatus(StrEnum):
    pending = "pending"  # recorded with the event, not handed to the gateway yet
    sending = "sending"  # claimed by one sender; stays here if it died mid-call (outcome unknown, never resent)
    sent = "sent"
    failed = "failed"  # the gateway refused or failed; `error` says why


class NotificationDelivery(SQLModel, table=True):
    """One message to one recipient through an outside channel, written once per dedupe key in the
    same transaction as the event that causes it (an outbox), then claimed and sent."""

    __tablename__ = "notification_delivery"
    __table_args__ = (
        sa.Index("ix_notification_delivery_pending", "dedupe_key", postgresql_where=sa.text("status = 'pending'")),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.BigInteger)
    dedupe_key: str = Field(max_length=160, unique=True)
    channel: str = Field(default="sms", max_length=10)
    user_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL", index=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", ondelete="SET NULL")
    kind: str = Field(max_length=50)
    recipient: str = Field(max_length=254)
    body: str = Field(sa_type=sa.Text)
    status: DeliveryStatus = Field(default=DeliveryStatus.pending, sa_type=sa.String(10))
    attempts: int = 0
    provider_id: str | None = Field(default=None, max_length=128)
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = created_at_field()
    sent_at: datetime | None = tz_field()


class NotificationSettingIn(SQLModel):
    model_config = ConfigDict(extra="forbid")
    event: NotificationEvent
    in_app: bool
    sms: bool
    email: bool = False
    sms_text: str | None = Field(default=None, max_length=300,
                                 description="own SMS text (null = the default); placeholders {code} and {title}")


class NotificationSettingsIn(SQLModel):
    """The events listed change; the others keep their current setting."""

    model_config = ConfigDict(extra="forbid")
    items: list[NotificationSettingIn] = Field(min_length=1, max_length=len(NotificationEvent))


class NotificationSettingOut(SQLModel):
    event: NotificationEvent
    label: str
    in_app: bool
    sms: bool
    email: bool
    sms_text: str | None
    default_sms_text: str
    is_default: bool


class NotificationSettingsOut(SQLModel):
    user_id: int
    sms_phone: str | None  # where SMS go (the profile's phone); none = no SMS can be sent
    items: list[NotificationSettingOut]
