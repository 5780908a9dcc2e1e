"""State of each component, for /readyz and `hotline doctor`: what is wrong and how to fix it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from core.ports import SearchIndex
from core.settings import Settings


@dataclass(frozen=True)
class ComponentState:
    name: str
    ok: bool
    required: bool
    detail: str
    fix: str | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


async def check_database(engine: AsyncEngine) -> ComponentState:
    try:
        async with asyncio.timeout(3):
            async with engine.connect() as conn:
                version = (await conn.execute(sa.text("SHOW server_version"))).scalar_one()
                head = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar_one_or_none()
        if head is None:
            return ComponentState("database", False, True, f"PostgreSQL {version}, schema not migrated", "run `hotline migrate`")
        return ComponentState("database", True, True, f"PostgreSQL {version}, schema {head}")
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return ComponentState("database", False, True, f"cannot reach PostgreSQL: {type(exc).__name__}: {str(exc)[:200]}",
                              "start it with `hotline up`, or check HOTLINE_DATABASE_URL")


async def check_temporal(client: object | None, settings: Settings) -> ComponentState:
    target = settings.temporal_address or "embedded"
    if client is None:
        return ComponentState("temporal", False, True, f"not connected ({target})",
                              "start it with `hotline up`, or check HOTLINE_TEMPORAL_ADDRESS")
    try:
        async with asyncio.timeout(3):
            await client.workflow_service.get_system_info(GetSystemInfoRequest())  # type: ignore[attr-defined]
        return ComponentState("temporal", True, True, f"connected to {client.service_client.config.target_host}")  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001
        return ComponentState("temporal", False, True, f"not answering: {type(exc).__name__}",
                              "check that the Temporal server runs and HOTLINE_TEMPORAL_ADDRESS is right")


async def check_search(settings: Settings, reader: Callable[[], Awaitable[SearchIndex]] | None = None) -> ComponentState:
    """The knowledge base's search index answers (not required: the rest works without it).
    `reader` gives the serving process's own index reader; without one (`hotline doctor`) a
    reader is opened for the check and closed."""
    from search import open_search_index

    where = f"Meilisearch at {settings.meilisearch_url}" if settings.meilisearch_url else \
        f"embedded index in {settings.search_dir}"
    try:
        async with asyncio.timeout(3):
            index = await reader() if reader is not None else open_search_index(settings, writer=False)
            try:
                documents = await index.count()
            finally:
                if reader is None:
                    await index.close()
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return ComponentState("search", False, False, f"{where}: {type(exc).__name__}: {str(exc)[:200]}",
                              "check HOTLINE_MEILISEARCH_URL and its key" if settings.meilisearch_url
                              else "run `hotline search reindex`")
    return ComponentState("search", True, False, f"{where}, {documents} documents")


async def check_pbx(settings: Settings) -> ComponentState:
    if not settings.ari_url:
        return ComponentState("pbx", True, False, "PBX not connected: telephony is off, everything else works",
                              "set HOTLINE_ARI_URL, HOTLINE_ARI_USER and HOTLINE_ARI_PASSWORD to connect Asterisk")
    from telephony.ari_client import AriClient, AriError, PbxUnreachable

    password = settings.ari_password.get_secret_value() if settings.ari_password else ""
    client = AriClient(settings.ari_url, settings.ari_user or "hotline", password, app=settings.ari_app, timeout=2.0)
    try:
        info = await client.info()
    except (AriError, PbxUnreachable) as exc:
        return ComponentState("pbx", False, False, f"Asterisk ARI at {settings.ari_url} does not answer: {exc}",
                              "check that Asterisk runs, res_ari is loaded and the ARI user and password match")
    finally:
        await client.aclose()
    version = (info.get("system") or {}).get("version", "?") if isinstance(info, dict) else "?"
    return ComponentState("pbx", True, False, f"Asterisk {version} ARI at {settings.ari_url}")


def check_sms(settings: Settings) -> ComponentState:
    if settings.sms_gateway == "console":
        note = "console gateway: messages are logged, not sent"
        return ComponentState("sms", not settings.is_production, False, note,
                              "configure an SMS provider (Twilio or a brandname HTTP provider) for production")
    return ComponentState("sms", True, False, f"gateway {settings.sms_gateway}")


async def all_components(engine: AsyncEngine, temporal: object | None, settings: Settings,
                         search_reader: Callable[[], Awaitable[SearchIndex]] | None = None) -> list[ComponentState]:
    db, tp = await asyncio.gather(check_database(engine), check_temporal(temporal, settings))
    return [db, tp, await check_search(settings, search_reader), await check_pbx(settings), check_sms(settings)]
