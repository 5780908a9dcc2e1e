"""Ports to outside systems. Each has a real adapter and a fake; the console notifier below is
the development default of the notification gateway."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

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
    ticket_id: int | None = None  # the ticket it is about, for the message log
    zalo_user_id: str | None = None  # a citizen who wrote on Zalo is answered there (then `phone` is not used)


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


# --- Search (knowledge base) -------------------------------------------------------------------

SEARCH_SCHEMA_VERSION = 1  # bump when the indexed document shape changes: older indexes are rebuilt
SearchMode = Literal["fuzzy", "exact"]


@dataclass(frozen=True)
class SearchDocument:
    """One knowledge-base question as the search engine sees it. `area` is the area id as text,
    "" for a province-wide document; `field` likewise. `body` is the plain text of its published
    answers and, for a procedure, its steps, documents, deadlines, fees and agency."""

    id: int
    title: str
    body: str
    type_doc: str
    status: str
    area: str = ""
    field: str = ""
    updated_at: int = 0  # unix seconds


@dataclass(frozen=True)
class SearchQuery:
    """`text` as the person typed it (the backend folds it). Fuzzy: each word matches exactly
    (boosted) or, when misspelt, within 1 edit from 4 letters, 2 from 8 (words with digits
    never fuzzily); the last word also as a prefix. A backend may leave out of the body match
    what cannot help ranking (tantivy: typo expansion of words that exist in the bodies, words
    in more than half of the bodies when rarer words were typed) — titles always get the full
    rule. Exact: the words as a phrase. Each non-empty filter keeps documents whose value is
    one of those given (`areas` may include "" for province-wide documents)."""

    text: str
    mode: SearchMode = "fuzzy"
    type_docs: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    offset: int = 0
    limit: int = 10


@dataclass(frozen=True)
class SearchHit:
    """`snippet` and `title_html` are HTML-escaped original (accented) text with `<mark>` around
    the matched words; `snippet` is a short passage of the body (or the title when the body has
    no match)."""

    id: int
    title: str
    type_doc: str
    snippet: str
    score: float
    title_html: str = ""


@dataclass(frozen=True)
class SearchPage:
    total: int
    hits: list[SearchHit]


class SearchIndex(Protocol):
    """The knowledge-base search engine (tantivy embedded, Meilisearch in production). Readers
    (the API) call `search`/`suggest`; only the worker writes (`upsert`, `delete`, `rebuild`)."""

    async def search(self, query: SearchQuery) -> SearchPage: ...

    async def suggest(self, prefix: str, limit: int = 8, type_docs: Sequence[str] = (),
                      statuses: Sequence[str] = ()) -> list[str]:
        """Titles that complete what the person is typing (accent-insensitive), best first."""
        ...

    async def upsert(self, documents: Sequence[SearchDocument]) -> None:
        """Add or replace these documents (by id); visible to readers once this returns."""
        ...

    async def delete(self, ids: Sequence[int]) -> None:
        """Remove these documents (unknown ids are ignored); visible once this returns."""
        ...

    async def rebuild(self, documents: Iterable[SearchDocument], batch: int = 5000,
                      progress: Callable[[int], None] | None = None) -> int:
        """Replace the whole index with `documents`; return how many were indexed."""
        ...

    async def count(self) -> int: ...

    async def close(self) -> None: ...


# --- Messaging: SMS providers and the Zalo Official Account (issue 6) ---------------------------

class InvalidSignature(Exception):
    """A webhook whose signature does not verify: answered 403, nothing stored."""


class MalformedWebhook(Exception):
    """A webhook that verifies but cannot be read (missing fields, bad JSON): answered 400."""


class PermanentSendError(Exception):
    """The provider refused the message for good (blocked region, invalid number): no retry."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class TransientSendError(Exception):
    """The provider could not take the message now (timeout, 5xx, throttled): retry with backoff."""


@dataclass(frozen=True)
class OutboundMessage:
    """One message to send. `key` is our idempotency key (providers that deduplicate get it);
    `to` is a phone number in national form (SMS) or a Zalo user id; `sender` a brandname or
    number (the gateway's default when None)."""

    key: str
    to: str
    body: str
    sender: str | None = None
    status_callback_url: str | None = None


@dataclass(frozen=True)
class SendResult:
    provider: str
    provider_message_id: str
    status: str  # queued | sent | delivered | failed (as far as the provider says at once)


@dataclass(frozen=True)
class InboundMessage:
    """A message a citizen sent, read from a verified webhook. `sender` is a phone number in
    national form (SMS) or a Zalo user id; `provider_message_id` makes storing it idempotent."""

    provider: str
    provider_message_id: str
    sender: str
    body: str
    recipient: str | None = None
    received_at: datetime | None = None
    sender_name: str | None = None


@dataclass(frozen=True)
class DeliveryReport:
    """A provider's status callback for a message we sent."""

    provider: str
    provider_message_id: str
    status: str  # queued | sent | delivered | failed
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class WebhookRequest:
    """What a webhook handler needs of an HTTP request to verify and read it: the full URL the
    provider called (signatures cover it), the headers (lower-case names) and the raw body."""

    url: str
    headers: Mapping[str, str]
    body: bytes


class MessageGateway(Protocol):
    """An SMS provider or the Zalo OA API. `send` raises PermanentSendError or
    TransientSendError; `read_inbound` / `read_status` raise InvalidSignature or MalformedWebhook
    (a status callback may return None for events that are not about delivery)."""

    name: str
    channel: str  # sms | zalo

    async def send(self, message: OutboundMessage) -> SendResult: ...

    def read_inbound(self, request: WebhookRequest) -> InboundMessage | None: ...

    def read_status(self, request: WebhookRequest) -> DeliveryReport | None: ...

    def webhook_answer(self) -> tuple[str, bytes]:
        """(content type, body) the provider expects in answer to a webhook (TwiML for Twilio)."""
        ...
