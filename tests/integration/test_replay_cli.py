"""`hotline replay` (the auditors' replay): ticket histories from a real Temporal server replay
on today's code; a history whose diagram changed fails on the state-digest checkpoint; closed
tickets are found in PostgreSQL; the command's arguments and exit statuses."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from pathlib import Path
from typing import Any, NoReturn

import pytest
import typer
from sqlmodel import select
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.workflow import NondeterminismError
from typer.testing import CliRunner, Result

import cli.replay
from cli.replay import (
    DIGEST_MISMATCH,
    closed_tickets,
    failure_message,
    find_ticket_workflows,
    replay_app,
    replay_histories,
    replay_workflows,
    since_start,
)
from core.db import make_async_engine, make_sessionmaker, unit_of_work
from core.models.tickets import Channel, Ticket, TicketStatus
from tests.conftest import login
from tests.integration.test_lifecycle import (
    DEADLINE_S,
    do,
    open_ticket,
    status_is,
    task,
)

# the approval gateway's condition, as a business analyst might "fix" it
CHANGED_CONDITION = ('decision == "approve"', 'decision == "approved"')


@pytest.fixture
def client(running):  # noqa: ANN001, ANN201
    return running.client


@pytest.fixture
async def people(client) -> dict[str, dict[str, str]]:  # noqa: ANN001
    return {n: await login(client, n) for n in ["dieuphoi", "ld.tranbien", "cv.tranbien", "admin"]}


@pytest.fixture
async def units(client, people) -> dict[str, str]:  # noqa: ANN001
    listed = (await client.get("/api/v1/org-units", headers=people["admin"])).json()
    return {u["code"]: u["path"] for u in listed}


@pytest.fixture
async def sessions(running) -> AsyncIterator[Any]:  # noqa: ANN001
    engine = make_async_engine(running.services.settings.database_url, pool_size=2, max_overflow=0)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def resolve(client, people, units, key: str) -> str:  # noqa: ANN001
    """Open a ticket and take it along the shortest path to `resolved`."""
    desk = people["dieuphoi"]
    code = await open_ticket(client, desk, key)
    await do(client, desk, code, "dispatch", unit_path=units["P.TRANBIEN"], note="Chuyển phường xử lý")
    await do(client, people["ld.tranbien"], code, "assign", decision="officer", officer="cv.tranbien")
    await do(client, people["cv.tranbien"], code, "process", outcome="result", result="Đèn đã sửa xong")
    await do(client, people["ld.tranbien"], code, "approve_result", decision="approve")
    await do(client, desk, code, "close", note="Đã báo người dân")
    await status_is(client, desk, code, "resolved")
    return code


async def finished(running, code: str) -> WorkflowHandle:  # noqa: ANN001
    """The ticket's workflow, once it has ended (its last service tasks run after `resolved`)."""
    handle = running.services.temporal.get_workflow_handle(f"{running.services.settings.workflow_id_prefix}{code}")
    async with asyncio.timeout(DEADLINE_S):
        await handle.result()
    return handle


def with_diagram(history: WorkflowHistory, edit) -> WorkflowHistory:  # noqa: ANN001
    """The same history, started with an edited diagram (and its matching hash), as
    tests/workflows/test_engine.py builds it."""
    events = [type(event)() for event in history.events]
    for copy, event in zip(events, history.events, strict=True):
        copy.CopyFrom(event)
    payload = events[0].workflow_execution_started_event_attributes.input.payloads[0]
    process = json.loads(payload.data)
    process["bpmn_xml"] = edit(process["bpmn_xml"])
    process["bpmn_sha256"] = sha256(process["bpmn_xml"].encode("utf-8")).hexdigest()
    payload.CopyFrom(Payload(metadata=dict(payload.metadata), data=json.dumps(process).encode("utf-8")))
    return WorkflowHistory(history.workflow_id, events)


def changed_condition(history: WorkflowHistory) -> WorkflowHistory:
    changed = with_diagram(history, lambda xml: xml.replace(*CHANGED_CONDITION))
    assert changed.events[0] != history.events[0]  # the diagram really had that condition
    return changed


async def test_ticket_histories_replay_and_a_changed_gateway_condition_fails_on_the_digest(
        running, client, people, units, sessions) -> None:  # noqa: ANN001
    # given two tickets resolved and one still waiting at the desk, on real Temporal + PostgreSQL
    first = await resolve(client, people, units, "replay-a")
    second = await resolve(client, people, units, "replay-b")
    still_open = await open_ticket(client, people["dieuphoi"], "replay-c")
    await task(client, people["dieuphoi"], still_open, "dispatch")
    first_handle = await finished(running, first)
    await finished(running, second)

    # when the closed tickets are looked up, then exactly the resolved two come back, oldest first
    closed = await closed_tickets(sessions, workflow_id_prefix=running.services.settings.workflow_id_prefix)
    assert [t.code for t in closed] == [first, second]
    found, unknown = await find_ticket_workflows(sessions, [still_open, first, "1022-1999-999999"])
    assert [t.code for t in found] == [still_open, first] and unknown == ["1022-1999-999999"]
    workflow_ids = [t.workflow_id for t in closed] + [found[0].workflow_id]
    assert workflow_ids[0] == first_handle.id  # the id stored on the ticket row is the workflow's

    # when their histories are replayed against today's code
    outcomes = await replay_workflows(running.services.temporal, workflow_ids)

    # then every one replays, the open one up to where it waits
    assert [(o.workflow_id, o.ok, o.error) for o in outcomes] == [(wf, True, None) for wf in workflow_ids]
    assert all(o.events > 5 for o in outcomes), outcomes  # started, one workflow task, markers at least
    assert outcomes[0].events == len((await first_handle.fetch_history()).events)

    # when a workflow has no history on the server, then it is a failure of its own, the others still replay
    missing = f"{running.services.settings.workflow_id_prefix}no-such-ticket"
    mixed = await replay_workflows(running.services.temporal, [missing, workflow_ids[1]])
    assert [(o.workflow_id, o.ok) for o in mixed] == [(missing, False), (workflow_ids[1], True)]
    assert "cannot fetch the history" in (mixed[0].error or "") and mixed[0].events == 0

    # when the history's recorded diagram has an edited gateway condition
    history = await first_handle.fetch_history()
    [same, changed] = await replay_histories([history, changed_condition(history)])

    # then the recorded one still replays and the changed one fails loudly, on the digest checkpoint
    assert same.ok
    assert not changed.ok and changed.workflow_id == first_handle.id
    assert changed.error is not None and changed.error.startswith(DIGEST_MISMATCH), changed.error
    assert changed.error.endswith("the diagram or the engine changed under this run"), changed.error
    assert "stack_trace" not in changed.error and changed.events == same.events


async def test_closed_ticket_lookup_respects_since_and_reads_in_batches(database_url: str) -> None:
    # given tickets in every state, closed on different days
    def ticket(n: int, status: TicketStatus, closed_at: datetime | None, workflow_id: str | None = None) -> Ticket:
        return Ticket(code=f"1022-2025-{n:06d}", idempotency_key=f"replay-since-{n}", channel=Channel.call,
                      description="Phản ánh thử", status=status, closed_at=closed_at,
                      workflow_id=workflow_id if workflow_id is not None else f"wf-{n}")

    day = datetime(2025, 3, 10, tzinfo=UTC)
    rows = [ticket(1, TicketStatus.resolved, day + timedelta(days=2)), ticket(2, TicketStatus.spam, day),
            ticket(3, TicketStatus.closed, day + timedelta(days=1), workflow_id=""),
            ticket(4, TicketStatus.new, None), ticket(5, TicketStatus.assigned, None),
            ticket(6, TicketStatus.out_of_area, None), ticket(7, TicketStatus.pending_approval, None),
            ticket(8, TicketStatus.resolved, day - timedelta(days=40))]
    engine = make_async_engine(database_url, pool_size=2, max_overflow=0)
    try:
        sessions = make_sessionmaker(engine)
        async with unit_of_work(sessions) as session:
            session.add_all(rows)

        # when every closed ticket is asked for, in batches of two
        everything = await closed_tickets(sessions, batch_size=2, workflow_id_prefix="ticket-")

        # then resolved, spam and closed ones come back oldest first, each with its workflow id
        assert [t.code for t in everything] == ["1022-2025-000008", "1022-2025-000002", "1022-2025-000003",
                                                "1022-2025-000001"]
        assert [t.workflow_id for t in everything] == ["wf-8", "wf-2", "ticket-1022-2025-000003", "wf-1"]

        # when only those closed since 11 March (local time) are asked for
        since = since_start("2025-03-11", "Asia/Ho_Chi_Minh")
        recent = await closed_tickets(sessions, since, batch_size=1)

        # then the ones closed before are left out (the boundary is midnight in Vietnam, 17:00 UTC)
        assert since == datetime(2025, 3, 10, 17, tzinfo=UTC)
        assert [t.code for t in recent] == ["1022-2025-000003", "1022-2025-000001"]
        assert await closed_tickets(sessions, since_start("2025-03-13", "Asia/Ho_Chi_Minh")) == []
        async with sessions() as session:
            assert len((await session.exec(select(Ticket))).all()) == len(rows)
    finally:
        await engine.dispose()


def test_failure_message_is_the_workflows_own_words() -> None:
    # Temporal's core wraps the workflow's message in its debug text, stack trace included
    wrapped = ('Workflow activation completion failed: Failure { failure: Some(Failure { message: "state digest '
               'mismatch: recorded \\"a\\", replay computed b\\nsecond line", source: "", stack_trace: "  File '
               '\\"/x.py\\", line 1"'
               ', failure_info: None }) }')
    assert failure_message(NondeterminismError(wrapped)) == 'state digest mismatch: recorded "a", replay computed b\nsecond line'
    # Temporal's own nondeterminism reports pass through as worded
    plain = "[TMPRL1100] Nondeterminism error: Timer machine does not handle this event"
    assert failure_message(NondeterminismError(plain)) == plain
    assert failure_message(RuntimeError()) == "RuntimeError"


def test_since_accepts_only_a_calendar_date() -> None:
    assert since_start(None, "Asia/Ho_Chi_Minh") is None
    for bad in ["2025-13-01", "yesterday", "2025-3-1", "2025-03-01T00:00", ""]:
        with pytest.raises(ValueError):
            since_start(bad, "Asia/Ho_Chi_Minh")


# -- the command, wired as cli/main.py wires it ----------------------------------------------

hotline = typer.Typer(no_args_is_help=True, add_completion=False)
hotline.add_typer(replay_app, name="replay")


@hotline.command()
def version() -> None:
    """Another command, as the real app has."""


def exit_without_os_exit(code: int) -> NoReturn:
    raise typer.Exit(code)


@pytest.fixture
def invoke(running, temporal_env, monkeypatch, tmp_path: Path) -> Iterator[Any]:  # noqa: ANN001
    """Run `hotline replay …` in-process against this test's database and Temporal server (in a
    thread: the command runs its own event loop); `os._exit` becomes a plain typer.Exit."""
    settings = running.services.settings
    env = {"HOTLINE_DATABASE_URL": settings.database_url,
           "HOTLINE_TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
           "HOTLINE_WORKFLOW_ID_PREFIX": settings.workflow_id_prefix, "HOTLINE_LOG_JSON": "false",
           "HOTLINE_LOG_LEVEL": "WARNING", "COLUMNS": "250"}
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "cli-data"))  # restored even after --data-dir
    monkeypatch.setattr(cli.replay, "exit_process", exit_without_os_exit)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # load_settings reconfigures logging

    async def run(*args: str) -> Result:
        try:
            return await asyncio.to_thread(CliRunner().invoke, hotline, ["replay", *args], env=env)
        finally:
            root.handlers[:], root.level = handlers, level

    yield run


async def test_replay_command_exit_statuses(running, client, people, units, invoke, monkeypatch,
                                            tmp_path: Path) -> None:  # noqa: ANN001
    # given a resolved ticket whose workflow has ended
    code = await resolve(client, people, units, f"replay-cli-{uuid.uuid4().hex[:6]}")
    handle = await finished(running, code)

    # when the auditor replays it by code, then it replays: a table row, the summary, exit 0
    ok = await invoke("--ticket", code, "--data-dir", str(tmp_path / "cli-data"))
    assert ok.exit_code == 0, ok.output
    row = next(line for line in ok.stdout.splitlines() if code in line)
    assert handle.id in row and "ok" in row
    assert str(len((await handle.fetch_history()).events)) in row
    assert "Replayed 1 workflow: 1 ok, 0 failed." in ok.stdout

    # and so does every ticket closed since yesterday (local time), named or not
    yesterday = (datetime.now(UTC) + timedelta(hours=7) - timedelta(days=1)).date().isoformat()
    closed = await invoke("--all-closed", "--since", yesterday, "--ticket", code)
    assert closed.exit_code == 0, closed.output
    assert "Replayed 1 workflow: 1 ok, 0 failed." in closed.stdout  # the named one and the closed one are one
    tomorrow = (datetime.now(UTC) + timedelta(hours=7) + timedelta(days=1)).date().isoformat()
    none = await invoke("--all-closed", "--since", tomorrow)
    assert none.exit_code == 0 and "No closed tickets to replay" in none.stdout, none.output

    # when the diagram the history recorded no longer matches (an edited gateway condition)
    original = WorkflowHandle.fetch_history

    async def edited(self: WorkflowHandle, *args: Any, **kwargs: Any) -> WorkflowHistory:
        return changed_condition(await original(self, *args, **kwargs))

    with monkeypatch.context() as patched:
        patched.setattr(WorkflowHandle, "fetch_history", edited)
        failed = await invoke("--ticket", code)

    # then the command fails, naming the ticket and the digest mismatch
    assert failed.exit_code == 1, failed.output
    assert f"Replay failed for ticket {code}" in failed.output
    assert DIGEST_MISMATCH in failed.output
    assert "Traceback" not in failed.output and "stack_trace" not in failed.output, failed.output
    assert "Replayed 1 workflow: 0 ok, 1 failed." in failed.stdout

    # bad arguments: exit 2, with a message that says what is wrong
    unknown = await invoke("--ticket", code, "--ticket", "1022-1999-999999")
    assert unknown.exit_code == 2 and "unknown ticket: 1022-1999-999999" in unknown.output, unknown.output
    neither = await invoke()
    assert neither.exit_code == 2 and "--ticket CODE" in neither.output, neither.output
    bad_date = await invoke("--all-closed", "--since", "31/12/2025")
    assert bad_date.exit_code == 2 and "YYYY-MM-DD" in bad_date.output, bad_date.output
    since_alone = await invoke("--ticket", code, "--since", yesterday)
    assert since_alone.exit_code == 2 and "--all-closed" in since_alone.output, since_alone.output
