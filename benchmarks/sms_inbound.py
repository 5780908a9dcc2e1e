"""Inbound SMS webhooks on the embedded services: how many signed Twilio webhooks a second the
app stores, and that none is lost or duplicated.

    .venv/bin/python benchmarks/sms_inbound.py [--messages 6000] [--clients 16] [--duplicates 0.1]

A fresh embedded PostgreSQL gets the migrations and reference data; the app runs in a child
process (uvicorn, one worker, as `hotline api` runs it) with Twilio configured (its API is never
called: inbound webhooks only). The client pre-builds N distinct inbound SMS webhooks exactly as
Twilio sends them (form fields, `X-Twilio-Signature` computed by the SDK's RequestValidator over
the URL and fields), plus a share of repeats (Twilio retries when it misses our answer), and
sends them over C keep-alive connections as fast as the app answers. Then it counts the rows:
stored = distinct messages sent (zero loss, zero duplicates).

Target (issue 6): >= 300 messages/s with zero loss.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.kb_search import prepare_database, wait_ready  # noqa: E402
from cli.embedded.process import free_port  # noqa: E402

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "benchmark-auth-token-0123456789abcdef"
PATH = "/webhooks/twilio/inbound"
TEXTS = ("Đèn đường hỏng trên đường Võ Thị Sáu, phường Trấn Biên", "Rác thải tồn đọng nhiều ngày ở hẻm 12",
         "Ngập nước sau mưa lớn tại khu vực chợ Tân Phong", "Tiếng ồn công trình xây dựng ban đêm",
         "Xin hỏi thủ tục đăng ký thường trú cần giấy tờ gì?")


def serve(url: str, port: int, data_dir: str) -> None:
    import uvicorn
    from pydantic import SecretStr

    from cli.asgi import create_full_app
    from core.settings import Settings

    settings = Settings(env="test", database_url=url, data_dir=Path(data_dir), temporal_address=None, log_json=False,
                        log_level="WARNING", twilio_account_sid=ACCOUNT_SID, twilio_auth_token=SecretStr(AUTH_TOKEN),
                        twilio_from_number="+15005550006")
    uvicorn.run(create_full_app(settings), host="127.0.0.1", port=port, log_config=None, access_log=False)


def build_requests(port: int, count: int, duplicates: float, seed: int = 1022,
                   prefix: str = "00") -> tuple[list[bytes], int]:
    """Raw HTTP/1.1 requests: `count` distinct messages and about `duplicates` × count repeats."""
    from twilio.request_validator import RequestValidator

    validator, rng, url = RequestValidator(AUTH_TOKEN), random.Random(seed), f"http://127.0.0.1:{port}{PATH}"
    distinct = []
    for n in range(count):
        sid = f"SM{prefix}{n:030x}"
        params = {"MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid, "AccountSid": ACCOUNT_SID,
                  "From": f"+849{rng.randrange(10**8):08d}", "To": "+15005550006", "Body": rng.choice(TEXTS),
                  "NumSegments": "1", "NumMedia": "0", "ApiVersion": "2010-04-01"}
        body = urlencode(params).encode()
        head = (f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                f"X-Twilio-Signature: {validator.compute_signature(url, params)}\r\nContent-Length: {len(body)}\r\n\r\n")
        distinct.append(head.encode() + body)
    repeats = [rng.choice(distinct) for _ in range(int(count * duplicates))]
    requests = distinct + repeats
    rng.shuffle(requests)
    return requests, count


async def send_all(port: int, requests: list[bytes], clients: int) -> tuple[float, dict[int, int], list[float]]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for r in requests:
        queue.put_nowait(r)
    statuses: dict[int, int] = {}
    latencies: list[float] = []

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while not queue.empty():
                request = queue.get_nowait()
                started = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                if length:
                    await reader.readexactly(length)
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started, statuses, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=6000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duplicates", type=float, default=0.1, help="share of repeated webhooks (Twilio's retries)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="hotline-sms-inbound-"))
    server, url, conninfo = prepare_database(root)
    port = free_port()
    child = multiprocessing.get_context("spawn").Process(target=serve, args=(url, port, str(root / "data")), daemon=True)
    child.start()
    try:
        wait_ready(port)
        warm, _ = build_requests(port, 200, 0.0, seed=1, prefix="ff")  # other ids than the measured ones
        asyncio.run(send_all(port, warm, args.clients))
        requests, distinct = build_requests(port, args.messages, args.duplicates)
        seconds, statuses, latencies = asyncio.run(send_all(port, requests, args.clients))
        import psycopg

        with psycopg.connect(conninfo) as conn:
            stored = conn.execute("SELECT count(*) FROM message WHERE provider_message_id LIKE 'SM00%'").fetchone()[0]
        latencies.sort()
        report = {
            "machine": f"{platform.node()} {os.cpu_count()} cores {platform.machine()}", "date": time.strftime("%Y-%m-%d %H:%M"),
            "load": [round(x, 2) for x in os.getloadavg()], "clients": args.clients,
            "webhooks_sent": len(requests), "distinct_messages": distinct, "statuses": statuses,
            "seconds": round(seconds, 2), "webhooks_per_s": round(len(requests) / seconds, 1),
            "p50_ms": round(latencies[len(latencies) // 2], 1), "p95_ms": round(latencies[int(len(latencies) * 0.95)], 1),
            "stored": stored, "lost": distinct - stored if stored <= distinct else 0,
            "duplicated": stored - distinct if stored > distinct else 0,
            "target": ">= 300 messages/s, stored == distinct messages"}
        print(json.dumps(report, indent=2))
        ok = report["webhooks_per_s"] >= 300 and stored == distinct and set(statuses) == {200}
    finally:
        child.terminate()
        child.join(10)
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
