"""How soon a knowledge-base change is seen by the search, end to end, on `hotline up` (the
worker in the API process, embedded Temporal and PostgreSQL, tantivy): a created question until
a search finds it, and a deleted one until the search no longer does.

    .venv/bin/python benchmarks/kb_visibility.py [--rounds 30]

Each round: the coordinator creates a published question (POST /api/v1/kb/questions), polls
GET /api/v1/kb/search every 20 ms until it is found, deletes it, and polls until it is gone. The
demo knowledge base (87 procedures) is in the index, so searches do real work.

Target (issue 5): a deleted question disappears from search within 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from cli.embedded.process import free_port  # noqa: E402
from core.services.seed import DEMO_PASSWORD  # noqa: E402

POLL_S = 0.02
GIVE_UP_S = 30.0


def until(predicate, what: str) -> float:  # noqa: ANN001
    started = time.perf_counter()
    while not predicate():
        if time.perf_counter() - started > GIVE_UP_S:
            raise SystemExit(f"gave up after {GIVE_UP_S} s waiting for {what}")
        time.sleep(POLL_S)
    return time.perf_counter() - started


def pct(values: list[float], p: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, round(p / 100 * (len(data) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {"p50_ms": round(statistics.median(ms), 1), "p95_ms": round(pct(ms, 95), 1), "max_ms": round(max(ms), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="hotline-kbvis-"))
    port = free_port()
    env = {**os.environ, "HOTLINE_LOG_LEVEL": "WARNING"}
    for var in ("HOTLINE_DATABASE_URL", "HOTLINE_TEMPORAL_ADDRESS"):
        env.pop(var, None)
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "up", "--port", str(port), "--data-dir", str(data)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as http:
            def ready() -> bool:
                if proc.poll() is not None:
                    raise SystemExit(f"hotline up exited with {proc.returncode}")
                try:
                    return http.get("/readyz").status_code == 200
                except httpx.HTTPError:
                    return False

            until(ready, "hotline up")
            token = http.post("/api/v1/auth/token", data={"username": "dieuphoi", "password": DEMO_PASSWORD}).json()
            headers = {"Authorization": f"Bearer {token['access_token']}"}

            def hits(q: str) -> set[int]:
                answer = http.get("/api/v1/kb/search", headers=headers, params={"q": q, "per_page": 50})
                answer.raise_for_status()
                return {h["id"] for h in answer.json()["hits"]}

            until(lambda: hits("dang ky thuong tru"), "the demo knowledge base to be indexed")
            created, deleted = [], []
            for n in range(args.rounds):
                word = f"kiemtra{n:03d}x"  # a word no procedure has: found means this question
                made = http.post("/api/v1/kb/questions", headers=headers, json={
                    "title": f"Thủ tục {word} cấp giấy phép", "status": "published",
                    "answers": [{"content": f"Hướng dẫn {word} nộp hồ sơ tại bộ phận một cửa."}]})
                made.raise_for_status()
                qid = made.json()["id"]
                created.append(until(lambda: qid in hits(word), "the new question"))
                http.delete(f"/api/v1/kb/questions/{qid}", headers=headers).raise_for_status()
                deleted.append(until(lambda: qid not in hits(word), "the deleted question to leave the search"))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
        shutil.rmtree(data, ignore_errors=True)
    print(json.dumps({"machine": f"{platform.node()} {os.cpu_count()} cores {platform.machine()}",
                      "date": time.strftime("%Y-%m-%d %H:%M"), "load": [round(x, 2) for x in os.getloadavg()], "rounds": args.rounds,
                      "created_until_found": summary(created), "deleted_until_gone": summary(deleted),
                      "target": "deleted question gone within 2 s"}, indent=2))
    if max(deleted) > 2.0:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
