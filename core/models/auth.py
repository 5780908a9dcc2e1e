"""Sign-in sessions (bearer tokens and UI cookies) and one-time password-reset tokens.

Only sha256 digests of tokens are stored, so a database leak reveals no usable token."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models.base import created_at_field, tz_field


class SessionKind(StrEnum):
    bearer = "bearer"
    cookie = "cookie"


class AuthSession(SQLModel, table=True):
    __tablename__ = "auth_session"
    id: int | None = Field(default=None, primary_key=True, sa_type=sa.BigInteger)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE", index=True)
    kind: SessionKind = Field(sa_type=sa.String(10))
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    revoked_at: datetime | None = tz_field()
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=255)


class PasswordReset(SQLModel, table=True):
    __tablename__ = "password_reset"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE", index=True)
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    used_at: datetime | None = tz_field()
