"""The system log's searches with millions of entries (core.services.audit, as /admin/audit uses it).

    .venv/bin/python benchmarks/admin_audit_log.py [--entries 2000000] [--repeat 7]

A fresh embedded PostgreSQL gets the migrations, the reference and demo data, and N log entries
inserted by one INSERT … SELECT generate_series, spread over the last 365 days the way the log
fills in production: mostly unmasked list reads (pii.list), then single reports read, exports,
and a few administrative changes. Each search runs in-process against the service (no HTTP, no
page rendering: those add the same few milliseconds to every case) and is timed over --repeat
runs after one warm-up; the JSON printed holds the median and the slowest run per case.

No index is added for this: the log's indexes are the primary key, actor_id and (entity, entity_id).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

SEED_SQL = """
WITH users AS (SELECT array_agg(id ORDER BY id) AS ids, array_agg(username ORDER BY id) AS names FROM app_user),
     g AS (SELECT n, (n::bigint * 2654435761) %% 1000 AS r FROM generate_series(1, %(n)s) AS n)
INSERT INTO audit_log (at, actor_id, actor_name, action, entity, entity_id, before, after, request_id, ip)
SELECT now() - interval '365 days' + (n::float / %(n)s) * interval '365 days',
       users.ids[1 + n %% array_length(users.ids, 1)], users.names[1 + n %% array_length(users.names, 1)],
       CASE WHEN r < 800 THEN 'pii.list' WHEN r < 950 THEN 'pii.read' WHEN r < 970 THEN 'tickets.export'
            WHEN r < 990 THEN 'update' WHEN r < 997 THEN 'create' ELSE 'delete' END,
       CASE WHEN r < 970 THEN 'ticket' WHEN r < 980 THEN 'org_unit' WHEN r < 990 THEN 'user'
            WHEN r < 998 THEN 'ticket_field' ELSE 'auto_dispatch_rule' END,
       CASE WHEN r < 800 OR (r >= 950 AND r < 970) THEN NULL
            WHEN r < 950 THEN '1022-2025-' || lpad((n %% 999999)::text, 6, '0') ELSE (n %% 5000)::text END,
       CASE WHEN r >= 970 AND r < 990 THEN jsonb_build_object('name', 'Tên cũ ' || n, 'active', true) END,
       CASE WHEN r < 800 THEN jsonb_build_object('codes', jsonb_build_array(
                 '1022-2025-' || lpad((n %% 999999)::text, 6, '0'), '1022-2025-' || lpad(((n + 1) %% 999999)::text, 6, '0')))
            WHEN r >= 950 AND r < 970 THEN jsonb_build_object('rows', n %% 5000, 'pii', true)
            WHEN r >= 970 AND r < 997 THEN jsonb_build_object('name', 'Tên mới ' || n, 'active', r %% 2 = 0) END,
       'req-' || n, '10.0.' || (n %% 250) || '.' || (n %% 200)
FROM g, users
"""


def prepare_database(root: Path, entries: int) -> tuple[object, str, float]:
    from cli import tasks
    from cli.embedded.postgres import EmbeddedPostgres

    server = EmbeddedPostgres(root / "postgres", database="postgres")
    server.start()
    url = server.create_database("bench")
    tasks.migrate(url)
    tasks.seed(url, "2025", "75", demo=True)
    started = time.perf_counter()
    with psycopg.connect(server._conninfo("bench"), autocommit=True) as conn:  # type: ignore[attr-defined]
        conn.execute(SEED_SQL, {"n": entries})
        conn.execute("VACUUM ANALYZE audit_log")
    return server, url, time.perf_counter() - started


def local_day(days_ago: int) -> tuple[datetime, datetime]:
    day = (datetime.now(LOCAL_TZ) - timedelta(days=days_ago)).date()
    start = datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)
    return start, start + timedelta(days=1)


async def measure(url: str, repeat: int) -> dict[str, dict[str, float | int | str]]:
    import sqlalchemy as sa
    from sqlmodel import select

    from core.db import make_async_engine, make_sessionmaker
    from core.models import AuditLog
    from core.services import audit
    from core.services.audit import AuditFilters

    engine = make_async_engine(url, pool_size=2, max_overflow=0)
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        dieuphoi = await audit.find_actor_ids(session, "dieuphoi")
        middle = (await session.exec(select(sa.func.max(AuditLog.id)))).one() // 2
        code = (await session.exec(select(AuditLog.entity_id).where(AuditLog.id > middle, AuditLog.action == "pii.read")
                                   .order_by(AuditLog.id).limit(1))).one()
    old_day, recent_day = local_day(180), local_day(1)
    cases = {
        "first page, no filter": (AuditFilters(), None),
        "deep page (after the middle id)": (AuditFilters(), middle),
        "object type: auto-dispatch rules (rare)": (AuditFilters(entity="auto_dispatch_rule"), None),
        "object type + id (one report's reads)": (AuditFilters(entity="ticket", entity_id=code), None),
        "object id without its type": (AuditFilters(entity_id=code), None),
        "who: one person's account": (AuditFilters(actor_ids=dieuphoi, actor_name="dieuphoi"), None),
        "action: any personal-data access": (AuditFilters(actions=audit.PII_ACTIONS), None),
        "action: delete (rare, no index)": (AuditFilters(actions=("delete",)), None),
        "action never logged (whole log read, no index)": (AuditFilters(actions=("password.reset",)), None),
        "who: a name no account has (whole log read)": (AuditFilters(actor_ids=(), actor_name="nobody"), None),
        "one day 180 days ago": (AuditFilters(at_from=old_day[0], at_to=old_day[1]), None),
        "one day 180 days ago + action delete": (AuditFilters(actions=("delete",), at_from=old_day[0],
                                                              at_to=old_day[1]), None),
        "yesterday + text (common)": (AuditFilters(text="Tên mới", at_from=recent_day[0], at_to=recent_day[1]), None),
        "text, rare, whole log read": (AuditFilters(text="không-có-ở-đâu"), None),
    }
    out: dict[str, dict[str, float | int | str]] = {}
    for name, (filters, after) in cases.items():
        times: list[float] = []
        rows = 0
        outcome = "ok"
        for run in range(repeat + 1):
            async with sessions() as session:
                started = time.perf_counter()
                try:
                    page = await audit.browse(session, filters, per_page=50, after=after)
                    rows = len(page.entries)
                except audit.SearchTooSlow:
                    outcome = "refused: the search took too long"
                elapsed = (time.perf_counter() - started) * 1000
            if run:  # the first run warms the cache
                times.append(elapsed)
        out[name] = {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1), "rows": rows,
                     "outcome": outcome}
    async with sessions() as session:
        started = time.perf_counter()
        chunks = [len(c) async for c in audit.export_entries(session, AuditFilters(at_from=old_day[0],
                                                                                   at_to=old_day[1]))]
        out["export: one day's entries (cursor only, no xlsx)"] = {
            "median_ms": round((time.perf_counter() - started) * 1000, 1), "rows": sum(chunks), "outcome": "ok"}
    await engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault("HOTLINE_LOG_LEVEL", "WARNING")
    with tempfile.TemporaryDirectory(prefix="hotline-bench-audit-") as tmp:
        server, url, seed_seconds = prepare_database(Path(tmp), args.entries)
        try:
            results = asyncio.run(measure(url, args.repeat))
        finally:
            server.stop()  # type: ignore[attr-defined]
    print(json.dumps({"entries": args.entries, "seed_seconds": round(seed_seconds, 1), "machine": platform.machine(),
                      "cpus": os.cpu_count(), "load_average": os.getloadavg(), "cases": results},
                     ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
