"""The ticket list page with 100,000 tickets, and an Excel export of 50,000 rows.

    .venv/bin/python benchmarks/ticket_list.py [--tickets 100000] [--requests 60] [--export-rows 50000]

A fresh embedded PostgreSQL gets the migrations, the reference and demo data, and N tickets
inserted by one INSERT … SELECT generate_series (statuses, channels, fields, areas and units
spread as a real year would spread them; never through the API). The app runs in a child
process (uvicorn, one worker, as `hotline api`); one client asks for each page sequentially
over loopback, so the time is the server's (plus well under a millisecond of loopback).

Targets (issue 4): list page p95 <= 300 ms; export of 50,000 rows <= 10 s and <= 300 MB RSS.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Self

import httpx
import psutil
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PHRASES = (
    "Đèn đường không sáng trên tuyến", "Ổ gà lớn gây nguy hiểm cho xe máy tại", "Rác thải tồn đọng nhiều ngày ở",
    "Ngập nước sau mưa lớn tại khu vực", "Tiếng ồn công trình xây dựng ban đêm gần", "Cây xanh nghiêng có nguy cơ gãy đổ ở",
    "Lấn chiếm vỉa hè buôn bán tại", "Nước sinh hoạt bị đục, có mùi ở", "Khói bụi từ cơ sở sản xuất gần",
    "Đề nghị sửa chữa cống thoát nước tại",
)
NAMES = ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Hoàng Văn Em", "Võ Thị Phương")

SEED_SQL = """
WITH f AS (SELECT array_agg(id ORDER BY id) AS a FROM ticket_field),
     ar AS (SELECT array_agg(id ORDER BY id) AS a FROM area),
     u AS (SELECT array_agg(id ORDER BY id) AS a FROM org_unit WHERE code <> 'TT1022'),
     g AS (SELECT n, ((n::bigint * 2654435761) %% 1000) / 1000.0 AS r FROM generate_series(1, %(n)s) AS n)
INSERT INTO ticket (code, idempotency_key, channel, status, citizen_name, citizen_phone, citizen_id_number,
                    legal_basis, field_id, area_id, address, description, current_unit_id, overdue, hidden,
                    created_at, updated_at, due_at, closed_at)
SELECT '1022-' || (2025 + (n > %(n)s / 2)::int) || '-' || lpad(n::text, 6, '0'), 'bench-' || n,
       (ARRAY['call','call','call','sms','zalo','app','web','desk'])[1 + n %% 8],
       s.status,
       (%(names)s::text[])[1 + n %% %(n_names)s],
       '09' || lpad(((n::bigint * 7919) %% 100000000)::text, 8, '0'),
       '0791' || lpad(((n::bigint * 104729) %% 100000000)::text, 8, '0'),
       'state_duty',
       f.a[1 + (n * 31) %% array_length(f.a, 1)],
       ar.a[1 + (n * 17) %% array_length(ar.a, 1)],
       'Số ' || (n %% 300) || ' đường số ' || (n %% 40),
       (%(phrases)s::text[])[1 + (n * 13) %% %(n_phrases)s] || ' khu phố ' || (n %% 90) || ' (phản ánh ' || n || ')',
       CASE WHEN s.status IN ('new', 'spam', 'out_of_area') THEN NULL ELSE u.a[1 + (n * 7) %% array_length(u.a, 1)] END,
       n %% 20 = 0, s.status = 'spam',
       now() - (%(n)s - n) * interval '10 minutes', now() - (%(n)s - n) * interval '10 minutes',
       now() - (%(n)s - n) * interval '10 minutes' + interval '5 days',
       CASE WHEN s.status = 'closed' THEN now() - (%(n)s - n) * interval '10 minutes' + interval '3 days' END
FROM g
CROSS JOIN f CROSS JOIN ar CROSS JOIN u
CROSS JOIN LATERAL (SELECT CASE WHEN g.r < 0.50 THEN 'closed' WHEN g.r < 0.60 THEN 'resolved'
                                WHEN g.r < 0.75 THEN 'assigned' WHEN g.r < 0.83 THEN 'dispatched'
                                WHEN g.r < 0.88 THEN 'new' WHEN g.r < 0.92 THEN 'pending_approval'
                                WHEN g.r < 0.97 THEN 'spam' ELSE 'out_of_area' END AS status) AS s
"""


def prepare_database(root: Path, tickets: int) -> tuple[object, str, float]:
    from cli import tasks
    from cli.embedded.postgres import EmbeddedPostgres

    server = EmbeddedPostgres(root / "postgres", database="postgres")
    server.start()
    url = server.create_database("bench")
    tasks.migrate(url)
    tasks.seed(url, "2025", "75", demo=True)
    started = time.perf_counter()
    with psycopg.connect(server._conninfo("bench"), autocommit=True) as conn:
        conn.execute(SEED_SQL, {"n": tickets, "names": list(NAMES), "n_names": len(NAMES), "phrases": list(PHRASES),
                                "n_phrases": len(PHRASES)})
        conn.execute("VACUUM ANALYZE ticket")
    return server, url, time.perf_counter() - started


def serve(url: str, port: int, data_dir: str) -> None:
    """The child process: the full app (API + UI), no Temporal, as `hotline api` runs it."""
    import uvicorn

    from cli.asgi import create_full_app
    from core.settings import Settings

    settings = Settings(env="test", database_url=url, data_dir=Path(data_dir), temporal_address=None,
                        log_json=False, log_level="WARNING", login_attempts_per_minute=0)
    uvicorn.run(create_full_app(settings), host="127.0.0.1", port=port, log_config=None, access_log=False)


def wait_ready(base: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the app did not start")


def timed(client: httpx.Client, path: str, params: dict, headers: dict, n: int, warmup: int = 5) -> dict:
    times = []
    for i in range(n + warmup):
        started = time.perf_counter()
        response = client.get(path, params=params, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (path, params, response.status_code, response.text[:300])
        if i >= warmup:
            times.append(elapsed)
    times.sort()
    rows = response.text.count('data-testid="ticket-row"')
    return {"rows": rows, "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[max(int(len(times) * 0.95) - 1, 0)], 1), "max_ms": round(times[-1], 1)}


class PeakRss:
    """Samples a process's resident memory every 10 ms while in the block."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.peak = self.before = self.proc.memory_info().rss
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.01)

    def __enter__(self) -> Self:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--export-rows", type=int, default=50_000)
    parser.add_argument("--port", type=int, default=8798)
    args = parser.parse_args()
    os.environ.setdefault("HOTLINE_LOG_LEVEL", "WARNING")
    root = Path(tempfile.mkdtemp(prefix="hotline-bench-list-"))
    server, url, seed_seconds = prepare_database(root, args.tickets)
    child = multiprocessing.get_context("spawn").Process(target=serve, args=(url, args.port, str(root / "data")))
    child.start()
    base = f"http://127.0.0.1:{args.port}"
    report: dict = {"machine": f"{platform.node()} {os.cpu_count()} cores {platform.machine()}",
                    "python": platform.python_version(), "date": time.strftime("%Y-%m-%d"),
                    "tickets": args.tickets, "seed_seconds": round(seed_seconds, 1),
                    "load_average_at_start": [round(x, 1) for x in os.getloadavg()]}
    try:
        wait_ready(base)
        with httpx.Client(base_url=base, timeout=120) as client:
            def token(user: str) -> dict:
                answer = client.post("/api/v1/auth/token", data={"username": user, "password": "Hotline@1022"})
                return {"Authorization": f"Bearer {answer.json()['access_token']}"}

            desk, officer, auditor = token("dieuphoi"), token("cv.moitruong"), token("kiemtra")
            with psycopg.connect(server._conninfo("bench")) as conn:
                min_id = conn.execute("SELECT min(id) FROM ticket").fetchone()[0]
                field_id = conn.execute("SELECT field_id FROM ticket GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
                unit_id = conn.execute("SELECT id FROM org_unit WHERE code = 'SXD'").fetchone()[0]
                month = conn.execute("SELECT (now() - interval '200 days')::date, (now() - interval '170 days')::date").fetchone()
                export_from = conn.execute("SELECT (created_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date FROM ticket "
                                           "ORDER BY id DESC OFFSET %s LIMIT 1", (args.export_rows - 1,)).fetchone()[0]
            deep = min_id + 5_000  # ~1,900 pages of 50 from the first
            n = args.requests
            htmx = {"HX-Request": "true", "HX-Target": "ticket-results"}
            cases = {
                "first page (desk, all tickets)": ("/tickets", {}, desk),
                "first page, htmx partial": ("/tickets", {}, {**desk, **htmx}),
                "deep keyset page (after ~95,000 newer)": ("/tickets", {"after": deep}, desk),
                "status=assigned": ("/tickets", {"status": "assigned"}, desk),
                "status=assigned, deep page": ("/tickets", {"status": "assigned", "after": deep}, desk),
                "field": ("/tickets", {"field": field_id}, desk),
                "unit=Sở Xây dựng": ("/tickets", {"unit": unit_id}, desk),
                "channel=zalo + overdue": ("/tickets", {"channel": "zalo", "overdue": "1"}, desk),
                "created in a 30-day range": ("/tickets", {"from": month[0].isoformat(), "to": month[1].isoformat()}, desk),
                "text 'ngập nước' (common)": ("/tickets", {"q": "ngập nước"}, desk),
                "text, one ticket's code": ("/tickets", {"q": f"1022-2025-{min_id + 123:06d}"}, desk),
                "text, rare words": ("/tickets", {"q": f"phản ánh {min_id + 54321})"}, desk),
                "text, phone digits": ("/tickets", {"q": "0912"}, desk),
                "officer (unit scope) first page": ("/tickets", {}, officer),
                "officer (unit scope) deep page": ("/tickets", {"after": deep}, officer),
                "auditor (masked) first page": ("/tickets", {}, auditor),
                "desk processed list": ("/desk/processed", {}, desk),
                "desk spam list, deep page": ("/desk/spam", {"after": deep}, desk),
            }
            report["list_page"] = {name: timed(client, path, params, headers, n) for name, (path, params, headers) in cases.items()}
            report["list_page_worst_p95_ms"] = max(v["p95_ms"] for v in report["list_page"].values())
            with PeakRss(child.pid) as rss:
                started = time.perf_counter()
                with client.stream("GET", "/tickets", params={"export": "xlsx", "from": export_from.isoformat()},
                                   headers=desk) as response:
                    assert response.status_code == 200, response.read()[:300]
                    path = root / "export.xlsx"
                    with path.open("wb") as out:
                        for chunk in response.iter_bytes():
                            out.write(chunk)
                seconds = time.perf_counter() - started
            import openpyxl

            with path.open("rb") as file:
                rows = openpyxl.load_workbook(file, read_only=True).active.max_row - 1
            report["export"] = {"rows": rows, "seconds": round(seconds, 2), "bytes": path.stat().st_size,
                                "server_rss_before_mb": round(rss.before / 2**20, 1),
                                "server_rss_peak_mb": round(rss.peak / 2**20, 1)}
        report["load_average_1_5_15"] = [round(x, 1) for x in os.getloadavg()]  # other work on the machine
        print(json.dumps(report, indent=2, ensure_ascii=False))
    finally:
        child.terminate()
        child.join(30)
        server.stop()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
