"""Acceptance: the `hotline` Stasis application against a REAL Asterisk 22 on loopback, with real SIP
phones (pjsua) for the agents and the citizen.

Skipped unless these point at a running Asterisk prepared per infra/asterisk (our http.conf,
ari.conf, extensions.conf, modules.conf, and a pjsip.conf rendered by render.py):

* `HOTLINE_ACCEPTANCE_ARI_URL` (e.g. `http://127.0.0.1:8088`), `HOTLINE_ACCEPTANCE_ARI_USER`
  (default `hotline`), `HOTLINE_ACCEPTANCE_ARI_PASSWORD`;
* `HOTLINE_ACCEPTANCE_PJSUA`: a pjsua binary (pjproject's `pjsip-apps/bin/pjsua-*`);
* `HOTLINE_ACCEPTANCE_SIP` (default `127.0.0.1:5060`): Asterisk's SIP UDP transport;
* `HOTLINE_ACCEPTANCE_AGENTS` (e.g. `101:pw101,102:pw102`): two agents' extensions and passwords as in
  the inventory;
* `HOTLINE_ACCEPTANCE_TRUNK` (default `127.0.0.2:5070`): the inventory's `trunk.host:port`, whose IP is
  in `trunk.match`: the citizen's phone listens there, so its calls are identified as the carrier's
  (context `from-trunk`) and click-to-call reaches it through `PJSIP/<number>@trunk`.

Nothing else may be connected as the `hotline` application meanwhile. The database is the test
suite's own (tests/conftest.py). Set `HOTLINE_ACCEPTANCE_TRACE=<dir>` to keep, per test, every ARI
request/answer and every event received (JSON lines) and the phones' logs.

Against Asterisk 22.10.1 (2026-11-26, built from source) they all pass since commit 2c7363d, which
handles what this check found: a caller from the dialplan leaves at StasisEnd (no ChannelDestroyed
follows for it), addChannel waits for a channel's playback to end (stopped first), destroying a
bridge that records loses RecordingFinished (the recording is stopped first and copied at once), and
the recorder's beep needs a sound file that offline installs lack (off).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from core.db import unit_of_work
from core.models import CallQueueConfig, CallQueueMember, CallRecord, InboundRoute, QueueEvent, User
from core.models.calls import AgentStatus, CallDirection, CallState, Disposition
from core.services import calls
from telephony.ari_client import AriClient
from telephony.stasis import CallCenter, Prompts
from tests.support import eventually

ARI_URL = os.environ.get("HOTLINE_ACCEPTANCE_ARI_URL", "")
ARI_USER = os.environ.get("HOTLINE_ACCEPTANCE_ARI_USER", "hotline")
ARI_PASSWORD = os.environ.get("HOTLINE_ACCEPTANCE_ARI_PASSWORD", "")
PJSUA = os.environ.get("HOTLINE_ACCEPTANCE_PJSUA", "")
SIP = os.environ.get("HOTLINE_ACCEPTANCE_SIP", "127.0.0.1:5060")
AGENTS = [tuple(item.split(":", 1)) for item in os.environ.get("HOTLINE_ACCEPTANCE_AGENTS", "").split(",") if ":" in item]
TRUNK = os.environ.get("HOTLINE_ACCEPTANCE_TRUNK", "127.0.0.2:5070")
TRACE = os.environ.get("HOTLINE_ACCEPTANCE_TRACE", "")
CITIZEN = "0912345678"

pytestmark = pytest.mark.skipif(
    not (ARI_URL and ARI_PASSWORD and PJSUA and Path(PJSUA).is_file() and len(AGENTS) >= 2),
    reason="no real Asterisk: set HOTLINE_ACCEPTANCE_ARI_URL, _ARI_PASSWORD, _PJSUA, _AGENTS (see the module docstring)")


# ---- tracing ARI client: what was asked, answered and received, as JSON lines ----

class TracingAriClient(AriClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.trace: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []

    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                      json_body: Any = None) -> Any:
        entry: dict[str, Any] = {"t": time.time(), "request": f"{method} {path}", "params": params, "json": json_body}
        self.trace.append(entry)
        try:
            answer = await super().request(method, path, params=params, json_body=json_body)
        except Exception as exc:
            entry["error"] = repr(exc)
            raise
        entry["answer"] = answer if not isinstance(answer, bytes) else f"<{len(answer)} bytes>"
        return answer

    async def _dispatch(self, raw: str | bytes, handler: Any) -> None:
        data = json.loads(raw)
        self.events.append(data)
        self.trace.append({"t": time.time(), "event": data})
        await super()._dispatch(raw, handler)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == kind]

    def dump(self, name: str) -> None:
        if TRACE:
            Path(TRACE).mkdir(parents=True, exist_ok=True)
            with (Path(TRACE) / f"{name}.jsonl").open("w") as out:
                for entry in self.trace:
                    out.write(json.dumps(entry, default=str) + "\n")


# ---- SIP phones: pjsua driven through its console ----

class Phone:
    """A pjsua process: an agent's registered phone, or the citizen behind the 'carrier'."""

    def __init__(self, name: str, args: list[str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"pjsua-{name}.log"
        self._lines: list[str] = []
        # pjsua's stdout is block-buffered when it is not a terminal: stdbuf makes it line-buffered
        self.proc = subprocess.Popen(["stdbuf", "-oL", PJSUA, *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self._reader = threading.Thread(target=self._read, name=f"pjsua-{name}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with self.log_path.open("w") as log:
            for raw in self.proc.stdout:
                line = raw.decode(errors="replace")
                self._lines.append(line)
                log.write(line)

    def output(self) -> str:
        return "".join(self._lines)

    def send(self, *lines: str) -> None:
        assert self.proc.stdin is not None
        for line in lines:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
            time.sleep(0.2)

    async def wait_for(self, pattern: str, timeout: float = 20.0, count: int = 1) -> None:
        async def seen() -> bool:
            return len(re.findall(pattern, self.output())) >= count

        await eventually(seen, f"{self.name}: {pattern!r}", timeout=timeout)

    def call(self, uri: str) -> None:
        self.send("m", uri)

    def hangup_all(self) -> None:
        self.send("ha")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("q")
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)


def _common(port: int, rtp: int, ip: str) -> list[str]:
    return ["--null-audio", "--no-tcp", f"--local-port={port}", f"--ip-addr={ip}", f"--bound-addr={ip}",
            f"--rtp-port={rtp}", "--log-level=4", "--app-log-level=4", "--no-vad", "--max-calls=4",
            "--add-codec=PCMU", "--duration=600"]


def agent_phone(log_dir: Path, index: int, auto_answer: bool) -> Phone:
    extension, password = AGENTS[index]
    host = SIP.split(":")[0]
    args = [*_common(5161 + index, 4100 + 100 * index, host), f"--id=sip:{extension}@{host}",
            f"--registrar=sip:{SIP}", "--realm=*", f"--username={extension}", f"--password={password}"]
    if auto_answer:
        args.append("--auto-answer=200")
    return Phone(extension, args, log_dir)


def citizen_phone(log_dir: Path, wav: Path, auto_answer: bool = False) -> Phone:
    ip, _, port = TRUNK.partition(":")
    args = [*_common(int(port or 5060), 4400, ip), f"--id=sip:{CITIZEN}@{ip}", f"--play-file={wav}", "--auto-play",
            "--auto-loop"]
    if auto_answer:
        args.append("--auto-answer=200")
    return Phone("citizen", args, log_dir)


def tone_wav(path: Path, seconds: float = 3.0) -> Path:
    import math
    import struct
    import wave

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 8000)))
                                 for i in range(int(8000 * seconds))))
    return path


# ---- the database: this test's routing and agents ----

async def configure(sessions: Any, *, strategy: str = "linear", ring_timeout_s: int = 15,
                    max_wait_s: int | None = 600, closed: bool = False) -> dict[str, int]:
    async with unit_of_work(sessions) as session:
        rows = (await session.exec(select(User.username, User.id).where(
            col(User.username).in_(["dieuphoi", "dienthoai"])))).all()
    people: dict[str, int] = dict(rows)  # type: ignore[arg-type]
    async with unit_of_work(sessions) as session:
        for table in ("call_queue_member", "call_queue", "call_route", "ivr_menu"):
            await session.exec(sa.text(f"DELETE FROM {table}"))  # type: ignore[call-overload]
    async with unit_of_work(sessions) as session:
        session.add(CallQueueConfig(name="hotline", title="Tổng đài 1022", strategy=strategy,
                                    ring_timeout_s=ring_timeout_s, retry_s=1, max_wait_s=max_wait_s, overflow="message",
                                    wrapup_s=0, announce_position_every_s=None, record=True))
        await session.flush()
        session.add_all([CallQueueMember(queue="hotline", user_id=people[name], penalty=i)
                         for i, name in enumerate(("dieuphoi", "dienthoai"))])
        session.add(InboundRoute(dialed="1022", open_destination="queue:hotline", closed_destination="message",
                                 open_hours=[{"from": "00:00", "to": "00:00"}] if closed else []))
    return people


async def log_in(center: CallCenter, sessions: Any, user_id: int, extension: str) -> None:
    async with unit_of_work(sessions) as session:
        await calls.change_agent(session, user_id, AgentStatus.ready, extension)
    await center.agents_changed()


async def the_call(sessions: Any, *, state: CallState | None = None, uniqueid: str | None = None) -> CallRecord:
    async def found() -> CallRecord | None:
        async with sessions() as session:
            query = select(CallRecord).order_by(col(CallRecord.id).desc())
            if uniqueid:
                query = query.where(CallRecord.uniqueid == uniqueid)
            row = (await session.exec(query)).first()
        return row if row is not None and (state is None or row.state == state) else None

    return await eventually(found, f"a call in state {state}", timeout=30)


async def queue_events(sessions: Any, uniqueid: str) -> list[tuple[str, str | None]]:
    async with sessions() as session:
        rows = (await session.exec(select(QueueEvent).where(QueueEvent.call_uniqueid == uniqueid)
                                   .order_by(col(QueueEvent.at), col(QueueEvent.id)))).all()
    return [(r.event, r.agent) for r in rows]


# ---- fixtures ----

@pytest.fixture
async def center(app: Any, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[CallCenter]:
    """The application against the real ARI; `configure()` then `await center.start()` (it reads the
    routing when it starts)."""
    client = TracingAriClient(ARI_URL, ARI_USER, ARI_PASSWORD, app="hotline", max_backoff=1.0)
    cc = CallCenter(client, app.state.services.sessions, prompts=Prompts(position="tone:beep"),
                    recordings_dir=tmp_path / "recordings")
    task: asyncio.Task[None] | None = None

    async def start() -> CallCenter:
        nonlocal task
        task = asyncio.create_task(cc.run())
        await asyncio.wait_for(cc.ready.wait(), 15)
        return cc

    cc.start = start  # type: ignore[attr-defined]
    yield cc
    try:
        await asyncio.wait_for(cc.drain(), 30)
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        client.dump(request.node.name)
        await client.aclose()


@pytest.fixture
def phones(tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    started: list[Phone] = []
    log_dir = Path(TRACE) / request.node.name if TRACE else tmp_path
    log_dir.mkdir(parents=True, exist_ok=True)
    wav = tone_wav(tmp_path / "tone.wav")

    class Factory:
        def agent(self, index: int, auto_answer: bool = True) -> Phone:
            phone = agent_phone(log_dir, index, auto_answer)
            started.append(phone)
            return phone

        def citizen(self, auto_answer: bool = False) -> Phone:
            phone = citizen_phone(log_dir, wav, auto_answer)
            started.append(phone)
            return phone

    yield Factory()
    for phone in started:
        phone.stop()


async def registered(phone: Phone) -> None:
    await phone.wait_for(r"registration success, status=200", timeout=20)


def dial_1022() -> str:
    return f"sip:1022@{SIP}"


# ---- the scenarios ----

async def test_answered_call_is_bridged_recorded_and_logged(app: Any, center: CallCenter, phones: Any) -> None:
    sessions = app.state.services.sessions
    people = await configure(sessions)
    await center.start()  # type: ignore[attr-defined]
    agent = phones.agent(0, auto_answer=True)
    await registered(agent)
    await log_in(center, sessions, people["dieuphoi"], AGENTS[0][0])
    citizen = phones.citizen()
    await asyncio.sleep(1)
    citizen.call(dial_1022())
    talking = await the_call(sessions, state=CallState.talking)
    assert talking.citizen_number == CITIZEN and talking.dialed == "1022" and talking.queue == "hotline"
    await agent.wait_for(r"state changed to CONFIRMED")
    await asyncio.sleep(4)  # some audio for the recording
    citizen.hangup_all()
    await citizen.wait_for(r"DISCONNECTED", timeout=10)
    await asyncio.sleep(1)
    assert talking.uniqueid not in {c.id for c in await center.ari.channels()}  # Asterisk let the caller go
    row = await the_call(sessions, state=CallState.ended, uniqueid=talking.uniqueid)
    assert row.disposition == Disposition.answered
    assert row.hangup_by == "caller"
    assert row.cause in (None, 16)  # a dialplan caller's hang-up request carries no cause; none follows it
    assert [e for e, _ in await queue_events(sessions, row.uniqueid)] == ["ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
    assert row.recording == f"call-{row.uniqueid.replace('.', '-')}"
    await asyncio.wait_for(center.drain(), 30)

    async def copied() -> CallRecord | None:
        got = await the_call(sessions, uniqueid=row.uniqueid)
        return got if got.recording_file else None

    copy = await eventually(copied, "the recording copied", timeout=30)
    assert (copy.recording_bytes or 0) > 44  # more than a WAV header
    await agent.wait_for(r"DISCONNECTED", timeout=10)


async def test_agent_who_hangs_up_ends_the_call(app: Any, center: CallCenter, phones: Any) -> None:
    sessions = app.state.services.sessions
    people = await configure(sessions)
    await center.start()  # type: ignore[attr-defined]
    agent = phones.agent(0, auto_answer=True)
    await registered(agent)
    await log_in(center, sessions, people["dieuphoi"], AGENTS[0][0])
    citizen = phones.citizen()
    await asyncio.sleep(1)
    citizen.call(dial_1022())
    talking = await the_call(sessions, state=CallState.talking)
    await agent.wait_for(r"state changed to CONFIRMED")
    await asyncio.sleep(3)
    agent.hangup_all()
    row = await the_call(sessions, state=CallState.ended, uniqueid=talking.uniqueid)
    assert row.disposition == Disposition.answered
    assert row.hangup_by == "agent"
    assert [e for e, _ in await queue_events(sessions, row.uniqueid)] == ["ENTERQUEUE", "CONNECT", "COMPLETEAGENT"]
    await citizen.wait_for(r"DISCONNECTED", timeout=10)  # we hung the citizen up
    await asyncio.wait_for(center.drain(), 30)
    copy = await the_call(sessions, uniqueid=row.uniqueid)
    assert copy.recording_file and (copy.recording_bytes or 0) > 44


async def test_agent_who_does_not_answer_then_the_next(app: Any, center: CallCenter, phones: Any) -> None:
    sessions = app.state.services.sessions
    people = await configure(sessions, ring_timeout_s=5)
    await center.start()  # type: ignore[attr-defined]
    first = phones.agent(0, auto_answer=False)
    second = phones.agent(1, auto_answer=True)
    await registered(first)
    await registered(second)
    await log_in(center, sessions, people["dieuphoi"], AGENTS[0][0])
    await log_in(center, sessions, people["dienthoai"], AGENTS[1][0])
    citizen = phones.citizen()
    await asyncio.sleep(1)
    citizen.call(dial_1022())
    await first.wait_for(r"Incoming call")
    talking = await the_call(sessions, state=CallState.talking)
    assert talking.extension == AGENTS[1][0]
    events = await queue_events(sessions, talking.uniqueid)
    assert ("RINGNOANSWER", AGENTS[0][0]) in events and ("CONNECT", AGENTS[1][0]) in events
    await first.wait_for(r"DISCONNECTED", timeout=10)  # our leg to the first agent was hung up
    citizen.hangup_all()
    row = await the_call(sessions, state=CallState.ended, uniqueid=talking.uniqueid)
    assert row.disposition == Disposition.answered


async def test_caller_who_hangs_up_while_waiting_is_abandoned(app: Any, center: CallCenter, phones: Any) -> None:
    sessions = app.state.services.sessions
    people = await configure(sessions, ring_timeout_s=60)
    await center.start()  # type: ignore[attr-defined]
    agent = phones.agent(0, auto_answer=False)
    await registered(agent)
    await log_in(center, sessions, people["dieuphoi"], AGENTS[0][0])
    citizen = phones.citizen()
    await asyncio.sleep(1)
    citizen.call(dial_1022())
    await agent.wait_for(r"Incoming call")
    ringing = await the_call(sessions, state=CallState.ringing)
    citizen.hangup_all()
    row = await the_call(sessions, state=CallState.ended, uniqueid=ringing.uniqueid)
    assert row.disposition == Disposition.abandoned
    assert row.hangup_by == "caller"
    assert [e for e, _ in await queue_events(sessions, row.uniqueid)][-1] == "ABANDON"
    await agent.wait_for(r"DISCONNECTED", timeout=10)  # the agent's phone stops ringing


async def test_click_to_call_rings_the_agent_then_the_citizen(app: Any, center: CallCenter, phones: Any) -> None:
    sessions = app.state.services.sessions
    people = await configure(sessions)
    await center.start()  # type: ignore[attr-defined]
    agent = phones.agent(0, auto_answer=True)
    citizen = phones.citizen(auto_answer=True)
    await registered(agent)
    await log_in(center, sessions, people["dieuphoi"], AGENTS[0][0])
    # what api.telephony.click_to_call does: the call row, then the agent's leg into `dialout`
    base = f"o{int(time.time() * 1000) % 10**12:012d}acceptance"
    uniqueid = f"{base}-c"
    async with unit_of_work(sessions) as session:
        await calls.open_call(session, uniqueid, CallDirection.outbound, CITIZEN, None, CITIZEN,
                              agent_id=people["dieuphoi"], extension=AGENTS[0][0], state=CallState.ringing.value)
    await center.ari.originate(f"PJSIP/{AGENTS[0][0]}", channel_id=f"{base}-a",
                               app_args=f"dialout,{uniqueid},{people['dieuphoi']}",
                               caller_id=f'"{CITIZEN}" <{CITIZEN}>', timeout=30)
    await citizen.wait_for(r"state changed to CONFIRMED", timeout=30)
    await the_call(sessions, state=CallState.talking, uniqueid=uniqueid)
    await asyncio.sleep(3)
    agent.hangup_all()
    row = await the_call(sessions, state=CallState.ended, uniqueid=uniqueid)
    assert row.disposition == Disposition.answered
    assert row.hangup_by == "agent"
    await citizen.wait_for(r"DISCONNECTED", timeout=10)


async def test_blind_transfer_to_another_extension(app: Any, center: CallCenter, phones: Any) -> None:
    sessions = app.state.services.sessions
    people = await configure(sessions)
    await center.start()  # type: ignore[attr-defined]
    first = phones.agent(0, auto_answer=True)
    second = phones.agent(1, auto_answer=True)
    await registered(first)
    await registered(second)
    await log_in(center, sessions, people["dieuphoi"], AGENTS[0][0])
    citizen = phones.citizen()
    await asyncio.sleep(1)
    citizen.call(dial_1022())
    talking = await the_call(sessions, state=CallState.talking)
    await first.wait_for(r"state changed to CONFIRMED")
    await center.command({"command": "transfer", "call": talking.uniqueid, "target": f"extension:{AGENTS[1][0]}",
                          "mode": "blind"})
    await second.wait_for(r"state changed to CONFIRMED", timeout=20)
    await first.wait_for(r"DISCONNECTED", timeout=10)

    async def moved() -> CallRecord | None:
        row = await the_call(sessions, uniqueid=talking.uniqueid)
        return row if row.extension == AGENTS[1][0] else None

    await eventually(moved, "the call moved to the second extension", timeout=20)
    await asyncio.sleep(2)
    citizen.hangup_all()
    row = await the_call(sessions, state=CallState.ended, uniqueid=talking.uniqueid)
    assert row.disposition == Disposition.transferred
    assert row.transfer_to == f"extension:{AGENTS[1][0]}"
    await second.wait_for(r"DISCONNECTED", timeout=10)


async def test_after_hours_the_caller_leaves_a_message(app: Any, center: CallCenter, phones: Any) -> None:
    sessions = app.state.services.sessions
    await configure(sessions, closed=True)
    await center.start()  # type: ignore[attr-defined]
    citizen = phones.citizen()
    await asyncio.sleep(1)
    citizen.call(dial_1022())
    message = await the_call(sessions, state=CallState.message)
    await asyncio.sleep(4)  # the citizen speaks (the WAV tone)
    citizen.hangup_all()
    row = await the_call(sessions, state=CallState.ended, uniqueid=message.uniqueid)
    assert row.disposition == Disposition.closed
    assert row.recording == f"message-{row.uniqueid.replace('.', '-')}"
    await asyncio.wait_for(center.drain(), 60)
    copy = await the_call(sessions, uniqueid=row.uniqueid)
    assert copy.recording_file and (copy.recording_bytes or 0) > 44  # the message itself, not an empty WAV


async def test_the_pbx_serves_what_the_application_needs() -> None:
    """The configuration's promises (infra/asterisk/README.md), checked over ARI."""
    async with httpx.AsyncClient(base_url=ARI_URL.rstrip("/") + "/ari", auth=(ARI_USER, ARI_PASSWORD)) as http:
        info = (await http.get("/asterisk/info")).json()
        assert info["system"]["version"].startswith("22.")
        endpoints = {(e["technology"], e["resource"]) for e in (await http.get("/endpoints")).json()}
        assert {("PJSIP", AGENTS[0][0]), ("PJSIP", AGENTS[1][0]), ("PJSIP", "trunk")} <= endpoints
        # an unknown endpoint cannot be rung
        refused = await http.post("/channels", params={"endpoint": "PJSIP/199", "app": "hotline"})
        assert refused.status_code >= 400
