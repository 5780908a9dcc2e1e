"""The message log (SMS-05…07, SMS-09, CRM-09): every SMS and Zalo message in and out, in one
table built for a person's history and date ranges at millions of rows (see migration 0007 for
the index decisions and their measurements).

One `address` column holds the citizen's side whatever the channel: a phone number in national
form (`0912345678`; a foreign number in E.164) for SMS, the Zalo user id for Zalo. `channel`
says which; a filter by phone number is then one index range, and a Zalo id can never be taken
for a phone number because the two never share a value in practice and `channel` tells them
apart anyway. `our_address` is our side: the number, brandname or Official Account used."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.base import created_at_field, tz_field


class MessageChannel(StrEnum):
    sms = "sms"
    zalo = "zalo"


class MessageDirection(StrEnum):
    inbound = "in"  # a citizen wrote to us
    outbound = "out"  # we wrote to a citizen or an official


class MessageStatus(StrEnum):
    received = "received"  # inbound: stored from a verified webhook
    queued = "queued"  # outbound: recorded, not yet accepted by the provider
    sent = "sent"  # the provider accepted it
    delivered = "delivered"  # the provider reported it delivered (final)
    failed = "failed"  # refused or undeliverable (final); error_code / error_message say why


# The desk's inbox: inbound messages nobody has turned into a ticket or set aside yet.
UNHANDLED_INBOUND = "direction = 'in' AND ticket_id IS NULL AND handled_at IS NULL"


class Message(SQLModel, table=True):
    __tablename__ = "message"
    __table_args__ = (
        # a person's history, newest first (scanned backwards): one index range per phone number
        sa.Index("ix_message_address_created", "address", "created_at", "id"),
        # browsing and date ranges, newest first, keyset on (created_at, id)
        sa.Index("ix_message_created_id", "created_at", "id"),
        # idempotency: a retried webhook (provider id) or a retried send (our key) never adds a row;
        # partial, so the many rows without one (inbound keys, unsent ids) cost no index entries
        sa.Index("uq_message_provider_id", "provider", "provider_message_id", unique=True,
                 postgresql_where=sa.text("provider_message_id IS NOT NULL")),
        sa.Index("uq_message_idempotency_key", "idempotency_key", unique=True,
                 postgresql_where=sa.text("idempotency_key IS NOT NULL")),
        # the messages of a ticket (and ON DELETE SET NULL) without indexing the unlinked majority
        sa.Index("ix_message_ticket_id", "ticket_id", postgresql_where=sa.text("ticket_id IS NOT NULL")),
        # failed messages (to resend, to check a provider), newest first: a few percent of the rows
        sa.Index("ix_message_failed", "created_at", "id", postgresql_where=sa.text("status = 'failed'")),
        # the desk's inbox, oldest first: only the few rows waiting are in it
        sa.Index("ix_message_unhandled", "created_at", "id", postgresql_where=sa.text(UNHANDLED_INBOUND)),
        sa.CheckConstraint("channel IN ('sms', 'zalo')", name="channel"),
        sa.CheckConstraint("direction IN ('in', 'out')", name="direction"),
        sa.CheckConstraint("status IN ('received', 'queued', 'sent', 'delivered', 'failed')", name="status"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.BigInteger)
    channel: MessageChannel = Field(sa_type=sa.String(10))
    direction: MessageDirection = Field(sa_type=sa.String(3))
    provider: str | None = Field(default=None, max_length=40, description="gateway name; set when sent or received")
    provider_message_id: str | None = Field(default=None, max_length=128)
    idempotency_key: str | None = Field(default=None, max_length=160,
                                        description="outbound: our key (= notification_delivery.dedupe_key)")
    address: str = Field(max_length=64, description="the citizen's side: phone (national form) or Zalo user id")
    our_address: str | None = Field(default=None, max_length=64, description="our number, brandname or OA id")
    sender_name: str | None = Field(default=None, max_length=255, description="display name the provider gave")
    body: str = Field(sa_type=sa.Text)
    segments: int | None = Field(default=None, sa_type=sa.SmallInteger, description="outbound SMS parts")
    encoding: str | None = Field(default=None, max_length=5, description="outbound SMS: GSM-7 or UCS-2")
    status: MessageStatus = Field(sa_type=sa.String(10))
    error_code: str | None = Field(default=None, max_length=40)
    error_message: str | None = Field(default=None, max_length=500)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", ondelete="SET NULL")
    handled_at: datetime | None = tz_field()
    handled_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    status_at: datetime | None = tz_field()
    sent_at: datetime | None = tz_field()
    delivered_at: datetime | None = tz_field()


class MessagePublic(SQLModel):
    """A message as the history shows it; `address` is masked for roles without `pii` read."""

    id: int
    channel: MessageChannel
    direction: MessageDirection
    provider: str | None
    provider_message_id: str | None
    address: str
    our_address: str | None
    sender_name: str | None
    body: str
    segments: int | None
    encoding: str | None
    status: MessageStatus
    error_code: str | None
    error_message: str | None
    ticket_id: int | None
    ticket_code: str | None = None
    handled_at: datetime | None
    created_at: datetime
    status_at: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None
