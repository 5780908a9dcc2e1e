"""One LISTEN connection per API process, fanning PostgreSQL's notices (core/services/live.py)
out to the Server-Sent Events streams of the people they concern.

The connection is opened when the first stream subscribes and closed with the app. If it drops
(database restart, network), every stream is woken so it re-reads its counts, and the hub
reconnects with a growing pause; streams also re-read on their own every `FALLBACK_SECONDS`, so
a notice lost while reconnecting is seen late, never missed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field

import psycopg

from core.db import libpq_url
from core.services import live

log = logging.getLogger(__name__)

HUB_KEY = "live_hub"
RECONNECT_MAX_SECONDS = 10.0


@dataclass(eq=False)
class Subscription:
    user_id: int | None
    unit_id: int | None
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class LiveHub:
    def __init__(self, database_url: str) -> None:
        self._conninfo = libpq_url(database_url)
        self._subscriptions: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def subscribe(self, user_id: int | None, unit_id: int | None) -> Subscription:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen(), name="live-hub")
        subscription = Subscription(user_id, unit_id)
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    def dispatch(self, raw: str) -> None:
        try:
            notice = json.loads(raw)
        except ValueError:
            log.warning("live notice that is not JSON ignored")
            return
        for subscription in list(self._subscriptions):
            if live.concerns(notice, subscription.user_id, subscription.unit_id):
                subscription.wake.set()

    def _wake_all(self) -> None:
        for subscription in list(self._subscriptions):
            subscription.wake.set()

    async def _listen(self) -> None:
        pause = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {live.CHANNEL}")
                    self.connected.set()
                    pause = 0.5
                    self._wake_all()  # whatever happened while not listening
                    async for notice in conn.notifies():
                        self.dispatch(notice.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: tell the streams, try again
                log.warning("live updates: listening connection lost (%s); reconnecting", type(exc).__name__)
            self.connected.clear()
            self._wake_all()
            await asyncio.sleep(pause)
            pause = min(pause * 2, RECONNECT_MAX_SECONDS)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        self.connected.clear()
