"""Latency of `GET /api/v1/me` (token check + Casbin + profile) at 20 concurrent clients, and
of sign-in (`POST /api/v1/auth/token`, argon2id by design) at 4.

    .venv/bin/python benchmarks/api_latency.py                 # starts its own `hotline up`
    .venv/bin/python benchmarks/api_latency.py --url http://127.0.0.1:8000   # an already running one

Target (issue 2): p95 of GET /api/v1/me at 20 concurrent clients <= 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _load import run_load  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def start_server(port: int) -> subprocess.Popen[bytes]:
    data = tempfile.mkdtemp(prefix="hotline-bench-")
    env = {**os.environ, "HOTLINE_LOG_LEVEL": "WARNING", "HOTLINE_LOGIN_ATTEMPTS_PER_MINUTE": "0"}
    for var in ("HOTLINE_DATABASE_URL", "HOTLINE_TEMPORAL_ADDRESS"):
        env.pop(var, None)
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "up", "--port", str(port), "--data-dir", data],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="an already running server")
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="Hotline@1022")
    args = parser.parse_args()
    proc = None if args.url else start_server(args.port)
    base = args.url or f"http://127.0.0.1:{args.port}"
    try:
        token = httpx.post(f"{base}/api/v1/auth/token", data={"username": args.username, "password": args.password}).json()["access_token"]
        me = asyncio.run(run_load(f"{base}/api/v1/me", {"Authorization": f"Bearer {token}"}, args.clients, args.seconds))
        form = f"username={args.username}&password={args.password}".encode()
        login = asyncio.run(run_load(f"{base}/api/v1/auth/token", {"Content-Type": "application/x-www-form-urlencoded"},
                                     4, min(args.seconds, 10), method="POST", body=form))
        report = {"machine": f"{platform.node()} {os.cpu_count()} cores {platform.machine()}", "python": platform.python_version(),
                  "date": time.strftime("%Y-%m-%d"), f"GET /api/v1/me x{args.clients}": me.summary(),
                  "POST /api/v1/auth/token x4": login.summary()}
        print(json.dumps(report, indent=2, ensure_ascii=False))
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGINT)
            proc.wait(60)


if __name__ == "__main__":
    main()
