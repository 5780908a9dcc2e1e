"""Telling open pages that someone's work changed, through PostgreSQL's NOTIFY.

Whoever writes a task row or an in-app notification calls `announce` in the same transaction:
PostgreSQL delivers the notice at commit (never for a rolled-back write) to every API process
listening (api/live_hub.py), which wakes the Server-Sent Events streams of the people concerned.
The notice only says *whose* work changed (users, units, or a lane with no unit); each stream
then reads its own counts from the database, so a lost notice costs a delay, never a wrong count."""

from __future__ import annotations

import json
from collections.abc import Iterable

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

CHANNEL = "hotline_work"
# NOTIFY payloads must stay under 8000 bytes: past this many ids, wake everyone instead.
MAX_IDS = 500


def payload(users: Iterable[int | None] = (), units: Iterable[int | None] = (), everyone: bool = False) -> str:
    user_ids = sorted({u for u in users if u is not None})
    unit_ids = sorted({u for u in units if u is not None})
    if everyone or len(user_ids) + len(unit_ids) > MAX_IDS:
        return json.dumps({"all": True})
    return json.dumps({"u": user_ids, "g": unit_ids}, separators=(",", ":"))


async def announce(session: AsyncSession, users: Iterable[int | None] = (), units: Iterable[int | None] = (),
                   everyone: bool = False) -> None:
    """Queue a notice for these users and units (delivered when the transaction commits)."""
    await session.exec(sa.select(sa.func.pg_notify(CHANNEL, payload(users, units, everyone))))  # type: ignore[call-overload]


def concerns(notice: dict, user_id: int | None, unit_id: int | None) -> bool:
    """Whether a notice (the decoded payload) is about this person's work."""
    return bool(notice.get("all")) or user_id in notice.get("u", ()) or (unit_id is not None and unit_id in notice.get("g", ()))
