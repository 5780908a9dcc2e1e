"""Users of the platform: staff, system operators and API clients (PERM-08, PERM-09)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from pydantic import ConfigDict
from sqlmodel import Field, SQLModel

from core.models.base import created_at_field, tz_field, updated_at_field
from core.types import Code, DbId, Email, Locale, Name, Password, Phone, ShortText, Username


class User(SQLModel, table=True):
    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    code: str | None = Field(default=None, max_length=50, unique=True)
    full_name: str = Field(max_length=255)
    phone: str | None = Field(default=None, max_length=20, index=True)
    email: str | None = Field(default=None, max_length=254)
    address: str | None = Field(default=None, max_length=500)
    unit_id: int | None = Field(default=None, foreign_key="org_unit.id", ondelete="RESTRICT", index=True)
    password_hash: str = Field(max_length=255)
    active: bool = True
    is_system: bool = Field(default=False, description="system operator account (PERM-09)")
    locale: str = Field(default="vi", max_length=5)
    failed_logins: int = 0
    locked_until: datetime | None = tz_field()
    last_login_at: datetime | None = tz_field()
    password_changed_at: datetime | None = tz_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class UserCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")
    username: Username
    password: Password
    full_name: Name
    code: Code | None = None
    phone: Phone | None = None
    email: Email | None = None
    address: ShortText | None = None
    unit_id: DbId | None = None
    group_ids: list[DbId] = Field(default_factory=list, max_length=50)
    active: bool = True
    is_system: bool = False


class UserUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")
    full_name: Name | None = None
    code: Code | None = None
    phone: Phone | None = None
    email: Email | None = None
    address: ShortText | None = None
    unit_id: DbId | None = None
    group_ids: list[DbId] | None = Field(default=None, max_length=50)
    active: bool | None = None
    is_system: bool | None = None


class ProfileUpdate(SQLModel):
    """What a user may change on their own account (PERM-02)."""

    model_config = ConfigDict(extra="forbid")
    full_name: Name | None = None
    phone: Phone | None = None
    email: Email | None = None
    address: ShortText | None = None
    locale: Locale | None = None


class PasswordChange(SQLModel):
    model_config = ConfigDict(extra="forbid")
    current_password: Password
    new_password: Password
    new_password_confirm: Password


class UserPublic(SQLModel):
    id: int
    username: str
    code: str | None
    full_name: str
    phone: str | None
    email: str | None
    address: str | None
    unit_id: int | None
    active: bool
    is_system: bool
    locale: str
    locked_until: datetime | None = None
    last_login_at: datetime | None = None
    group_ids: list[DbId] = []
    roles: list[str] = []


__all__ = ["PasswordChange", "ProfileUpdate", "User", "UserCreate", "UserPublic", "UserUpdate", "sa"]
