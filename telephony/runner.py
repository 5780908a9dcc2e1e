"""Running the `hotline` Stasis application beside the worker (issue 7).

Exactly one process may drive the call center: Asterisk sends the application's events to every
socket connected under its name, and two ACDs would ring agents twice. Each worker therefore
first takes a PostgreSQL advisory lock on a connection of its own and runs the application only
while holding it; another worker waits and takes over if the holder dies (its connection, and
so its lock, goes with it).

The same connection LISTENs on `calls.PBX_CHANNEL`: when the API records an agent's log-in,
log-out, pause or ready, the application re-reads the agents at once (and it re-reads them on
every reconnection to Asterisk anyway)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import timedelta

import psycopg
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import libpq_url, unit_of_work
from core.models.calls import AgentStatus
from core.services import calls
from core.services.shifts import end_overdue_logins, parse_shifts
from core.settings import Settings
from telephony.ari_client import AriClient
from telephony.stasis import CallCenter

log = logging.getLogger(__name__)

LEADER_LOCK = 1022_0007  # pg_advisory_lock key of the call center's single driver
SHIFT_CHECK_SECONDS = 60.0


def ari_client(settings: Settings) -> AriClient:
    if not settings.ari_url:
        raise ValueError("HOTLINE_ARI_URL is not set: telephony is off")
    password = settings.ari_password.get_secret_value() if settings.ari_password else ""
    return AriClient(settings.ari_url, settings.ari_user or "hotline", password, app=settings.ari_app)


async def run_call_center(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Until cancelled: wait to lead, then run the application (see the module docstring)."""
    async with await psycopg.AsyncConnection.connect(libpq_url(settings.database_url or ""),
                                                     autocommit=True) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (LEADER_LOCK,))
        await conn.execute(f"LISTEN {calls.PBX_CHANNEL}")
        log.info("this process drives the call center (ARI %s, application %s)", settings.ari_url, settings.ari_app)
        ari = ari_client(settings)
        center = CallCenter(ari, sessions, agent_endpoint=settings.ari_agent_endpoint,
                            trunk_endpoint=settings.ari_trunk_endpoint, recordings_dir=settings.data_dir / "recordings")
        app_task = asyncio.create_task(center.run(), name="call-center")
        listen_task = asyncio.create_task(follow_agent_changes(conn, center), name="call-center-listen")
        shift_task = asyncio.create_task(watch_shifts(settings, sessions), name="call-center-shifts")
        tasks = (app_task, listen_task, shift_task)
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await ari.aclose()


async def follow_agent_changes(conn: psycopg.AsyncConnection, center: CallCenter) -> None:
    """The API's notices (the connection LISTENs on PBX_CHANNEL): an agent's change (the payload
    is their id) re-reads the agents; a JSON object is a command for a live call (a transfer)."""
    async for notice in conn.notifies():
        if notice.payload.startswith("{"):
            try:
                await center.command(json.loads(notice.payload))
            except ValueError:
                log.warning("unreadable call center command ignored")
        else:
            await center.agents_changed()


async def watch_shifts(settings: Settings, sessions: async_sessionmaker[AsyncSession],
                       every: float = SHIFT_CHECK_SECONDS) -> None:
    """Log out the agents whose shift ended (core.services.shifts) — the application hears it
    through the same NOTIFY as any log-out."""
    shifts = parse_shifts(settings.desk_shifts)
    grace = timedelta(minutes=settings.shift_grace_minutes)
    while True:
        try:
            async with unit_of_work(sessions) as session:
                for user_id in await end_overdue_logins(session, shifts, grace):
                    await calls.change_agent(session, user_id, AgentStatus.logged_out)
                    log.info("agent %s logged out: their shift ended", user_id)
        except Exception:  # noqa: BLE001 - checked again at the next round
            log.exception("the shift check failed")
        await asyncio.sleep(every)
