"""Per-client-address throttle of sign-in attempts (the per-account lockout lives in the database)."""

from __future__ import annotations

import time
from collections import deque

from api.services import AppServices
from core.errors import TooManyRequests

WINDOW_SECONDS = 60.0


def check_login_rate(services: AppServices, ip: str | None) -> None:
    limit = services.settings.login_attempts_per_minute
    if limit == 0:
        return
    buckets: dict[str, deque[float]] = services.extra.setdefault("login_rate", {})
    key = ip or "unknown"
    now = time.monotonic()
    bucket = buckets.setdefault(key, deque())
    while bucket and now - bucket[0] > WINDOW_SECONDS:
        bucket.popleft()
    if len(bucket) >= limit:
        raise TooManyRequests()
    bucket.append(now)
    if len(buckets) > 10000:  # forget idle addresses
        for stale in [k for k, b in buckets.items() if not b or now - b[-1] > WINDOW_SECONDS]:
            del buckets[stale]
