"""Casbin policy rows (the casbin-sqlalchemy-adapter's table, owned by our migrations)."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class CasbinRule(SQLModel, table=True):
    __tablename__ = "casbin_rule"
    id: int | None = Field(default=None, primary_key=True)
    ptype: str = Field(max_length=255)
    v0: str | None = Field(default=None, max_length=255)
    v1: str | None = Field(default=None, max_length=255)
    v2: str | None = Field(default=None, max_length=255)
    v3: str | None = Field(default=None, max_length=255)
    v4: str | None = Field(default=None, max_length=255)
    v5: str | None = Field(default=None, max_length=255)

    def __str__(self) -> str:
        values = [v for v in (self.v0, self.v1, self.v2, self.v3, self.v4, self.v5) if v is not None]
        return ", ".join([self.ptype, *values])
