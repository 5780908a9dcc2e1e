"""A local double of Twilio's Programmable Messaging API, and signed Twilio webhooks.

It answers what the official SDK sends for `client.messages.create(...)`:
`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded, HTTP Basic auth
AccountSid:AuthToken. It checks, as Twilio does (docs: messaging/api/message-resource, errors/*):
the credentials (401, code 20003 "Authenticate"), the account in the path (404, 20404), a
form-encoded body (21604 is what Twilio reports for JSON), `To` present (21604) and in E.164
(21211), `Body` present (21602), `From` or `MessagingServiceSid` present (21603), `StatusCallback`
an http(s) URL whose hostname has no underscore (21609). It answers 201 with the Message resource
JSON (`sid` "SM" + 32 hex, `status` "queued" — "accepted" through a Messaging Service —,
`num_segments`, `direction` "outbound-api", RFC 2822 dates, `uri`, …). Errors have Twilio's shape
`{"code", "message", "more_info", "status"}`.

Failures: `fail_next_with_error(code, message, status)` (`fail_next_with_region_block()` is error
21408, "Permission to send an SMS has not been enabled for the region…"), plus the timeouts and 5xx
of HttpDouble.

Webhooks: `signed_inbound(...)` and `signed_status(...)` build the form requests Twilio POSTs to
our webhooks (the field names of docs: messaging/guides/webhook-request and the status callback
parameters), signed with `RequestValidator(auth_token).compute_signature(url, params)`.
"""

from __future__ import annotations

import base64
import re
import secrets
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlencode, urlsplit

from twilio.request_validator import RequestValidator

from core.ports import WebhookRequest
from messaging.segments import sms_segments
from tests.doubles import Answer, HttpDouble, Recorded

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-double-auth-token-0123456789"
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def twilio_error(code: int, message: str, status: int = 400) -> dict:
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}


class TwilioDouble(HttpDouble):
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[dict] = []  # the Message resources created, in order

    @property
    def messages_path(self) -> str:
        return f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def fail_next_with_error(self, code: int, message: str, status: int = 400, times: int = 1) -> None:
        self.fail_next(Answer.json(status, twilio_error(code, message, status)), times)

    def fail_next_with_region_block(self, to: str = "+84912345678") -> None:
        self.fail_next_with_error(21408, "Permission to send an SMS has not been enabled for the region indicated "
                                         f"by the 'To' number: {to}.")

    def answer(self, request: Recorded) -> Answer:
        if not _basic_auth_ok(request, self.account_sid, self.auth_token):
            return Answer.json(401, twilio_error(20003, "Authenticate", 401))
        if request.method != "POST" or request.path != self.messages_path:
            return Answer.json(404, twilio_error(20404, f"The requested resource {request.path} was not found", 404))
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return Answer.json(400, twilio_error(21604, "A 'To' phone number is required to send a Message."))
        form = request.form()
        to, body = form.get("To"), form.get("Body")
        sender, service = form.get("From"), form.get("MessagingServiceSid")
        callback = form.get("StatusCallback")
        if not to:
            return Answer.json(400, twilio_error(21604, "A 'To' phone number is required to send a Message."))
        if not _E164.match(to):
            return Answer.json(400, twilio_error(21211, f"The 'To' number {to} is not a valid phone number."))
        if not body:
            return Answer.json(400, twilio_error(21602, "Message body is required."))
        if not (sender or service):
            return Answer.json(400, twilio_error(21603, "A 'From' or 'MessagingServiceSid' parameter is required "
                                                     "to send a message."))
        if callback is not None and not _callback_ok(callback):
            return Answer.json(400, twilio_error(21609, "Invalid 'StatusCallback'"))
        return Answer.json(201, self._create(to, body, sender, service))

    def _create(self, to: str, body: str, sender: str | None, service: str | None) -> dict:
        sid = "SM" + secrets.token_hex(16)
        now = format_datetime(datetime.now(UTC))
        message = {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": body,
            "date_created": now, "date_sent": None, "date_updated": now, "direction": "outbound-api",
            "error_code": None, "error_message": None, "from": sender, "messaging_service_sid": service,
            "num_media": "0", "num_segments": str(max(sms_segments(body).segments, 1)), "price": None,
            "price_unit": "USD", "sid": sid, "status": "queued" if sender else "accepted",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"},
            "to": to, "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        with self._lock:
            self.messages.append(message)
        return message


def _callback_ok(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and "_" not in (parts.hostname or "")


def _basic_auth_ok(request: Recorded, user: str, password: str) -> bool:
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    return request.headers.get("authorization") == expected


# --- webhooks Twilio sends us -------------------------------------------------------------------

def signed_form(url: str, params: dict[str, str], auth_token: str = AUTH_TOKEN) -> WebhookRequest:
    signature = RequestValidator(auth_token).compute_signature(url, params)
    return WebhookRequest(url=url, body=urlencode(params).encode("utf-8"),
                          headers={"content-type": "application/x-www-form-urlencoded",
                                   "x-twilio-signature": signature})


def inbound_params(body: str, sender: str = "+84912345678", to: str = "+15005550006",
                   sid: str | None = None, account_sid: str = ACCOUNT_SID) -> dict[str, str]:
    sid = sid or "SM" + secrets.token_hex(16)
    return {"ToCountry": "US", "ToState": "", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "",
            "FromZip": "", "SmsSid": sid, "FromState": "", "SmsStatus": "received", "FromCity": "",
            "Body": body, "FromCountry": "VN", "To": to, "ToZip": "", "NumSegments": "1", "MessageSid": sid,
            "AccountSid": account_sid, "From": sender, "ApiVersion": "2010-04-01"}


def status_params(sid: str, status: str, error_code: str | None = None, error_message: str | None = None,
                  to: str = "+84912345678", sender: str = "+15005550006",
                  account_sid: str = ACCOUNT_SID) -> dict[str, str]:
    params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
              "AccountSid": account_sid, "From": sender, "To": to, "ApiVersion": "2010-04-01"}
    if error_code is not None:
        params["ErrorCode"] = error_code
    if error_message is not None:
        params["ErrorMessage"] = error_message
    return params


def signed_inbound(url: str, body: str, auth_token: str = AUTH_TOKEN, **fields: str) -> WebhookRequest:
    return signed_form(url, inbound_params(body, **fields), auth_token)


def signed_status(url: str, sid: str, status: str, auth_token: str = AUTH_TOKEN, **fields: str) -> WebhookRequest:
    return signed_form(url, status_params(sid, status, **fields), auth_token)
