"""The async machinery behind `benchmarks/lifecycle.py`: one shared inbox poller per actor
(one GET per poll, however many tickets wait on that person), workers that take tickets through
their whole life cycle, and the open-only loops of the latency and memory phases.

Every loop is bounded: a count (tickets), a per-wait deadline and a phase deadline."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

PER_PAGE = 200  # the API's maximum
MAX_PAGES_PER_POLL = 60  # 12,000 inbox rows at most in one poll cycle

TICKET_BODY = {"channel": "call", "description": "Đèn tín hiệu tại ngã tư Tân Phong bị hỏng, xe cộ lộn xộn (benchmark).",
               "citizen_name": "Nguyễn Văn An", "citizen_phone": "0912345678"}


def pct(data: list[float], p: float) -> float:
    if not data:
        return float("nan")
    ordered = sorted(data)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(data: list[float]) -> dict[str, float]:
    if not data:
        return {"n": 0}
    return {"n": len(data), "p50_ms": round(pct(data, 50), 1), "p95_ms": round(pct(data, 95), 1),
            "p99_ms": round(pct(data, 99), 1), "mean_ms": round(statistics.fmean(data), 1), "max_ms": round(max(data), 1)}


def server_time(value: str) -> float:
    """An API timestamp (UTC, ISO 8601) as epoch seconds, comparable with time.time() on the same host."""
    return datetime.fromisoformat(value).timestamp()


class BenchError(Exception):
    pass


@dataclass
class Waiter:
    key: tuple[str, str]
    first_page: int
    future: asyncio.Future[tuple[dict[str, Any], float]]


class InboxPoller:
    """Polls one person's inbox (`GET /api/v1/inbox?per_page=200`) while anyone waits for a
    task in it, and hands each waiter its task as soon as a poll shows it."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str], name: str, interval: float) -> None:
        self.client, self.headers, self.name, self.interval = client, headers, name, interval
        self.waiters: dict[tuple[str, str], Waiter] = {}
        self.total = 0  # active tasks in this inbox, as the last poll saw it
        self.polls = 0
        self.requests = 0
        self.errors = 0
        self.request_ms: list[float] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"poller-{self.name}")

    async def close(self) -> None:
        self._closed = True
        self._wake.set()
        if self._task is not None:
            await self._task
        for waiter in self.waiters.values():
            if not waiter.future.done():
                waiter.future.set_exception(BenchError(f"poller {self.name} closed"))

    async def wait(self, code: str, bpmn_id: str, timeout: float, min_position: int = 0) -> tuple[dict[str, Any], float]:
        """The inbox item for (ticket, task) and when a poll first showed it (perf_counter).
        `min_position`: the task cannot sit before this row (rows are ordered oldest first)."""
        key = (code, bpmn_id)
        if key in self.waiters:
            raise BenchError(f"two waiters for {key}")
        waiter = Waiter(key, max(1, min_position // PER_PAGE + 1), asyncio.get_running_loop().create_future())
        self.waiters[key] = waiter
        self._wake.set()
        try:
            return await asyncio.wait_for(waiter.future, timeout)
        except TimeoutError:
            raise BenchError(f"{bpmn_id} of {code} did not reach {self.name}'s inbox within {timeout} s") from None
        finally:
            self.waiters.pop(key, None)

    async def _get(self, page: int) -> dict[str, Any]:
        t0 = time.perf_counter()
        response = await self.client.get("/api/v1/inbox", headers=self.headers, params={"per_page": PER_PAGE, "page": page})
        self.request_ms.append((time.perf_counter() - t0) * 1000)
        self.requests += 1
        if response.status_code != 200:
            self.errors += 1
            raise BenchError(f"inbox of {self.name}: HTTP {response.status_code} {response.text[:200]}")
        return response.json()

    async def _run(self) -> None:
        while not self._closed:
            if not self.waiters:
                self._wake.clear()
                await self._wake.wait()
                continue
            self.polls += 1
            page = min(w.first_page for w in self.waiters.values())
            try:
                for _ in range(MAX_PAGES_PER_POLL):
                    body = await self._get(page)
                    seen = time.perf_counter()
                    self.total = body["total"]
                    for item in body["items"]:
                        waiter = self.waiters.get((item["ticket_code"], item["bpmn_id"]))
                        if waiter is not None and not waiter.future.done():
                            waiter.future.set_result((item, seen))
                    if not any(not w.future.done() for w in self.waiters.values()) or page * PER_PAGE >= self.total:
                        break
                    page += 1
            except (httpx.HTTPError, BenchError):
                await asyncio.sleep(0.2)  # counted in self.errors (HTTP errors too, below)
                self.errors += 1
            await asyncio.sleep(self.interval)


@dataclass
class Actors:
    """Signed-in people and their pollers."""

    client: httpx.AsyncClient
    headers: dict[str, dict[str, str]]
    pollers: dict[str, InboxPoller]
    unit_path: str

    async def close(self) -> None:
        for poller in self.pollers.values():
            await poller.close()


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/token", data={"username": username, "password": password})
    if response.status_code != 200:
        raise BenchError(f"sign-in of {username}: HTTP {response.status_code} {response.text[:200]}")
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def prepare(client: httpx.AsyncClient, password: str, interval: float, unit_code: str = "P.TRANBIEN") -> Actors:
    names = {"coordinator": "dieuphoi", "manager": "ld.tranbien", "officer": "cv.tranbien", "admin": "admin"}
    headers = {role: await sign_in(client, user, password) for role, user in names.items()}
    units = (await client.get("/api/v1/org-units", headers=headers["admin"])).json()
    paths = [u["path"] for u in units if u["code"] == unit_code]
    if not paths:
        raise BenchError(f"org unit {unit_code} not found (is the demo data seeded?)")
    pollers = {role: InboxPoller(client, headers[role], role, interval) for role in ("coordinator", "manager", "officer")}
    for poller in pollers.values():
        poller.start()
    return Actors(client, headers, pollers, paths[0])


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, name: str, ms: float) -> None:
        self.latencies.setdefault(name, []).append(ms)

    def summaries(self) -> dict[str, dict[str, float]]:
        return {name: summary(values) for name, values in self.latencies.items()}


async def open_ticket(actors: Actors, key: str, stats: Stats) -> tuple[dict[str, Any], float, float]:
    """POST /api/v1/tickets; returns (ticket, sent wall-clock time, sent perf_counter)."""
    sent_wall, sent = time.time(), time.perf_counter()
    response = await actors.client.post("/api/v1/tickets", headers={**actors.headers["coordinator"], "Idempotency-Key": key},
                                        json=TICKET_BODY)
    stats.add("open_post", (time.perf_counter() - sent) * 1000)
    if response.status_code != 201:
        raise BenchError(f"open ticket: HTTP {response.status_code} {response.text[:200]}")
    return response.json(), sent_wall, sent


# The normal path: (who, task, form).
STEPS = [
    ("coordinator", "dispatch", lambda unit: {"unit_path": unit, "note": "Chuyển phường xử lý"}),
    ("manager", "assign", lambda unit: {"decision": "officer", "officer": "cv.tranbien", "note": "Xử lý trong ngày"}),
    ("officer", "process", lambda unit: {"outcome": "result", "result": "Đã báo điện lực, đèn đã sửa xong"}),
    ("manager", "approve_result", lambda unit: {"decision": "approve"}),
    ("coordinator", "close", lambda unit: {"note": "Đã báo người dân"}),
]


async def one_life_cycle(actors: Actors, key: str, stats: Stats, wait_s: float, status_interval: float) -> str:
    ticket, _, started = await open_ticket(actors, key, stats)
    code = ticket["code"]
    since = time.perf_counter()
    for role, bpmn_id, form in STEPS:
        item, seen = await actors.pollers[role].wait(code, bpmn_id, wait_s)
        stats.add(f"wait_{bpmn_id}", (seen - since) * 1000)
        t0 = time.perf_counter()
        response = await actors.client.post(f"/api/v1/inbox/{item['id']}/complete", headers=actors.headers[role],
                                            json={"data": form(actors.unit_path)})
        since = time.perf_counter()
        stats.add(f"complete_{bpmn_id}", (since - t0) * 1000)
        if response.status_code != 200:
            raise BenchError(f"complete {bpmn_id} of {code}: HTTP {response.status_code} {response.text[:200]}")
    # The resolution is written by the service tasks that run after `close` returns: poll the
    # ticket, backing off from status_interval to 4x it.
    deadline = time.perf_counter() + wait_s
    polls = 0
    pause = status_interval
    while True:
        await asyncio.sleep(pause)
        pause = min(pause * 1.5, status_interval * 4)
        polls += 1
        response = await actors.client.get(f"/api/v1/tickets/{code}", headers=actors.headers["coordinator"])
        if response.status_code == 200 and response.json()["status"] == "resolved":
            break
        if time.perf_counter() > deadline:
            raise BenchError(f"{code} not resolved within {wait_s} s (status {response.json().get('status')})")
    done = time.perf_counter()
    stats.add("wait_resolved", (done - since) * 1000)
    stats.add("status_polls", polls)
    stats.add("life_cycle", (done - started) * 1000)
    return code


async def run_workers(count: int, concurrency: int, phase_s: float, body: Any) -> tuple[int, float, list[str]]:
    """Run `body(i)` for i in range(count) on `concurrency` workers; stop taking new work after
    phase_s. Returns (completed, seconds, errors)."""
    counter = itertools.count()
    completed = 0
    errors: list[str] = []
    started = time.perf_counter()
    stop_at = started + phase_s

    async def worker() -> None:
        nonlocal completed
        while time.perf_counter() < stop_at:
            i = next(counter)
            if i >= count:
                return
            try:
                await body(i)
                completed += 1
            except (BenchError, httpx.HTTPError, KeyError, ValueError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:300])

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return completed, time.perf_counter() - started, errors
