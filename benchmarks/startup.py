"""Time from `hotline up` to `/readyz` 200, cold (empty data dir: initdb, migrations, seeding)
and warm (existing data dir), and the time to stop after SIGINT; checks no process is left.

    .venv/bin/python benchmarks/startup.py [--runs 3]

Target (issue 2): ready within 30 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from cli.embedded.process import free_port  # noqa: E402


def one_run(data_dir: Path) -> dict[str, float | int]:
    port = free_port()
    env = {**os.environ, "HOTLINE_LOG_LEVEL": "WARNING"}
    for var in ("HOTLINE_DATABASE_URL", "HOTLINE_TEMPORAL_ADDRESS"):
        env.pop(var, None)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "up", "--port", str(port), "--data-dir", str(data_dir)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ready_s = None
    while time.perf_counter() - started < 120:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                ready_s = time.perf_counter() - started
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"hotline up exited with {proc.returncode}")
        time.sleep(0.05)
    children = psutil.Process(proc.pid).children(recursive=True)
    stop_started = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    proc.wait(60)
    stop_s = time.perf_counter() - stop_started
    time.sleep(0.5)
    left = [c.pid for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    return {"ready_s": round(ready_s or float("nan"), 2), "stop_s": round(stop_s, 2), "exit_code": proc.returncode,
            "processes_left": len(left)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[dict[str, float | int]]] = {"cold": [], "warm": []}
    for _ in range(args.runs):
        data = Path(tempfile.mkdtemp(prefix="hotline-startup-"))
        results["cold"].append(one_run(data))
        results["warm"].append(one_run(data))
        shutil.rmtree(data, ignore_errors=True)
    print(json.dumps({"machine": f"{platform.node()} {os.cpu_count()} cores {platform.machine()}",
                      "date": time.strftime("%Y-%m-%d"), **results}, indent=2))


if __name__ == "__main__":
    main()
