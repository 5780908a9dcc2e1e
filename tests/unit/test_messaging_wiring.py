"""How messaging/ wires gateways from settings: delivery reports are asked for at our webhook
under the public URL unless a callback is set, and not at all without a public URL."""

from __future__ import annotations

from pydantic import SecretStr

from core.settings import Settings
from messaging import brandname_gateway, status_callback, twilio_gateway


def test_the_status_callback_defaults_to_our_webhook_under_the_public_url() -> None:
    assert status_callback(Settings(env="test"), "twilio") is None
    public = Settings(env="test", public_url="https://1022.dongnai.gov.vn/")
    assert status_callback(public, "twilio") == "https://1022.dongnai.gov.vn/webhooks/twilio/status"
    chosen = Settings(env="test", public_url="https://1022.dongnai.gov.vn", sms_status_callback_url="https://x.vn/cb")
    assert status_callback(chosen, "http") == "https://x.vn/cb"


def test_gateways_carry_the_callback() -> None:
    settings = Settings(env="test", public_url="https://1022.dongnai.gov.vn", twilio_account_sid="AC" + "0" * 32,
                        twilio_auth_token=SecretStr("t" * 32), twilio_from_number="+15005550006",
                        brandname_url="https://sms.example.vn/send")
    assert twilio_gateway(settings).status_callback_url == "https://1022.dongnai.gov.vn/webhooks/twilio/status"
    assert brandname_gateway(settings).config.status_callback_url == "https://1022.dongnai.gov.vn/webhooks/http/status"
