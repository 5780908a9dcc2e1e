"""Tickets (tin báo / phản ánh), their event log (CRM-04), human tasks (the inbox), in-app
notifications, deployed BPMN versions and auto-dispatch rules (CRM-37)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import ConfigDict, field_validator
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from core.models.base import created_at_field, tz_field, updated_at_field
from core.types import DbId, ExternalRef, IdNumber, LongText, Name, Phone, ShortText


class Channel(StrEnum):
    call = "call"
    sms = "sms"
    zalo = "zalo"
    app = "app"
    web = "web"
    open311 = "open311"
    desk = "desk"
    import_ = "import"


class TicketStatus(StrEnum):
    new = "new"  # received, waiting for the desk to dispatch
    dispatched = "dispatched"  # sent to a unit, waiting for its manager
    assigned = "assigned"  # an officer (or a sub-unit) has it
    pending_approval = "pending_approval"  # result sent to the manager
    resolved = "resolved"  # approved result received by the desk, citizen notified
    spam = "spam"
    out_of_area = "out_of_area"
    closed = "closed"
    deleted = "deleted"  # withdrawn by the desk before dispatch (entered by mistake, a duplicate)


class LegalBasis(StrEnum):
    """Why the platform may process the citizen's personal data (Law 91/2025/QH15)."""

    state_duty = "state_duty"
    consent = "consent"


class Ticket(SQLModel, table=True):
    __tablename__ = "ticket"
    __table_args__ = (
        sa.Index("ix_ticket_status_created", "status", "created_at"),
        sa.Index("ix_ticket_unit_status", "current_unit_id", "status"),
        # ticket lists page by id (keyset, newest first) within a status or a unit (migration 0005)
        sa.Index("ix_ticket_status_id", "status", "id"),
        sa.Index("ix_ticket_unit_id", "current_unit_id", "id"),
        sa.Index("ix_ticket_created_at", "created_at"),
        sa.Index("ix_ticket_overdue_id", "id", postgresql_where=sa.text("overdue")),  # few rows: counted fast
        # the lists' text search (ILIKE '%…%' on each of these) uses trigram indexes (pg_trgm)
        *(sa.Index(f"ix_ticket_{c}_trgm", c, postgresql_using="gin", postgresql_ops={c: "gin_trgm_ops"})
          for c in ("code", "citizen_name", "citizen_phone", "address", "description")),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True, description="1022-YYYY-NNNNNN")
    idempotency_key: str = Field(max_length=128, unique=True)
    channel: Channel = Field(sa_type=sa.String(10))
    source_ref: str | None = Field(default=None, max_length=128, description="the call or message that created it")
    status: TicketStatus = Field(default=TicketStatus.new, sa_type=sa.String(20))
    citizen_name: str | None = Field(default=None, max_length=255)
    citizen_phone: str | None = Field(default=None, max_length=20, index=True)
    citizen_id_number: str | None = Field(default=None, max_length=20)
    legal_basis: LegalBasis = Field(default=LegalBasis.state_duty, sa_type=sa.String(20))
    field_id: int | None = Field(default=None, foreign_key="ticket_field.id", ondelete="SET NULL", index=True)
    area_id: int | None = Field(default=None, foreign_key="area.id", ondelete="SET NULL", index=True)
    address: str | None = Field(default=None, max_length=500)
    latitude: float | None = None
    longitude: float | None = None
    description: str = Field(sa_type=sa.Text)
    current_unit_id: int | None = Field(default=None, foreign_key="org_unit.id", ondelete="SET NULL")
    assignee_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    due_at: datetime | None = tz_field(index=True)
    overdue: bool = False
    hidden: bool = Field(default=False, description="spam: hidden from public lists")
    workflow_id: str | None = Field(default=None, max_length=64)
    bpmn_sha256: str | None = Field(default=None, max_length=64)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    closed_at: datetime | None = tz_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class TicketCreate(SQLModel):
    """What every channel gives `open_ticket` (validated at the edge)."""

    model_config = ConfigDict(extra="forbid")
    channel: Channel
    description: LongText = Field(min_length=5)
    citizen_name: Name | None = None
    citizen_phone: Phone | None = None
    citizen_id_number: IdNumber | None = None
    legal_basis: LegalBasis = LegalBasis.state_duty
    field_id: DbId | None = None
    area_id: DbId | None = None
    address: ShortText | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    source_ref: ExternalRef | None = None


class TicketEdit(SQLModel):
    """What the desk may correct on a ticket it has not dispatched yet (CRM-31); every field
    given replaces the stored one, the others stay."""

    model_config = ConfigDict(extra="forbid")
    channel: Channel | None = None
    description: LongText | None = Field(default=None, min_length=5)
    citizen_name: Name | None = None
    citizen_phone: Phone | None = None
    citizen_id_number: IdNumber | None = None
    field_id: DbId | None = None
    area_id: DbId | None = None
    address: ShortText | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)

    @field_validator("channel", "description")
    @classmethod
    def _not_cleared(cls, value: object) -> object:
        if value is None:
            raise ValueError("This field is required.")
        return value


class TicketPublic(SQLModel):
    id: int
    code: str
    channel: Channel
    source_ref: str | None
    status: TicketStatus
    citizen_name: str | None
    citizen_phone: str | None
    citizen_id_number: str | None
    legal_basis: LegalBasis
    field_id: int | None
    area_id: int | None
    address: str | None
    latitude: float | None
    longitude: float | None
    description: str
    current_unit_id: int | None
    assignee_id: int | None
    due_at: datetime | None
    overdue: bool
    created_at: datetime
    closed_at: datetime | None


class TicketCounter(SQLModel, table=True):
    """Per-year sequence behind ticket codes (one row per year, bumped atomically)."""

    __tablename__ = "ticket_counter"
    year: int = Field(primary_key=True)
    last: int = 0


class TicketEvent(SQLModel, table=True):
    """One step of a ticket's processing: the progress list and tree (CRM-04) and the audit trail.
    `dedupe_key` makes a retried activity write its event once."""

    __tablename__ = "ticket_event"
    __table_args__ = (sa.UniqueConstraint("ticket_id", "dedupe_key", name="uq_ticket_event_dedupe"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.BigInteger)
    ticket_id: int = Field(foreign_key="ticket.id", ondelete="CASCADE", index=True)
    parent_id: int | None = Field(default=None, sa_type=sa.BigInteger, description="the dispatch/assignment this step is under")
    at: datetime = created_at_field()
    actor_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    actor_name: str | None = Field(default=None, max_length=255)
    unit_id: int | None = Field(default=None, foreign_key="org_unit.id", ondelete="SET NULL")
    action: str = Field(max_length=50)
    note: str | None = Field(default=None, sa_type=sa.Text)
    data: dict[str, Any] | None = Field(default=None, sa_type=JSONB)
    dedupe_key: str = Field(max_length=128)


class TicketEventPublic(SQLModel):
    id: int
    parent_id: int | None
    at: datetime
    actor_id: int | None
    actor_name: str | None
    unit_id: int | None
    action: str
    note: str | None
    data: dict[str, Any] | None


class TicketEventNode(TicketEventPublic):
    children: list["TicketEventNode"] = []


class HumanTaskStatus(StrEnum):
    open = "open"
    claimed = "claimed"
    completed = "completed"
    cancelled = "cancelled"


class HumanTask(SQLModel, table=True):
    """A BPMN user task waiting for a person: written by the workflow, read by the inbox."""

    __tablename__ = "human_task"
    __table_args__ = (
        sa.UniqueConstraint("ticket_id", "spiff_task_id", name="uq_human_task_spiff"),
        sa.Index("ix_human_task_inbox", "status", "lane", "candidate_unit_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", ondelete="CASCADE", index=True)
    spiff_task_id: str = Field(max_length=64)
    bpmn_id: str = Field(max_length=128)
    name: str = Field(max_length=255)
    lane: str = Field(max_length=50, description="the role that may do it")
    candidate_unit_id: int | None = Field(default=None, foreign_key="org_unit.id", ondelete="SET NULL")
    assignee_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL", index=True)
    status: HumanTaskStatus = Field(default=HumanTaskStatus.open, sa_type=sa.String(20))
    form_schema: dict[str, Any] | None = Field(default=None, sa_type=JSONB)
    due_at: datetime | None = tz_field()
    created_at: datetime = created_at_field()
    completed_at: datetime | None = tz_field()
    completed_by_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    outcome: dict[str, Any] | None = Field(default=None, sa_type=JSONB)
    version: int = Field(default=1, description="optimistic lock: claim/complete races")


class InAppNotification(SQLModel, table=True):
    __tablename__ = "notification"
    __table_args__ = (sa.Index("ix_notification_user_unread", "user_id", "read_at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.BigInteger)
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE")
    kind: str = Field(max_length=50)
    title: str = Field(max_length=255)
    body: str | None = Field(default=None, sa_type=sa.Text)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", ondelete="CASCADE")
    dedupe_key: str = Field(max_length=128, unique=True)
    created_at: datetime = created_at_field()
    read_at: datetime | None = tz_field()


class BpmnVersion(SQLModel, table=True):
    """Every deployed diagram, kept forever; a running ticket continues on its own version."""

    __tablename__ = "bpmn_version"
    id: int | None = Field(default=None, primary_key=True)
    process_id: str = Field(max_length=128, index=True)
    sha256: str = Field(max_length=64, unique=True)
    content: str = Field(sa_type=sa.Text)
    deployed_at: datetime = created_at_field()
    deployed_by: str | None = Field(default=None, max_length=64)
    active: bool = Field(default=True, description="the version new tickets start on")


class AutoDispatchRule(SQLModel, table=True):
    """Fields (one or many) + area -> unit (CRM-37)."""

    __tablename__ = "auto_dispatch_rule"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255)
    field_ids: list[int] = Field(default_factory=list, sa_type=ARRAY(sa.Integer))
    area_id: int | None = Field(default=None, foreign_key="area.id", ondelete="CASCADE")
    unit_id: int = Field(foreign_key="org_unit.id", ondelete="CASCADE")
    priority: int = 100
    active: bool = True
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class AutoDispatchRuleCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    field_ids: list[DbId] = Field(default_factory=list, max_length=50, description="any of these fields (or their sub-fields)")
    area_id: DbId | None = Field(default=None, description="this area or any area under it")
    unit_id: DbId
    priority: int = Field(default=100, ge=0, le=10000, description="lower wins among equally specific rules")
    active: bool = True


class AutoDispatchRuleUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    field_ids: list[DbId] | None = Field(default=None, max_length=50)
    area_id: DbId | None = None
    unit_id: DbId | None = None
    priority: int | None = Field(default=None, ge=0, le=10000)
    active: bool | None = None


class AutoDispatchRulePublic(SQLModel):
    id: int
    name: str
    field_ids: list[int]
    area_id: int | None
    unit_id: int
    priority: int
    active: bool
    created_at: datetime
    updated_at: datetime
