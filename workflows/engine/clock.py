"""Deterministic ids and time for Spiff while a Temporal workflow drives it.

Spiff calls `uuid4()` (task ids), `time.time()` (task state-change stamps) and
`datetime.now(timezone.utc)` (timer deadlines). Inside a workflow these must come from
`workflow.uuid4()` / `workflow.now()`, or replay silently builds a different task tree with
other deadlines. Spiff is passed through the sandbox, so the sandbox does not catch them.

The names Spiff's modules bound at import time (found by grep in SpiffWorkflow 3.2.0):
  SpiffWorkflow.task: `uuid4`, `time` (the module; `time.time()` is called)
  SpiffWorkflow.bpmn.specs.event_definitions.timer: `datetime` (the class; `.now()` is called)
They are replaced, once and on first use (never at import), by dispatchers that read the clock
of the current thread: a workflow activation runs synchronously on one worker thread, and
`spiff_clock` is only ever entered around synchronous engine calls, never across an `await`.
Outside `spiff_clock` the dispatchers fall through to the real functions.
"""

from __future__ import annotations

import logging
import threading
import time as real_time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import SpiffWorkflow.bpmn.specs.event_definitions.timer as spiff_timer
import SpiffWorkflow.task as spiff_task

SPIFF_LOGGERS = ("spiff", "spiff.task", "spiff.workflow", "spiff.data", "spiff.dmn")


@dataclass(frozen=True)
class EngineClock:
    uuid4: Callable[[], uuid.UUID]
    now: Callable[[], datetime]  # timezone-aware (UTC)


_current = threading.local()
_install_lock = threading.Lock()
_installed = False


def _clock() -> EngineClock | None:
    return getattr(_current, "clock", None)


def _uuid4() -> uuid.UUID:
    clock = _clock()
    return clock.uuid4() if clock else uuid.uuid4()


class _TimeModule:
    """Stands in for the `time` module inside SpiffWorkflow.task (only `.time()` is used)."""

    def time(self) -> float:
        clock = _clock()
        return clock.now().timestamp() if clock else real_time.time()

    def __getattr__(self, name: str) -> Any:
        return getattr(real_time, name)


class _DatetimeMeta(type):
    # Spiff's timer module also uses `datetime` for isinstance checks on plain datetimes.
    def __instancecheck__(cls, instance: object) -> bool:
        return isinstance(instance, datetime)


class _SpiffDatetime(datetime, metaclass=_DatetimeMeta):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        clock = _clock()
        if clock is None:
            return datetime.now(tz)
        now = clock.now()
        return now.astimezone(tz) if tz is not None else now.replace(tzinfo=None)


def install() -> None:
    """Point Spiff's clock and id names at the dispatchers and quiet its loggers (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        spiff_task.uuid4 = _uuid4  # type: ignore[attr-defined]
        spiff_task.time = _TimeModule()  # type: ignore[attr-defined]
        spiff_timer.datetime = _SpiffDatetime  # type: ignore[attr-defined, misc]
        # Spiff logs every task state change (and does so again on every replay).
        for name in SPIFF_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        _installed = True


@contextmanager
def spiff_clock(clock: EngineClock | None) -> Iterator[None]:
    """Run the enclosed (synchronous!) Spiff calls on `clock`; None = the real clock."""
    install()
    previous = _clock()
    _current.clock = clock
    try:
        yield
    finally:
        _current.clock = previous
