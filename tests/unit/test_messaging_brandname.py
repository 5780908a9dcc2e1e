"""Generic HTTP brandname gateway: the documented eSMS configuration against the local double,
other request shapes and auth modes, signed webhooks with configured field paths."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator

import pytest

from core.ports import (
    InvalidSignature,
    MalformedWebhook,
    OutboundMessage,
    PermanentSendError,
    TransientSendError,
    WebhookRequest,
)
from core.settings import Settings
from messaging import brandname_gateway
from messaging.http_brandname import BrandnameConfig, HttpBrandnameGateway
from tests.doubles.brandname_double import (
    API_KEY,
    BRANDNAME,
    FORM_PATH,
    GET_PATH,
    JSON_PATH,
    SECRET_KEY,
    BrandnameDouble,
    esms_settings,
    signed_json,
)

WEBHOOK_SECRET = "brandname-webhook-secret"


@pytest.fixture
def double() -> Iterator[BrandnameDouble]:
    with BrandnameDouble(blocked=frozenset({"0987654321"})) as server:
        yield server


@pytest.fixture
async def gateway(double: BrandnameDouble) -> AsyncIterator[HttpBrandnameGateway]:
    gateway = brandname_gateway(Settings(**esms_settings(double.url, brandname_timeout_seconds=0.5,
                                                         brandname_webhook_secret=WEBHOOK_SECRET)))
    yield gateway
    await gateway.aclose()


def sms(key: str = "notify-7", to: str = "0912345678", body: str = "Phản ánh của ông/bà đã được giải quyết",
        sender: str | None = None) -> OutboundMessage:
    return OutboundMessage(key=key, to=to, body=body, sender=sender,
                           status_callback_url="https://hotline.example.vn/api/v1/webhooks/sms/http/status")


# --- sending with the documented eSMS configuration -------------------------------------------

async def test_send_fills_the_template_and_reads_the_message_id(gateway: HttpBrandnameGateway,
                                                               double: BrandnameDouble) -> None:
    result = await gateway.send(sms())

    assert (result.provider, result.status) == ("http", "queued")
    assert result.provider_message_id == double.sent[0]["SMSID"]
    assert double.received("POST", JSON_PATH)[0].json() == {
        "ApiKey": API_KEY, "SecretKey": SECRET_KEY, "Phone": "0912345678",
        "Content": "Phản ánh của ông/bà đã được giải quyết", "Brandname": BRANDNAME, "SmsType": "2",
        "IsUnicode": "1", "RequestId": "notify-7",
        "CallbackUrl": "https://hotline.example.vn/api/v1/webhooks/sms/http/status"}


async def test_text_with_quotes_newlines_and_braces_stays_text(gateway: HttpBrandnameGateway,
                                                               double: BrandnameDouble) -> None:
    body = 'Ông "Ba" gửi:\n{to} {api_secret} \\ }'
    await gateway.send(sms(body=body))
    assert double.received("POST", JSON_PATH)[0].json()["Content"] == body


async def test_a_retry_under_the_same_key_is_not_sent_twice(gateway: HttpBrandnameGateway,
                                                            double: BrandnameDouble) -> None:
    first = await gateway.send(sms(key="notify-8"))
    again = await gateway.send(sms(key="notify-8"))  # eSMS answers 124, duplicate RequestId

    assert len(double.sent) == 1 and first.status == again.status == "queued"
    assert again.provider_message_id == "notify-8"  # the provider keeps its id to itself on a duplicate


@pytest.mark.parametrize(("to", "sender", "code"), [("0987654321", None, "99"), ("0912345678", "NOTREGISTERED", "104")])
async def test_permanent_codes_are_permanent(gateway: HttpBrandnameGateway, to: str, sender: str | None,
                                             code: str) -> None:
    with pytest.raises(PermanentSendError) as refused:
        await gateway.send(sms(to=to, sender=sender))
    assert refused.value.code == code


async def test_a_number_we_cannot_read_is_refused_before_calling(gateway: HttpBrandnameGateway,
                                                                double: BrandnameDouble) -> None:
    with pytest.raises(PermanentSendError) as refused:
        await gateway.send(sms(to="not a number"))
    assert refused.value.code == "invalid_number" and double.requests == []


async def test_a_code_not_listed_is_transient(gateway: HttpBrandnameGateway, double: BrandnameDouble) -> None:
    double.fail_next_with_code("103", "Not enough balance to send message.")
    with pytest.raises(TransientSendError, match="103"):
        await gateway.send(sms())


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_server_errors_and_throttling_are_transient(gateway: HttpBrandnameGateway, double: BrandnameDouble,
                                                         status: int) -> None:
    double.fail_next_with_status(status)
    with pytest.raises(TransientSendError, match=str(status)):
        await gateway.send(sms())


async def test_a_timeout_is_transient_and_the_retry_goes_through(gateway: HttpBrandnameGateway,
                                                                 double: BrandnameDouble) -> None:
    double.fail_next_with_timeout()

    with pytest.raises(TransientSendError, match="timed out"):
        await gateway.send(sms(key="notify-9"))
    result = await gateway.send(sms(key="notify-9"))

    assert len(double.received("POST", JSON_PATH)) == 2 and [m["SMSID"] for m in double.sent] == [
        result.provider_message_id]


# --- other request shapes and auth modes ---------------------------------------------------------

def config(url: str, **overrides: object) -> BrandnameConfig:
    values: dict[str, object] = {
        "url": url, "api_key": API_KEY, "api_secret": SECRET_KEY, "sender": BRANDNAME,
        "body_template": json.dumps({"ApiKey": "{api_key}", "SecretKey": "{api_secret}", "Phone": "{to}",
                                     "Content": "{body}", "Brandname": "{sender}", "SmsType": 2}),
        "response_id_path": "SMSID", "response_code_path": "CodeResult", "accepted_codes": ("100",), "timeout": 0.5}
    values.update(overrides)
    return BrandnameConfig(**values)  # type: ignore[arg-type]


async def test_a_form_body(double: BrandnameDouble) -> None:
    gateway = HttpBrandnameGateway(config(double.url + FORM_PATH, body_format="form"))
    try:
        await gateway.send(sms(body="Kết quả: đã xử lý & đóng"))
    finally:
        await gateway.aclose()
    request = double.received("POST", FORM_PATH)[0]
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form()["Content"] == "Kết quả: đã xử lý & đóng" and request.form()["SmsType"] == "2"


async def test_a_get_request_puts_the_fields_in_the_query(double: BrandnameDouble) -> None:
    gateway = HttpBrandnameGateway(config(double.url + GET_PATH, method="GET"))
    try:
        await gateway.send(sms())
    finally:
        await gateway.aclose()
    assert double.received("GET", GET_PATH)[0].query["Phone"] == ["0912345678"]


@pytest.mark.parametrize(("auth", "header"), [
    ({"auth": "bearer", "token": "tok-1"}, ("Authorization", "Bearer tok-1")),
    ({"auth": "basic", "username": "hotline", "password": "p@ss"},
     ("Authorization", "Basic " + base64.b64encode(b"hotline:p@ss").decode())),
    ({"auth": "header", "auth_header": "X-Api-Token", "token": "tok-2"}, ("X-Api-Token", "tok-2")),
])
async def test_auth_modes(auth: dict[str, str], header: tuple[str, str]) -> None:
    with BrandnameDouble(required_header=header) as double:
        good = HttpBrandnameGateway(config(double.url + JSON_PATH, **auth))
        bad = HttpBrandnameGateway(config(double.url + JSON_PATH, **{**auth, "token": "wrong", "password": "wrong"}))
        try:
            assert (await good.send(sms())).status == "queued"
            with pytest.raises(TransientSendError, match="401"):  # credentials: an operator fixes them
                await bad.send(sms(key="other"))
        finally:
            await good.aclose()
            await bad.aclose()


def test_templates_are_checked_when_the_gateway_is_built() -> None:
    with pytest.raises(ValueError, match="unknown placeholders"):
        HttpBrandnameGateway(BrandnameConfig(url="https://x", body_template='{"to": "{phone}"}'))
    with pytest.raises(ValueError, match="not JSON"):
        HttpBrandnameGateway(BrandnameConfig(url="https://x", body_template='{"to": {to}}'))
    with pytest.raises(ValueError, match="flat"):
        HttpBrandnameGateway(BrandnameConfig(url="https://x", body_format="form", body_template='{"a": {"b": "{to}"}}'))


# --- webhooks --------------------------------------------------------------------------------------

def test_a_signed_inbound_sms_is_read(gateway: HttpBrandnameGateway) -> None:
    request = signed_json({"id": "mo-1", "from": "84912345678", "to": "8099", "text": "Cột điện nghiêng"},
                          WEBHOOK_SECRET)
    inbound = gateway.read_inbound(request)
    assert inbound is not None
    assert (inbound.provider, inbound.provider_message_id, inbound.sender, inbound.recipient, inbound.body) == (
        "http", "mo-1", "0912345678", "8099", "Cột điện nghiêng")


def test_field_paths_and_signature_header_are_configuration() -> None:
    gateway = HttpBrandnameGateway(BrandnameConfig(
        url="https://x", webhook_secret=WEBHOOK_SECRET, signature_header="X-Provider-Sign",
        inbound_fields={"id": "data.moId", "from": "data.msisdn", "to": "data.shortcode", "text": "data.content"}))
    request = signed_json({"data": {"moId": 42, "msisdn": "+84912345678", "shortcode": "8099", "content": "Alo"}},
                          WEBHOOK_SECRET, header="X-Provider-Sign")
    inbound = gateway.read_inbound(request)
    assert inbound is not None and (inbound.provider_message_id, inbound.sender, inbound.body) == (
        "42", "0912345678", "Alo")


@pytest.mark.parametrize("spoil", ["other secret", "missing", "tampered body"])
def test_a_bad_or_missing_signature_is_refused(gateway: HttpBrandnameGateway, spoil: str) -> None:
    request = signed_json({"id": "mo-1", "from": "0912345678", "text": "x"},
                          "other" if spoil == "other secret" else WEBHOOK_SECRET)
    headers, body = dict(request.headers), request.body
    if spoil == "missing":
        del headers["x-signature"]
    if spoil == "tampered body":
        body = body.replace(b"mo-1", b"mo-2")
    with pytest.raises(InvalidSignature):
        gateway.read_inbound(WebhookRequest(request.url, headers, body))


def test_without_a_configured_secret_every_webhook_is_refused(double: BrandnameDouble) -> None:
    gateway = brandname_gateway(Settings(**esms_settings(double.url)))
    with pytest.raises(InvalidSignature):
        gateway.read_inbound(signed_json({"id": "1", "from": "0912345678", "text": "x"}, ""))


@pytest.mark.parametrize("payload", [{"id": "mo-1", "text": "no sender"}, {"id": "mo-1", "from": "0912345678"},
                                     {"id": "mo-1", "from": "SHOP", "text": "sender is no number"}])
def test_a_signed_webhook_that_cannot_be_read_is_malformed(gateway: HttpBrandnameGateway, payload: dict) -> None:
    with pytest.raises(MalformedWebhook):
        gateway.read_inbound(signed_json(payload, WEBHOOK_SECRET))


def test_a_signed_body_that_is_not_json_is_malformed(gateway: HttpBrandnameGateway) -> None:
    body = b"id=1&from=0912345678"
    headers = {"x-signature": "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()}
    with pytest.raises(MalformedWebhook, match="JSON"):
        gateway.read_inbound(WebhookRequest("https://hotline.test/sms/http", headers, body))


def test_status_values_are_mapped_by_configuration() -> None:
    gateway = HttpBrandnameGateway(BrandnameConfig(
        url="https://x", webhook_secret=WEBHOOK_SECRET,
        status_fields={"id": "SMSID", "status": "SendStatus", "error_code": "ErrorCode"},
        status_values={"5": "delivered", "4": "failed", "2": "sent"}))
    delivered = gateway.read_status(signed_json({"SMSID": "abc", "SendStatus": "5"}, WEBHOOK_SECRET))
    failed = gateway.read_status(signed_json({"SMSID": "abd", "SendStatus": 4, "ErrorCode": 7}, WEBHOOK_SECRET))
    assert delivered is not None and (delivered.provider_message_id, delivered.status) == ("abc", "delivered")
    assert failed is not None and (failed.status, failed.error_code) == ("failed", "7")
    with pytest.raises(MalformedWebhook, match="status_values"):
        gateway.read_status(signed_json({"SMSID": "abe", "SendStatus": "9"}, WEBHOOK_SECRET))


def test_our_own_status_names_need_no_mapping(gateway: HttpBrandnameGateway) -> None:
    report = gateway.read_status(signed_json({"id": "x1", "status": "DELIVERED"}, WEBHOOK_SECRET))
    assert report is not None and report.status == "delivered"
