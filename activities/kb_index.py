"""The worker's side of the knowledge-base search index: the only writer."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from core.commands import SYNC_KB_INDEX_ACTIVITY
from core.ports import SearchIndex
from core.services import kb_indexing


class KbIndexActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], index: SearchIndex) -> None:
        self.sessions = sessions
        self.index = index

    @activity.defn(name=SYNC_KB_INDEX_ACTIVITY)
    async def sync(self, mode: str = "pending") -> int:
        """Index what is pending; with `reconcile` everything again if the index lost documents,
        with `rebuild` everything again. Returns how many questions were indexed or removed."""
        if mode not in ("pending", "reconcile", "rebuild"):
            raise ValueError(f"unknown mode {mode!r}")
        beat = lambda _: activity.heartbeat()  # noqa: E731
        if mode == "pending":
            report = await kb_indexing.sync_pending(self.sessions, self.index, progress=beat)
        else:
            report = await kb_indexing.reconcile(self.sessions, self.index, rebuild=mode == "rebuild", progress=beat)
        return report.indexed + report.removed
