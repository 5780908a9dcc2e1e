"""Twilio SMS through the official `twilio` SDK (9.x).

Sending: Messages create (`To` in E.164, `From` = the message's sender, else the Messaging Service
SID, else the configured number; `Body`; `StatusCallback`). The SDK's synchronous client runs in
`asyncio.to_thread`: its `requests` transport gives plain, well-understood timeouts, while the async
client (aiohttp) binds a ClientSession to the loop that created it and its timeout handling differs
across aiohttp versions. Twilio's Messages API has no idempotency key, so a timeout after Twilio took
the message is ambiguous: it is reported as TransientSendError and the caller decides.

API base: the SDK builds absolute URLs on `https://api.twilio.com` (twilio/rest/api/ApiBase.py) and
hands them to its `http_client`. Giving the Client our own HttpClient — the SDK's documented way to
change its requests (twilio-python advanced-examples/custom-http-client.md) — that swaps that origin
for `HOTLINE_TWILIO_API_BASE` points the real SDK at a local double in tests. The Client gets an
explicit empty environment so that TWILIO_EDGE / TWILIO_REGION / credentials in the process
environment are never read (settings are the only reader of the environment).

Errors: a TwilioRestException with HTTP 429 or 5xx, or 401 (our credentials: fixable by an
operator, the message itself is fine), and network errors/timeouts are transient; any other 4xx
(21211 invalid To, 21408 region not enabled, 21610 unsubscribed, 21614 not a mobile, …) is
permanent with Twilio's code.

Webhooks: `X-Twilio-Signature` checked with the SDK's RequestValidator over the full URL Twilio
called and the form fields (auth-token signatures, HMAC-SHA1; SharedKey/HMAC-SHA256 signing is not
supported). Answered with an empty TwiML `<Response/>` (MessagingResponse).
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

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
from messaging.common import header, inbound_sender, to_e164

TWILIO_API_BASE = "https://api.twilio.com"
SIGNATURE_HEADER = "X-Twilio-Signature"
# An environment without TWILIO_* variables; must be non-empty (the SDK reads os.environ for `{}`).
_NO_ENVIRONMENT = {"HOTLINE": "settings are the only reader of the environment"}

# Twilio's MessageStatus values (docs: messaging/api/message-resource#message-status-values).
STATUS_MAP = {
    "accepted": "queued", "scheduled": "queued", "queued": "queued", "sending": "queued",
    "sent": "sent",
    "delivered": "delivered", "read": "delivered",
    "undelivered": "failed", "failed": "failed", "canceled": "failed",
}
# Documented examples of permanent refusals (any other 4xx but 401/429 is treated the same way).
PERMANENT_CODES = {21211: "invalid 'To' number", 21408: "region not enabled", 21610: "recipient unsubscribed",
                   21612: "cannot route to this number", 21614: "'To' is not a mobile number"}


class _ApiBaseHttpClient(TwilioHttpClient):
    """The SDK's requests-based client, sending what it addresses to api.twilio.com to `api_base`."""

    def __init__(self, api_base: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.api_base = api_base.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if self.api_base != TWILIO_API_BASE and url.startswith(TWILIO_API_BASE):
            url = self.api_base + url[len(TWILIO_API_BASE):]
        return super().request(method, url, *args, **kwargs)


class _Form(dict[str, list[str]]):
    """Form fields with repeated names kept; `getall` is what RequestValidator looks for."""

    def getall(self, name: str) -> list[str]:
        return self[name]

    def first(self, name: str) -> str | None:
        values = self.get(name)
        return values[0] if values else None


class TwilioGateway:
    name = "twilio"
    channel = "sms"

    def __init__(self, account_sid: str, auth_token: str, *, from_number: str | None = None,
                 messaging_service_sid: str | None = None, status_callback_url: str | None = None,
                 api_base: str = TWILIO_API_BASE, timeout: float = 10.0) -> None:
        if not (from_number or messaging_service_sid):
            raise ValueError("Twilio needs a From number or a Messaging Service SID")
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.status_callback_url = status_callback_url
        self._client = Client(account_sid, auth_token, http_client=_ApiBaseHttpClient(api_base, timeout),
                              environment=_NO_ENVIRONMENT)
        self._validator = RequestValidator(auth_token)

    async def aclose(self) -> None:
        session = getattr(self._client.http_client, "session", None)
        if session is not None:
            session.close()

    async def send(self, message: OutboundMessage) -> SendResult:
        try:
            to = to_e164(message.to)
        except ValueError as exc:
            raise PermanentSendError(str(exc), code="invalid_number") from None
        fields: dict[str, Any] = {"to": to, "body": message.body}
        if message.sender:
            fields["from_"] = message.sender
        elif self.messaging_service_sid:
            fields["messaging_service_sid"] = self.messaging_service_sid
        else:
            fields["from_"] = self.from_number
        callback = message.status_callback_url or self.status_callback_url
        if callback:
            fields["status_callback"] = callback
        try:
            created = await asyncio.to_thread(self._client.messages.create, **fields)
        except TwilioRestException as exc:  # its str() is coloured on a terminal: use its fields
            raise _send_error(exc.status, exc.code, str(exc.msg)) from None
        except TwilioServiceException as exc:  # RFC 9457 error bodies
            raise _send_error(exc.status, exc.code, f"{exc.title}: {exc.detail or ''}") from None
        except requests.RequestException as exc:  # timeouts, refused connections, broken TLS
            raise TransientSendError(f"Twilio unreachable: {type(exc).__name__}: {exc}") from None
        except TwilioException as exc:
            raise TransientSendError(f"Twilio answered unexpectedly: {type(exc).__name__}") from None
        return SendResult(self.name, str(created.sid), STATUS_MAP.get(str(created.status), "queued"))

    def read_inbound(self, request: WebhookRequest) -> InboundMessage | None:
        form = self._verified(request)
        return InboundMessage(
            provider=self.name,
            provider_message_id=_required(form, "MessageSid"),
            sender=inbound_sender(_required(form, "From")),
            body=_required(form, "Body"),
            recipient=form.first("To"),
        )

    def read_status(self, request: WebhookRequest) -> DeliveryReport | None:
        form = self._verified(request)
        sid = _required(form, "MessageSid")
        raw = _required(form, "MessageStatus").lower()
        if raw in ("receiving", "received"):  # about an inbound message, not one we sent
            return None
        status = STATUS_MAP.get(raw)
        if status is None:
            raise MalformedWebhook(f"unknown MessageStatus {raw[:32]!r}")
        return DeliveryReport(self.name, sid, status, error_code=form.first("ErrorCode") or None,
                              error_message=form.first("ErrorMessage") or None)

    def webhook_answer(self) -> tuple[str, bytes]:
        twiml = str(MessagingResponse())  # '<?xml version="1.0" encoding="UTF-8"?><Response />'
        return "text/xml", twiml.encode("utf-8")

    def _verified(self, request: WebhookRequest) -> _Form:
        signature = header(request, SIGNATURE_HEADER)
        if not signature:
            raise InvalidSignature("missing X-Twilio-Signature")
        try:
            form = _Form(parse_qs(request.body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise InvalidSignature("body is not a form Twilio signed") from None
        if not self._validator.validate(request.url, form, signature):
            raise InvalidSignature("X-Twilio-Signature does not match")
        return form


def _required(form: _Form, name: str) -> str:
    value = form.first(name)
    if value is None:
        raise MalformedWebhook(f"missing field {name!r}")
    return value


def _send_error(status: int, code: Any, text: str) -> Exception:
    code_text = None if code is None else str(code)
    if status == 429 or status >= 500 or status == 401 or code_text == "20429":
        return TransientSendError(f"Twilio {status} ({code_text}): {text}")
    return PermanentSendError(f"Twilio refused the message ({code_text}): {text}", code=code_text)
