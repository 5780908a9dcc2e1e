"""Zalo OA gateway: sending through the local Zalo double, signed webhook events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

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
from messaging import zalo_gateway
from messaging.zalo_oa import ZaloGateway
from tests.doubles.zalo_double import (
    ACCESS_TOKEN,
    APP_ID,
    OA_ID,
    OA_SECRET_KEY,
    SEND_PATH,
    ZaloDouble,
    signed_event,
    user_received_message,
    user_send_text,
)

CITIZEN = "246845883529197922"


@pytest.fixture
def double() -> Iterator[ZaloDouble]:
    with ZaloDouble(followers={CITIZEN}) as server:
        yield server


def gateway_for(url: str, **overrides: object) -> ZaloGateway:
    values: dict[str, object] = {"zalo_access_token": ACCESS_TOKEN, "zalo_oa_secret_key": OA_SECRET_KEY,
                                 "zalo_app_id": APP_ID, "zalo_api_base": url, "zalo_timeout_seconds": 0.5}
    values.update(overrides)
    return zalo_gateway(Settings(**values))


@pytest.fixture
async def gateway(double: ZaloDouble) -> AsyncIterator[ZaloGateway]:
    gateway = gateway_for(double.url)
    yield gateway
    await gateway.aclose()


def reply(to: str = CITIZEN) -> OutboundMessage:
    return OutboundMessage(key="reply-1", to=to, body="Cảm ơn ông/bà, phản ánh đã được tiếp nhận.")


# --- sending ---------------------------------------------------------------------------------------

async def test_send_posts_a_consultation_message_with_the_access_token(gateway: ZaloGateway,
                                                                       double: ZaloDouble) -> None:
    result = await gateway.send(reply())

    assert (result.provider, result.status) == ("zalo", "sent")
    assert result.provider_message_id == double.sent[0]["message_id"]
    request = double.received("POST", SEND_PATH)[0]
    assert request.headers["access_token"] == ACCESS_TOKEN
    assert request.json() == {"recipient": {"user_id": CITIZEN},
                              "message": {"text": "Cảm ơn ông/bà, phản ánh đã được tiếp nhận."}}


async def test_a_user_who_does_not_follow_the_oa_is_a_permanent_error(gateway: ZaloGateway) -> None:
    with pytest.raises(PermanentSendError) as refused:
        await gateway.send(reply(to="999"))
    assert refused.value.code == "-213"


@pytest.mark.parametrize(("code", "text"), [(-230, "User has not interacted with the OA in the past 7 days"),
                                            (-201, "user_id is invalid!"), (-227, "User is banned")])
async def test_refusals_about_the_recipient_are_permanent(gateway: ZaloGateway, double: ZaloDouble,
                                                         code: int, text: str) -> None:
    double.fail_next_with_error(code, text)
    with pytest.raises(PermanentSendError) as refused:
        await gateway.send(reply())
    assert refused.value.code == str(code)


async def test_an_expired_access_token_is_transient(double: ZaloDouble) -> None:
    gateway = gateway_for(double.url, zalo_access_token="expired-token")
    try:
        with pytest.raises(TransientSendError, match="-216"):
            await gateway.send(reply())
    finally:
        await gateway.aclose()


@pytest.mark.parametrize(("code", "text"), [(-32, "Your application reached limit call api"),
                                            (-234, "This message cannot be sent at night (10:00PM - 6:00AM)")])
async def test_rate_limits_and_time_windows_are_transient(gateway: ZaloGateway, double: ZaloDouble,
                                                          code: int, text: str) -> None:
    double.fail_next_with_error(code, text)
    with pytest.raises(TransientSendError, match=str(code)):
        await gateway.send(reply())


async def test_a_server_error_is_transient(gateway: ZaloGateway, double: ZaloDouble) -> None:
    double.fail_next_with_status(502)
    with pytest.raises(TransientSendError, match="502"):
        await gateway.send(reply())


async def test_a_timeout_is_transient_and_the_retry_goes_through(gateway: ZaloGateway, double: ZaloDouble) -> None:
    double.fail_next_with_timeout()

    with pytest.raises(TransientSendError, match="timed out"):
        await gateway.send(reply())
    result = await gateway.send(reply())

    assert len(double.received("POST", SEND_PATH)) == 2 and [m["message_id"] for m in double.sent] == [
        result.provider_message_id]


# --- webhook events --------------------------------------------------------------------------------

def test_a_signed_user_send_text_is_an_inbound_message(gateway: ZaloGateway) -> None:
    event = user_send_text("Đường Nguyễn Ái Quốc ngập nước", user_id=CITIZEN, msg_id="m-1",
                           timestamp_ms=1_754_000_000_123)

    inbound = gateway.read_inbound(signed_event(event))

    assert inbound is not None
    assert (inbound.provider, inbound.provider_message_id, inbound.sender, inbound.recipient, inbound.body) == (
        "zalo", "m-1", CITIZEN, OA_ID, "Đường Nguyễn Ái Quốc ngập nước")
    assert inbound.received_at == datetime.fromtimestamp(1_754_000_000.123, UTC)


def test_other_events_are_verified_then_ignored(gateway: ZaloGateway) -> None:
    follow = {"app_id": APP_ID, "oa_id": OA_ID, "event_name": "follow", "follower": {"id": CITIZEN},
              "source": "testing_webhook", "timestamp": "1754000000000", "user_id_by_app": "5521"}
    assert gateway.read_inbound(signed_event(follow)) is None
    with pytest.raises(InvalidSignature):
        gateway.read_inbound(signed_event(follow, oa_secret_key="someone-else"))


@pytest.mark.parametrize("spoil", ["other key", "missing", "tampered body", "no mac= prefix"])
def test_a_bad_or_missing_signature_is_refused(gateway: ZaloGateway, spoil: str) -> None:
    request = signed_event(user_send_text("xin chào"), oa_secret_key="other" if spoil == "other key" else OA_SECRET_KEY)
    headers, body = dict(request.headers), request.body
    if spoil == "missing":
        del headers["x-zevent-signature"]
    if spoil == "tampered body":
        body = body.replace("xin chào".encode(), b"xin chao")
    if spoil == "no mac= prefix":
        headers["x-zevent-signature"] = headers["x-zevent-signature"].removeprefix("mac=")
    with pytest.raises(InvalidSignature):
        gateway.read_inbound(WebhookRequest(request.url, headers, body))


def test_an_event_for_another_app_is_refused(gateway: ZaloGateway) -> None:
    with pytest.raises(InvalidSignature, match="another Zalo app"):
        gateway.read_inbound(signed_event(user_send_text("x", app_id="999")))


def test_a_body_that_is_not_an_event_cannot_be_verified(gateway: ZaloGateway) -> None:
    with pytest.raises(InvalidSignature):
        gateway.read_inbound(WebhookRequest("https://hotline.test/zalo", {"x-zevent-signature": "mac=00"}, b"{oops"))


@pytest.mark.parametrize("drop", ["text", "msg_id"])
def test_a_signed_text_event_without_its_message_is_malformed(gateway: ZaloGateway, drop: str) -> None:
    event = user_send_text("xin chào")
    del event["message"][drop]
    with pytest.raises(MalformedWebhook, match=drop):
        gateway.read_inbound(signed_event(event))


def test_a_signed_event_with_a_bad_timestamp_is_malformed(gateway: ZaloGateway) -> None:
    event = user_send_text("xin chào")
    event["timestamp"] = "yesterday"
    with pytest.raises(MalformedWebhook, match="timestamp"):
        gateway.read_inbound(signed_event(event))


def test_user_received_message_is_a_delivery_report(gateway: ZaloGateway) -> None:
    report = gateway.read_status(signed_event(user_received_message("m-9", user_id=CITIZEN)))
    assert report is not None and (report.provider, report.provider_message_id, report.status) == (
        "zalo", "m-9", "delivered")
    assert gateway.read_status(signed_event(user_send_text("x"))) is None


def test_webhooks_are_answered_with_json(gateway: ZaloGateway) -> None:
    content_type, body = gateway.webhook_answer()
    assert content_type == "application/json" and json.loads(body) == {"ok": True}
