"""Zalo Official Account channel (INT-06) through the OA Open API v3.0.

Sending: POST `{api_base}/v3.0/oa/message/cs` with header `access_token` and
`{"recipient": {"user_id": …}, "message": {"text": …}}` (a consultation message: the citizen wrote
to the OA first). Zalo answers HTTP 200 with `{"error": 0, "message": "Success", "data":
{"message_id": …, "user_id": …}}`, or an `error` < 0. Error codes from Zalo's OA API error table
(developers.zalo.me/docs/official-account/phu-luc/ma-loi, as cited and mirrored by the
tranvien98 zalo_sdk `ZaloOAException` table; chatwoot's Zalo channel treats -216 as "token expired,
refresh and resend"):
  transient — -32 rate limit (app or OA), -200 send failed, -211 feature quota, -214 still processing,
  -216 / -220 access token invalid / expired (renewed once, then the message is sent again once),
  -218 the user's receive quota, -234 not at night (22:00–06:00), -321 Zalo Cloud Account unpaid;
  permanent — every other code: -201 invalid parameter, -204/-205 OA disabled or missing, -213 user
  does not follow the OA, -217 user blocked the OA, -227 user banned or inactive 45 days, -230 no
  interaction in the last 7 days, -232 no (or expired) interaction, -233 message type not supported, …
  (a code we do not know is taken as permanent: Zalo reports business refusals this way).
HTTP 5xx/429, timeouts and network errors are transient.

Access tokens (OAuth v4): an OA access token lives ~25 hours (`expires_in` "90000", a string of
seconds) and comes with a refresh token that is valid ~3 months and can be used ONCE. Renewal:
`POST {oauth_base}/v4/oa/access_token`, header `secret_key: <the Zalo app's secret key>` (not the OA
secret key of the webhooks), form body `refresh_token=…&app_id=…&grant_type=refresh_token`; Zalo
answers `{"access_token", "refresh_token", "expires_in"}` — a NEW refresh token every time, the old one
being spent — or, often with HTTP 200, an error object such as `{"error": -14014, "error_name":
"Invalid refresh token", "error_description": …}` or `{"error_name", "error_reason", "error": -118}`.
Sources: hexasync.vn "Zalo OA API: Hướng dẫn cách lấy Access Token từ Refresh token" (endpoint,
header, form fields, 25 h, single use, 3 months), ChatbotX PR #1019 "fix(zalo): surface real OAuth
errors and harden daily token refresh" (error bodies with error_name / error_reason /
error_description, sometimes HTTP 200; two refreshes racing on the single-use token), and the
@warriorteam/redai-zalo-sdk auth service (refreshOaToken = oauth.zaloapp.com/v4/oa/access_token).

So the pair is kept in PostgreSQL (core/services/provider_credentials.py: encrypted, one row,
renewed under a row lock so that two workers never spend the same refresh token, committed before
the new access token is used), seeded from HOTLINE_ZALO_REFRESH_TOKEN / HOTLINE_ZALO_ACCESS_TOKEN on
first use and again whenever an operator changes those settings. `StoredZaloTokens` is what the
gateway asks for the current token: it renews ahead of time when less than an hour is left, and
after a -216 / -220 it renews once and the gateway resends once. A renewal Zalo refuses (a spent,
expired or revoked refresh token) is logged at ERROR for an operator — who must authorize the app
again and set a new HOTLINE_ZALO_REFRESH_TOKEN — and the send fails as transient (the message is
kept and retried later); it is not retried for an hour, whatever the traffic. One risk remains:
a renewal whose answer is lost (timeout after Zalo rotated the token) spends the refresh token
without us learning the new one; the next renewal is then refused and reported as above.
Without a database (`StaticZaloTokens`, tests and tools) the configured access token is used as is.

Webhook: Zalo POSTs JSON events with `X-ZEvent-Signature: mac=<hex>` where hex =
sha256(app_id + raw body + timestamp + OA secret key), `app_id` and `timestamp` read from the event
(the formula chatwoot's Webhooks::ZaloEventsJob verifies). `user_send_text` becomes an
InboundMessage (`sender.id`, `recipient.id`, `message.msg_id`, `message.text`, `timestamp` in ms);
`user_received_message` a delivery report; any other event is None (answered 200, ignored).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

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
from core.services import provider_credentials
from core.services.provider_credentials import (
    Credential,
    CredentialCipher,
    CredentialsUnreadable,
    NoRefreshToken,
    RefreshRefused,
    TokenPair,
)
from messaging.common import dig, header, json_object, required_text

log = logging.getLogger(__name__)

ZALO_API_BASE = "https://openapi.zalo.me"
ZALO_OAUTH_BASE = "https://oauth.zaloapp.com"
SIGNATURE_HEADER = "X-ZEvent-Signature"
SEND_PATH = "/v3.0/oa/message/cs"
OAUTH_TOKEN_PATH = "/v4/oa/access_token"
TRANSIENT_ERRORS = frozenset({-32, -200, -211, -214, -216, -218, -220, -234, -321})
TOKEN_ERRORS = frozenset({-216, -220})  # access token invalid / expired: renew, resend once
RENEW_BEFORE = timedelta(hours=1)  # renew ahead of time when less than this is left
PROACTIVE_RETRY_AFTER = timedelta(minutes=5)  # after a failed early renewal, while the token still works
CREDENTIAL_PROVIDER = "zalo"
OPERATOR_ACTION = ("Zalo messages are kept and retried, but none can be sent until an operator authorizes the app "
                   "for the OA again and sets the new refresh token in HOTLINE_ZALO_REFRESH_TOKEN")


def event_signature(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """The X-ZEvent-Signature value Zalo sends with `body`."""
    digest = hashlib.sha256(app_id.encode() + body + timestamp.encode() + oa_secret_key.encode()).hexdigest()
    return "mac=" + digest


class ZaloTokens(Protocol):
    """Where the gateway gets its access token."""

    async def current(self) -> str:
        """The access token to send with (renewed first when it is about to expire)."""
        ...

    async def renew(self, failed: str, reason: str) -> str:
        """A new access token after Zalo rejected `failed` (`reason`: Zalo's error); raises
        TransientSendError when there is none to be had."""
        ...


class StaticZaloTokens:
    """The configured access token, as is (no database: tests and tools)."""

    def __init__(self, access_token: str) -> None:
        self._access_token = access_token

    async def current(self) -> str:
        return self._access_token

    async def renew(self, failed: str, reason: str) -> str:
        raise TransientSendError(f"{reason}; no token store to renew it from: an operator must renew the access token")


class StoredZaloTokens:
    """The OA token pair in the database (core/services/provider_credentials.py), renewed through
    Zalo's OAuth v4 endpoint. One per process; safe for concurrent sends (one renewal at a time
    here, and one across workers thanks to the row lock)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, secret_key: str, app_id: str | None,
                 app_secret_key: str | None, oauth_base: str = ZALO_OAUTH_BASE,
                 seed_access_token: str | None = None, seed_refresh_token: str | None = None,
                 timeout: float = 10.0, renew_before: timedelta = RENEW_BEFORE,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._sessions = sessions
        self._cipher = CredentialCipher(secret_key)
        self._app_id = app_id
        self._app_secret_key = app_secret_key
        self._oauth_base = oauth_base.rstrip("/")
        self._seed = (seed_access_token or None, seed_refresh_token or None)
        self._timeout = timeout
        self._renew_before = renew_before
        self._clock = clock
        self._credential: Credential | None = None
        self._loaded = False
        self._next_early_renewal: datetime | None = None
        self._lock = asyncio.Lock()
        self._client: httpx.AsyncClient | None = None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def current(self) -> str:
        async with self._lock:
            if not self._loaded:
                try:
                    self._credential = await provider_credentials.load_or_seed(
                        self._sessions, self._cipher, CREDENTIAL_PROVIDER, access_token=self._seed[0],
                        refresh_token=self._seed[1])
                except CredentialsUnreadable as exc:
                    log.error("Zalo tokens: %s. %s.", exc, OPERATOR_ACTION)
                    raise TransientSendError(f"Zalo access token unavailable: {exc}") from None
                self._loaded = True
            credential = self._credential
            if credential is None or credential.access_token is None:
                return await self._renew(None)
            now = self._clock()
            expires_at = credential.access_expires_at
            if expires_at is None or expires_at - now >= self._renew_before:
                return credential.access_token
            if now < expires_at and self._next_early_renewal is not None and now < self._next_early_renewal:
                return credential.access_token
            try:
                return await self._renew(credential.access_token)
            except TransientSendError as exc:
                if now >= expires_at:
                    raise
                self._next_early_renewal = now + PROACTIVE_RETRY_AFTER
                log.warning("Zalo access token expires at %s and could not be renewed early (%s); still using it",
                            expires_at, exc)
                return credential.access_token

    async def renew(self, failed: str, reason: str) -> str:
        async with self._lock:
            stored = self._credential.access_token if self._credential is not None else None
            if stored is not None and stored != failed:
                return stored  # another send of this process renewed it while this one waited
            log.warning("Zalo rejected the access token (%s); renewing it", reason)
            return await self._renew(failed)

    async def _renew(self, stale: str | None) -> str:
        """Renew under the row lock (the caller holds self._lock)."""
        if not (self._app_id and self._app_secret_key):
            log.error("Zalo access token cannot be renewed: HOTLINE_ZALO_APP_ID and HOTLINE_ZALO_APP_SECRET_KEY "
                      "are not set. %s.", OPERATOR_ACTION)
            raise TransientSendError("Zalo access token cannot be renewed: no app id / app secret key configured")
        try:
            credential = await provider_credentials.refresh_locked(
                self._sessions, self._cipher, CREDENTIAL_PROVIDER, stale, self._call_oauth)
        except RefreshRefused as exc:
            log.error("Zalo refused to renew the OA access token: %s. %s.", exc, OPERATOR_ACTION)
            raise TransientSendError(f"Zalo access token cannot be renewed: {exc}") from None
        except (NoRefreshToken, CredentialsUnreadable) as exc:
            log.error("Zalo access token cannot be renewed: %s. %s.", exc, OPERATOR_ACTION)
            raise TransientSendError(f"Zalo access token cannot be renewed: {exc}") from None
        self._credential = credential
        self._next_early_renewal = None
        assert credential.access_token is not None
        return credential.access_token

    async def _call_oauth(self, refresh_token: str) -> TokenPair:
        """One renewal at Zalo; RefreshRefused for an error object, TransientSendError for what may pass."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        form = {"refresh_token": refresh_token, "app_id": self._app_id or "", "grant_type": "refresh_token"}
        try:
            response = await self._client.post(self._oauth_base + OAUTH_TOKEN_PATH, data=form,
                                                headers={"secret_key": self._app_secret_key or ""})
        except httpx.TimeoutException as exc:
            raise TransientSendError(f"Zalo OAuth timed out: {type(exc).__name__}") from None
        except httpx.TransportError as exc:
            raise TransientSendError(f"Zalo OAuth unreachable: {type(exc).__name__}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientSendError(f"Zalo OAuth answered HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise TransientSendError(f"Zalo OAuth answered HTTP {response.status_code} without JSON")
        access_token, new_refresh_token = data.get("access_token"), data.get("refresh_token")
        if isinstance(access_token, str) and access_token:
            return TokenPair(access_token, new_refresh_token if isinstance(new_refresh_token, str) else None,
                             self._expiry(data.get("expires_in")))
        if "error" in data or "error_name" in data:
            detail = data.get("error_description") or data.get("error_reason") or data.get("message") or ""
            raise RefreshRefused(f"Zalo OAuth error {data.get('error')} {data.get('error_name') or ''}: "
                                 f"{str(detail)[:200]}".replace("  ", " "))
        raise TransientSendError(f"Zalo OAuth answered HTTP {response.status_code} without a token")

    def _expiry(self, expires_in: object) -> datetime | None:
        try:
            seconds = int(str(expires_in))
        except ValueError:
            return None
        return self._clock() + timedelta(seconds=seconds) if seconds > 0 else None


class _TokenRejected(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class ZaloGateway:
    name = "zalo"
    channel = "zalo"

    def __init__(self, tokens: ZaloTokens | str, oa_secret_key: str, *, app_id: str | None = None,
                 api_base: str = ZALO_API_BASE, timeout: float = 10.0) -> None:
        self.app_id = app_id
        self.api_base = api_base.rstrip("/")
        self.tokens: ZaloTokens = StaticZaloTokens(tokens) if isinstance(tokens, str) else tokens
        self._secret = oa_secret_key
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        close = getattr(self.tokens, "aclose", None)
        if close is not None:
            await close()

    async def send(self, message: OutboundMessage) -> SendResult:
        if not message.to.strip():
            raise PermanentSendError("no Zalo user id", code="invalid_recipient")
        payload = {"recipient": {"user_id": message.to}, "message": {"text": message.body}}
        token = await self.tokens.current()
        try:
            return await self._send_with(token, payload)
        except _TokenRejected as rejected:
            token = await self.tokens.renew(token, rejected.text)
        try:
            return await self._send_with(token, payload)
        except _TokenRejected as rejected:  # a fresh token refused too: no second renewal
            raise TransientSendError(f"{rejected.text} (again, with a renewed access token)") from None

    async def _send_with(self, access_token: str, payload: dict[str, Any]) -> SendResult:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        try:
            response = await self._client.post(self.api_base + SEND_PATH, json=payload,
                                               headers={"access_token": access_token})
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
        if error in TOKEN_ERRORS:
            raise _TokenRejected(text)
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
