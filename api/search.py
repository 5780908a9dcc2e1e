"""The API process's side of the knowledge-base search: a reader of the index (the worker is
the only writer), and the request to index a question after a change is committed."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

from fastapi import Depends
from temporalio.service import RPCError

from api.deps import ServicesDep
from api.services import AppServices
from core.commands import SYNC_KB_INDEX_WORKFLOW
from core.models.kb import KbQuestion
from core.ports import SearchIndex

log = logging.getLogger(__name__)

INDEX_KEY = "search_index"


async def get_search_index(services: ServicesDep) -> SearchIndex:
    """The index reader the entry point wired, else one opened on the configured backend."""
    index = services.extra.get(INDEX_KEY)
    if index is None:
        from search import open_search_index

        index = services.extra[INDEX_KEY] = open_search_index(services.settings, writer=False)
    return index  # type: ignore[no-any-return]


SearchIndexDep = Annotated[SearchIndex, Depends(get_search_index)]


async def request_indexing(services: AppServices, question: KbQuestion) -> None:
    """After the change is committed: ask the worker to index what is pending. Indexing is
    idempotent (a run finds nothing left to do), so every request may start its own run; the id
    names the question and revision for whoever reads the history. If Temporal cannot be reached the change
    stays pending (`indexed_revision` behind) and the next run, at the latest the worker's start,
    indexes it; the request itself still succeeds."""
    if services.temporal is None:
        log.warning("search index: Temporal not connected; question %s stays pending", question.id)
        return
    try:
        await services.temporal.start_workflow(
            SYNC_KB_INDEX_WORKFLOW, "pending",
            id=f"kb-index-{question.id}-r{question.revision}-{uuid.uuid4().hex[:12]}",
            task_queue=services.settings.task_queue, request_eager_start=True)
    except RPCError as exc:
        log.warning("search index: could not start indexing of question %s (%s); it stays pending", question.id, exc)


async def close_search_index(services: AppServices) -> None:
    index = services.extra.pop(INDEX_KEY, None)
    if index is not None:
        await index.close()
