"""The `hotline` command as a user runs it: up, readiness, Ctrl-C with no orphans,
create-admin, doctor, clear errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from cli.embedded.process import free_port
from tests.support import wait_for

HOTLINE = [sys.executable, "-m", "cli.main"]
ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], data_dir: Path, timeout: float = 120, **kw) -> subprocess.CompletedProcess[str]:  # noqa: ANN003
    env = {**os.environ, "HOTLINE_DATA_DIR": str(data_dir), "HOTLINE_LOG_JSON": "false", "COLUMNS": "400"}
    env.pop("HOTLINE_DATABASE_URL", None)
    env.pop("HOTLINE_TEMPORAL_ADDRESS", None)
    return subprocess.run([*HOTLINE, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, **kw)


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.mark.slow
def test_up_is_ready_then_ctrl_c_leaves_nothing_behind(tmp_path: Path) -> None:
    # given a fresh data dir and a free port
    port = free_port()
    env = {**os.environ, "HOTLINE_LOG_JSON": "false"}
    env.pop("HOTLINE_DATABASE_URL", None)
    env.pop("HOTLINE_TEMPORAL_ADDRESS", None)
    proc = subprocess.Popen([*HOTLINE, "up", "--port", str(port), "--data-dir", str(tmp_path / "d")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    children: list[psutil.Process] = []
    try:
        # when it starts, /readyz answers 200 and the demo admin can sign in
        def ready() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return proc.poll() is not None and pytest.fail(proc.stdout.read())  # type: ignore[union-attr]

        wait_for(ready, 90, "hotline up to be ready")
        children = descendants(proc.pid)
        assert {c.name() for c in children} >= {"postgres", "temporal"}
        token = httpx.post(f"http://127.0.0.1:{port}/api/v1/auth/token", data={"username": "admin", "password": "Hotline@1022"})
        assert token.status_code == 200
        # and a second `up` on the same port says so clearly
        second = run(["up", "--port", str(port), "--data-dir", str(tmp_path / "other")], tmp_path / "other", timeout=60)
        assert second.returncode != 0 and "already in use" in second.stderr + second.stdout
    finally:
        # when Ctrl-C arrives
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    # then it exits cleanly and every child process is gone
    assert proc.returncode == 0, output
    wait_for(lambda: not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children), 15, "children to exit")
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.slow
def test_sigterm_also_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "HOTLINE_LOG_JSON": "false"}
    for var in ("HOTLINE_DATABASE_URL", "HOTLINE_TEMPORAL_ADDRESS"):
        env.pop(var, None)
    proc = subprocess.Popen([*HOTLINE, "up", "--no-demo", "--port", str(port), "--data-dir", str(tmp_path / "d")], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def ready() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(ready, 90, "hotline up")
    children = descendants(proc.pid)
    proc.terminate()
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    wait_for(lambda: not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children), 15, "children to exit")


@pytest.mark.slow
def test_create_admin_then_sign_in_then_doctor(tmp_path: Path) -> None:
    data = tmp_path / "d"
    weak = run(["create-admin", "--username", "quantri", "--password", "123"], data)
    assert weak.returncode != 0 and "10 characters" in weak.stderr
    made = run(["create-admin", "--username", "quantri", "--password", "Quan-Tri-2026!"], data)
    assert made.returncode == 0, made.stderr
    assert "created" in made.stderr
    again = run(["create-admin", "--username", "quantri", "--password", "Quan-Tri-2027!"], data)
    assert again.returncode == 0 and "updated" in again.stderr
    doctor = run(["doctor"], data)
    assert doctor.returncode == 0, doctor.stderr
    assert "database" in doctor.stderr and "temporal" in doctor.stderr and "PBX not connected" in doctor.stderr


def test_data_dir_that_is_a_file_gets_a_clear_message(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    result = run(["migrate", "--data-dir", str(not_a_dir / "sub")], not_a_dir / "sub", timeout=60)
    assert result.returncode != 0
    assert "not writable" in result.stderr


def test_production_refuses_the_default_secret(tmp_path: Path) -> None:
    env_run = subprocess.run([*HOTLINE, "doctor"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                             env={**os.environ, "HOTLINE_ENV": "production", "HOTLINE_DATA_DIR": str(tmp_path), "COLUMNS": "400"})
    assert env_run.returncode == 2
    assert "HOTLINE_SECRET_KEY" in env_run.stderr
