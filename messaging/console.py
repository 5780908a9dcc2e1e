"""Development SMS gateway (the default of HOTLINE_SMS_GATEWAY): keeps what it "sends" in memory
and writes it to the log, cut at 160 characters. OutboundMessage has no "sensitive" flag, so
nothing is hidden: this gateway is for development and tests only.

Its webhooks let a developer play the citizen's phone. Both take JSON signed with the app's secret
key (`HOTLINE_SECRET_KEY`): header `X-Hotline-Signature: sha256=<hex HMAC-SHA256 of the raw body>`.

- inbound: `{"id": "sim-1", "from": "0912345678", "to": "1022", "text": "Đèn đường hỏng"}`
- status:  `{"id": "<provider id returned by send>", "status": "delivered"}` (queued | sent |
  delivered | failed; optional `error_code`, `error_message`)

Simulate an inbound SMS with curl (WEBHOOK_URL is the API's inbound webhook route for the
`console` gateway)::

    body='{"id":"sim-1","from":"0912345678","to":"1022","text":"Đèn đường hỏng ở ấp 3"}'
    sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$HOTLINE_SECRET_KEY" | sed 's/^.*= //')
    curl -X POST "$WEBHOOK_URL" -H 'Content-Type: application/json' \\
         -H "X-Hotline-Signature: sha256=$sig" --data-binary "$body"
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from core.ports import (
    DeliveryReport,
    InboundMessage,
    MalformedWebhook,
    OutboundMessage,
    PermanentSendError,
    SendResult,
    WebhookRequest,
)
from messaging.common import check_hmac_sha256, header, hmac_sha256_hex, inbound_sender, json_object, required_text

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hotline-Signature"
STATUSES = ("queued", "sent", "delivered", "failed")
LOGGED_CHARS = 160


def sign_body(secret: str, body: bytes) -> str:
    """The X-Hotline-Signature value for `body`."""
    return "sha256=" + hmac_sha256_hex(secret, body)


@dataclass
class ConsoleGateway:
    secret: str
    name: str = "console"
    channel: str = "sms"
    sent: list[OutboundMessage] = field(default_factory=list)
    _ids: dict[str, str] = field(default_factory=dict, repr=False)

    async def send(self, message: OutboundMessage) -> SendResult:
        if not message.to.strip():
            raise PermanentSendError("no recipient", code="invalid_number")
        provider_id = self._ids.get(message.key)
        if provider_id is None:  # the same key is "sent" once, as a provider that deduplicates would
            provider_id = "console-" + hashlib.sha256(message.key.encode()).hexdigest()[:20]
            self._ids[message.key] = provider_id
            self.sent.append(message)
            text = message.body if len(message.body) <= LOGGED_CHARS else message.body[:LOGGED_CHARS] + "…"
            log.warning("console SMS to %s from %s [%s]: %s", message.to, message.sender or "default",
                        provider_id, text)
        return SendResult(self.name, provider_id, "sent")

    def read_inbound(self, request: WebhookRequest) -> InboundMessage | None:
        data = self._verified(request)
        return InboundMessage(
            provider=self.name,
            provider_message_id=required_text(data, "id"),
            sender=inbound_sender(required_text(data, "from")),
            body=required_text(data, "text"),
            recipient=str(data["to"]) if data.get("to") is not None else None,
        )

    def read_status(self, request: WebhookRequest) -> DeliveryReport | None:
        data = self._verified(request)
        status = required_text(data, "status").lower()
        if status not in STATUSES:
            raise MalformedWebhook(f"unknown status {status[:32]!r}")
        return DeliveryReport(self.name, required_text(data, "id"), status,
                              error_code=_optional(data.get("error_code")),
                              error_message=_optional(data.get("error_message")))

    def webhook_answer(self) -> tuple[str, bytes]:
        return "application/json", b'{"ok":true}'

    def _verified(self, request: WebhookRequest) -> dict:
        check_hmac_sha256(header(request, SIGNATURE_HEADER), self.secret, request.body)
        return json_object(request.body)


def _optional(value: object) -> str | None:
    return None if value is None else str(value)
