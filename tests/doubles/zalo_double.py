"""A local double of the Zalo Official Account Open API v3.0, and signed Zalo webhook events.

Send (consultation message): `POST /v3.0/oa/message/cs`, header `access_token`, JSON
`{"recipient": {"user_id": …}, "message": {"text": …}}`. Like Zalo, it answers HTTP 200 for
business outcomes, with `{"error": 0, "message": "Success", "data": {"message_id", "user_id"}}` or
an error code from the OA API error table (developers.zalo.me/docs/official-account/phu-luc/ma-loi):
-216 "Access token is invalid" for a wrong or missing token, -201 "<field> is invalid!" for a
missing user id or text, -213 "User has not followed OA" for a user outside `followers` (when
given). `fail_next_with_error(code, message)` injects any other code (-32 rate limit, -230 …), on
top of HttpDouble's timeouts and 5xx.

Events: `user_send_text(...)` / `user_received_message(...)` build the event JSON Zalo POSTs to the
OA webhook (`app_id`, `sender.id`, `recipient.id`, `event_name`, `message.msg_id`, `message.text`,
`timestamp` in milliseconds as a string, `user_id_by_app`), and `signed_event(...)` signs its exact
bytes: `X-ZEvent-Signature: mac=` + sha256(app_id + body + timestamp + OA secret key).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from core.ports import WebhookRequest
from tests.doubles import Answer, HttpDouble, Recorded

ACCESS_TOKEN = "zalo-double-access-token"
OA_SECRET_KEY = "zalo-double-oa-secret-key"
APP_ID = "1234567890123456789"
OA_ID = "388613280878808645"
SEND_PATH = "/v3.0/oa/message/cs"


class ZaloDouble(HttpDouble):
    def __init__(self, access_token: str = ACCESS_TOKEN, followers: set[str] | None = None) -> None:
        super().__init__()
        self.access_token = access_token
        self.followers = followers
        self.sent: list[dict[str, Any]] = []  # {"message_id", "user_id", "text"} in order

    def fail_next_with_error(self, code: int, message: str, times: int = 1) -> None:
        self.fail_next(Answer.json(200, {"error": code, "message": message}), times)

    def answer(self, request: Recorded) -> Answer:
        if request.method != "POST" or request.path != SEND_PATH:
            return Answer.json(404, {"error": -209, "message": "Not supported this api"})
        if request.headers.get("access_token") != self.access_token:
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
