"""A local double of the Zalo Official Account Open API v3.0, and signed Zalo webhook events.

Send (consultation message): `POST /v3.0/oa/message/cs`, header `access_token`, JSON
`{"recipient": {"user_id": …}, "message": {"text": …}}`. Like Zalo, it answers HTTP 200 for
business outcomes, with `{"error": 0, "message": "Success", "data": {"message_id", "user_id"}}` or
an error code from the OA API error table (developers.zalo.me/docs/official-account/phu-luc/ma-loi):
-216 "Access token is invalid" for a wrong or missing token, -201 "<field> is invalid!" for a
missing user id or text, -213 "User has not followed OA" for a user outside `followers` (when
given). `fail_next_with_error(code, message)` injects any other code (-32 rate limit, -230 …), on
top of HttpDouble's timeouts and 5xx.

OAuth v4 renewal: `POST /v4/oa/access_token`, header `secret_key` (the app's secret key), form
`refresh_token`, `app_id`, `grant_type=refresh_token`. Like Zalo, a good refresh token answers
`{"access_token", "refresh_token", "expires_in": "90000"}` with a NEW pair: the refresh token used is
spent, and only the newest access token is accepted by the send endpoint afterwards. A spent or
unknown refresh token answers HTTP 200 `{"error": -14014, "error_name": "Invalid refresh token",
"error_description": …}`; a wrong secret key, app id or grant type an `{"error_name", "error_reason",
"error"}` object (the codes other than -14014 are the double's own). `expire_access_token()` makes
the current access token answer -216 until a renewal; `hold_renewals()` holds renewal answers until
`release_renewals()` (`renewal_arrived` is set when one is being held), to line up races.
`renewals` lists the refresh calls (successful or not) in order.

Events: `user_send_text(...)` / `user_received_message(...)` build the event JSON Zalo POSTs to the
OA webhook (`app_id`, `sender.id`, `recipient.id`, `event_name`, `message.msg_id`, `message.text`,
`timestamp` in milliseconds as a string, `user_id_by_app`), and `signed_event(...)` signs its exact
bytes: `X-ZEvent-Signature: mac=` + sha256(app_id + body + timestamp + OA secret key).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from typing import Any

from core.ports import WebhookRequest
from tests.doubles import HOLD_SECONDS, Answer, HttpDouble, Recorded

ACCESS_TOKEN = "zalo-double-access-token"
REFRESH_TOKEN = "zalo-double-refresh-token"
OA_SECRET_KEY = "zalo-double-oa-secret-key"
APP_SECRET_KEY = "zalo-double-app-secret-key"
APP_ID = "1234567890123456789"
OA_ID = "388613280878808645"
SEND_PATH = "/v3.0/oa/message/cs"
OAUTH_PATH = "/v4/oa/access_token"
EXPIRES_IN = 90000


class ZaloDouble(HttpDouble):
    def __init__(self, access_token: str = ACCESS_TOKEN, followers: set[str] | None = None, *,
                 refresh_token: str = REFRESH_TOKEN, app_id: str = APP_ID, app_secret_key: str = APP_SECRET_KEY,
                 expires_in: int = EXPIRES_IN) -> None:
        super().__init__()
        self.access_token: str | None = access_token
        self.refresh_token = refresh_token
        self.app_id = app_id
        self.app_secret_key = app_secret_key
        self.expires_in = expires_in
        self.followers = followers
        self.sent: list[dict[str, Any]] = []  # {"message_id", "user_id", "text"} in order
        self.renewals: list[dict[str, str]] = []  # the form of every renewal request, in order
        self.issued: list[tuple[str, str]] = []  # (access token, refresh token) pairs handed out
        self.spent_refresh_tokens: set[str] = set()
        self.renewal_arrived = threading.Event()
        self._renewal_gate: threading.Event | None = None

    def fail_next_with_error(self, code: int, message: str, times: int = 1) -> None:
        self.fail_next(Answer.json(200, {"error": code, "message": message}), times)

    def expire_access_token(self) -> None:
        """The current access token answers -216 from now on (until a renewal issues a new one)."""
        with self._lock:
            self.access_token = None

    def hold_renewals(self) -> None:
        with self._lock:
            self._renewal_gate = threading.Event()
            self.renewal_arrived.clear()

    def release_renewals(self) -> None:
        with self._lock:
            gate, self._renewal_gate = self._renewal_gate, None
        if gate is not None:
            gate.set()

    def __exit__(self, *exc: object) -> None:
        self.release_renewals()
        super().__exit__(*exc)

    def answer(self, request: Recorded) -> Answer:
        if request.method == "POST" and request.path == OAUTH_PATH:
            return self._renew(request)
        if request.method != "POST" or request.path != SEND_PATH:
            return Answer.json(404, {"error": -209, "message": "Not supported this api"})
        with self._lock:
            current = self.access_token
        if current is None or request.headers.get("access_token") != current:
            return Answer.json(200, {"error": -216, "message": "Access token is invalid"})
        try:
            payload = request.json()
        except ValueError:
            return Answer.json(200, {"error": -201, "message": "body is invalid!"})
        user_id = (payload.get("recipient") or {}).get("user_id") if isinstance(payload, dict) else None
        text = (payload.get("message") or {}).get("text") if isinstance(payload, dict) else None
        if not isinstance(user_id, str) or not user_id:
            return Answer.json(200, {"error": -201, "message": "user_id is invalid!"})
        if not isinstance(text, str) or not text:
            return Answer.json(200, {"error": -201, "message": "text is invalid!"})
        if self.followers is not None and user_id not in self.followers:
            return Answer.json(200, {"error": -213, "message": "User has not followed OA"})
        message_id = secrets.token_hex(16)
        with self._lock:
            self.sent.append({"message_id": message_id, "user_id": user_id, "text": text})
        return Answer.json(200, {"error": 0, "message": "Success",
                                 "data": {"message_id": message_id, "user_id": user_id}})

    def _renew(self, request: Recorded) -> Answer:
        form = request.form()
        with self._lock:
            self.renewals.append(form)
            gate = self._renewal_gate
        if gate is not None:
            self.renewal_arrived.set()
            gate.wait(HOLD_SECONDS)
        if request.headers.get("secret_key") != self.app_secret_key:
            return Answer.json(200, {"error_name": "Invalid secret key", "error_reason": "secret_key is invalid",
                                     "error": -118})
        if form.get("app_id") != self.app_id:
            return Answer.json(200, {"error_name": "Invalid app id", "error_reason": "app_id is invalid",
                                     "error": -14001})
        if form.get("grant_type") != "refresh_token":
            return Answer.json(200, {"error_name": "Invalid grant type", "error_reason": "grant_type is invalid",
                                     "error": -14003})
        with self._lock:
            given = form.get("refresh_token")
            if not given or given != self.refresh_token or given in self.spent_refresh_tokens:
                return Answer.json(200, {"error": -14014, "error_name": "Invalid refresh token",
                                         "error_description": "Refresh token is invalid or has been used"})
            self.spent_refresh_tokens.add(given)
            self.access_token = "zalo-at-" + secrets.token_urlsafe(24)
            self.refresh_token = "zalo-rt-" + secrets.token_urlsafe(24)
            self.issued.append((self.access_token, self.refresh_token))
            return Answer.json(200, {"access_token": self.access_token, "refresh_token": self.refresh_token,
                                     "expires_in": str(self.expires_in)})


def user_send_text(text: str, user_id: str = "246845883529197922", msg_id: str | None = None,
                   timestamp_ms: int = 1_754_000_000_000, app_id: str = APP_ID, oa_id: str = OA_ID) -> dict:
    return {"app_id": app_id, "sender": {"id": user_id}, "user_id_by_app": "552177279717587730",
            "recipient": {"id": oa_id}, "event_name": "user_send_text",
            "message": {"text": text, "msg_id": msg_id or secrets.token_hex(16)}, "timestamp": str(timestamp_ms)}


def user_received_message(msg_id: str, user_id: str = "246845883529197922", timestamp_ms: int = 1_754_000_000_000,
                          app_id: str = APP_ID, oa_id: str = OA_ID) -> dict:
    return {"app_id": app_id, "sender": {"id": oa_id}, "recipient": {"id": user_id},
            "event_name": "user_received_message", "message": {"msg_id": msg_id}, "timestamp": str(timestamp_ms)}


def signed_event(event: dict, oa_secret_key: str = OA_SECRET_KEY, url: str = "https://hotline.test/zalo") -> WebhookRequest:
    body = json.dumps(event, ensure_ascii=False).encode("utf-8")
    # Computed here, not with the adapter's helper, so a wrong formula there cannot pass its own test.
    signed = str(event.get("app_id", "")).encode() + body + str(event.get("timestamp", "")).encode() + oa_secret_key.encode()
    signature = "mac=" + hashlib.sha256(signed).hexdigest()
    return WebhookRequest(url=url, body=body,
                          headers={"content-type": "application/json", "x-zevent-signature": signature})
