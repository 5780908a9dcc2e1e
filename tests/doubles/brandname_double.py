"""A local double of a Vietnamese brandname SMS API — eSMS.vn's documented send API, the example
configuration of messaging/http_brandname.py — and signed webhooks for the generic HTTP gateway.

Send, three documented forms (developers.esms.vn, "Send OTP/Customer care message" and its X-Form
and GET variants): `POST /MainService.svc/json/SendMultipleMessage_V4_post_json/` (JSON),
`POST /MainService.svc/json/SendMultipleMessage_V4_post/` (form) and
`GET /MainService.svc/json/SendMultipleMessage_V4_get` (query string), with fields `ApiKey`,
`SecretKey`, `Phone`, `Content`, `Brandname`, `SmsType`, `RequestId`, `CallbackUrl`. Answers HTTP 200
with `{"CodeResult": "100", "CountRegenerate": 0, "SMSID": …}`, or a code of eSMS's error table with
`ErrorMessage`: 101 wrong ApiKey/SecretKey, 104 unknown brandname, 108 bad phone number, 99 a
blocked number, 124 a RequestId already used (eSMS blocks duplicates for 24 h). When
`required_header` is given, a request without that header value gets HTTP 401 (to test the bearer,
basic and header auth modes, which eSMS itself does not use).

`fail_next_with_code(code, message)` injects a result code, on top of HttpDouble's timeouts and 5xx.
`signed_json(...)` builds an inbound or status webhook for the generic gateway: JSON signed with
HMAC-SHA256 of the raw body (`sha256=<hex>`) in a configurable header.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from typing import Any

from core.ports import WebhookRequest
from tests.doubles import Answer, HttpDouble, Recorded

API_KEY = "esms-double-api-key"
SECRET_KEY = "esms-double-secret-key"
BRANDNAME = "DONGNAI1022"
JSON_PATH = "/MainService.svc/json/SendMultipleMessage_V4_post_json/"
FORM_PATH = "/MainService.svc/json/SendMultipleMessage_V4_post/"
GET_PATH = "/MainService.svc/json/SendMultipleMessage_V4_get"
_VN_PHONE = re.compile(r"^(0|84|\+84)\d{9,10}$")

ESMS_TEMPLATE = ('{"ApiKey": "{api_key}", "SecretKey": "{api_secret}", "Phone": "{to}", "Content": "{body}", '
                 '"Brandname": "{sender}", "SmsType": "2", "IsUnicode": "1", "RequestId": "{key}", '
                 '"CallbackUrl": "{callback}"}')


def esms_settings(base_url: str, **overrides: Any) -> dict[str, Any]:
    """Settings keyword arguments of the documented eSMS example, pointed at `base_url`."""
    values: dict[str, Any] = {
        "sms_gateway": "http", "brandname_url": base_url + JSON_PATH, "brandname_auth": "none",
        "brandname_api_key": API_KEY, "brandname_api_secret": SECRET_KEY, "brandname_sender": BRANDNAME,
        "brandname_body_template": ESMS_TEMPLATE, "brandname_response_id_path": "SMSID",
        "brandname_response_code_path": "CodeResult", "brandname_accepted_codes": ["100"],
        "brandname_duplicate_codes": ["124"], "brandname_permanent_codes": ["99", "104", "108", "118"],
    }
    values.update(overrides)
    return values


class BrandnameDouble(HttpDouble):
    def __init__(self, api_key: str = API_KEY, secret_key: str = SECRET_KEY, brandnames: frozenset[str] = frozenset(
            {BRANDNAME}), blocked: frozenset[str] = frozenset(), required_header: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.api_key, self.secret_key = api_key, secret_key
        self.brandnames, self.blocked = brandnames, blocked
        self.required_header = required_header
        self.sent: list[dict[str, str]] = []  # accepted fields + SMSID, in order
        self._request_ids: dict[str, str] = {}

    def fail_next_with_code(self, code: str, message: str, times: int = 1) -> None:
        self.fail_next(Answer.json(200, {"CodeResult": code, "ErrorMessage": message}), times)

    def answer(self, request: Recorded) -> Answer:
        if self.required_header is not None:
            name, value = self.required_header
            if request.headers.get(name.lower()) != value:
                return Answer.json(401, {"Message": "Authorization has been denied for this request."})
        fields = self._fields(request)
        if fields is None:
            return Answer.json(404, {"Message": f"No operation at {request.method} {request.path}"})
        return Answer.json(200, self._send(fields))

    def _fields(self, request: Recorded) -> dict[str, str] | None:
        if request.method == "POST" and request.path == JSON_PATH:
            try:
                data = request.json()
            except ValueError:
                return {}
            return {k: str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        if request.method == "POST" and request.path == FORM_PATH:
            return request.form()
        if request.method == "GET" and request.path == GET_PATH:
            return {k: v[-1] for k, v in request.query.items()}
        return None

    def _send(self, f: dict[str, str]) -> dict[str, Any]:
        def error(code: str, message: str) -> dict[str, Any]:
            return {"CodeResult": code, "CountRegenerate": 0, "ErrorMessage": message}

        if (f.get("ApiKey") or f.get("Apikey")) != self.api_key or f.get("SecretKey") != self.secret_key:
            return error("101", "Incorrect ApiKey or SecretKey.")
        phone = f.get("Phone", "")
        if not _VN_PHONE.match(phone):
            return error("108", "Phone number is not in correct format.")
        if phone in self.blocked:
            return error("99", "The phone number is blocked in the system")
        if f.get("Brandname") not in self.brandnames:
            return error("104", "Brandname/Call code does not exist.")
        if not f.get("Content"):
            return error("110", "The requested data is incorrect.")
        request_id = f.get("RequestId") or ""
        with self._lock:
            if request_id and request_id in self._request_ids:
                return error("124", "Duplicate RequestId.")
            sms_id = secrets.token_hex(16)
            if request_id:
                self._request_ids[request_id] = sms_id
            self.sent.append({**f, "SMSID": sms_id})
        return {"CodeResult": "100", "CountRegenerate": 0, "SMSID": sms_id}


def signed_json(payload: dict[str, Any], secret: str, header: str = "X-Signature",
                url: str = "https://hotline.test/sms/http") -> WebhookRequest:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return WebhookRequest(url=url, body=body, headers={"content-type": "application/json", header.lower(): signature})
