"""`hotline kb import FILE` and `hotline search reindex`: the knowledge base's data and index.

The index has one writer. When a system is running on this data dir (`hotline up`) or a
Temporal server is configured, the commands ask the worker to index (the `SyncKbIndex`
workflow) and follow its progress in the database; otherwise they index in this process."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
import uuid
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from cli.runtime import Runtime
from cli.tasks import in_transaction
from core.commands import SYNC_KB_INDEX_WORKFLOW
from core.db import make_async_engine, make_sessionmaker, unit_of_work
from core.services import kb_indexing
from core.services.actor import system_actor
from core.services.kb_import import ImportReport, import_procedures
from core.services.kb_procedures import ImportedProcedure, ProcedureFormatError, parse_procedures
from core.settings import Settings

DEMO_PROCEDURES = "dvc-procedures-87.json.gz"  # shipped in core/seed: the demo data of `hotline up`
NO_WORKER_TIMEOUT_S = 60.0

Progress = Callable[[int, int], None]


class KbCommandError(Exception):
    """A problem the person running the command can fix (the message says how)."""


def read_procedures(path: Path | None = None) -> list[ImportedProcedure]:
    """The procedures in a portal export (.json or .json.gz); the bundled demo file by default."""
    try:
        raw = (resources.files("core.seed") / DEMO_PROCEDURES).read_bytes() if path is None else path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        records = json.loads(raw.decode("utf-8-sig"))
    except OSError as exc:
        raise KbCommandError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError, EOFError, gzip.BadGzipFile) as exc:
        raise KbCommandError(f"{path} is not a JSON file of procedures: {exc}") from exc
    try:
        return parse_procedures(records)
    except ProcedureFormatError as exc:
        raise KbCommandError(f"{path}: {exc}") from exc


def import_file(database_url: str, procedures: list[ImportedProcedure], progress: Progress | None = None) -> ImportReport:
    async def work(session: AsyncSession) -> ImportReport:
        return await import_procedures(session, system_actor("hotline kb import"), procedures, progress)

    return in_transaction(database_url, work)


def index(settings: Settings, runtime: Runtime, mode: str, progress: Progress | None = None) -> int:
    """Bring the index up to date (`pending`) or rebuild it (`rebuild`); returns how many
    questions were indexed or removed."""
    url = runtime.database()
    if runtime.system_running() or settings.temporal_address:
        return asyncio.run(_through_worker(settings, runtime, url, mode, progress))
    return asyncio.run(_in_process(settings, url, mode, progress))


async def _to_index(sessions: Any, rebuild: bool) -> int:
    """How many questions this run will index: all of them for a rebuild (marked pending), else
    those pending."""
    async with unit_of_work(sessions) as session:
        return (await kb_indexing.mark_all_pending(session)) if rebuild else await kb_indexing.pending_count(session)


async def _in_process(settings: Settings, url: str, mode: str, progress: Progress | None) -> int:
    from search import open_search_index

    engine = make_async_engine(url, pool_size=2, max_overflow=0)
    index = open_search_index(settings, writer=True)
    try:
        sessions = make_sessionmaker(engine)
        total = await _to_index(sessions, mode == "rebuild")
        if mode == "rebuild":
            await index.rebuild([])
        report = await kb_indexing.sync_pending(sessions, index, progress=(lambda n: progress(n, total)) if progress else None)
        return report.indexed + report.removed
    finally:
        await index.close()
        await engine.dispose()


async def _through_worker(settings: Settings, runtime: Runtime, url: str, mode: str, progress: Progress | None) -> int:
    from temporalio.client import Client

    address = runtime.temporal(ui=False)
    try:
        client = await Client.connect(address, namespace=settings.temporal_namespace)
    except RuntimeError as exc:
        raise KbCommandError(f"cannot reach Temporal at {address}: {exc}") from exc
    engine = make_async_engine(url, pool_size=2, max_overflow=0)
    try:
        sessions = make_sessionmaker(engine)
        total = await _to_index(sessions, mode == "rebuild")
        handle = await client.start_workflow(SYNC_KB_INDEX_WORKFLOW, "rebuild" if mode == "rebuild" else "pending",
                                             id=f"kb-index-cli-{mode}-{uuid.uuid4().hex[:12]}",
                                             task_queue=settings.task_queue)
        last_change, last_left = time.monotonic(), None
        while True:
            try:
                return int(await asyncio.wait_for(asyncio.shield(handle.result()), timeout=0.5))
            except TimeoutError:
                pass
            async with unit_of_work(sessions) as session:
                left = await kb_indexing.pending_count(session)
            if progress is not None:
                progress(max(total - left, 0), total)
            if left != last_left:
                last_change, last_left = time.monotonic(), left
            elif time.monotonic() - last_change > NO_WORKER_TIMEOUT_S:
                raise KbCommandError(
                    f"no worker indexed anything for {NO_WORKER_TIMEOUT_S:.0f} s: start `hotline up` or `hotline worker`. "
                    "Nothing is lost: the knowledge base is saved and the worker indexes it when it starts.")
    finally:
        await engine.dispose()
