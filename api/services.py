"""What the app needs at run time, built by the entry point and kept on app.state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.auth_cache import AuthCache
from core.authz import Authorizer
from core.ports import Notifier
from core.settings import Settings


@dataclass
class AppServices:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    authorizer: Authorizer
    notifier: Notifier
    auth_cache: AuthCache = field(default_factory=lambda: AuthCache(ttl=5.0))
    temporal: Any = None  # temporalio.client.Client once connected
    extra: dict[str, Any] = field(default_factory=dict)
