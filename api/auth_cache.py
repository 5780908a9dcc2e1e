"""A short-lived in-process cache of resolved tokens, so an authenticated request costs no
database round trip. Entries live `ttl` seconds at most (never past the session's own expiry)
and are dropped at once in this process on logout, password change or account changes; other
API replicas see a revocation within `ttl` seconds (HOTLINE_AUTH_CACHE_SECONDS, 0 = off)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from core.services.auth import SignedIn

MAX_ENTRIES = 50_000


@dataclass
class AuthCache:
    ttl: float
    _entries: dict[str, tuple[float, SignedIn]] = field(default_factory=dict)
    _by_user: dict[int, set[str]] = field(default_factory=dict)

    def get(self, digest: str) -> SignedIn | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            self._drop(digest)
            return None
        return entry[1]

    def put(self, digest: str, signed_in: SignedIn, seconds_left: float) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self.clear()
        self._entries[digest] = (time.monotonic() + min(self.ttl, seconds_left), signed_in)
        self._by_user.setdefault(signed_in.user.id, set()).add(digest)  # type: ignore[arg-type]

    def forget_user(self, user_id: int | None) -> None:
        for digest in self._by_user.pop(user_id, set()) if user_id is not None else ():
            self._entries.pop(digest, None)

    def clear(self) -> None:
        self._entries.clear()
        self._by_user.clear()

    def _drop(self, digest: str) -> None:
        entry = self._entries.pop(digest, None)
        if entry is not None:
            self._by_user.get(entry[1].user.id, set()).discard(digest)  # type: ignore[arg-type]
