"""Ticket life-cycle benchmark over HTTP against `hotline up` (API + Temporal worker in one
process, embedded PostgreSQL and Temporal).

    PYTHONPATH=. .venv/bin/python benchmarks/lifecycle.py                # starts its own `hotline up`
    PYTHONPATH=. .venv/bin/python benchmarks/lifecycle.py --url http://127.0.0.1:8000   # a running one
    PYTHONPATH=. .venv/bin/python benchmarks/lifecycle.py --phases memory --open-tickets 2000

Phases (in this order; `--phases` picks some):
  throughput  --tickets N tickets through intake -> dispatch -> assign -> process -> approve ->
              close, on --concurrency workers; a life cycle is complete when the ticket's status
              is `resolved`. Target: >= 20 complete life cycles per second.
  latency     open tickets only, --latency-clients at a time: POST /api/v1/tickets sent -> the
              `dispatch` task seen in the coordinator's inbox. Target: p95 <= 150 ms. Closed loop by
              default (each client opens its next ticket as soon as the last one's task is seen,
              so this is also a saturation test); --latency-rate R opens R tickets/s instead.
              Also reported from the server's own timestamps (same host, same clock): POST sent ->
              task row created, and ticket row -> task row (no polling in those two).
  memory      open --open-tickets tickets (default 3,000) that stay waiting at `dispatch`,
              paced by --max-backlog; RSS of the `hotline up` process before, during (a curve)
              and after. Target: <= 1.5 GB at 10,000 (opening 10,000 takes ~20 min on 2 cores:
              pass --open-tickets 10000 --phase-s 1800 for the full figure).

The inbox is polled by one shared poller per person (one GET ?per_page=200 per poll, short
sleeps), not one loop per ticket, so the client steals little CPU from the server. The report
includes the load average and the CPU seconds spent by the server process, PostgreSQL, Temporal
and this client in each phase (the machine may be shared: read the numbers with the load).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _lifecycle_driver import (
    BenchError,
    Stats,
    one_life_cycle,
    open_ticket,
    prepare,
    run_workers,
    server_time,
    summary,
)

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
TARGET_PER_S = 20
TARGET_P95_MS = 150
TARGET_RSS_MB = 1536


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, data: Path, log: Path) -> tuple[subprocess.Popen[bytes], float]:
    env = {**os.environ, "HOTLINE_LOG_LEVEL": "WARNING", "HOTLINE_LOGIN_ATTEMPTS_PER_MINUTE": "0"}
    for var in ("HOTLINE_DATABASE_URL", "HOTLINE_TEMPORAL_ADDRESS"):
        env.pop(var, None)
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "up", "--host", "127.0.0.1", "--port", str(port),
                                 "--data-dir", str(data)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"hotline up exited with {proc.returncode}; see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc, time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server did not become ready; see {log}")


def stop_server(proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        children = []
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(90)
        exited = True
    except subprocess.TimeoutExpired:
        exited = False
        proc.kill()
        proc.wait(10)
    stop_s = time.perf_counter() - t0
    time.sleep(0.5)
    left = [c.pid for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    return {"exited_on_sigint": exited, "exit_code": proc.returncode, "stop_s": round(stop_s, 2), "processes_left": left}


def pid_listening_on(port: int) -> int | None:
    try:
        for conn in psutil.net_connections("tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
                return conn.pid
    except psutil.Error:
        pass
    return None


def _cpu(p: psutil.Process) -> float:
    t = p.cpu_times()
    return t.user + t.system


def _kind(p: psutil.Process) -> str:
    name = p.name().lower()
    return "postgres" if "postgres" in name else "temporal" if "temporal" in name else "other_children"


def cpu_snapshot(pid: int | None) -> dict[str, Any]:
    """Cumulative CPU seconds of this client, the machine, the server process and each child
    (by pid: PostgreSQL backends come and go)."""
    machine = psutil.cpu_times()
    snap: dict[str, Any] = {"client": _cpu(psutil.Process()),
                            "machine_busy": sum(machine) - machine.idle - getattr(machine, "iowait", 0.0), "pids": {}}
    if pid is None:
        return snap
    try:
        server = psutil.Process(pid)
        snap["pids"][pid] = ("server_process", _cpu(server))
        for child in server.children(recursive=True):
            try:
                snap["pids"][child.pid] = (_kind(child), _cpu(child))
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    return snap


def cpu_delta(before: dict[str, Any], after: dict[str, Any], seconds: float) -> dict[str, Any]:
    """CPU seconds per component in the phase (a process gone before the end is not counted),
    and how busy the whole machine was (other work on it included)."""
    cores = os.cpu_count() or 1
    used: dict[str, float] = {"client": after["client"] - before["client"]}
    for p, (kind, cpu) in after["pids"].items():
        used[kind] = used.get(kind, 0.0) + cpu - before["pids"].get(p, (kind, 0.0))[1]
    out: dict[str, Any] = {"wall_s": round(seconds, 2), "cores": cores}
    out.update({f"{k}_cpu_s": round(v, 2) for k, v in sorted(used.items())})
    out["machine_busy_pct"] = round(100 * (after["machine_busy"] - before["machine_busy"]) / (seconds * cores), 1)
    return out


def rss_mb(pid: int | None) -> dict[str, float] | None:
    if pid is None:
        return None
    try:
        server = psutil.Process(pid)
        out = {"server_process_mb": round(server.memory_info().rss / MB, 1)}
        for child in server.children(recursive=True):
            try:
                key = f"{_kind(child)}_mb"
                out[key] = round(out.get(key, 0.0) + child.memory_info().rss / MB, 1)
            except psutil.Error:
                pass
        return out
    except psutil.Error:
        return None


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# ---- phases --------------------------------------------------------------------------------


async def request_costs(actors: Any, pid: int | None, code: str, n: int = 40) -> dict[str, float] | None:
    """Server CPU per polling request (measured alone, one at a time), to tell the benchmark's
    own polling apart from the product's work in the throughput phase."""
    if pid is None:
        return None
    await asyncio.sleep(2)  # let the warm-up's last service tasks finish
    server = psutil.Process(pid)
    out = {}
    for name, url, params in (("inbox_get", "/api/v1/inbox", {"per_page": 200}), ("ticket_get", f"/api/v1/tickets/{code}", None)):
        c0 = _cpu(server)
        for _ in range(n):
            await actors.client.get(url, headers=actors.headers["coordinator"], params=params)
        out[f"{name}_server_cpu_ms"] = round((_cpu(server) - c0) * 1000 / n, 2)
    return out


async def phase_throughput(args: argparse.Namespace, actors: Any, run: str, pid: int | None) -> dict[str, Any]:
    for poller in actors.pollers.values():
        poller.interval = args.throughput_poll_interval
    warm = Stats()
    warm_codes: list[str] = []

    async def warm_one(i: int) -> None:
        warm_codes.append(await one_life_cycle(actors, f"bench-{run}-warm-{i:06d}", warm, args.wait_s, args.status_interval))

    await run_workers(max(1, args.warmup), min(args.concurrency, max(1, args.warmup)), args.phase_s, warm_one)
    costs = await request_costs(actors, pid, warm_codes[0]) if warm_codes else None
    stats = Stats()
    polls_before = sum(p.requests for p in actors.pollers.values())
    cpu0 = cpu_snapshot(pid)
    completed, seconds, errors = await run_workers(
        args.tickets, args.concurrency, args.phase_s,
        lambda i: one_life_cycle(actors, f"bench-{run}-tp-{i:06d}", stats, args.wait_s, args.status_interval))
    cpu = cpu_delta(cpu0, cpu_snapshot(pid), seconds)
    for poller in actors.pollers.values():
        poller.interval = args.poll_interval
    status_gets = int(sum(stats.latencies.pop("status_polls", [])))
    inbox_gets = sum(p.requests for p in actors.pollers.values()) - polls_before
    rate = completed / seconds if seconds else 0.0
    out: dict[str, Any] = {
        "tickets": args.tickets, "concurrency": args.concurrency, "warmup_tickets": max(1, args.warmup),
        "completed": completed, "errors": len(errors), "error_samples": errors[:5], "seconds": round(seconds, 2),
        "life_cycles_per_s": round(rate, 2), "target_per_s": TARGET_PER_S, "met": rate >= TARGET_PER_S,
        "requests": {"product_per_life_cycle": 6, "inbox_polls": inbox_gets, "status_polls": status_gets,
                     "polls_per_life_cycle": round((inbox_gets + status_gets) / max(completed, 1), 1)},
        "steps": stats.summaries(), "cpu": cpu, "load_average_after": loadavg()}
    if completed and "server_process_cpu_s" in cpu:
        per = {"server_process_cpu_ms": round(cpu["server_process_cpu_s"] * 1000 / completed, 1),
               "temporal_cpu_ms": round(cpu.get("temporal_cpu_s", 0.0) * 1000 / completed, 1),
               "postgres_cpu_ms": round(cpu.get("postgres_cpu_s", 0.0) * 1000 / completed, 1),
               "client_cpu_ms": round(cpu["client_cpu_s"] * 1000 / completed, 1)}
        if costs:
            polling = (inbox_gets * costs["inbox_get_server_cpu_ms"] + status_gets * costs["ticket_get_server_cpu_ms"]) / completed
            per["server_process_cpu_ms_polling_est"] = round(polling, 1)
            per["server_process_cpu_ms_product_est"] = round(per["server_process_cpu_ms"] - polling, 1)
        out["per_life_cycle"] = per
        out["request_costs_alone"] = costs
    return out


async def phase_latency(args: argparse.Namespace, actors: Any, run: str, pid: int | None) -> dict[str, Any]:
    poller = actors.pollers["coordinator"]
    stats = Stats()

    paced_from = time.perf_counter()

    async def body(i: int) -> None:
        if args.latency_rate and i < 100000:  # open-loop arrivals: ticket i is due at i / rate
            await asyncio.sleep(max(0.0, paced_from + i / args.latency_rate - time.perf_counter()))
        min_position = max(0, poller.total - 50)  # rows are oldest first: the new task sits at the tail
        ticket, sent_wall, sent = await open_ticket(actors, f"bench-{run}-lat-{i:06d}", stats)
        item, seen = await poller.wait(ticket["code"], "dispatch", args.wait_s, min_position)
        task_at = server_time(item["created_at"])
        stats.add("open_to_inbox", (seen - sent) * 1000)
        stats.add("post_to_task_row", (task_at - sent_wall) * 1000)
        stats.add("ticket_row_to_task_row", (task_at - server_time(ticket["created_at"])) * 1000)

    # prime the poller's idea of the inbox size (tasks left by earlier phases)
    if args.latency_warmup:
        await run_workers(args.latency_warmup, min(args.latency_clients, args.latency_warmup), args.phase_s,
                          lambda i: body(100000 + i))
        stats = Stats()
    requests_before = poller.requests
    cpu0 = cpu_snapshot(pid)
    paced_from = time.perf_counter()
    completed, seconds, errors = await run_workers(args.latency_tickets, args.latency_clients, args.phase_s, body)
    cpu = cpu_delta(cpu0, cpu_snapshot(pid), seconds)
    s = stats.summaries()
    p95 = s.get("open_to_inbox", {}).get("p95_ms", float("nan"))
    return {"tickets": args.latency_tickets, "clients": args.latency_clients, "warmup_tickets": args.latency_warmup,
            "arrivals": f"open loop, {args.latency_rate}/s, at most {args.latency_clients} in flight" if args.latency_rate
            else f"closed loop: {args.latency_clients} clients, each opens its next ticket once the last one's task is seen",
            "completed": completed, "errors": len(errors), "error_samples": errors[:5], "seconds": round(seconds, 2),
            "tickets_opened_per_s": round(completed / seconds, 1) if seconds else None,
            "open_to_inbox_ms": s.get("open_to_inbox"), "target_p95_ms": TARGET_P95_MS, "met": p95 <= TARGET_P95_MS,
            "post_to_task_row_ms": s.get("post_to_task_row"), "ticket_row_to_task_row_ms": s.get("ticket_row_to_task_row"),
            "post_response_ms": s.get("open_post"), "inbox_polls": poller.requests - requests_before,
            "inbox_get_ms": summary(poller.request_ms[requests_before:]), "inbox_rows_at_end": poller.total,
            "cpu": cpu, "load_average_after": loadavg()}


async def inbox_total(actors: Any) -> int:
    response = await actors.client.get("/api/v1/inbox", headers=actors.headers["coordinator"], params={"per_page": 1})
    return int(response.json()["total"])


async def phase_memory(args: argparse.Namespace, actors: Any, run: str, pid: int | None) -> dict[str, Any]:
    """Open tickets (POST only) and leave them waiting at `dispatch`. Opening is paced so that at
    most --max-backlog opened tickets lack their `dispatch` task: unpaced, the worker falls behind
    (8,406 opened in 900 s on 2 cores, only 3,892 of them at `dispatch` 120 s later) and the phase
    would measure a backlog, not tickets waiting."""
    if pid is None:
        return {"skipped": "no server pid (use a local server, or run as a user that can see its sockets)"}
    stats = Stats()
    waiting_before = await inbox_total(actors)
    await asyncio.sleep(2)
    before = rss_mb(pid)
    curve: list[list[float]] = []
    peak = before["server_process_mb"] if before else 0.0
    started = opened = 0
    waiting = waiting_before
    paused_s = 0.0
    stop_at = time.perf_counter() + args.phase_s

    async def body(i: int) -> None:
        nonlocal started, opened, paused_s
        t0 = time.perf_counter()
        while started - (waiting - waiting_before) >= args.max_backlog and time.perf_counter() < stop_at:
            await asyncio.sleep(0.2)
        paused_s += time.perf_counter() - t0
        started += 1
        await open_ticket(actors, f"bench-{run}-mem-{i:06d}", stats)
        opened += 1

    async def sampler() -> None:
        nonlocal peak, waiting
        next_mark = args.curve_every
        while True:
            now = rss_mb(pid)
            try:
                waiting = await inbox_total(actors)
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            if now:
                peak = max(peak, now["server_process_mb"])
                if waiting - waiting_before >= next_mark:
                    curve.append([opened, waiting - waiting_before, now["server_process_mb"]])
                    next_mark += args.curve_every
            await asyncio.sleep(0.5)

    sampling = asyncio.create_task(sampler())
    cpu0 = cpu_snapshot(pid)
    t0 = time.perf_counter()
    try:
        completed, post_seconds, errors = await run_workers(args.open_tickets, args.open_concurrency, args.phase_s, body)
        # every opened ticket's workflow writes its `dispatch` task: wait for the rest (bounded)
        expected = waiting_before + completed
        deadline = time.monotonic() + args.settle_s
        while waiting < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        seconds = time.perf_counter() - t0
        cpu = cpu_delta(cpu0, cpu_snapshot(pid), seconds)
        await asyncio.sleep(3)
        waiting = await inbox_total(actors)
        after = rss_mb(pid)
    finally:
        sampling.cancel()
    arrived = waiting - waiting_before
    delta = (after["server_process_mb"] - before["server_process_mb"]) if after and before else float("nan")
    per_ticket_kb = delta * 1024 / arrived if arrived > 0 else float("nan")
    out: dict[str, Any] = {
        "open_tickets": args.open_tickets, "opened": completed, "concurrency": args.open_concurrency,
        "max_backlog": args.max_backlog, "errors": len(errors), "error_samples": errors[:5],
        "seconds_posting": round(post_seconds, 1), "seconds_until_all_waiting": round(seconds, 1),
        "waiting_per_s": round(arrived / seconds, 1) if seconds else None, "workers_paused_for_backlog_s": round(paused_s, 1),
        "waiting_at_dispatch_before": waiting_before, "waiting_at_dispatch_after": waiting,
        "all_reached_dispatch": arrived >= completed,
        "rss_before": before, "rss_after": after, "server_rss_peak_mb": round(peak, 1),
        "server_rss_growth_mb": round(delta, 1), "server_rss_growth_per_waiting_ticket_kb": round(per_ticket_kb, 1),
        "target_mb": TARGET_RSS_MB,
        "met": bool(after and peak <= TARGET_RSS_MB and arrived >= 10000),
        "rss_curve_opened_waiting_mb": curve, "post_response_ms": stats.summaries().get("open_post"), "cpu": cpu,
        "load_average_after": loadavg()}
    if arrived < 10000 and before and after:
        out["extrapolated_10000_linear_mb"] = round(before["server_process_mb"] + per_ticket_kb * 10000 / 1024, 1)
        if len(curve) >= 2:  # the slope past the first curve point, where the workflow cache is full
            (_, w0, r0), (w1, r1) = curve[0], (arrived, after["server_process_mb"])
            if w1 > w0:
                slope_kb = (r1 - r0) * 1024 / (w1 - w0)
                out["rss_slope_after_first_curve_point_kb_per_ticket"] = round(slope_kb, 1)
                out["extrapolated_10000_from_slope_mb"] = round(r1 + slope_kb * (10000 - w1) / 1024, 1)
        out["note"] = ("fewer than 10,000 tickets waiting: `met` needs a 10,000 run. The linear extrapolation "
                       "over-states growth once the worker's workflow cache (1,000 runs by default) is full; "
                       "the slope extrapolation uses the curve [opened, waiting, server RSS MB] past its first point")
    return out


async def run_phases(args: argparse.Namespace, base: str, pid: int | None) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    concurrency = max(args.concurrency, args.latency_clients, args.open_concurrency)
    limits = httpx.Limits(max_connections=concurrency + 8, max_keepalive_connections=concurrency + 8)
    results: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=httpx.Timeout(60.0)) as client:
        actors = await prepare(client, args.password, args.poll_interval)
        try:
            results["rss_at_start"] = rss_mb(pid)
            for name, phase in (("throughput", phase_throughput), ("latency", phase_latency), ("memory", phase_memory)):
                if name in args.phases:
                    print(f"[lifecycle] {name} ... (load {loadavg()})", file=sys.stderr, flush=True)
                    results[name] = await phase(args, actors, run, pid)
                    print(f"[lifecycle] {name} done", file=sys.stderr, flush=True)
        finally:
            await actors.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="an already running server (http://127.0.0.1:PORT)")
    parser.add_argument("--port", type=int, default=0, help="port for the server this script starts (default: a free one)")
    parser.add_argument("--phases", default="throughput,latency,memory")
    parser.add_argument("--tickets", type=int, default=500, help="throughput: life cycles to run")
    parser.add_argument("--concurrency", type=int, default=20, help="throughput: workers")
    parser.add_argument("--warmup", type=int, default=20, help="throughput: life cycles before measuring")
    parser.add_argument("--latency-tickets", type=int, default=400)
    parser.add_argument("--latency-clients", type=int, default=20)
    parser.add_argument("--latency-warmup", type=int, default=20)
    parser.add_argument("--latency-rate", type=float, default=0,
                        help="latency: open tickets at this rate per second (open loop) instead of back to back")
    parser.add_argument("--open-tickets", type=int, default=3000,
                        help="memory: tickets left waiting at dispatch (the issue's figure is 10000: ~20 min on 2 cores)")
    parser.add_argument("--open-concurrency", type=int, default=20)
    parser.add_argument("--max-backlog", type=int, default=200,
                        help="memory: pause opening while this many opened tickets lack their dispatch task")
    parser.add_argument("--settle-s", type=float, default=300, help="memory: wait at most this for the last dispatch tasks")
    parser.add_argument("--curve-every", type=int, default=1000, help="memory: RSS sample every N tickets opened")
    parser.add_argument("--poll-interval", type=float, default=0.01, help="latency: seconds between inbox polls")
    parser.add_argument("--throughput-poll-interval", type=float, default=0.05,
                        help="throughput: seconds between inbox polls of one person (each poll costs the server ~8 ms CPU)")
    parser.add_argument("--status-interval", type=float, default=0.05,
                        help="seconds between GET /api/v1/tickets/{code} while waiting for `resolved`")
    parser.add_argument("--wait-s", type=float, default=60, help="deadline for one task to appear")
    parser.add_argument("--phase-s", type=float, default=900, help="no new tickets are started after this in a phase")
    parser.add_argument("--password", default="Hotline@1022")
    parser.add_argument("--keep-data", action="store_true", help="keep the data dir of the server this script starts")
    args = parser.parse_args()
    args.phases = {p.strip() for p in args.phases.split(",") if p.strip()}
    unknown = args.phases - {"throughput", "latency", "memory"}
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")

    report: dict[str, Any] = {"machine": f"{platform.node()} {os.cpu_count()} cores {platform.machine()}",
                              "python": platform.python_version(), "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
                              "load_average_at_start": loadavg()}
    proc = None
    data = None
    if args.url:
        base = args.url.rstrip("/")
        port = httpx.URL(base).port or 80
        pid = pid_listening_on(port)
        report["server"] = {"url": base, "pid": pid, "started_by_benchmark": False}
    else:
        port = args.port or free_port()
        data = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
        log = data.parent / f"{data.name}.log"  # beside the data dir; kept with --keep-data or on trouble
        proc, ready_s = start_server(port, data, log)
        base = f"http://127.0.0.1:{port}"
        pid = proc.pid
        report["server"] = {"url": base, "pid": pid, "started_by_benchmark": True, "ready_s": round(ready_s, 1),
                            "data_dir": str(data), "log": str(log),
                            "env": {"HOTLINE_LOG_LEVEL": "WARNING", "HOTLINE_LOGIN_ATTEMPTS_PER_MINUTE": "0"}}
    report["parameters"] = {k: (sorted(v) if isinstance(v, set) else v) for k, v in vars(args).items() if k != "password"}
    try:
        report.update(asyncio.run(run_phases(args, base, pid)))
    except BenchError as exc:
        report["error"] = str(exc)
    finally:
        if proc is not None:
            report["shutdown"] = stop_server(proc)
            if data is not None and not args.keep_data:
                shutil.rmtree(data, ignore_errors=True)
                report["server"]["data_dir"] = None
                clean = "error" not in report and report["shutdown"]["exited_on_sigint"] and not report["shutdown"]["processes_left"]
                if clean:
                    (data.parent / f"{data.name}.log").unlink(missing_ok=True)
                    report["server"]["log"] = None
    report["load_average_at_end"] = loadavg()
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
