"""Zalo Official Account channel (INT-06) through the OA Open API v3.0.

Sending: POST `{api_base}/v3.0/oa/message/cs` with header `access_token` and
`{"recipient": {"user_id": …}, "message": {"text": …}}` (a consultation message: the citizen wrote
to the OA first). Zalo answers HTTP 200 with `{"error": 0, "message": "Success", "data":
{"message_id": …, "user_id": …}}`, or an `error` < 0. Error codes from Zalo's OA API error table
(developers.zalo.me/docs/official-account/phu-luc/ma-loi, as cited and mirrored by the
tranvien98 zalo_sdk `ZaloOAException` table; chatwoot's Zalo channel treats -216 as "token expired,
refresh and resend"):
  transient — -32 rate limit (app or OA), -200 send failed, -211 feature quota, -214 still processing,
  -216 / -220 access token invalid / expired (an operator renews it; the message itself is fine),
  -218 the user's receive quota, -234 not at night (22:00–06:00), -321 Zalo Cloud Account unpaid;
  permanent — every other code: -201 invalid parameter, -204/-205 OA disabled or missing, -213 user
  does not follow the OA, -217 user blocked the OA, -227 user banned or inactive 45 days, -230 no
  interaction in the last 7 days, -232 no (or expired) interaction, -233 message type not supported, …
  (a code we do not know is taken as permanent: Zalo reports business refusals this way).
HTTP 5xx/429, timeouts and network errors are transient. The access token comes from settings: the
OAuth refresh flow (refresh token -> new access token every ~25 h) is out of scope here.

Webhook: Zalo POSTs JSON events with `X-ZEvent-Signature: mac=<hex>` where hex =
sha256(app_id + raw body + timestamp + OA secret key), `app_id` and `timestamp` read from the event
(the formula chatwoot's Webhooks::ZaloEventsJob verifies). `user_send_text` becomes an
InboundMessage (`sender.id`, `recipient.id`, `message.msg_id`, `message.text`, `timestamp` in ms);
`user_received_message` a delivery report; any other event is None (answered 200, ignored).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import httpx

from core.ports import (
    DeliveryReport,
    InboundMessage,
    InvalidSignature,
    MalformedWebhook,
    OutboundMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
    WebhookRequest,
)
from messaging.common import dig, header, json_object, required_text

ZALO_API_BASE = "https://openapi.zalo.me"
SIGNATURE_HEADER = "X-ZEvent-Signature"
SEND_PATH = "/v3.0/oa/message/cs"
TRANSIENT_ERRORS = frozenset({-32, -200, -211, -214, -216, -218, -220, -234, -321})


def event_signature(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """The X-ZEvent-Signature value Zalo sends with `body`."""
    digest = hashlib.sha256(app_id.encode() + body + timestamp.encode() + oa_secret_key.encode()).hexdigest()
    return "mac=" + digest


class ZaloGateway:
    name = "zalo"
    channel = "zalo"

    def __init__(self, access_token: str, oa_secret_key: str, *, app_id: str | None = None,
                 api_base: str = ZALO_API_BASE, timeout: float = 10.0) -> None:
        self.app_id = app_id
        self.api_base = api_base.rstrip("/")
        self._access_token = access_token
        self._secret = oa_secret_key
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def send(self, message: OutboundMessage) -> SendResult:
        if not message.to.strip():
            raise PermanentSendError("no Zalo user id", code="invalid_recipient")
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        payload = {"recipient": {"user_id": message.to}, "message": {"text": message.body}}
        try:
            response = await self._client.post(self.api_base + SEND_PATH, json=payload,
                                               headers={"access_token": self._access_token})
        except httpx.TimeoutException as exc:
            raise TransientSendError(f"Zalo timed out: {type(exc).__name__}") from None
        except httpx.TransportError as exc:
            raise TransientSendError(f"Zalo unreachable: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientSendError(f"Zalo answered HTTP {response.status_code}")
        try:
            data = response.json()
            error = int(data["error"])
        except (ValueError, KeyError, TypeError):
            raise TransientSendError(f"Zalo answered HTTP {response.status_code} without a result") from None
        if error == 0:
            message_id = dig(data, "data.message_id")
            if message_id is None:
                raise TransientSendError("Zalo said Success without a message_id")
            return SendResult(self.name, str(message_id), "sent")
        text = f"Zalo error {error}: {str(data.get('message', ''))[:200]}"
        if error in TRANSIENT_ERRORS:
            raise TransientSendError(text)
        raise PermanentSendError(text, code=str(error))

    def read_inbound(self, request: WebhookRequest) -> InboundMessage | None:
        event = self._verified(request)
        if event.get("event_name") != "user_send_text":
            return None
        timestamp = required_text(event, "timestamp")
        try:
            received_at = datetime.fromtimestamp(int(timestamp) / 1000, UTC)
        except (ValueError, OverflowError, OSError):
            raise MalformedWebhook("timestamp is not milliseconds since the epoch") from None
        return InboundMessage(
            provider=self.name,
            provider_message_id=required_text(event, "message.msg_id"),
            sender=required_text(event, "sender.id"),
            body=required_text(event, "message.text"),
            recipient=required_text(event, "recipient.id"),
            received_at=received_at,
        )

    def read_status(self, request: WebhookRequest) -> DeliveryReport | None:
        event = self._verified(request)
        if event.get("event_name") != "user_received_message":
            return None  # user_seen_message lists several msg_ids: read receipts are not tracked
        return DeliveryReport(self.name, required_text(event, "message.msg_id"), "delivered")

    def webhook_answer(self) -> tuple[str, bytes]:
        return "application/json", b'{"ok":true}'

    def _verified(self, request: WebhookRequest) -> dict[str, Any]:
        signature = header(request, SIGNATURE_HEADER)
        if not signature:
            raise InvalidSignature("missing X-ZEvent-Signature")
        # The signed string names app_id and timestamp from the event itself, so the body must be
        # read before it can be verified: one that cannot be read cannot be verified either.
        try:
            event = json_object(request.body)
        except MalformedWebhook:
            raise InvalidSignature("body is not a Zalo event") from None
        app_id, timestamp = event.get("app_id"), event.get("timestamp")
        if not isinstance(app_id, (str, int)) or not isinstance(timestamp, (str, int)):
            raise InvalidSignature("event lacks app_id or timestamp")
        expected = event_signature(str(app_id), request.body, str(timestamp), self._secret)
        if not hmac.compare_digest(signature.strip().lower().encode("ascii", "replace"), expected.encode()):
            raise InvalidSignature("X-ZEvent-Signature does not match")
        if self.app_id and str(app_id) != self.app_id:
            raise InvalidSignature("event for another Zalo app")
        return event
