"""Shared column helpers for SQLModel tables."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Field

# Deterministic constraint names so Alembic autogenerate and hand-written migrations agree.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def created_at_field() -> datetime:
    return Field(
        default_factory=utcnow,
        sa_type=sa.DateTime(timezone=True),
        sa_column_kwargs={"server_default": sa.func.now(), "nullable": False},
    )


def updated_at_field() -> datetime:
    return Field(
        default_factory=utcnow,
        sa_type=sa.DateTime(timezone=True),
        sa_column_kwargs={"server_default": sa.func.now(), "nullable": False, "onupdate": utcnow},
    )


def tz_field(nullable: bool = True, index: bool = False) -> datetime | None:
    return Field(default=None, sa_type=sa.DateTime(timezone=True), nullable=nullable, index=index)


def tree_path(parent_path: str | None, node_id: int) -> str:
    """Materialized path of a tree node: '/1/5/9/'; a subtree is `path LIKE '/1/5/%'`."""
    return f"{parent_path or '/'}{node_id}/"
