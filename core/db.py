"""Database engines and sessions (built by entry points, never at import time)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Engine, create_engine
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession


def normalize_url(url: str) -> str:
    """Accept postgres:// and postgresql:// URLs; always use the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise ValueError("HOTLINE_DATABASE_URL must be a PostgreSQL URL (postgresql://user:pass@host/db)")


def libpq_url(url: str) -> str:
    """The same database as a libpq URL, for psycopg connections of our own (LISTEN, admin)."""
    return "postgresql://" + normalize_url(url)[len("postgresql+psycopg://"):]


def make_sync_engine(url: str, **kw: object) -> Engine:
    return create_engine(normalize_url(url), pool_pre_ping=True, **kw)  # type: ignore[arg-type]


def make_async_engine(url: str, pool_size: int = 10, max_overflow: int = 20) -> AsyncEngine:
    return create_async_engine(normalize_url(url), pool_size=pool_size, max_overflow=max_overflow,
                               pool_pre_ping=False, pool_recycle=1800)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction per use case: commit on success, roll back on any error."""
    async with sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
