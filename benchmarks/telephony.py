"""The `hotline` Stasis application under load (issue 7): event-handling latency at 2 new calls a
second up to 100 calls up at once, and that no call record is lost.

    .venv/bin/python benchmarks/telephony.py [--rate 2] [--concurrent 100] [--calls 600 | --duration 300]
                                             [--agents 110] [--abandon 0.1] [--seed 1022]

A fresh embedded PostgreSQL gets the migrations and the reference and demo data, plus N agent
users (extensions 2000+), all members of the queue `hotline` (least recent, 15 s ring timeout,
2 s wrap-up, recorded) that route 1022 leads to, and all logged in (`calls.change_agent`).

Two processes, as in production where Asterisk is not the application's process:
- the PBX side (a child process): the ARI double (a real REST + WebSocket server simulating
  Asterisk 22, every agent a PJSIP endpoint) and the script of the far ends. Every 1/rate
  seconds a citizen calls 1022 (no more than --concurrent calls up at once); when an agent's
  phone rings for the call the agent answers after 0.5–3 s, they talk for 0.9–1.3 × concurrent/rate
  seconds (so about --concurrent calls are up at steady state), then a random side hangs up. A
  share (--abandon) of the callers give up instead while the agent's phone rings (0.3–4 s).
  The double records the moment it emits each event (`time.perf_counter`, CLOCK_MONOTONIC, the
  same clock in both processes) — its `timestamp` field has only millisecond precision.
- the application side (this process): the real `CallCenter` connected to the double through
  the real `AriClient` over the WebSocket, its recordings copied off the PBX as in the tests.
  `CallCenter.handle` is wrapped (a subclass, the product is unchanged) to time each event:
  *handling* = from the call of `handle` to its return (lock wait included: the timer that drives
  ring timeouts and deadlines shares the lock); *end to end* = from the double emitting the event
  to `handle` returning for it (socket, parsing, and waiting behind earlier events included).
  Events are matched by their order on the single socket (their types are checked to agree).

At the end every incoming channel of the double is looked up in the `call` table: present once,
closed, with the disposition and the side that hung up that the script played (answered by the
caller / by the agent, abandoned), and exactly one terminal queue event (`acd.TERMINAL_EVENTS`)
matching it. Anything else is listed under "lost". Requests or events outside Asterisk 22's
declared API are the double's `violations`.

Target (issue 7): event-handling p95 <= 20 ms at 2 new calls/s up to 100 concurrent calls, zero
lost call records. No timing assertion: the exit status is 1 only for lost records, violations
or script errors.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
# this file is benchmarks/telephony.py: the product's `telephony` package must win over it
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]
# imported now, before benchmarks.kb_search puts benchmarks/ first on sys.path again
import telephony.acd  # noqa: E402,F401
import telephony.ari_client  # noqa: E402,F401
import telephony.stasis  # noqa: E402,F401

USER, PASSWORD, APP = "hotline", "ari-secret", "hotline"
FIRST_EXTENSION = 2000


# ---- the PBX side (child process): the ARI double and the far ends ------------------------------

def pbx(conn: Any, options: dict[str, Any]) -> None:
    """Run the double and the call script; report what happened over `conn`."""
    import tests.doubles.ari_double as double_module
    from tests.doubles.ari_double import AriDouble

    real_make_wav = double_module.make_wav
    wavs: dict[tuple[int, int], bytes] = {}

    def cached_wav(seconds: float, rate: int = 8000, frequency: float = 440.0) -> bytes:
        # a 50 s WAV in pure Python costs the double ~0.2 s of CPU per call; Asterisk writes it for free
        key = (int(seconds), rate)
        if key not in wavs:
            wavs[key] = real_make_wav(key[0], rate, frequency)
        return wavs[key]

    double_module.make_wav = cached_wav
    class TimedDouble(AriDouble):
        """The double, noting when each event sent to the application was emitted."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.emitted: list[tuple[str, float]] = []

        def _emit(self, kind: str, **kwargs: Any) -> None:
            before, at = len(self.events), time.perf_counter()
            super()._emit(kind, **kwargs)
            if len(self.events) > before:
                self.emitted.append((kind, at))

    ari = TimedDouble(app=APP, user=USER, password=PASSWORD, playback_seconds=0.05)
    ari.start()
    try:
        for n in range(options["agents"]):
            ari.add_endpoint("PJSIP", str(FIRST_EXTENSION + n))
        conn.send(ari.url)
        if conn.recv() != "go":
            return
        report = asyncio.run(drive(ari, options))
        report.update(emitted=ari.emitted, violations=[f"{v.kind}: {v.detail}" if hasattr(v, "detail") else repr(v)
                                                       for v in ari.violations],
                      lost_events=len(ari.lost_events), lost_calls=list(ari.lost_calls), requests=len(ari.requests),
                      left_channels=sorted(ari.channels), left_bridges=sorted(ari.bridges))
        conn.send(report)
        conn.recv()  # "stop": the application is done (recordings copied)
    finally:
        ari.stop()


async def drive(ari: Any, options: dict[str, Any]) -> dict[str, Any]:
    rng = random.Random(options["seed"])
    rate, concurrent, total = options["rate"], options["concurrent"], options["calls"]
    mean_life = concurrent / rate
    slots = asyncio.Semaphore(concurrent)
    expected: dict[str, tuple[str, str]] = {}  # caller channel -> (disposition, hung up by)
    incoming: list[str] = []
    errors: list[str] = []
    live, peak, started = 0, 0, time.perf_counter()
    concurrency: list[tuple[float, int]] = []

    def ringing_leg(call: str) -> str | None:
        return next((c.id for c in ari.channels.values() if c.originated and c.state == "Ringing"
                     and len(c.app_args) >= 2 and c.app_args[1] == call), None)

    async def one(n: int, abandon: bool, delay: float, talk: float, side: str) -> None:
        nonlocal live, peak
        call = ari.incoming_call(caller=f"09{rng.randrange(10**8):08d}", dialed="1022")
        incoming.append(call)
        live += 1
        peak = max(peak, live)
        concurrency.append((time.perf_counter() - started, live))
        try:
            leg = await ari.wait_for(lambda: ringing_leg(call), timeout=20)
            await asyncio.sleep(delay)
            if abandon:
                expected[call] = ("abandoned", "caller")
                ari.hang_up(call)
                return
            ari.answer_originated(leg)
            await asyncio.sleep(talk)
            expected[call] = ("answered", side)
            ari.hang_up(call if side == "caller" else leg)
        except Exception as exc:  # noqa: BLE001 - noted, the run goes on
            errors.append(f"call {n} ({call}): {type(exc).__name__}: {exc}")
            if call in ari.channels:
                ari.hang_up(call)
        finally:
            live -= 1
            slots.release()

    tasks: list[asyncio.Task[None]] = []
    loop = asyncio.get_running_loop()
    next_at = loop.time()
    for n in range(total):
        await slots.acquire()
        await asyncio.sleep(max(0.0, next_at - loop.time()))
        next_at = max(next_at, loop.time() - 0.5 / rate) + 1 / rate  # no catch-up burst after the cap held calls
        abandon = rng.random() < options["abandon"]
        delay = rng.uniform(0.3, 4.0) if abandon else rng.uniform(0.5, 3.0)
        tasks.append(asyncio.create_task(one(n, abandon, delay, rng.uniform(0.9, 1.3) * mean_life,
                                             rng.choice(("caller", "agent")))))
    arrivals = time.perf_counter() - started
    await asyncio.gather(*tasks)
    try:  # the application hangs up the other leg and destroys the bridge
        await ari.wait_for(lambda: not ari.channels and not ari.bridges, timeout=60)
    except TimeoutError:
        errors.append("channels or bridges left 60 s after the last call")
    await asyncio.sleep(1.0)  # the last RecordingFinished / ChannelDestroyed reach the application
    steady = [c for t, c in concurrency if t >= mean_life]
    return {"incoming": incoming, "expected": expected, "errors": errors, "peak": peak,
            "steady_mean": round(sum(steady) / len(steady), 1) if steady else None,
            "arrivals_s": round(arrivals, 1), "seconds": round(time.perf_counter() - started, 1)}


# ---- the application side (this process) ---------------------------------------------------------

def prepare(url: str, agents: int) -> None:
    asyncio.run(_prepare(url, agents))


async def _prepare(url: str, agents: int) -> None:
    import sqlalchemy as sa

    from core.db import make_async_engine, make_sessionmaker, unit_of_work
    from core.models import CallQueueConfig, CallQueueMember, InboundRoute, User
    from core.models.calls import AgentStatus
    from core.services import calls

    engine = make_async_engine(url, pool_size=2, max_overflow=0)
    sessions = make_sessionmaker(engine)
    async with unit_of_work(sessions) as session:
        people = [User(username=f"agent{FIRST_EXTENSION + n}", full_name=f"Điện thoại viên {n + 1}",
                       password_hash="!benchmark") for n in range(agents)]
        session.add_all(people)
        # the demo routing of the seed (1022 -> queue `hotline`), with our agents and settings
        queue = await session.get(CallQueueConfig, "hotline")
        if queue is None:
            queue = CallQueueConfig(name="hotline", title="Tổng đài 1022")
        queue.strategy, queue.ring_timeout_s, queue.retry_s, queue.max_wait_s, queue.overflow = (
            "leastrecent", 15, 1, 600, "message")
        queue.wrapup_s, queue.announce_position_every_s, queue.join_announcement, queue.record = 2, None, None, True
        session.add(queue)
        route = await session.get(InboundRoute, "1022")
        if route is None:
            route = InboundRoute(dialed="1022", open_destination="queue:hotline")
        route.open_destination, route.open_hours, route.closed_days = "queue:hotline", [], []
        session.add(route)
        await session.flush()
        await session.exec(sa.delete(CallQueueMember).where(CallQueueMember.queue == "hotline"))
        session.add_all([CallQueueMember(queue="hotline", user_id=u.id, penalty=0) for u in people])
        ids = [u.id for u in people]
    for n, user_id in enumerate(ids):
        async with unit_of_work(sessions) as session:
            await calls.change_agent(session, user_id, AgentStatus.ready, str(FIRST_EXTENSION + n))
    async with sessions() as session:
        queue = await session.get(CallQueueConfig, "hotline")
        print(f"queue hotline: {queue.strategy}, ring {queue.ring_timeout_s} s, wrap-up {queue.wrapup_s} s, position "
              f"every {queue.announce_position_every_s} s, record {queue.record}; route 1022 -> "
              f"{(await session.get(InboundRoute, '1022')).open_destination}")
    await engine.dispose()


def make_center_class() -> type:
    from telephony.stasis import CallCenter

    class MeasuredCallCenter(CallCenter):
        """The product's application; `handle` timed (perf_counter at call and at return)."""

        samples: list[tuple[str, float, float, bool]]

        spans: Spans | None = None

        async def handle(self, event: Any) -> None:
            started, failed = time.perf_counter(), True
            if self.spans:
                self.spans.begin(event.type)
            try:
                await super().handle(event)
                failed = False
            finally:
                self.samples.append((event.type, started, time.perf_counter(), failed))
                if self.spans:
                    self.spans.end()

    return MeasuredCallCenter


class Spans:
    """--profile: the time of each ARI request, SQL statement and commit, charged to the event being
    handled (its `handle` call, lock wait included) or to "other" (the timer, recording copies)."""

    def __init__(self) -> None:
        self.current: str | None = None
        self.opened = 0.0
        self.per_event: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.requests: dict[str, list[float]] = defaultdict(list)
        self._committing: dict[int, float] = {}

    def begin(self, kind: str) -> None:
        self.current, self.opened = kind, time.perf_counter()

    def end(self) -> None:
        bucket = self.per_event[self.current or "other"]
        bucket["events"] += 1
        bucket["total"] += time.perf_counter() - self.opened
        self.current = None

    def add(self, what: str, seconds: float) -> None:
        bucket = self.per_event[self.current or "other"]
        bucket[what] += seconds
        bucket[what + " n"] += 1

    def client_class(self, base: type) -> type:
        spans = self

        class TimedClient(base):  # type: ignore[misc, valid-type]
            async def request(self, method: str, path: str, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await super().request(method, path, **kwargs)
                finally:
                    took = time.perf_counter() - started
                    spans.add("ari", took)
                    parts = path.strip("/").split("/")
                    if parts[0] == "recordings":  # /recordings/stored/{name}[/file]
                        parts = parts[:1] + ["{name}"] + parts[3:]
                    name = f"{method} /{parts[0]}" + (f"/{{id}}/{parts[2]}" if len(parts) > 2 else
                                                      "/{id}" if len(parts) > 1 else "")
                    spans.requests[name].append(took * 1000)

        return TimedClient

    def watch(self, engine: Any, sessions: Any) -> None:
        from sqlalchemy import event
        from sqlalchemy.orm import Session

        sync = engine.sync_engine

        @event.listens_for(sync, "before_cursor_execute")
        def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            conn.info["bench_started"] = time.perf_counter()

        @event.listens_for(sync, "after_cursor_execute")
        def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if not self._committing:  # statements flushed by a commit are counted in the commit
                self.add("sql", time.perf_counter() - conn.info.pop("bench_started", time.perf_counter()))

        @event.listens_for(Session, "before_commit")
        def before_commit(session: Any) -> None:
            self._committing[id(session)] = time.perf_counter()

        @event.listens_for(Session, "after_commit")
        def after_commit(session: Any) -> None:
            started = self._committing.pop(id(session), None)
            if started is not None:
                self.add("commit", time.perf_counter() - started)

    def print(self) -> None:
        print("\nwhere handling time goes (--profile), per event: ms on average (calls per event); other: totals")
        print(f"{'event':<22} {'events':>6} {'total':>8} {'ARI':>14} {'SQL':>14} {'commit':>14} {'rest':>7}")
        for kind, b in sorted(self.per_event.items(), key=lambda kv: -kv[1]["total"]):
            n = b["events"] or 1
            rest = b["total"] - b["ari"] - b["sql"] - b["commit"]

            def col(what: str) -> str:
                return f"{b[what] / n * 1000:7.2f} ({b[what + ' n'] / n:4.1f})"

            print(f"{kind:<22} {int(b['events']):>6} {b['total'] / n * 1000:8.2f} {col('ari')} {col('sql')} "
                  f"{col('commit')} {rest / n * 1000 if b['events'] else float('nan'):7.2f}")
        print(f"\n{'ARI request':<34} {'count':>6} {'p50':>7} {'p95':>7}")
        for name, xs in sorted(self.requests.items(), key=lambda kv: -len(kv[1])):
            print(f"{name:<34} {len(xs):>6} {pct(xs, 50):7.2f} {pct(xs, 95):7.2f}")


class Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: dict[str, int] = defaultdict(int)

    def emit(self, record: logging.LogRecord) -> None:
        self.messages[f"{record.levelname} {record.name}: {record.getMessage()[:90]}"] += 1


async def run_application(url: str, conn: Any, recordings: Path, timeout: float,
                          profile: bool = False) -> tuple[Any, dict[str, Any]]:
    from core.db import make_async_engine, make_sessionmaker
    from telephony.ari_client import AriClient

    ari_url = await asyncio.to_thread(conn.recv)
    engine = make_async_engine(url)
    sessions = make_sessionmaker(engine)
    spans = Spans() if profile else None
    client = (spans.client_class(AriClient) if spans else AriClient)(ari_url, USER, PASSWORD, app=APP, max_backoff=0.5)
    center = make_center_class()(client, sessions, recordings_dir=recordings)
    center.samples = []
    center.spans = spans
    if spans:
        spans.watch(engine, sessions)
    task = asyncio.create_task(center.run(), name="call-center")
    await asyncio.wait_for(center.ready.wait(), 30)
    conn.send("go")
    report = await asyncio.wait_for(asyncio.to_thread(conn.recv), timeout)
    deadline = time.monotonic() + 30
    while len(center.samples) < len(report["emitted"]) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.wait_for(center.drain(), 60)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    await client.aclose()
    conn.send("stop")
    report["open_in_app"] = sorted(center.calls)
    await engine.dispose()
    return center, report


# ---- figures and checks ----------------------------------------------------------------------------

def pct(data: list[float], p: float) -> float:
    """Nearest rank."""
    if not data:
        return float("nan")
    ordered = sorted(data)
    return ordered[min(len(ordered) - 1, max(0, -(-len(ordered) * p // 100) - 1))]


def row(name: str, handling: list[float], e2e: list[float]) -> str:
    def five(xs: list[float]) -> str:
        return " ".join(f"{v:7.2f}" for v in (pct(xs, 50), pct(xs, 95), pct(xs, 99), max(xs) if xs else float("nan")))

    return f"{name:<22} {len(handling):>6}  {five(handling)}   {five(e2e)}"


def check_records(conninfo: str, report: dict[str, Any]) -> tuple[list[str], dict[str, int]]:
    import psycopg

    from telephony.acd import TERMINAL_EVENTS

    terminal = {str(e) for e in TERMINAL_EVENTS}
    with psycopg.connect(conninfo) as db:
        rows = db.execute("SELECT uniqueid, state, disposition, hangup_by, answered_at IS NOT NULL, agent_id "
                          "FROM call").fetchall()
        events = db.execute("SELECT call_uniqueid, event FROM queue_event WHERE call_uniqueid IS NOT NULL").fetchall()
    records: dict[str, list[tuple]] = defaultdict(list)
    for r in rows:
        records[r[0]].append(r)
    ends: dict[str, list[str]] = defaultdict(list)
    for call, event in events:
        if event in terminal:
            ends[call].append(event)
    expected_end = {("answered", "caller"): "COMPLETECALLER", ("answered", "agent"): "COMPLETEAGENT",
                    ("abandoned", "caller"): "ABANDON"}
    lost: list[str] = []
    tally: dict[str, int] = defaultdict(int)
    for call in report["incoming"]:
        found, want = records.get(call, []), report["expected"].get(call)
        if len(found) != 1:
            lost.append(f"{call}: {len(found)} records")
            continue
        _, state, disposition, hangup_by, answered, agent = found[0]
        tally[f"{disposition} by {hangup_by}"] += 1
        if state != "ended":
            lost.append(f"{call}: state {state}")
        elif want is None:
            lost.append(f"{call}: the script did not finish it ({disposition} by {hangup_by})")
        elif (disposition, hangup_by) != want or (want[0] == "answered") != (answered and agent is not None):
            lost.append(f"{call}: {disposition} by {hangup_by}, answered={answered}, expected {want[0]} by {want[1]}")
        if ends.get(call, []) != ([expected_end[want]] if want in expected_end else ends.get(call)):
            lost.append(f"{call}: terminal queue events {ends.get(call, [])}")
    extra = set(records) - set(report["incoming"])
    lost += [f"{call}: a record without an incoming call" for call in sorted(extra)]
    return lost, tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=2.0, help="new calls per second")
    parser.add_argument("--concurrent", type=int, default=100, help="at most this many calls up at once")
    parser.add_argument("--calls", type=int, default=None, help="calls in all (default 600)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of arrivals (instead of --calls)")
    parser.add_argument("--agents", type=int, default=110, help="agents logged in (extensions 2000+)")
    parser.add_argument("--abandon", type=float, default=0.1, help="share of callers who give up while ringing")
    parser.add_argument("--seed", type=int, default=1022)
    parser.add_argument("--profile", action="store_true",
                        help="where handling time goes: ARI requests, SQL statements, commits, per event type")
    parser.add_argument("--synchronous-commit", choices=("on", "off"), default="on",
                        help="the database's synchronous_commit (what-if; the product's embedded PostgreSQL: on)")
    args = parser.parse_args()
    calls = args.calls if args.calls is not None else int(args.duration * args.rate) if args.duration else 600
    counter = Counter()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().addHandler(counter)

    from benchmarks.kb_search import prepare_database

    root = Path(tempfile.mkdtemp(prefix="hotline-telephony-"))
    server, url, conninfo = prepare_database(root)
    ok = False
    try:
        prepare(url, args.agents)
        if args.synchronous_commit == "off":
            import psycopg

            with psycopg.connect(conninfo, autocommit=True) as db:
                db.execute("ALTER DATABASE bench SET synchronous_commit = off")
        options = {"rate": args.rate, "concurrent": args.concurrent, "calls": calls, "agents": args.agents,
                   "abandon": args.abandon, "seed": args.seed}
        parent, child_end = multiprocessing.get_context("spawn").Pipe()
        child = multiprocessing.get_context("spawn").Process(target=pbx, args=(child_end, options), daemon=True)
        child.start()
        timeout = calls / args.rate + 3 * args.concurrent / args.rate + 180
        try:
            center, report = asyncio.run(run_application(url, parent, root / "recordings", timeout, args.profile))
        finally:
            child.join(30)
            if child.is_alive():
                child.terminate()
        ok = summarize(args, calls, center, report, conninfo, counter)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    raise SystemExit(0 if ok else 1)


def summarize(args: argparse.Namespace, calls: int, center: Any, report: dict[str, Any], conninfo: str,
              counter: Counter) -> bool:
    emitted, samples = report["emitted"], center.samples
    mismatched = sum(1 for (kind, _), (handled, *_) in zip(emitted, samples, strict=False) if kind != handled)
    handling: dict[str, list[float]] = defaultdict(list)
    e2e: dict[str, list[float]] = defaultdict(list)
    for (kind, sent), (_, started, done, _) in zip(emitted, samples, strict=False):
        handling[kind].append((done - started) * 1000)
        e2e[kind].append((done - sent) * 1000)
    every_h = [x for xs in handling.values() for x in xs]
    every_e = [x for xs in e2e.values() for x in xs]
    lost, tally = check_records(conninfo, report)
    lost += [f"{c}: still open in the application" for c in report["open_in_app"]]
    failed = sum(1 for s in samples if s[3])

    print(f"machine: {platform.node()}, {os.cpu_count()} CPUs {platform.machine()}, Python {platform.python_version()}"
          f", load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"script: {calls} calls at {args.rate}/s, at most {args.concurrent} up, {args.agents} agents, "
          f"{args.abandon:.0%} abandon while ringing, synchronous_commit {args.synchronous_commit}, double "
          f"arrivals {report['arrivals_s']} s, run {report['seconds']} s")
    print(f"peak concurrent calls: {report['peak']} (mean after the first {args.concurrent / args.rate:.0f} s: "
          f"{report['steady_mean']})")
    print(f"events: {len(emitted)} emitted, {len(samples)} handled, {mismatched} out of order, {failed} raised; "
          f"ARI requests {report['requests']}")
    print()
    print(f"{'event (ms)':<22} {'count':>6}  {'handling p50 / p95 / p99 / max':<31}   end to end p50 / p95 / p99 / max")
    print(row("all", every_h, every_e))
    for kind in sorted(handling, key=lambda k: -len(handling[k])):
        print(row(kind, handling[kind], e2e[kind]))
    print()
    print("records: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.items())))
    print(f"lost: {len(lost)}" + "".join(f"\n  {x}" for x in lost[:50]))
    print(f"violations: {len(report['violations'])}" + "".join(f"\n  {v}" for v in report["violations"][:20]))
    print(f"script errors: {len(report['errors'])}" + "".join(f"\n  {e}" for e in report["errors"][:20]))
    if report["lost_events"] or report["lost_calls"] or report["left_channels"] or report["left_bridges"]:
        print(f"double: lost events {report['lost_events']}, lost calls {report['lost_calls']}, channels left "
              f"{report['left_channels'][:10]}, bridges left {report['left_bridges'][:10]}")
    if counter.messages:
        print("log warnings / errors:")
        for message, n in sorted(counter.messages.items(), key=lambda kv: -kv[1])[:15]:
            print(f"  {n:>5} × {message}")
    if center.spans:
        center.spans.print()
    p95 = pct(every_h, 95)
    print(f"\ntarget: handling p95 <= 20 ms -> {p95:.2f} ms ({'met' if p95 <= 20 else 'NOT met'}); "
          f"end to end p95 {pct(every_e, 95):.2f} ms; lost call records {len(lost)} "
          f"({'met' if not lost else 'NOT met'})")
    return not lost and not report["violations"] and not report["errors"] and not mismatched


if __name__ == "__main__":
    main()
