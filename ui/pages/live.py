"""Live updates of the work screens over Server-Sent Events: `/events` tells an open page when
the person's task counts change (a new task, one taken or done) or a notification arrives (an
auto-dispatched ticket, CRM-38), so nobody has to reload to see new work.

A stream sleeps until PostgreSQL says this person's work changed (LISTEN/NOTIFY: the writers
call core.services.live.announce in their transaction; api/live_hub.py listens), then reads the
person's counts in a short transaction of its own (no pooled connection is held while waiting).
It works the same with one API process or several, since every process listens. It also reads
every `FALLBACK_SECONDS` in case a notice was lost while the listener reconnected. A stream ends
after a few minutes; the browser's EventSource reconnects by itself, which re-checks the sign-in."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from api.deps import Allowed, ServicesDep
from api.live_hub import HUB_KEY, LiveHub
from core.services import inbox, notifications
from core.services.actor import Actor
from core.services.crud import Page
from ui.pages.common import page_router

router = page_router()

FALLBACK_SECONDS = 30.0
SETTLE_SECONDS = 0.2  # one read for a burst of notices (a step closes a task and opens the next)
STREAM_SECONDS = 300.0
RETRY_MS = 3000


def _event(name: str, data: dict[str, object]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def _snapshot(services: ServicesDep, actor: Actor) -> tuple[dict[str, int], dict[str, object] | None]:
    async with services.sessions() as session:
        counts = await inbox.inbox_counts(session, actor)
        counts["unread"] = await notifications.unread_count(session, actor)
        latest = (await notifications.list_mine(session, actor, Page(1, 1), unread_only=True)).items
    note = latest[0] if latest else None
    return counts, ({"id": note["id"], "title": note["title"], "ticket_code": note["ticket_code"]} if note else None)


def hub_of(services: ServicesDep) -> LiveHub:
    hub = services.extra.get(HUB_KEY)
    if hub is None:
        hub = services.extra[HUB_KEY] = LiveHub(services.settings.database_url or "")
    return hub


async def _stream(request: Request, services: ServicesDep, actor: Actor) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MS}\n\n"
    hub = hub_of(services)
    subscription = hub.subscribe(actor.user_id, actor.unit_id)
    previous: dict[str, int] | None = None
    seen_note: object = None
    loop = asyncio.get_running_loop()
    ends = loop.time() + STREAM_SECONDS
    try:
        while loop.time() < ends and not await request.is_disconnected():
            subscription.wake.clear()
            counts, note = await _snapshot(services, actor)
            if counts != previous:
                yield _event("counts", {**counts, "more": previous is not None and counts["waiting"] > previous["waiting"]})
            if note is not None and note["id"] != seen_note and previous is not None:
                yield _event("notification", note)
            seen_note = note["id"] if note else seen_note
            previous = counts
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(subscription.wake.wait(), timeout=min(FALLBACK_SECONDS, max(0.0, ends - loop.time())))
                await asyncio.sleep(SETTLE_SECONDS)
    finally:
        hub.unsubscribe(subscription)


@router.get("/events")
async def events(request: Request, services: ServicesDep, actor: Allowed("inbox", "read")) -> Response:
    return StreamingResponse(_stream(request, services, actor), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
