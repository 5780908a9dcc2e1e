"""A child process we own: started with a parent-death signal so none outlives us."""

from __future__ import annotations

import ctypes
import logging
import os
import pwd
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


class EmbeddedServiceError(RuntimeError):
    """A clear, user-facing reason why an embedded service could not start."""


def _die_with_parent(sig: int) -> None:
    # Runs in the child after fork (and after any uid switch, which would clear it).
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, sig)
    os.setpgrp()  # Ctrl-C in a terminal reaches us, not the child: we stop it in order.


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now, chosen by the kernel (never a guess)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def ensure_writable_dir(path: Path, what: str) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise EmbeddedServiceError(
            f"{what} directory {path} is not writable ({exc.strerror}). "
            "Choose another with --data-dir or HOTLINE_DATA_DIR."
        ) from exc
    return path


def unprivileged_user() -> pwd.struct_passwd | None:
    """PostgreSQL refuses to run as root: under root we run it as `nobody`."""
    if os.geteuid() != 0:
        return None
    return pwd.getpwnam("nobody")


def allow_traversal(path: Path) -> None:
    """Give others execute (search, not read) permission on every parent of `path`, so an
    unprivileged service user can reach its files. Only used when we run as root."""
    for parent in [path, *path.parents]:
        try:
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                os.chmod(parent, mode | stat.S_IXOTH)
        except OSError:
            log.warning("cannot add search permission to %s", parent)


class ManagedProcess:
    def __init__(self, name: str, argv: Sequence[str], log_file: Path, *, env: dict[str, str] | None = None,
                 user: pwd.struct_passwd | None = None, stop_signal: int = signal.SIGTERM) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_file = log_file
        self.env = env
        self.user = user
        self.stop_signal = stop_signal
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log_file, "ab")  # noqa: SIM115 - handed to the child
        if self.user is not None:
            os.chown(self.log_file, self.user.pw_uid, self.user.pw_gid)
        kwargs: dict[str, object] = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        log.info("starting %s: %s", self.name, " ".join(self.argv))
        self.proc = subprocess.Popen(  # noqa: S603 - fixed argv of our own binaries
            self.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env,
            preexec_fn=lambda: _die_with_parent(self.stop_signal), close_fds=True, **kwargs,  # type: ignore[arg-type]
        )
        out.close()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        log.info("stopping %s (pid %s)", self.name, self.proc.pid)
        self.proc.send_signal(self.stop_signal)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %.0fs; killing it", self.name, timeout)
            self.proc.kill()
            self.proc.wait(5)

    def wait_until(self, check, timeout: float, what: str) -> None:  # noqa: ANN001
        """Poll `check()` until true; fail fast with the service's log if it dies."""
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            if not self.running:
                raise EmbeddedServiceError(f"{self.name} exited while {what}. Last log lines:\n{self.log_tail()}")
            try:
                if check():
                    return
            except Exception:  # noqa: BLE001 - not ready yet
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedServiceError(f"{self.name} was not ready after {timeout:.0f}s. Last log lines:\n{self.log_tail()}")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)
