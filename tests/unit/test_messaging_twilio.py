"""Twilio gateway: the real SDK against the local Twilio double, and signed Twilio webhooks."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from core.ports import InvalidSignature, MalformedWebhook, OutboundMessage, PermanentSendError, TransientSendError
from core.settings import Settings
from messaging import twilio_gateway
from messaging.twilio_sms import TwilioGateway
from tests.doubles.twilio_double import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    TwilioDouble,
    inbound_params,
    signed_form,
    signed_inbound,
    signed_status,
)

FROM = "+15005550006"
WEBHOOK = "https://hotline.example.vn/api/v1/webhooks/sms/twilio"


@pytest.fixture
def double() -> Iterator[TwilioDouble]:
    with TwilioDouble() as server:
        yield server


def gateway_for(url: str, **overrides: object) -> TwilioGateway:
    values: dict[str, object] = {
        "sms_gateway": "twilio", "twilio_account_sid": ACCOUNT_SID, "twilio_auth_token": AUTH_TOKEN,
        "twilio_from_number": FROM, "twilio_api_base": url, "twilio_timeout_seconds": 0.5,
        "sms_status_callback_url": "https://hotline.example.vn/api/v1/webhooks/sms/status"}
    values.update(overrides)
    return twilio_gateway(Settings(**values))


@pytest.fixture
def gateway(double: TwilioDouble) -> TwilioGateway:
    return gateway_for(double.url)


def message(to: str = "0912345678", body: str = "Phản ánh 1022-2025-000123 đã được tiếp nhận") -> OutboundMessage:
    return OutboundMessage(key="notify-1", to=to, body=body)


# --- sending ---------------------------------------------------------------------------------------

async def test_send_creates_a_message_with_e164_number_and_status_callback(gateway: TwilioGateway,
                                                                          double: TwilioDouble) -> None:
    result = await gateway.send(message())

    assert result.provider == "twilio" and result.status == "queued"
    assert result.provider_message_id == double.messages[0]["sid"] and result.provider_message_id.startswith("SM")
    sent = double.received("POST", double.messages_path)[0].form()
    assert sent == {"To": "+84912345678", "From": FROM, "Body": "Phản ánh 1022-2025-000123 đã được tiếp nhận",
                    "StatusCallback": "https://hotline.example.vn/api/v1/webhooks/sms/status"}


async def test_a_messaging_service_replaces_the_from_number(double: TwilioDouble) -> None:
    gateway = gateway_for(double.url, twilio_from_number=None, twilio_messaging_service_sid="MG" + "1" * 32)

    result = await gateway.send(OutboundMessage(key="k", to="+84 912 345 678", body="Xin chao",
                                                status_callback_url="https://hotline.example.vn/cb/1"))

    sent = double.received("POST")[0].form()
    assert sent["MessagingServiceSid"] == "MG" + "1" * 32 and "From" not in sent
    assert sent["StatusCallback"] == "https://hotline.example.vn/cb/1"
    assert result.status == "queued"  # Twilio's "accepted" is still waiting in our terms


async def test_the_message_sender_overrides_the_default(gateway: TwilioGateway, double: TwilioDouble) -> None:
    await gateway.send(OutboundMessage(key="k", to="0912345678", body="x", sender="DONGNAI1022"))
    assert double.received("POST")[0].form()["From"] == "DONGNAI1022"


async def test_a_blocked_region_is_a_permanent_error_with_twilio_code(gateway: TwilioGateway,
                                                                       double: TwilioDouble) -> None:
    double.fail_next_with_region_block()

    with pytest.raises(PermanentSendError) as refused:
        await gateway.send(message())

    assert refused.value.code == "21408" and "region" in str(refused.value)
    assert double.messages == []


@pytest.mark.parametrize(("code", "text"), [(21211, "Invalid 'To' Phone Number"),
                                            (21610, "Attempt to send to unsubscribed recipient"),
                                            (21614, "'To' number is not a valid mobile number")])
async def test_other_refusals_of_the_number_are_permanent(gateway: TwilioGateway, double: TwilioDouble,
                                                          code: int, text: str) -> None:
    double.fail_next_with_error(code, text)
    with pytest.raises(PermanentSendError) as refused:
        await gateway.send(message())
    assert refused.value.code == str(code)


async def test_a_number_we_cannot_read_is_refused_before_calling_twilio(gateway: TwilioGateway,
                                                                       double: TwilioDouble) -> None:
    with pytest.raises(PermanentSendError) as refused:
        await gateway.send(message(to="12345"))
    assert refused.value.code == "invalid_number" and double.requests == []


async def test_a_status_callback_twilio_cannot_use_is_a_permanent_error(gateway: TwilioGateway) -> None:
    with pytest.raises(PermanentSendError) as refused:
        await gateway.send(OutboundMessage(key="k", to="0912345678", body="x",
                                           status_callback_url="https://my_host.local/cb"))
    assert refused.value.code == "21609"


@pytest.mark.parametrize("status", [500, 503])
async def test_a_server_error_is_transient(gateway: TwilioGateway, double: TwilioDouble, status: int) -> None:
    double.fail_next_with_status(status)
    with pytest.raises(TransientSendError):
        await gateway.send(message())


async def test_throttling_is_transient(gateway: TwilioGateway, double: TwilioDouble) -> None:
    double.fail_next_with_error(20429, "Too Many Requests", status=429)
    with pytest.raises(TransientSendError):
        await gateway.send(message())


async def test_a_timeout_is_transient_and_the_retry_goes_through(gateway: TwilioGateway, double: TwilioDouble) -> None:
    double.fail_next_with_timeout()

    with pytest.raises(TransientSendError, match="unreachable"):
        await gateway.send(message())
    result = await gateway.send(message())

    assert len(double.received("POST")) == 2 and [m["sid"] for m in double.messages] == [result.provider_message_id]


async def test_an_unreachable_api_is_transient() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(TransientSendError):
        await gateway_for(url).send(message())


async def test_wrong_credentials_are_transient_so_an_operator_can_fix_them(double: TwilioDouble) -> None:
    gateway = gateway_for(double.url, twilio_auth_token="not-the-token")
    with pytest.raises(TransientSendError, match="401"):
        await gateway.send(message())


# --- webhooks --------------------------------------------------------------------------------------

def test_a_signed_inbound_sms_is_read_in_national_form(gateway: TwilioGateway) -> None:
    request = signed_inbound(WEBHOOK, "Đèn đường hỏng ở ấp 3", sender="+84912345678", sid="SM" + "a" * 32)

    inbound = gateway.read_inbound(request)

    assert inbound is not None
    assert (inbound.provider, inbound.provider_message_id, inbound.sender, inbound.body, inbound.recipient) == (
        "twilio", "SM" + "a" * 32, "0912345678", "Đèn đường hỏng ở ấp 3", "+15005550006")


def test_the_signature_holds_with_or_without_the_default_port(gateway: TwilioGateway) -> None:
    request = signed_inbound(WEBHOOK, "xin chao")
    on_port = type(request)(url=WEBHOOK.replace("vn/", "vn:443/", 1), headers=request.headers, body=request.body)
    assert gateway.read_inbound(on_port) is not None


@pytest.mark.parametrize("spoil", ["other token", "missing", "tampered body", "other url"])
def test_a_bad_or_missing_signature_is_refused(gateway: TwilioGateway, spoil: str) -> None:
    request = signed_inbound(WEBHOOK, "Đèn đường hỏng", auth_token="other-token" if spoil == "other token" else AUTH_TOKEN)
    headers, body, url = dict(request.headers), request.body, request.url
    if spoil == "missing":
        del headers["x-twilio-signature"]
    if spoil == "tampered body":
        body = body.replace(b"%C4%90%C3%A8n", b"Den")
    if spoil == "other url":
        url = WEBHOOK + "?x=1"
    with pytest.raises(InvalidSignature):
        gateway.read_inbound(type(request)(url=url, headers=headers, body=body))


@pytest.mark.parametrize("missing", ["MessageSid", "From", "Body"])
def test_a_signed_webhook_without_a_field_is_malformed(gateway: TwilioGateway, missing: str) -> None:
    params = inbound_params("xin chao")
    del params[missing]
    with pytest.raises(MalformedWebhook, match=missing):
        gateway.read_inbound(signed_form(WEBHOOK, params))


def test_a_sender_that_is_not_a_phone_number_is_malformed(gateway: TwilioGateway) -> None:
    with pytest.raises(MalformedWebhook):
        gateway.read_inbound(signed_inbound(WEBHOOK, "x", sender="VIETTEL"))


@pytest.mark.parametrize(("twilio", "ours"), [("queued", "queued"), ("accepted", "queued"), ("sending", "queued"),
                                              ("sent", "sent"), ("delivered", "delivered"),
                                              ("undelivered", "failed"), ("failed", "failed")])
def test_status_callbacks_map_to_our_states(gateway: TwilioGateway, twilio: str, ours: str) -> None:
    report = gateway.read_status(signed_status(WEBHOOK, "SM" + "b" * 32, twilio))
    assert report is not None and (report.provider, report.provider_message_id, report.status) == (
        "twilio", "SM" + "b" * 32, ours)


def test_a_failed_status_carries_twilio_error(gateway: TwilioGateway) -> None:
    report = gateway.read_status(signed_status(WEBHOOK, "SM1", "undelivered", error_code="30003",
                                               error_message="Unreachable destination handset"))
    assert report is not None
    assert (report.status, report.error_code, report.error_message) == ("failed", "30003",
                                                                        "Unreachable destination handset")


def test_status_callbacks_are_verified_and_read(gateway: TwilioGateway) -> None:
    with pytest.raises(InvalidSignature):
        gateway.read_status(signed_status(WEBHOOK, "SM1", "delivered", auth_token="other"))
    with pytest.raises(MalformedWebhook):
        gateway.read_status(signed_status(WEBHOOK, "SM1", "teleported"))
    assert gateway.read_status(signed_status(WEBHOOK, "SM1", "received")) is None  # an inbound message's status


def test_webhooks_are_answered_with_empty_twiml(gateway: TwilioGateway) -> None:
    content_type, body = gateway.webhook_answer()
    assert content_type == "text/xml"
    assert body.decode().replace(" />", "></Response>") == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
