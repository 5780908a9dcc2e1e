"""Roles with their menus (PERM-04) and permission groups of roles (PERM-05).

A user belongs to groups; a group grants roles; a role is a set of menu entries and the
Casbin subject its policies are written for.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict
from sqlmodel import Field, SQLModel

from core.models.base import created_at_field, updated_at_field
from core.types import Code, DbId, IconName, LocalPath, Name, ShortText


class Role(SQLModel, table=True):
    __tablename__ = "role"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=50, unique=True)
    name: str = Field(max_length=255)
    description: str | None = Field(default=None, max_length=500)
    is_system: bool = False
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class Menu(SQLModel, table=True):
    __tablename__ = "menu"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=50, unique=True)
    name: str = Field(max_length=255)
    url: str | None = Field(default=None, max_length=255)
    icon: str | None = Field(default=None, max_length=64)
    parent_id: int | None = Field(default=None, foreign_key="menu.id", ondelete="CASCADE", index=True)
    sort_order: int = 0
    created_at: datetime = created_at_field()


class RoleMenu(SQLModel, table=True):
    __tablename__ = "role_menu"
    role_id: int = Field(foreign_key="role.id", primary_key=True, ondelete="CASCADE")
    menu_id: int = Field(foreign_key="menu.id", primary_key=True, ondelete="CASCADE")


class PermissionGroup(SQLModel, table=True):
    __tablename__ = "permission_group"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=50, unique=True)
    name: str = Field(max_length=255)
    description: str | None = Field(default=None, max_length=500)
    unit_id: int | None = Field(default=None, foreign_key="org_unit.id", ondelete="SET NULL",
                                description="organization that manages this group (PERM-06)")
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class GroupRole(SQLModel, table=True):
    __tablename__ = "group_role"
    group_id: int = Field(foreign_key="permission_group.id", primary_key=True, ondelete="CASCADE")
    role_id: int = Field(foreign_key="role.id", primary_key=True, ondelete="CASCADE")


class UserGroup(SQLModel, table=True):
    __tablename__ = "user_group"
    user_id: int = Field(foreign_key="app_user.id", primary_key=True, ondelete="CASCADE")
    group_id: int = Field(foreign_key="permission_group.id", primary_key=True, ondelete="CASCADE", index=True)


class RoleCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")
    code: Code
    name: Name
    description: ShortText | None = None
    menu_ids: list[DbId] = Field(default_factory=list, max_length=200)
    inherits: str | None = Field(default=None, max_length=50, description="a system role whose permissions this role gets")


class RoleUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    description: ShortText | None = None
    menu_ids: list[DbId] | None = Field(default=None, max_length=200)
    inherits: str | None = Field(default=None, max_length=50)


class RolePublic(SQLModel):
    id: int
    code: str
    name: str
    description: str | None
    is_system: bool
    menu_ids: list[DbId] = []


class MenuCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")
    code: Code
    name: Name
    url: LocalPath | None = None
    icon: IconName | None = None
    parent_id: DbId | None = None
    sort_order: int = Field(default=0, ge=0, le=10000)


class MenuUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    url: LocalPath | None = None
    icon: IconName | None = None
    parent_id: DbId | None = None
    sort_order: int | None = Field(default=None, ge=0, le=10000)


class MenuPublic(SQLModel):
    id: int
    code: str
    name: str
    url: str | None
    icon: str | None
    parent_id: int | None
    sort_order: int


class GroupCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")
    code: Code
    name: Name
    description: ShortText | None = None
    unit_id: DbId | None = None
    role_ids: list[DbId] = Field(default_factory=list, max_length=50)


class GroupUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    description: ShortText | None = None
    unit_id: DbId | None = None
    role_ids: list[DbId] | None = Field(default=None, max_length=50)


class GroupPublic(SQLModel):
    id: int
    code: str
    name: str
    description: str | None
    unit_id: int | None
    role_ids: list[DbId] = []
