"""Per-client-address throttles: sign-in attempts (the per-account lockout lives in the database)
and the public, unauthenticated knowledge-base search."""

from __future__ import annotations

import time
from collections import deque

from api.services import AppServices
from core.errors import TooManyRequests

WINDOW_SECONDS = 60.0


def check_rate(services: AppServices, name: str, ip: str | None, limit: int) -> None:
    """At most `limit` calls per minute from one client address under `name` (0 = unlimited);
    over it, 429 with a "wait a moment" message. Kept in this process (per API replica)."""
    if limit == 0:
        return
    buckets: dict[str, deque[float]] = services.extra.setdefault(name, {})
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


def check_login_rate(services: AppServices, ip: str | None) -> None:
    check_rate(services, "login_rate", ip, services.settings.login_attempts_per_minute)
