"""Organisation tree: organization -> departments -> sub-units / communes (PERM-06, PERM-07)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from pydantic import ConfigDict
from sqlmodel import Field, SQLModel

from core.models.base import created_at_field, updated_at_field
from core.types import Code, DbId, Name, Phone, ShortText


class OrgUnitKind(StrEnum):
    organization = "organization"
    department = "department"
    sub_unit = "sub_unit"
    commune = "commune"


class OrgUnit(SQLModel, table=True):
    __tablename__ = "org_unit"
    __table_args__ = (
        sa.Index("ix_org_unit_path_prefix", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=50, unique=True)
    name: str = Field(max_length=255)
    kind: OrgUnitKind = Field(sa_type=sa.String(20))
    parent_id: int | None = Field(default=None, foreign_key="org_unit.id", ondelete="RESTRICT", index=True)
    path: str = Field(default="/", max_length=512)
    # use_alter: app_user and org_unit reference each other.
    manager_id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.Integer, sa.ForeignKey("app_user.id", ondelete="SET NULL", use_alter=True,
                                                      name="fk_org_unit_manager_id_app_user")),
    )
    area_id: int | None = Field(default=None, foreign_key="area.id", ondelete="SET NULL")
    phone: str | None = Field(default=None, max_length=20)
    description: str | None = Field(default=None, max_length=500)
    active: bool = True
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class OrgUnitCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")
    code: Code
    name: Name
    kind: OrgUnitKind
    parent_id: DbId | None = None
    manager_id: DbId | None = None
    area_id: DbId | None = None
    phone: Phone | None = None
    description: ShortText | None = None
    active: bool = True


class OrgUnitUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")
    code: Code | None = None
    name: Name | None = None
    kind: OrgUnitKind | None = None
    parent_id: DbId | None = None
    manager_id: DbId | None = None
    area_id: DbId | None = None
    phone: Phone | None = None
    description: ShortText | None = None
    active: bool | None = None


class OrgUnitPublic(SQLModel):
    id: int
    code: str
    name: str
    kind: OrgUnitKind
    parent_id: int | None
    path: str
    manager_id: int | None
    area_id: int | None
    phone: str | None = None
    description: str | None
    active: bool
