"""Append-only audit log (who, what, when, before/after) of every admin change and of every
access to personal data. The migration installs a trigger that refuses UPDATE and DELETE."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from core.models.base import created_at_field


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.BigInteger)
    at: datetime = created_at_field()
    actor_id: int | None = Field(default=None, index=True)
    actor_name: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=50)
    entity: str = Field(max_length=50)
    entity_id: str | None = Field(default=None, max_length=64)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSONB)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSONB)
    request_id: str | None = Field(default=None, max_length=64)
    ip: str | None = Field(default=None, max_length=64)


class AuditLogPublic(SQLModel):
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str | None
    action: str
    entity: str
    entity_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
    ip: str | None
