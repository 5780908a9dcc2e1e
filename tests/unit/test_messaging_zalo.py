"""Zalo OA gateway: sending through the local Zalo double, renewing a rejected access token and
resending once, the OAuth v4 renewal call, signed webhook events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from core.ports import (
    InvalidSignature,
    MalformedWebhook,
    OutboundMessage,
    PermanentSendError,
    TransientSendError,
    WebhookRequest,
)
from core.services.provider_credentials import CredentialCipher, CredentialsUnreadable, RefreshRefused
from core.settings import Settings
from messaging import zalo_configured, zalo_gateway
from messaging.zalo_oa import StoredZaloTokens, ZaloGateway
from tests.doubles.zalo_double import (
    ACCESS_TOKEN,
    APP_ID,
    APP_SECRET_KEY,
    OA_ID,
    OA_SECRET_KEY,
    OAUTH_PATH,
    REFRESH_TOKEN,
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


# --- access tokens: renewal and resend (no database: the token store is in-memory here) ---------

class FakeTokens:
    """A token holder that renews from the double's OAuth endpoint without a database."""

    def __init__(self, double: ZaloDouble, token: str = ACCESS_TOKEN) -> None:
        self.double, self.token, self.renewed_after = double, token, []  # type: ignore[var-annotated]

    async def current(self) -> str:
        return self.token

    async def renew(self, failed: str, reason: str) -> str:
        self.renewed_after.append((failed, reason))
        with self.double._lock:
            self.token = self.double.access_token or "still-expired"
        return self.token


async def test_a_rejected_token_is_renewed_once_and_the_message_resent_once(double: ZaloDouble) -> None:
    tokens = FakeTokens(double, token="old-token")
    gateway = ZaloGateway(tokens, OA_SECRET_KEY, api_base=double.url, timeout=0.5)
    try:
        result = await gateway.send(reply())
    finally:
        await gateway.aclose()
    assert result.status == "sent" and len(double.sent) == 1
    assert [failed for failed, _ in tokens.renewed_after] == ["old-token"] and "-216" in tokens.renewed_after[0][1]
    assert [r.headers["access_token"] for r in double.received("POST", SEND_PATH)] == ["old-token", ACCESS_TOKEN]


@pytest.mark.parametrize("code", [-216, -220])
async def test_a_renewed_token_that_is_rejected_again_is_transient_without_a_loop(double: ZaloDouble,
                                                                                 code: int) -> None:
    tokens = FakeTokens(double)
    gateway = ZaloGateway(tokens, OA_SECRET_KEY, api_base=double.url, timeout=0.5)
    double.fail_next_with_error(code, "Access token is expired", times=5)
    try:
        with pytest.raises(TransientSendError, match=f"{code}.*again"):
            await gateway.send(reply())
    finally:
        await gateway.aclose()
    assert len(tokens.renewed_after) == 1 and len(double.received("POST", SEND_PATH)) == 2


async def test_without_a_token_store_a_rejected_token_is_transient_and_not_resent(double: ZaloDouble) -> None:
    gateway = gateway_for(double.url, zalo_access_token="expired-token")
    try:
        with pytest.raises(TransientSendError, match="operator must renew"):
            await gateway.send(reply())
    finally:
        await gateway.aclose()
    assert len(double.received("POST", SEND_PATH)) == 1 and double.renewals == []


# --- the OAuth v4 renewal call (parsing; the store is tested on PostgreSQL) ---------------------------

def oauth_client(url: str, **overrides: object) -> StoredZaloTokens:
    values: dict = {"secret_key": "s" * 40, "app_id": APP_ID, "app_secret_key": APP_SECRET_KEY, "oauth_base": url,
                    "timeout": 0.5, "clock": lambda: NOW}
    values.update(overrides)
    return StoredZaloTokens(None, **values)  # type: ignore[arg-type]  # no database: _call_oauth only


NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


async def test_a_renewal_posts_the_documented_form_and_reads_the_rotated_pair(double: ZaloDouble) -> None:
    tokens = oauth_client(double.url)
    try:
        pair = await tokens._call_oauth(REFRESH_TOKEN)
    finally:
        await tokens.aclose()
    request = double.received("POST", OAUTH_PATH)[0]
    assert request.headers["secret_key"] == APP_SECRET_KEY
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form() == {"refresh_token": REFRESH_TOKEN, "app_id": APP_ID, "grant_type": "refresh_token"}
    assert (pair.access_token, pair.refresh_token) == double.issued[0] and pair.refresh_token != REFRESH_TOKEN
    assert pair.expires_at == NOW + timedelta(seconds=90000)  # expires_in is a string of seconds


async def test_a_spent_refresh_token_is_refused(double: ZaloDouble) -> None:
    tokens = oauth_client(double.url)
    try:
        await tokens._call_oauth(REFRESH_TOKEN)
        with pytest.raises(RefreshRefused, match="-14014 Invalid refresh token"):
            await tokens._call_oauth(REFRESH_TOKEN)  # single use
    finally:
        await tokens.aclose()


async def test_a_wrong_app_secret_is_refused(double: ZaloDouble) -> None:
    tokens = oauth_client(double.url, app_secret_key="the-oa-secret-by-mistake")
    try:
        with pytest.raises(RefreshRefused, match="-118"):
            await tokens._call_oauth(REFRESH_TOKEN)
    finally:
        await tokens.aclose()
    assert double.refresh_token == REFRESH_TOKEN  # nothing was spent


@pytest.mark.parametrize("failure", ["timeout", "502", "html"])
async def test_an_oauth_outage_is_transient(double: ZaloDouble, failure: str) -> None:
    if failure == "timeout":
        double.fail_next_with_timeout()
    elif failure == "502":
        double.fail_next_with_status(502)
    else:
        double.fail_next_with_status(200, b"<html>maintenance</html>")
    tokens = oauth_client(double.url)
    try:
        with pytest.raises(TransientSendError, match="Zalo OAuth"):
            await tokens._call_oauth(REFRESH_TOKEN)
    finally:
        await tokens.aclose()


# --- wiring and settings ------------------------------------------------------------------------------

def test_a_refresh_token_alone_turns_zalo_on_but_needs_the_app_credentials() -> None:
    base = {"zalo_oa_secret_key": OA_SECRET_KEY, "zalo_refresh_token": REFRESH_TOKEN}
    with pytest.raises(ValidationError, match="HOTLINE_ZALO_APP_SECRET_KEY"):
        Settings(**base)
    with pytest.raises(ValidationError, match="HOTLINE_ZALO_APP_ID"):
        Settings(**base, zalo_app_secret_key=APP_SECRET_KEY)
    settings = Settings(**base, zalo_app_id=APP_ID, zalo_app_secret_key=APP_SECRET_KEY)
    assert zalo_configured(settings)
    with pytest.raises(ValidationError, match="HOTLINE_ZALO_OA_SECRET_KEY"):
        Settings(zalo_refresh_token=REFRESH_TOKEN, zalo_app_id=APP_ID, zalo_app_secret_key=APP_SECRET_KEY)


def test_production_renews_zalo_tokens_over_tls() -> None:
    with pytest.raises(ValidationError, match="HOTLINE_ZALO_OAUTH_BASE must be an https"):
        Settings(env="production", secret_key="x" * 40, zalo_oauth_base="http://127.0.0.1:9999")


def test_a_refresh_token_needs_the_database() -> None:
    settings = Settings(zalo_oa_secret_key=OA_SECRET_KEY, zalo_refresh_token=REFRESH_TOKEN, zalo_app_id=APP_ID,
                        zalo_app_secret_key=APP_SECRET_KEY)
    with pytest.raises(ValueError, match="pass the sessions"):
        zalo_gateway(settings)


def test_zalo_secrets_are_not_printed() -> None:
    settings = Settings(zalo_oa_secret_key="zk-secret-value", zalo_refresh_token="zr-secret-value",
                        zalo_app_id=APP_ID, zalo_app_secret_key="za-secret-value")
    shown = repr(settings) + str(settings.model_dump())
    assert not any(s in shown for s in ("zk-secret", "zr-secret", "za-secret"))


def test_the_token_cipher_round_trips_and_fingerprints_with_a_key_of_its_own() -> None:
    cipher, other = CredentialCipher("a" * 40), CredentialCipher("b" * 40)
    stored = cipher.encrypt(REFRESH_TOKEN)
    assert stored is not None and REFRESH_TOKEN not in stored and cipher.decrypt(stored) == REFRESH_TOKEN
    assert cipher.encrypt(None) is None and cipher.decrypt(None) is None
    with pytest.raises(CredentialsUnreadable):
        other.decrypt(stored)
    assert cipher.fingerprint("a", "b") != other.fingerprint("a", "b") != cipher.fingerprint("a", None)
    assert len(cipher.fingerprint("a", "b")) == 64
