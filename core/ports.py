"""Ports to outside systems. Each has a real adapter and a fake; the console notifier below is
the development default of the notification gateway."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notification:
    """A message to one person through whichever channel reaches them (SMS, email, …)."""

    key: str  # idempotency key: the same key is delivered at most once
    recipient_user_id: int | None
    phone: str | None
    email: str | None
    subject: str
    body: str
    kind: str = "generic"
    sensitive: bool = False  # body holds a secret (reset code): never log it in production


class Notifier(Protocol):
    async def send(self, message: Notification) -> str:
        """Deliver the message; return the provider's message id. Raise on failure."""
        ...


@dataclass
class ConsoleNotifier:
    """Development gateway: keeps the messages in memory and writes them to the log."""

    show_sensitive: bool = True
    sent: list[Notification] = field(default_factory=list)

    async def send(self, message: Notification) -> str:
        if any(m.key == message.key for m in self.sent):
            return message.key
        self.sent.append(message)
        body = message.body if (self.show_sensitive or not message.sensitive) else "[hidden in production]"
        log.warning("console notification to %s: %s — %s", message.phone or message.email or message.recipient_user_id,
                    message.subject, body)
        return message.key


class AttachmentWriter(Protocol):
    """One upload being received: bytes go to a staging area until `keep` or `discard`."""

    async def write(self, chunk: bytes) -> None: ...

    async def keep(self, sha256: str) -> str:
        """Store the bytes under their checksum (same bytes are stored once) atomically; return
        the storage key. The caller computed `sha256` over exactly the bytes written."""
        ...

    async def discard(self) -> None:
        """Drop the staged bytes; a no-op after `keep` or a previous `discard`."""
        ...


class AttachmentStore(Protocol):
    """Content-addressed storage of ticket attachments."""

    async def writer(self) -> AttachmentWriter: ...

    async def open(self, key: str) -> AsyncIterator[bytes]:
        """The stored bytes in chunks; raises LookupError (before any chunk) when absent."""
        ...
