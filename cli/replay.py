"""`hotline replay`: the auditors' replay of ticket workflows.

    hotline replay --ticket 1022-2026-000123 [--ticket …]
    hotline replay --all-closed [--since 2026-01-01]

Fetches each ticket's Temporal history and replays it against the workflow code and the
engine installed now, in the worker's sandbox configuration (`workflow_runner()`). Temporal's
own replay catches changed activity and timer commands; the `engine_checkpoint` markers in the
history (workflows/process.py) catch a changed script, condition or engine state: a history that
no longer matches fails with the "state digest mismatch" message at the step where it diverged.

Exit status: 0 every history replays, 1 at least one fails (or a service is unreachable),
2 bad arguments (no ticket named, a bad date, an unknown ticket).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlmodel.ext.asyncio.session import AsyncSession
    from temporalio.client import Client, WorkflowHistory
    from temporalio.runtime import Runtime as TemporalRuntime

    from core.settings import Settings

log = logging.getLogger(__name__)

DIGEST_MISMATCH = "state digest mismatch"
PREFETCH = 8  # histories fetched ahead of the one being replayed
BATCH_SIZE = 500  # closed tickets read per query
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


# -- replaying histories ---------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayOutcome:
    workflow_id: str
    ok: bool
    events: int  # events in the fetched history (0 when it could not be fetched)
    error: str | None = None  # the state-digest mismatch message when that is the cause


# Temporal reports a workflow-task failure as its core's debug text: `Failure { message: "…", … }`.
_CORE_MESSAGE = re.compile(r'message: "((?:[^"\\]|\\.)*)"')
_RUST_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def failure_message(failure: BaseException) -> str:
    """The replay failure as one readable message: the workflow's own message (the state-digest
    sentence when the checkpoint caught it) without Temporal's wrapper and stack trace; other
    failures (a changed command sequence, …) as Temporal words them."""
    text = str(failure).strip() or type(failure).__name__
    found = _CORE_MESSAGE.search(text)
    if found is None:
        return text
    return re.sub(r"\\(.)", lambda m: _RUST_ESCAPES.get(m.group(1), m.group(1)), found.group(1)).strip()


class _ReplayFailuresLogged(logging.Filter):
    """The SDK logs each failed replay activation as a warning with a traceback; the replay
    reports those failures itself (the traceback is logged at DEBUG), so drop them. Only
    records from a Replayer's task queue ("replay-…") are touched, never a real worker's."""

    def filter(self, record: logging.LogRecord) -> bool:
        details = getattr(record, "temporal_workflow", None)
        return not (isinstance(details, dict) and str(details.get("task_queue", "")).startswith("replay-"))


@functools.cache
def _replay_runtime() -> TemporalRuntime:
    """A core runtime for replaying only: its own log filter (the core logs every failed
    replay at WARN, with the stack trace, straight to the console), no worker heartbeats."""
    from temporalio.runtime import (
        LoggingConfig,
        Runtime,
        TelemetryConfig,
        TelemetryFilter,
    )

    quiet = LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
    return Runtime(telemetry=TelemetryConfig(logging=quiet), worker_heartbeat_interval=None)


def _outcome(workflow_id: str, history: WorkflowHistory, failure: BaseException | None) -> ReplayOutcome:
    return ReplayOutcome(workflow_id, failure is None, len(history.events),
                         None if failure is None else failure_message(failure))


async def _replay(items: AsyncIterator[WorkflowHistory | ReplayOutcome]) -> list[ReplayOutcome]:
    """Replay the histories in one Replayer (the worker's workflows and sandbox configuration);
    outcomes already known (a history that could not be fetched) pass through in their place."""
    from temporalio.worker import Replayer

    from workflows.engine.sandbox import workflow_runner
    from workflows.registry import WORKFLOWS

    outcomes: list[ReplayOutcome | None] = []
    pushed: deque[int] = deque()  # where each history handed to the replayer goes, in order

    async def histories() -> AsyncIterator[WorkflowHistory]:
        async for item in items:
            if isinstance(item, ReplayOutcome):
                outcomes.append(item)
                continue
            pushed.append(len(outcomes))
            outcomes.append(None)
            yield item

    replayer = Replayer(workflows=WORKFLOWS, workflow_runner=workflow_runner(), runtime=_replay_runtime())
    sdk_log = logging.getLogger("temporalio.worker._workflow_instance")
    unlogged = _ReplayFailuresLogged()
    sdk_log.addFilter(unlogged)
    try:
        async with replayer.workflow_replay_iterator(histories()) as results:
            async for result in results:
                if result.replay_failure is not None:
                    log.debug("replay of %s failed: %s", result.history.workflow_id, result.replay_failure)
                outcomes[pushed.popleft()] = _outcome(result.history.workflow_id, result.history, result.replay_failure)
    finally:
        sdk_log.removeFilter(unlogged)
    return [outcome for outcome in outcomes if outcome is not None]


async def replay_histories(histories: Iterable[WorkflowHistory]) -> list[ReplayOutcome]:
    """Replay histories already in hand (files, edited copies); one outcome each, in order."""
    async def items() -> AsyncIterator[WorkflowHistory]:
        for history in histories:
            yield history

    return await _replay(items())


async def replay_workflows(client: Client, workflow_ids: list[str], *, prefetch: int = PREFETCH) -> list[ReplayOutcome]:
    """Fetch each workflow's history (its latest run) and replay it on today's code; one outcome
    per id, in the order given. Histories are fetched a few ahead while one replays."""
    from temporalio.service import RPCError

    async def fetch(workflow_id: str) -> WorkflowHistory:
        return await client.get_workflow_handle(workflow_id).fetch_history()

    async def items() -> AsyncIterator[WorkflowHistory | ReplayOutcome]:
        ahead = iter(workflow_ids)
        pending: deque[tuple[str, asyncio.Future[WorkflowHistory]]] = deque()
        try:
            while True:
                while len(pending) < max(prefetch, 1) and (workflow_id := next(ahead, None)) is not None:
                    pending.append((workflow_id, asyncio.ensure_future(fetch(workflow_id))))
                if not pending:
                    return
                workflow_id, fetching = pending.popleft()
                try:
                    yield await fetching
                except RPCError as exc:
                    yield ReplayOutcome(workflow_id, False, 0, f"cannot fetch the history: {exc.message or exc}")
        finally:
            for _, fetching in pending:
                fetching.cancel()

    return await _replay(items())


# -- which workflows: tickets in PostgreSQL --------------------------------------------------


@dataclass(frozen=True)
class TicketWorkflow:
    code: str
    workflow_id: str
    status: str
    closed_at: datetime | None


def _ticket_workflow(code: str, workflow_id: str | None, status: str, closed_at: datetime | None,
                     prefix: str) -> TicketWorkflow:
    # tickets store their workflow id; the prefix rule (api/lifecycle.py) is the fallback
    return TicketWorkflow(code, workflow_id or f"{prefix}{code}", str(status), closed_at)


async def find_ticket_workflows(sessions: async_sessionmaker[AsyncSession], codes: Sequence[str],
                                workflow_id_prefix: str = "ticket-") -> tuple[list[TicketWorkflow], list[str]]:
    """The named tickets' workflows, in the order named (duplicates once), and the unknown codes."""
    from sqlmodel import col, select

    from core.models.tickets import Ticket

    wanted = list(dict.fromkeys(code.strip() for code in codes if code.strip()))
    found: dict[str, TicketWorkflow] = {}
    async with sessions() as session:
        for start in range(0, len(wanted), BATCH_SIZE):
            rows = await session.exec(
                select(Ticket.code, Ticket.workflow_id, Ticket.status, Ticket.closed_at)
                .where(col(Ticket.code).in_(wanted[start:start + BATCH_SIZE])))
            for code, workflow_id, status, closed_at in rows:
                found[code] = _ticket_workflow(code, workflow_id, status, closed_at, workflow_id_prefix)
    return [found[c] for c in wanted if c in found], [c for c in wanted if c not in found]


async def closed_ticket_workflows(sessions: async_sessionmaker[AsyncSession], since: datetime | None = None,
                                  workflow_id_prefix: str = "ticket-",
                                  batch_size: int = BATCH_SIZE) -> AsyncIterator[list[TicketWorkflow]]:
    """Closed tickets (resolved, spam, closed) with `closed_at >= since`, oldest first, in
    batches (keyset pagination on closed_at, id: one short query per batch)."""
    import sqlalchemy as sa
    from sqlmodel import col, select

    from core.models.tickets import Ticket
    from core.services.lifecycle import CLOSED_STATES

    statuses = sorted(status.value for status in CLOSED_STATES)
    after: tuple[datetime, int] | None = None
    while True:
        query = (select(Ticket.code, Ticket.workflow_id, Ticket.status, Ticket.closed_at, Ticket.id)
                 .where(col(Ticket.status).in_(statuses), col(Ticket.closed_at).is_not(None))
                 .order_by(col(Ticket.closed_at), col(Ticket.id)).limit(batch_size))
        if since is not None:
            query = query.where(col(Ticket.closed_at) >= since)
        if after is not None:
            query = query.where(sa.tuple_(col(Ticket.closed_at), col(Ticket.id)) > sa.tuple_(*after))
        async with sessions() as session:
            rows = list(await session.exec(query))
        if not rows:
            return
        yield [_ticket_workflow(code, wf, status, closed_at, workflow_id_prefix) for code, wf, status, closed_at, _ in rows]
        if len(rows) < batch_size:
            return
        after = (rows[-1][3], rows[-1][4])


async def closed_tickets(sessions: async_sessionmaker[AsyncSession], since: datetime | None = None,
                         workflow_id_prefix: str = "ticket-", batch_size: int = BATCH_SIZE) -> list[TicketWorkflow]:
    """Every batch of `closed_ticket_workflows`, as one list."""
    return [t async for batch in closed_ticket_workflows(sessions, since, workflow_id_prefix, batch_size) for t in batch]


def since_start(day: str | None, timezone: str) -> datetime | None:
    """`--since YYYY-MM-DD`: the start of that day where the hotline is (settings.timezone).
    Raises ValueError for anything but a calendar date."""
    if day is None:
        return None
    text = day.strip()
    if len(text) != 10:
        raise ValueError(day)
    return datetime.combine(date.fromisoformat(text), time(0), tzinfo=ZoneInfo(timezone))


# -- the command ------------------------------------------------------------------------------


def _exit_process(code: int) -> NoReturn:
    """Leave the way every Temporal-client command does (flush, then os._exit: sdk-python #300).
    A module attribute so tests that drive the command in-process can swap it for typer.Exit."""
    from cli.main import _exit_now

    _exit_now(code)


exit_process: Callable[[int], NoReturn] = _exit_process

# One command: `app.add_typer(replay_app, name="replay")` gives `hotline replay --ticket …` (the
# callback is the command; the help is its docstring).
replay_app = typer.Typer(invoke_without_command=True, add_completion=False, subcommand_metavar="")


@replay_app.callback(invoke_without_command=True)
def replay(
    ticket: Annotated[list[str] | None, typer.Option("--ticket", "-t", metavar="CODE",
                                                     help="a ticket code, e.g. 1022-2026-000123 (repeatable)")] = None,
    all_closed: Annotated[bool, typer.Option("--all-closed", help="every resolved, spam or closed ticket")] = False,
    since: Annotated[str | None, typer.Option("--since", metavar="YYYY-MM-DD",
                                              help="with --all-closed: closed on or after this day (local time)")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Data directory (default: HOTLINE_DATA_DIR or the user data dir)")] = None,
) -> None:
    """Replay tickets' Temporal histories against the current code (audit).

    Each history replays in the worker's sandbox; the state-digest checkpoints it recorded make changed BPMN logic (a script, a condition) or engine code fail loudly.

    Exit status: 0 every history replays, 1 any fails, 2 bad arguments (no ticket named, a bad date, an unknown ticket).
    """
    from cli.main import fail, load_settings

    codes = [code for code in (ticket or []) if code.strip()]
    if not codes and not all_closed:
        fail("name the tickets to replay: --ticket CODE (repeatable) or --all-closed, optionally with --since YYYY-MM-DD", EXIT_USAGE)
    if since is not None and not all_closed:
        fail("--since applies to --all-closed", EXIT_USAGE)
    settings = load_settings(data_dir)
    try:
        since_at = since_start(since, settings.timezone)
    except ValueError:
        fail(f"--since must be a date written YYYY-MM-DD, not '{since}'", EXIT_USAGE)
    code = run_replay(settings, codes, all_closed, since_at)
    exit_process(code)


def run_replay(settings: Settings, codes: Sequence[str], all_closed: bool, since: datetime | None,
               out: Console | None = None, err: Console | None = None) -> int:
    """The command's work; returns the exit status. Services: configured, shared from a running
    `hotline up`, or embedded for the duration (started from this thread, stopped on return)."""
    from sqlalchemy.exc import SQLAlchemyError

    from cli.embedded.process import EmbeddedServiceError
    from cli.runtime import Runtime

    out = out or Console()
    err = err or Console(stderr=True)
    with Runtime(settings) as runtime:
        try:
            pending_temporal = runtime.launch_temporal(ui=False)  # boots while we read the database
            database_url = runtime.database()
            named, unknown = asyncio.run(_find_named(database_url, codes, settings.workflow_id_prefix))
            if unknown:
                err.print(f"[bold red]Error:[/] unknown ticket{'s' if len(unknown) > 1 else ''}: "
                          f"{escape(', '.join(unknown))}")
                return EXIT_USAGE
            if pending_temporal is not None:
                settings.temporal_address = pending_temporal.wait_ready()
            return asyncio.run(_replay_and_report(settings, database_url, named, all_closed, since, out, err))
        except (EmbeddedServiceError, ValueError) as exc:
            err.print(f"[bold red]Error:[/] {escape(str(exc))}")
        except SQLAlchemyError as exc:
            err.print(f"[bold red]Error:[/] cannot read tickets from the database: "
                      f"{escape(str(getattr(exc, 'orig', None) or exc).splitlines()[0])}. "
                      "Check HOTLINE_DATABASE_URL, or run `hotline migrate`.")
        return EXIT_FAILED


async def _find_named(database_url: str, codes: Sequence[str], prefix: str) -> tuple[list[TicketWorkflow], list[str]]:
    if not codes:
        return [], []
    from core.db import make_async_engine, make_sessionmaker

    engine = make_async_engine(database_url, pool_size=1, max_overflow=0)
    try:
        return await find_ticket_workflows(make_sessionmaker(engine), codes, prefix)
    finally:
        await engine.dispose()


async def _replay_and_report(settings: Settings, database_url: str, named: list[TicketWorkflow], all_closed: bool,
                             since: datetime | None, out: Console, err: Console) -> int:
    from temporalio.client import Client

    from core.db import make_async_engine, make_sessionmaker

    try:
        client = await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)  # type: ignore[arg-type]
    except RuntimeError as exc:
        err.print(f"[bold red]Error:[/] cannot reach Temporal at {settings.temporal_address}: {escape(str(exc))}. "
                  "Check HOTLINE_TEMPORAL_ADDRESS, or run `hotline up`.")
        return EXIT_FAILED
    rows: list[tuple[TicketWorkflow, ReplayOutcome]] = []
    seen: set[str] = set()

    async def replay_batch(batch: list[TicketWorkflow]) -> None:
        batch = [t for t in batch if t.workflow_id not in seen]
        seen.update(t.workflow_id for t in batch)
        if batch:
            outcomes = await replay_workflows(client, [t.workflow_id for t in batch])
            rows.extend(zip(batch, outcomes, strict=True))

    await replay_batch(named)
    if all_closed:
        engine = make_async_engine(database_url, pool_size=1, max_overflow=0)
        try:
            async for batch in closed_ticket_workflows(make_sessionmaker(engine), since, settings.workflow_id_prefix):
                await replay_batch(batch)
        finally:
            await engine.dispose()
    return report(rows, out, err)


def report(rows: list[tuple[TicketWorkflow, ReplayOutcome]], out: Console, err: Console) -> int:
    """The table, each failure in full, the summary line; returns the exit status."""
    if not rows:
        out.print("No closed tickets to replay.")
        return EXIT_OK
    table = Table(title="Workflow replay", title_justify="left")
    table.add_column("ticket", no_wrap=True)
    table.add_column("workflow id", no_wrap=True)
    table.add_column("events", justify="right")
    table.add_column("result")
    for ticket, outcome in rows:
        result = "[green]ok[/]" if outcome.ok else f"[red]FAILED[/] {escape((outcome.error or '').splitlines()[0][:120])}"
        table.add_row(ticket.code, outcome.workflow_id, str(outcome.events), result)
    out.print(table)
    failed = [(ticket, outcome) for ticket, outcome in rows if not outcome.ok]
    for ticket, outcome in failed:
        err.print(f"[bold red]Replay failed[/] for ticket {ticket.code} (workflow {escape(outcome.workflow_id)}): "
                  f"{escape(outcome.error or 'unknown failure')}")
    summary = f"Replayed {len(rows)} workflow{'s' if len(rows) != 1 else ''}: {len(rows) - len(failed)} ok, {len(failed)} failed."
    out.print(f"[bold {'red' if failed else 'green'}]{summary}[/]")
    return EXIT_FAILED if failed else EXIT_OK
