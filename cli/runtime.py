"""Resolving the outside services a command needs: the configured ones, the embedded ones a
running `hotline up` owns (recorded in <data dir>/runtime.json), or embedded ones started
for the duration of this command."""

from __future__ import annotations

import json
import logging
import os
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from cli.embedded.postgres import EmbeddedPostgres
from cli.embedded.process import ensure_writable_dir
from cli.embedded.temporal import EmbeddedTemporal
from core.db import libpq_url
from core.settings import Settings

log = logging.getLogger(__name__)


def runtime_file(settings: Settings) -> Path:
    return settings.data_dir / "runtime.json"


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _database_answers(url: str) -> bool:
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=2):
            return True
    except psycopg.Error:
        return False


@dataclass
class Runtime:
    """Embedded services this process started (stopped on close) and the resolved settings."""

    settings: Settings
    started: list[object] = field(default_factory=list)
    temporal_ui: str | None = None
    _stack: ExitStack = field(default_factory=ExitStack)

    def _shared(self) -> dict[str, object]:
        path = runtime_file(self.settings)
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return {}
        return data if _alive(data.get("pid")) else {}

    def system_running(self) -> bool:
        """A `hotline up` owns the services of this data dir (its worker is the index writer)."""
        return bool(self._shared())

    def database(self) -> str:
        if self.settings.database_url:
            return self.settings.database_url
        shared = self._shared().get("database_url")
        if isinstance(shared, str) and _database_answers(shared):
            self.settings.database_url = shared
            return shared
        ensure_writable_dir(self.settings.data_dir, "Data")
        pg = EmbeddedPostgres(self.settings.pg_dir)
        url = pg.start()
        self._stack.callback(pg.stop)
        self.started.append(pg)
        self.settings.database_url = url
        return url

    def temporal(self, ui: bool = True) -> str:
        pending = self.launch_temporal(ui)
        if pending is not None:
            self.settings.temporal_address = pending.wait_ready()
        return self.settings.temporal_address  # type: ignore[return-value]

    def launch_temporal(self, ui: bool = True) -> EmbeddedTemporal | None:
        """Start the embedded Temporal if one is needed, without waiting for it; returns it
        (call `wait_ready()`), or None when a configured or shared server is used."""
        if self.settings.temporal_address:
            return None
        shared = self._shared().get("temporal_address")
        if isinstance(shared, str):
            self.settings.temporal_address = shared
            return None
        tp = EmbeddedTemporal(self.settings.temporal_db_file, ui=ui, namespace=self.settings.temporal_namespace)
        tp.launch(log_dir=self.settings.data_dir / "logs")
        self._stack.callback(tp.stop)
        self.started.append(tp)
        self.temporal_ui = tp.ui_url
        return tp

    def start_all(self) -> None:
        """Both services, started from this (main) thread; Temporal boots while PostgreSQL does."""
        pending = self.launch_temporal()
        self.database()
        if pending is not None:
            self.settings.temporal_address = pending.wait_ready()

    def publish(self) -> None:
        """Let other `hotline` commands on this data dir use the services we own."""
        path = runtime_file(self.settings)
        path.write_text(json.dumps({"pid": os.getpid(), "database_url": self.settings.database_url,
                                    "temporal_address": self.settings.temporal_address}))
        self._stack.callback(lambda: path.unlink(missing_ok=True))

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> "Runtime":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
