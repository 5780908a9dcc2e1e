"""Generic HTTP brandname SMS gateway: Vietnamese carriers and aggregators sell brandname SMS as
HTTP APIs that differ only in URL, authentication, field names and result codes, so a new provider is
configuration (HOTLINE_BRANDNAME_*), not code.

Sending: `body_template` is a JSON object whose string values may hold placeholders — `{to}`
(national, 0912345678), `{to_e164}` (+84912345678), `{body}`, `{sender}` (brandname), `{key}` (our
idempotency key: give it to a provider that deduplicates), `{callback}` (status callback URL),
`{api_key}`, `{api_secret}`. The template is parsed first and the values are substituted into the
parsed strings, so the text is JSON-escaped (format `json`) or form-encoded (format `form`, a flat
object; for GET the fields go into the query string) and can never break the request's structure.
The answer is read at JSON paths: `response_id_path` (the provider's message id) and
`response_code_path` (a result code: in `accepted_codes` = taken, in `duplicate_codes` = already
taken under this key, in `permanent_codes` = refused for good; any other code = try again). HTTP
5xx/408/429, 401/403 (credentials, fixable by an operator), timeouts and network errors are
transient; other 4xx are permanent.

Webhooks (inbound SMS and delivery reports) are JSON POSTs signed with HMAC-SHA256 of the raw body
under `webhook_secret`, in header `signature_header` (`sha256=<hex>` or bare hex). Fields are read at
the JSON paths of `inbound_fields` (id, from, to, text) and `status_fields` (id, status, error_code,
error_message); `status_values` maps the provider's statuses to queued / sent / delivered / failed.

Example — eSMS.vn customer-care brandname SMS (developers.esms.vn, "Send OTP/Customer care
message": POST .../SendMultipleMessage_V4_post_json/, credentials in the body, `CodeResult` "100" =
accepted, `SMSID` = message id; error table: 99 blocked number, 104 unknown brandname, 108 bad
number, 124 duplicate RequestId)::

    HOTLINE_SMS_GATEWAY=http
    HOTLINE_BRANDNAME_URL=https://rest.esms.vn/MainService.svc/json/SendMultipleMessage_V4_post_json/
    HOTLINE_BRANDNAME_AUTH=none
    HOTLINE_BRANDNAME_API_KEY=...            HOTLINE_BRANDNAME_API_SECRET=...
    HOTLINE_BRANDNAME_SENDER=DONGNAI1022
    HOTLINE_BRANDNAME_BODY_TEMPLATE='{"ApiKey": "{api_key}", "SecretKey": "{api_secret}", "Phone": "{to}",
        "Content": "{body}", "Brandname": "{sender}", "SmsType": "2", "IsUnicode": "1",
        "RequestId": "{key}", "CallbackUrl": "{callback}"}'
    HOTLINE_BRANDNAME_RESPONSE_ID_PATH=SMSID
    HOTLINE_BRANDNAME_RESPONSE_CODE_PATH=CodeResult
    HOTLINE_BRANDNAME_ACCEPTED_CODES='["100"]'
    HOTLINE_BRANDNAME_DUPLICATE_CODES='["124"]'
    HOTLINE_BRANDNAME_PERMANENT_CODES='["99", "104", "108", "118"]'
    HOTLINE_BRANDNAME_WEBHOOK_SECRET=...     (given to a relay that signs what the provider posts)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from core.ports import (
    DeliveryReport,
    InboundMessage,
    MalformedWebhook,
    OutboundMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
    WebhookRequest,
)
from messaging.common import check_hmac_sha256, dig, from_e164, header, inbound_sender, json_object, required_text

PLACEHOLDERS = ("to", "to_e164", "body", "sender", "key", "callback", "api_key", "api_secret")
_PLACEHOLDER = re.compile(r"\{([a-z0-9_]+)\}")
OUR_STATUSES = ("queued", "sent", "delivered", "failed")


@dataclass(frozen=True)
class BrandnameConfig:
    url: str
    method: Literal["POST", "PUT", "GET"] = "POST"
    auth: Literal["none", "basic", "bearer", "header"] = "none"
    username: str | None = None
    password: str | None = None
    token: str | None = None  # bearer token, or the value of `auth_header`
    auth_header: str = "X-API-Key"
    api_key: str = ""
    api_secret: str = ""
    sender: str = ""
    body_format: Literal["json", "form"] = "json"
    body_template: str = '{"to": "{to}", "text": "{body}", "sender": "{sender}", "request_id": "{key}"}'
    response_id_path: str = "message_id"
    response_code_path: str | None = None
    accepted_codes: tuple[str, ...] = ("0",)
    duplicate_codes: tuple[str, ...] = ()
    permanent_codes: tuple[str, ...] = ()
    timeout: float = 10.0
    webhook_secret: str = ""
    signature_header: str = "X-Signature"
    inbound_fields: dict[str, str] = field(default_factory=lambda: {"id": "id", "from": "from", "to": "to",
                                                                    "text": "text"})
    status_fields: dict[str, str] = field(default_factory=lambda: {"id": "id", "status": "status",
                                                                   "error_code": "error_code",
                                                                   "error_message": "error_message"})
    status_values: dict[str, str] = field(default_factory=dict)  # provider status -> ours
    status_callback_url: str | None = None  # the {callback} of a message that names none


def parse_template(template: str, body_format: str) -> dict[str, Any]:
    """The body template as an object; ValueError when it is not one, names an unknown placeholder,
    or (form) is not flat."""
    try:
        parsed = json.loads(template)
    except ValueError as exc:
        raise ValueError(f"body template is not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise ValueError("body template must be a JSON object")
    unknown = {name for text in _strings(parsed) for name in _PLACEHOLDER.findall(text)} - set(PLACEHOLDERS)
    if unknown:
        raise ValueError(f"unknown placeholders in body template: {sorted(unknown)}; known: {list(PLACEHOLDERS)}")
    if body_format == "form" and any(isinstance(v, (dict, list)) for v in parsed.values()):
        raise ValueError("a form body template must be a flat JSON object")
    return parsed


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value


class HttpBrandnameGateway:
    name = "http"
    channel = "sms"

    def __init__(self, config: BrandnameConfig) -> None:
        self.config = config
        self._template = parse_template(config.body_template, config.body_format)
        self._client: httpx.AsyncClient | None = None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _request(self, message: OutboundMessage) -> dict[str, Any]:
        c = self.config
        try:
            national = from_e164(message.to)
            e164 = "+84" + national[1:] if national.startswith("0") else national
        except ValueError as exc:
            raise PermanentSendError(str(exc), code="invalid_number") from None
        values = {"to": national, "to_e164": e164, "body": message.body, "sender": message.sender or c.sender,
                  "key": message.key, "callback": message.status_callback_url or c.status_callback_url or "",
                  "api_key": c.api_key, "api_secret": c.api_secret}
        payload = _fill(self._template, values)
        headers = {"Accept": "application/json"}
        auth = None
        if c.auth == "basic":
            auth = httpx.BasicAuth(c.username or "", c.password or "")
        elif c.auth == "bearer":
            headers["Authorization"] = f"Bearer {c.token or ''}"
        elif c.auth == "header":
            headers[c.auth_header] = c.token or ""
        request: dict[str, Any] = {"method": c.method, "url": c.url, "headers": headers, "auth": auth}
        if c.method == "GET":
            request["params"] = {k: "" if v is None else str(v) for k, v in payload.items()}
        elif c.body_format == "form":
            request["data"] = {k: "" if v is None else str(v) for k, v in payload.items()}
        else:
            request["json"] = payload
        return request

    async def send(self, message: OutboundMessage) -> SendResult:
        request = self._request(message)
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.config.timeout)
        try:
            response = await self._client.request(**{k: v for k, v in request.items() if v is not None})
        except httpx.TimeoutException as exc:
            raise TransientSendError(f"brandname provider timed out: {type(exc).__name__}") from None
        except httpx.TransportError as exc:
            raise TransientSendError(f"brandname provider unreachable: {type(exc).__name__}: {exc}") from None
        return self._result(message, response)

    def _result(self, message: OutboundMessage, response: httpx.Response) -> SendResult:
        c, status = self.config, response.status_code
        if status >= 500 or status in (408, 429):
            raise TransientSendError(f"brandname provider answered HTTP {status}")
        try:
            data: Any = response.json()
        except ValueError:
            data = None
        code = dig(data, c.response_code_path) if c.response_code_path else None
        code_text = None if code is None else str(code)
        if 200 <= status < 300:
            provider_id = dig(data, c.response_id_path)
            if c.response_code_path is None or code_text in c.accepted_codes:
                return SendResult(self.name, str(provider_id) if provider_id is not None else message.key, "queued")
            if code_text in c.duplicate_codes:  # taken earlier under this key: a retry must not fail it
                return SendResult(self.name, str(provider_id) if provider_id is not None else message.key, "queued")
        if code_text is not None and code_text in c.permanent_codes:
            raise PermanentSendError(f"brandname provider refused the message (code {code_text})", code=code_text)
        if status in (401, 403):
            raise TransientSendError(f"brandname provider refused our credentials (HTTP {status})")
        if status >= 400:
            raise PermanentSendError(f"brandname provider answered HTTP {status} (code {code_text})",
                                     code=code_text or f"http_{status}")
        raise TransientSendError(f"brandname provider did not accept the message (code {code_text})")

    def read_inbound(self, request: WebhookRequest) -> InboundMessage | None:
        data = self._verified(request)
        f = self.config.inbound_fields
        recipient = dig(data, f.get("to", "to"))
        return InboundMessage(
            provider=self.name,
            provider_message_id=required_text(data, f.get("id", "id"), "id"),
            sender=inbound_sender(required_text(data, f.get("from", "from"), "from")),
            body=required_text(data, f.get("text", "text"), "text"),
            recipient=None if recipient is None else str(recipient),
        )

    def read_status(self, request: WebhookRequest) -> DeliveryReport | None:
        data = self._verified(request)
        f = self.config.status_fields
        raw = required_text(data, f.get("status", "status"), "status")
        mapped = self.config.status_values.get(raw) or (raw.lower() if raw.lower() in OUR_STATUSES else None)
        if mapped not in OUR_STATUSES:
            raise MalformedWebhook(f"unknown delivery status {raw[:32]!r} (map it in status_values)")
        error_code = dig(data, f.get("error_code", "error_code"))
        error_message = dig(data, f.get("error_message", "error_message"))
        return DeliveryReport(self.name, required_text(data, f.get("id", "id"), "id"), mapped,
                              error_code=None if error_code in (None, "") else str(error_code),
                              error_message=None if error_message in (None, "") else str(error_message))

    def webhook_answer(self) -> tuple[str, bytes]:
        return "application/json", b'{"ok":true}'

    def _verified(self, request: WebhookRequest) -> dict[str, Any]:
        check_hmac_sha256(header(request, self.config.signature_header), self.config.webhook_secret, request.body)
        return json_object(request.body)
