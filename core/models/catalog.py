"""Reference catalogues: areas (khu vực, CRM-26…29) and ticket fields (lĩnh vực, CRM-20…25, PERM-11)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import sqlalchemy as sa
from pydantic import ConfigDict, StringConstraints
from sqlmodel import Field, SQLModel

from core.models.base import created_at_field, updated_at_field
from core.types import AreaCode, Code, DbId, IconName, Name, ShortText


class AreaLevel(StrEnum):
    province = "province"  # tỉnh / thành phố trực thuộc trung ương
    district = "district"  # huyện / quận / thị xã / thành phố thuộc tỉnh (before 1 Jul 2025 only)
    commune = "commune"  # xã / phường / thị trấn / đặc khu


AreaSchemeName = Annotated[str, StringConstraints(pattern=r"^(2025|legacy)$")]


class Area(SQLModel, table=True):
    __tablename__ = "area"
    __table_args__ = (
        sa.UniqueConstraint("scheme", "code", name="uq_area_scheme_code"),
        sa.Index("ix_area_path_prefix", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, description="national administrative code (GSO)")
    name: str = Field(max_length=255)
    kind: str | None = Field(default=None, max_length=50, description="Tỉnh, Thành phố, Phường, Xã, Đặc khu…")
    level: AreaLevel = Field(sa_type=sa.String(20))
    scheme: str = Field(default="2025", max_length=10, description="2025 (two levels) or legacy (three levels)")
    parent_id: int | None = Field(default=None, foreign_key="area.id", ondelete="RESTRICT", index=True)
    path: str = Field(default="/", max_length=512)
    active: bool = True
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class AreaCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")
    code: AreaCode
    name: Name
    kind: str | None = Field(default=None, max_length=50)
    level: AreaLevel
    parent_id: DbId | None = None
    scheme: AreaSchemeName | None = Field(default=None, description="map of a new province (2025 by default); "
                                          "an area under a parent is on its parent's map")
    active: bool = True


class AreaUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")
    code: AreaCode | None = None
    name: Name | None = None
    kind: str | None = Field(default=None, max_length=50)
    active: bool | None = None


class AreaPublic(SQLModel):
    id: int
    code: str
    name: str
    kind: str | None
    level: AreaLevel
    scheme: str
    parent_id: int | None
    path: str
    active: bool


class TicketField(SQLModel, table=True):
    """A field (lĩnh vực) a ticket is about, as a tree; its SLA drives the processing timer."""

    __tablename__ = "ticket_field"
    __table_args__ = (
        sa.CheckConstraint("sla_hours IS NULL OR (sla_hours > 0 AND sla_hours <= 8760)", name="sla_hours_range"),
        sa.Index("ix_ticket_field_path_prefix", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=50, unique=True)
    name: str = Field(max_length=255)
    description: str | None = Field(default=None, max_length=1000)
    icon: str | None = Field(default=None, max_length=64)
    sla_hours: int | None = Field(default=None)
    sla_working_hours: bool = Field(default=False, description="count office hours on the holiday calendar")
    parent_id: int | None = Field(default=None, foreign_key="ticket_field.id", ondelete="RESTRICT", index=True)
    path: str = Field(default="/", max_length=512)
    area_id: int | None = Field(default=None, foreign_key="area.id", ondelete="SET NULL")
    sort_order: int = 0
    active: bool = True
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class TicketFieldCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")
    code: Code
    name: Name
    description: ShortText | None = None
    icon: IconName | None = None
    sla_hours: int | None = Field(default=None, gt=0, le=8760)
    sla_working_hours: bool = False
    parent_id: DbId | None = None
    area_id: DbId | None = None
    sort_order: int = Field(default=0, ge=0, le=10000)
    active: bool = True


class TicketFieldUpdate(SQLModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    description: ShortText | None = None
    icon: IconName | None = None
    sla_hours: int | None = Field(default=None, gt=0, le=8760)
    sla_working_hours: bool | None = None
    area_id: DbId | None = None
    sort_order: int | None = Field(default=None, ge=0, le=10000)
    active: bool | None = None


class TicketFieldPublic(SQLModel):
    id: int
    code: str
    name: str
    description: str | None
    icon: str | None
    sla_hours: int | None
    sla_working_hours: bool
    parent_id: int | None
    path: str
    area_id: int | None
    sort_order: int
    active: bool
