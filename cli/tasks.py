"""Database chores shared by CLI commands: migrate, seed, create an admin."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from core import migrations
from core.db import make_async_engine, make_sessionmaker, unit_of_work
from core.models import PermissionGroup, User, UserGroup
from core.models.users import UserCreate
from core.services import seed as seeding
from core.services.actor import system_actor
from core.services.users import create_user, set_password

T = TypeVar("T")
Progress = Callable[[str, int, int], None]


def in_transaction(database_url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one use case in one transaction on a short-lived engine."""

    async def main() -> T:
        engine = make_async_engine(database_url, pool_size=2, max_overflow=0)
        try:
            async with unit_of_work(make_sessionmaker(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def migrate(database_url: str) -> None:
    migrations.upgrade(database_url)


def seed(database_url: str, scheme: str, province_code: str, demo: bool,
         progress: Progress | None = None) -> list[seeding.DemoUser]:
    async def work(session: AsyncSession) -> list[seeding.DemoUser]:
        await seeding.seed_system(session, scheme, province_code, progress)
        return await seeding.seed_demo(session) if demo else []

    return in_transaction(database_url, work)


def create_admin(database_url: str, username: str, password: str, full_name: str) -> str:
    """Create an administrator, or reset the password of an existing one; returns what was done."""

    async def work(session: AsyncSession) -> str:
        actor = system_actor("create-admin")
        await seeding.seed_access(session)
        group = (await session.exec(select(PermissionGroup).where(PermissionGroup.code == "QTHT"))).one()
        existing = (await session.exec(select(User).where(User.username == username.strip().lower()))).first()
        if existing is not None:
            await set_password(session, actor, existing, password)
            existing.active = True
            session.add(existing)
            if (await session.get(UserGroup, (existing.id, group.id))) is None:
                session.add(UserGroup(user_id=existing.id, group_id=group.id))  # type: ignore[arg-type]
            return "updated"
        await create_user(session, actor, UserCreate(username=username, password=password, full_name=full_name,
                                                     group_ids=[group.id], is_system=True))  # type: ignore[list-item]
        return "created"

    return in_transaction(database_url, work)
