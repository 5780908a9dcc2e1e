"""The development console gateway, the gateway factory and the messaging settings."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import ValidationError

from core.ports import InvalidSignature, MalformedWebhook, OutboundMessage, WebhookRequest
from core.settings import Settings
from messaging import close_gateways, open_gateways, sms_gateway
from messaging.console import ConsoleGateway, sign_body
from tests.doubles.brandname_double import esms_settings

SECRET = "a-development-secret-key-of-some-length"


def signed(payload: dict, secret: str = SECRET) -> WebhookRequest:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return WebhookRequest("http://127.0.0.1:8000/webhook", {"x-hotline-signature": sign_body(secret, body)}, body)


# --- console gateway -------------------------------------------------------------------------------

async def test_console_keeps_and_logs_each_message_once(caplog: pytest.LogCaptureFixture) -> None:
    gateway = ConsoleGateway(secret=SECRET)
    message = OutboundMessage(key="notify-1", to="0912345678", body="Mã đặt lại mật khẩu: 123456 " + "x" * 200)

    with caplog.at_level(logging.WARNING, logger="messaging.console"):
        first = await gateway.send(message)
        again = await gateway.send(message)

    assert first == again and first.provider == "console" and first.status == "sent"
    assert gateway.sent == [message]
    logged = [r.getMessage() for r in caplog.records if r.name == "messaging.console"]
    assert len(logged) == 1 and "0912345678" in logged[0] and "x" * 200 not in logged[0]


def test_console_reads_a_signed_inbound_sms() -> None:
    inbound = ConsoleGateway(secret=SECRET).read_inbound(
        signed({"id": "sim-1", "from": "+84 912 345 678", "to": "1022", "text": "Đèn đường hỏng"}))
    assert inbound is not None and (inbound.provider, inbound.provider_message_id, inbound.sender, inbound.body,
                                    inbound.recipient) == ("console", "sim-1", "0912345678", "Đèn đường hỏng", "1022")


def test_console_refuses_bad_signatures_and_malformed_bodies() -> None:
    gateway = ConsoleGateway(secret=SECRET)
    with pytest.raises(InvalidSignature):
        gateway.read_inbound(signed({"id": "1", "from": "0912345678", "text": "x"}, secret="other"))
    with pytest.raises(InvalidSignature):
        gateway.read_inbound(WebhookRequest("http://x", {}, b'{"id": "1"}'))
    with pytest.raises(MalformedWebhook):
        gateway.read_inbound(signed({"id": "1", "from": "0912345678"}))


def test_console_reads_signed_status_reports() -> None:
    gateway = ConsoleGateway(secret=SECRET)
    report = gateway.read_status(signed({"id": "console-1", "status": "failed", "error_code": "21408"}))
    assert report is not None and (report.status, report.error_code) == ("failed", "21408")
    with pytest.raises(MalformedWebhook):
        gateway.read_status(signed({"id": "console-1", "status": "lost"}))


# --- factory ---------------------------------------------------------------------------------------

async def test_development_opens_the_console_only() -> None:
    gateways = open_gateways(Settings(secret_key=SECRET))
    assert list(gateways) == ["console"] and sms_gateway(Settings()).name == "console"
    assert gateways["console"].read_inbound(signed({"id": "1", "from": "0912345678", "text": "x"})) is not None
    await close_gateways(gateways)


async def test_every_configured_gateway_is_opened_by_its_name() -> None:
    settings = Settings(**esms_settings("https://rest.esms.vn"), secret_key=SECRET,
                        twilio_account_sid="AC" + "0" * 32, twilio_auth_token="t", twilio_from_number="+15005550006",
                        zalo_access_token="z", zalo_oa_secret_key="k")
    gateways = open_gateways(settings)
    assert {name: g.name for name, g in gateways.items()} == {
        "http": "http", "console": "console", "twilio": "twilio", "zalo": "zalo"}
    assert sms_gateway(settings).name == "http" and gateways["zalo"].channel == "zalo"
    await close_gateways(gateways)


async def test_production_has_no_console_beside_a_real_provider() -> None:
    settings = Settings(env="production", secret_key="x" * 40, sms_gateway="twilio", twilio_account_sid="AC1",
                        twilio_auth_token="t", twilio_messaging_service_sid="MG1")
    gateways = open_gateways(settings)
    assert list(gateways) == ["twilio"]
    await close_gateways(gateways)


# --- settings --------------------------------------------------------------------------------------

def test_the_sms_gateway_is_a_known_choice() -> None:
    with pytest.raises(ValidationError, match="sms_gateway"):
        Settings(sms_gateway="carrier-pigeon")


@pytest.mark.parametrize(("values", "complaint"), [
    ({"sms_gateway": "twilio"}, "HOTLINE_TWILIO_ACCOUNT_SID"),
    ({"sms_gateway": "twilio", "twilio_account_sid": "AC1", "twilio_auth_token": "t"}, "HOTLINE_TWILIO_FROM_NUMBER"),
    ({"sms_gateway": "http"}, "HOTLINE_BRANDNAME_URL"),
    ({"zalo_access_token": "z"}, "HOTLINE_ZALO_OA_SECRET_KEY"),
])
def test_a_chosen_gateway_must_be_complete(values: dict, complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        Settings(**values)


def test_production_talks_to_providers_over_tls() -> None:
    with pytest.raises(ValidationError, match="HOTLINE_TWILIO_API_BASE must be an https"):
        Settings(env="production", secret_key="x" * 40, twilio_api_base="http://127.0.0.1:9999")
    with pytest.raises(ValidationError, match="HOTLINE_BRANDNAME_URL must be an https"):
        Settings(env="production", secret_key="x" * 40, sms_gateway="http", brandname_url="http://sms.example")


def test_messaging_secrets_are_not_printed() -> None:
    settings = Settings(twilio_auth_token="tw-secret-value", zalo_access_token="za-secret-value",
                        zalo_oa_secret_key="zk-secret-value", brandname_api_secret="bn-secret-value")
    shown = repr(settings) + str(settings.model_dump())
    assert not any(s in shown for s in ("tw-secret", "za-secret", "zk-secret", "bn-secret"))


def test_list_and_mapping_settings_come_from_json_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_BRANDNAME_ACCEPTED_CODES", '["100"]')
    monkeypatch.setenv("HOTLINE_BRANDNAME_STATUS_VALUES", '{"DELIVRD": "delivered"}')
    settings = Settings()
    assert settings.brandname_accepted_codes == ["100"]
    assert settings.brandname_status_values == {"DELIVRD": "delivered"}
