"""Shared building blocks of the admin use cases: lookups, uniqueness, trees, paging."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlmodel import SQLModel, col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import Conflict, InUse, NotFound, ValidationFailed
from core.models.base import tree_path

T = TypeVar("T", bound=SQLModel)


@dataclass(frozen=True)
class Page:
    page: int = 1
    per_page: int = 50

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass(frozen=True)
class PageResult(Generic[T]):
    total: int
    page: int
    per_page: int
    items: list[T]


async def paged(session: AsyncSession, stmt: Any, page: Page) -> tuple[int, list[Any]]:
    total = (await session.exec(select(func.count()).select_from(stmt.order_by(None).subquery()))).one()
    rows = (await session.exec(stmt.offset(page.offset).limit(page.per_page))).all()
    return total, list(rows)


async def get_or_404(session: AsyncSession, model: type[T], obj_id: int, what: str) -> T:
    obj = await session.get(model, obj_id)
    if obj is None:
        raise NotFound(what)
    return obj


async def ensure_unique(session: AsyncSession, model: type[T], field: str, value: object, what: str,
                        exclude_id: int | None = None) -> None:
    if value is None:
        return
    column = getattr(model, field)
    stmt = select(model).where(column == value)
    if exclude_id is not None:
        stmt = stmt.where(col(model.id) != exclude_id)  # type: ignore[attr-defined]
    if (await session.exec(stmt)).first() is not None:
        raise Conflict(what, details=[{"field": field, "message": f"{value} already exists"}])


async def ensure_exists(session: AsyncSession, model: type[T], obj_id: int | None, field: str) -> T | None:
    if obj_id is None:
        return None
    obj = await session.get(model, obj_id)
    if obj is None:
        raise ValidationFailed(details=[{"field": field, "message": f"{obj_id} does not exist"}])
    return obj


def apply(obj: T, data: dict[str, Any]) -> T:
    for key, value in data.items():
        setattr(obj, key, value)
    return obj


async def place_in_tree(session: AsyncSession, model: type[T], node: T, parent_id: int | None) -> None:
    """Set a node's parent and materialized path (and its descendants' paths), refusing cycles.
    The node must already have an id (flush first)."""
    parent = await ensure_exists(session, model, parent_id, "parent_id")
    parent_path = getattr(parent, "path", None)
    node_id = node.id  # type: ignore[attr-defined]
    old_path = getattr(node, "path", None)
    if parent_path and f"/{node_id}/" in parent_path:
        raise ValidationFailed(details=[{"field": "parent_id", "message": "a node cannot be moved under itself"}])
    new_path = tree_path(parent_path, node_id)
    node.parent_id = parent_id  # type: ignore[attr-defined]
    node.path = new_path  # type: ignore[attr-defined]
    session.add(node)
    if old_path and old_path not in ("/", new_path):
        table = model.__table__  # type: ignore[attr-defined]
        await session.exec(  # type: ignore[call-overload]
            sa.update(table).where(table.c.path.like(old_path + "%"), table.c.id != node_id)
            .values(path=sa.func.concat(new_path, sa.func.substr(table.c.path, len(old_path) + 1)))
        )


async def has_children(session: AsyncSession, model: type[T], node_id: int) -> bool:
    stmt = select(model).where(col(model.parent_id) == node_id).limit(1)  # type: ignore[attr-defined]
    return (await session.exec(stmt)).first() is not None


@asynccontextmanager
async def in_use_is_a_conflict(session: AsyncSession, what: str) -> AsyncIterator[None]:
    """Deletes inside this block that hit a row still referenced elsewhere give a clear 409
    (InUse), not a 500; the block is a savepoint, so the session stays usable."""
    try:
        async with session.begin_nested():
            yield
    except sa.exc.IntegrityError as exc:
        raise InUse(what) from exc


async def delete_or_conflict(session: AsyncSession, obj: SQLModel, what: str) -> None:
    """Delete a row; a row still referenced elsewhere gives a clear 409, not a 500."""
    async with in_use_is_a_conflict(session, what):
        await session.delete(obj)
        await session.flush()
