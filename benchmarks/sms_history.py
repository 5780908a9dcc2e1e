"""The message history (SMS-06, SMS-07, SMS-09, CRM-09) with 5 million messages.

    .venv/bin/python benchmarks/sms_history.py [--messages 5000000] [--repeat 30] [--no-http] [--no-brin]

Target (issue 6): history query p95 <= 50 ms with 5 million messages.

A fresh embedded PostgreSQL gets the migrations, the reference and demo data, 100,000 tickets and
N messages inserted by one INSERT … SELECT generate_series: a year of traffic in time order
(ids grow with time, as in production), 40,000 phone numbers with a skewed share (number k gets
a share ~ 1/sqrt(k): the busiest writes ~20,000 times a year, most a few dozen to a hundred
times), 85% SMS and 15% Zalo, 45% inbound; outbound statuses 80% delivered, 12% sent, 5% failed,
3% queued; a third of the inbound linked to a ticket; the last day's inbound partly waiting in
the desk's inbox. The message indexes are dropped for the insert and built again afterwards
(as `pg_indexes` has them from the migration), then VACUUM ANALYZE.

Each case calls `core.services.messages.history` (or `inbound_queue`) in-process, as the API
does, with the desk's scope and unmasked numbers (so the access-log row is written too; the
transaction is rolled back); one warm-up, then --repeat runs: median, p95 and slowest. A few
cases also go through the API (in-process ASGI, a signed-in coordinator, JSON out).

With --brin (the default), the date-range queries also run with a BRIN index on created_at in
place of the (created_at, id) btree (dropped inside a transaction that is rolled back), to show
whether BRIN pays; the JSON holds both timings and both index sizes.
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
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PHONES = 40_000
TICKETS = 100_000

TICKETS_SQL = """
WITH u AS (SELECT array_agg(id ORDER BY id) AS a FROM org_unit WHERE code <> 'TT1022')
INSERT INTO ticket (code, idempotency_key, channel, status, description, current_unit_id, legal_basis, overdue, hidden,
                    created_at, updated_at)
SELECT '1022-2025-' || lpad(n::text, 6, '0'), 'bench-' || n, 'sms', 'assigned', 'Phản ánh qua tin nhắn ' || n,
       u.a[1 + n %% array_length(u.a, 1)], 'state_duty', false, false,
       now() - (%(t)s - n) * interval '5 minutes', now()
FROM generate_series(1, %(t)s) AS n, u
"""

# g.r, g.r2: two independent uniform values in [0, 1) per row (multiplicative hashes of n): r picks the
# direction and the status, r2 the phone number's rank p (0 the busiest; p = 40,000 r2², so the share of
# rank p falls as 1/sqrt(p)).
MESSAGES_SQL = """
WITH t AS (SELECT min(id) AS lo, max(id) - min(id) + 1 AS span FROM ticket),
     g AS (SELECT n, ((n::bigint * 2654435761) %% 4294967296) / 4294967296.0 AS r,
                  ((n::bigint * 40503) %% 65536) / 65536.0 AS r2
           FROM generate_series(1, %(n)s) AS n),
     m AS (SELECT n, r, r2, floor(%(phones)s * r2 * r2)::int AS p, r < 0.45 AS inbound, (n %% 20) < 3 AS zalo,
                  now() - interval '365 days' + (n::float / %(n)s) * interval '365 days' AS at FROM g)
INSERT INTO message (channel, direction, provider, provider_message_id, idempotency_key, address, our_address,
                     sender_name, body, segments, encoding, status, error_code, error_message, ticket_id, handled_at,
                     created_at, status_at, sent_at, delivered_at)
SELECT CASE WHEN zalo THEN 'zalo' ELSE 'sms' END,
       CASE WHEN inbound THEN 'in' ELSE 'out' END,
       CASE WHEN zalo THEN 'zalo' ELSE 'twilio' END,
       CASE WHEN inbound OR s.status <> 'queued' THEN 'P' || n END,
       CASE WHEN NOT inbound THEN 'bench:' || n END,
       CASE WHEN zalo THEN (1000000000000000000 + p::bigint * 7919)::text
            ELSE '09' || lpad(((p::bigint * 7919 + 1234567) %% 100000000)::text, 8, '0') END,
       CASE WHEN zalo THEN 'OA1022' ELSE '1022' END,
       CASE WHEN zalo THEN 'Người dùng ' || p END,
       (ARRAY['Đèn đường không sáng ở khu phố', 'Tổng đài 1022 đã tiếp nhận phản ánh số', 'Xin hỏi thủ tục cấp giấy phép',
              'Kết quả xử lý phản ánh của ông/bà', 'Rác thải tồn đọng nhiều ngày tại tổ'])[1 + n %% 5] || ' ' || n,
       CASE WHEN NOT inbound AND NOT zalo THEN 1 + n %% 3 END,
       CASE WHEN NOT inbound AND NOT zalo THEN 'UCS-2' END,
       s.status,
       CASE WHEN s.status = 'failed' THEN '30003' END,
       CASE WHEN s.status = 'failed' THEN 'Unreachable destination handset' END,
       CASE WHEN (inbound AND n %% 3 = 0) OR (NOT inbound AND n %% 5 < 3) THEN t.lo + (n %% t.span) END,
       CASE WHEN inbound AND n %% 3 <> 0 AND (at < now() - interval '1 day' OR n %% 4 <> 0) THEN at + interval '10 minutes' END,
       at, at, CASE WHEN s.status IN ('sent', 'delivered') THEN at END, CASE WHEN s.status = 'delivered' THEN at END
FROM m CROSS JOIN t
CROSS JOIN LATERAL (SELECT CASE WHEN m.inbound THEN 'received' WHEN m.r < 0.89 THEN 'delivered'
                                WHEN m.r < 0.956 THEN 'sent' WHEN m.r < 0.9835 THEN 'failed'
                                ELSE 'queued' END AS status) AS s
"""


def prepare_database(root: Path, n: int, brin: bool) -> tuple[Any, str, dict[str, Any]]:
    from cli import tasks
    from cli.embedded.postgres import EmbeddedPostgres

    server = EmbeddedPostgres(root / "postgres", database="postgres")
    server.start()
    url = server.create_database("bench")
    tasks.migrate(url)
    tasks.seed(url, "2025", "75", demo=True)
    info: dict[str, Any] = {}
    with psycopg.connect(server._conninfo("bench"), autocommit=True) as conn:
        conn.execute(TICKETS_SQL, {"t": TICKETS})
        indexes = conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'message' "
                               "AND indexname <> 'pk_message'").fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        started = time.perf_counter()
        conn.execute(MESSAGES_SQL, {"n": n, "phones": PHONES})
        info["insert_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        conn.execute("SET maintenance_work_mem = '512MB'")
        for _, definition in indexes:
            conn.execute(definition)
        info["index_build_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        conn.execute("VACUUM ANALYZE ticket")
        conn.execute("VACUUM ANALYZE message")
        info["vacuum_analyze_seconds"] = round(time.perf_counter() - started, 1)
        if brin:
            conn.execute("CREATE INDEX ix_message_created_brin ON message USING brin (created_at)")
        info["sizes_mb"] = {name: round(size / 2**20, 1) for name, size in conn.execute(
            "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c "
            "WHERE c.relname = 'message' OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = 'message'::regclass) "
            "ORDER BY 2 DESC").fetchall()}
        info["table_total_mb"] = round(conn.execute("SELECT pg_total_relation_size('message')").fetchone()[0] / 2**20, 1)
        info["rows"] = conn.execute("SELECT count(*) FROM message").fetchone()[0]
    return server, url, info


def _stats(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {"median_ms": round(statistics.median(ordered), 2),
            "p95_ms": round(ordered[max(int(len(ordered) * 0.95 + 0.5) - 1, 0)], 2), "max_ms": round(ordered[-1], 2)}


def _phone(rank: int) -> str:
    return "09" + str((rank * 7919 + 1234567) % 100_000_000).zfill(8)


RARE_RANK = PHONES * 65535**2 // 65536**2  # the least busy rank that occurs (r2 takes 65,536 values)
USUAL_RANK = PHONES // 4  # r2 = 1/2: the median message's number


async def measure(url: str, repeat: int) -> dict[str, dict[str, Any]]:
    from core.authz import Scope
    from core.db import make_async_engine, make_sessionmaker
    from core.models.messages import MessageChannel, MessageDirection, MessageStatus
    from core.services import messages
    from core.services.actor import Actor
    from core.services.crud import Page
    from core.services.messages import MessageFilters

    engine = make_async_engine(url, pool_size=2, max_overflow=0)
    sessions = make_sessionmaker(engine)
    desk = Actor(user_id=None, username="bench", roles=frozenset({"coordinator"}), scope=Scope.all)
    async with sessions() as session:
        import sqlalchemy as sa

        counts = dict((await session.exec(sa.text(  # type: ignore[call-overload]
            "SELECT address, count(*) FROM message WHERE address = ANY(:a) GROUP BY 1").bindparams(
            a=[_phone(0), _phone(USUAL_RANK), _phone(RARE_RANK)]))).all())
        middle = (await session.exec(sa.text("SELECT id FROM message ORDER BY id OFFSET :o LIMIT 1").bindparams(  # type: ignore[call-overload]
            o=2_500_000))).scalar_one_or_none()
        unit = (await session.exec(sa.text("SELECT id, path FROM org_unit WHERE code = 'SXD'"))).one()  # type: ignore[call-overload]
        ticket = (await session.exec(sa.text(  # type: ignore[call-overload]
            "SELECT min(id) FROM ticket WHERE current_unit_id = :u").bindparams(u=unit[0]))).scalar_one()
    today = datetime.now(LOCAL_TZ).date()
    yesterday, long_ago = today - timedelta(days=1), today - timedelta(days=180)
    busy, usual, rare = _phone(0), _phone(USUAL_RANK), _phone(RARE_RANK)
    manager = Actor(user_id=None, username="bench-unit", roles=frozenset({"unit_manager"}), unit_id=unit[0],
                    unit_path=unit[1], scope=Scope.unit)
    F = MessageFilters  # noqa: N806
    cases: dict[str, tuple[Actor, MessageFilters, Page, int | None]] = {
        f"phone, busiest number ({counts.get(busy)} messages), page 1": (desk, F(address=busy), Page(1, 50), None),
        "phone, busiest number, page 5": (desk, F(address=busy), Page(5, 50), None),
        f"phone, usual number ({counts.get(usual)} messages), page 1": (desk, F(address=usual), Page(1, 50), None),
        "phone, usual number, page 2": (desk, F(address=usual), Page(2, 50), None),
        f"phone, rare number ({counts.get(rare)} messages), page 1": (desk, F(address=rare), Page(1, 50), None),
        "phone + last 30 days": (desk, F(address=busy, date_from=today - timedelta(days=29), date_to=today), Page(1, 50), None),
        "one day (yesterday), page 1": (desk, F(date_from=yesterday, date_to=yesterday), Page(1, 50), None),
        "one day (yesterday), page 5": (desk, F(date_from=yesterday, date_to=yesterday), Page(5, 50), None),
        "one day 180 days ago": (desk, F(date_from=long_ago, date_to=long_ago), Page(1, 50), None),
        "one week 180 days ago": (desk, F(date_from=long_ago - timedelta(days=6), date_to=long_ago), Page(1, 50), None),
        "one week 180 days ago, page 5": (desk, F(date_from=long_ago - timedelta(days=6), date_to=long_ago), Page(5, 50), None),
        "channel zalo + direction in": (desk, F(channel=MessageChannel.zalo, direction=MessageDirection.inbound), Page(1, 50), None),
        "sms out failed": (desk, F(channel=MessageChannel.sms, direction=MessageDirection.outbound,
                                   status=MessageStatus.failed), Page(1, 50), None),
        "failed (newest page)": (desk, F(status=MessageStatus.failed), Page(1, 50), None),
        "failed, one week 180 days ago": (desk, F(status=MessageStatus.failed, date_from=long_ago - timedelta(days=6),
                                                  date_to=long_ago), Page(1, 50), None),
        "no filter, newest page": (desk, F(), Page(1, 50), None),
        "no filter, page 5": (desk, F(), Page(5, 50), None),
        "no filter, page 200 (offset 9,950)": (desk, F(), Page(200, 50), None),
        "no filter, keyset after the middle id": (desk, F(), Page(1, 50), middle),
        "one ticket's messages": (desk, F(ticket_id=ticket), Page(1, 50), None),
        "unit manager (Sở Xây dựng): one ticket's messages": (manager, F(ticket_id=ticket), Page(1, 50), None),
        "unit manager (Sở Xây dựng): busiest number": (manager, F(address=busy), Page(1, 50), None),
    }
    out: dict[str, dict[str, Any]] = {}
    for name, (actor, filters, page, after) in cases.items():
        times: list[float] = []
        result = None
        for run in range(repeat + 1):
            async with sessions() as session:
                started = time.perf_counter()
                result = await messages.history(session, actor, filters, page, True, after=after)
                elapsed = (time.perf_counter() - started) * 1000
                await session.rollback()
            if run:
                times.append(elapsed)
        assert result is not None
        out[name] = {**_stats(times), "rows": len(result.items), "total": result.total,
                     "total_is_estimate": result.total_is_estimate}
    times = []
    for run in range(repeat + 1):
        async with sessions() as session:
            started = time.perf_counter()
            queue = await messages.inbound_queue(session, desk, Page(1, 50), True)
            elapsed = (time.perf_counter() - started) * 1000
            await session.rollback()
        if run:
            times.append(elapsed)
    out["desk inbox (unhandled inbound, oldest first)"] = {**_stats(times), "rows": len(queue.items), "total": queue.total}
    await engine.dispose()
    return out


async def measure_http(url: str, repeat: int, data_dir: Path) -> dict[str, dict[str, Any]]:
    import httpx

    from cli.asgi import create_full_app
    from core.settings import Settings

    settings = Settings(env="test", database_url=url, data_dir=data_dir, temporal_address=None, log_json=False,
                        log_level="WARNING", login_attempts_per_minute=0)
    app = create_full_app(settings)
    yesterday = (datetime.now(LOCAL_TZ).date() - timedelta(days=1)).isoformat()
    cases = {
        "GET /api/v1/messages?phone=+84 … (busiest number)": {"phone": "+84 " + _phone(0)[1:]},
        "GET /api/v1/messages?phone=… (usual number)": {"phone": _phone(USUAL_RANK)},
        "GET /api/v1/messages?date_from=yesterday&date_to=yesterday": {"date_from": yesterday, "date_to": yesterday},
        "GET /api/v1/messages (newest page)": {},
    }
    out: dict[str, dict[str, Any]] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            token = (await client.post("/api/v1/auth/token", data={"username": "dieuphoi", "password": "Hotline@1022"}))
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            for name, params in cases.items():
                times = []
                for run in range(repeat + 1):
                    started = time.perf_counter()
                    response = await client.get("/api/v1/messages", params=params, headers=headers)
                    elapsed = (time.perf_counter() - started) * 1000
                    assert response.status_code == 200, response.text[:300]
                    if run:
                        times.append(elapsed)
                body = response.json()
                out[name] = {**_stats(times), "rows": len(body["items"]), "total": body["total"],
                             "total_is_estimate": body["total_is_estimate"]}
    return out


def _day_bounds(day: date, days: int = 1) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)
    return start, start + timedelta(days=days)


def compare_brin(conninfo: str, repeat: int) -> dict[str, Any]:
    """The date-range page and capped count with the (created_at, id) btree, then with only BRIN."""
    long_ago = datetime.now(LOCAL_TZ).date() - timedelta(days=180)
    ranges = {"one day": _day_bounds(long_ago), "one week": _day_bounds(long_ago - timedelta(days=6), 7),
              "one month": _day_bounds(long_ago - timedelta(days=29), 30)}
    page_sql = ("SELECT * FROM message WHERE created_at >= %s AND created_at < %s "
                "ORDER BY created_at DESC, id DESC LIMIT 51")
    count_sql = ("SELECT count(*) FROM (SELECT id FROM message WHERE created_at >= %s AND created_at < %s "
                 "LIMIT 10001) AS c")

    def run_all(conn: psycopg.Connection) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for label, bounds in ranges.items():
            for kind, sql in (("page", page_sql), ("count", count_sql)):
                times = []
                for run in range(repeat + 1):
                    started = time.perf_counter()
                    conn.execute(sql, bounds).fetchall()
                    if run:
                        times.append((time.perf_counter() - started) * 1000)
                found[f"{label}: {kind}"] = _stats(times)
        return found

    with psycopg.connect(conninfo) as conn:
        btree = run_all(conn)
        conn.rollback()
        with conn.transaction():
            conn.execute("DROP INDEX ix_message_created_id")
            brin = run_all(conn)
            raise psycopg.Rollback()
    return {"btree (created_at, id)": btree, "brin (created_at) only": brin}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--no-http", action="store_true", help="skip the cases through the API")
    parser.add_argument("--no-brin", action="store_true", help="skip the BRIN comparison")
    args = parser.parse_args()
    os.environ.setdefault("HOTLINE_LOG_LEVEL", "WARNING")
    report: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.machine(),
                              "node": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version(),
                              "messages": args.messages, "phones": PHONES, "tickets": TICKETS, "repeat": args.repeat,
                              "target": "history p95 <= 50 ms", "load_average_at_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="hotline-bench-sms-") as tmp:
        server, url, info = prepare_database(Path(tmp), args.messages, not args.no_brin)
        report["fill"] = info
        try:
            with psycopg.connect(server._conninfo("bench")) as conn:
                report["postgres"] = conn.execute("SHOW server_version").fetchone()[0]
            if not args.no_brin:  # BRIN was only built for the comparison: the service runs without it
                report["brin_comparison"] = compare_brin(server._conninfo("bench"), args.repeat)
                with psycopg.connect(server._conninfo("bench"), autocommit=True) as conn:
                    conn.execute("DROP INDEX ix_message_created_brin")
            report["service"] = asyncio.run(measure(url, args.repeat))
            if not args.no_http:
                report["http"] = asyncio.run(measure_http(url, args.repeat, Path(tmp) / "data"))
        finally:
            server.stop()
    report["load_average_at_end"] = os.getloadavg()
    cases = [*report["service"].values(), *report.get("http", {}).values()]
    report["worst_p95_ms"] = max(c["p95_ms"] for c in cases)
    print(json.dumps(report, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    main()
