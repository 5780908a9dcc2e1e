"""Messaging adapters (issue 6): SMS providers (Twilio, generic HTTP brandname services, the
development console gateway) and the Zalo Official Account API, behind `core.ports.MessageGateway`.

Entry points wire them (nothing is built at import time)::

    gateways = open_gateways(settings, sessions)   # {"console": …, "twilio": …, "zalo": …} by name
    sms = sms_gateway(settings)          # the one HOTLINE_SMS_GATEWAY names
    ...
    await close_gateways(gateways)       # at shutdown: HTTP connection pools

`open_gateways` returns the configured SMS gateway, every other SMS gateway whose settings are
complete (status callbacks of messages sent before a switch of provider still land), the console
gateway outside production, and Zalo when its OA secret key and an access or refresh token are set.
A webhook route reads `gateways[name]`; the gateway's `name` is also `SendResult.provider`.

`sessions` (the database) is where Zalo's rotating token pair is kept and renewed
(messaging/zalo_oa.py); without it (tests and tools outside production) Zalo sends with the
configured access token as is and cannot renew it.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from core.ports import ConsoleNotifier, MessageGateway, Notifier
from core.settings import Settings
from messaging.console import ConsoleGateway
from messaging.http_brandname import BrandnameConfig, HttpBrandnameGateway
from messaging.segments import SegmentCount, sms_segments
from messaging.twilio_sms import TwilioGateway
from messaging.zalo_oa import StaticZaloTokens, StoredZaloTokens, ZaloGateway, ZaloTokens

__all__ = ["SegmentCount", "brandname_gateway", "close_gateways", "console_gateway", "open_gateways",
           "sms_gateway", "sms_segments", "twilio_gateway", "zalo_configured", "zalo_gateway"]


def _secret(value: object) -> str:
    return value.get_secret_value() if value is not None else ""  # type: ignore[attr-defined]


def console_gateway(settings: Settings) -> ConsoleGateway:
    return ConsoleGateway(secret=_secret(settings.secret_key))


def status_callback(settings: Settings, gateway: str) -> str | None:
    """Where the provider reports delivery: the setting, else our webhook under the public URL
    (none without one: a provider cannot reach a development machine)."""
    if settings.sms_status_callback_url:
        return settings.sms_status_callback_url
    return f"{settings.public_url.rstrip('/')}/webhooks/{gateway}/status" if settings.public_url else None


def twilio_gateway(settings: Settings) -> TwilioGateway:
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        raise ValueError("Twilio is not configured (HOTLINE_TWILIO_ACCOUNT_SID, HOTLINE_TWILIO_AUTH_TOKEN)")
    return TwilioGateway(
        settings.twilio_account_sid, _secret(settings.twilio_auth_token),
        from_number=settings.twilio_from_number, messaging_service_sid=settings.twilio_messaging_service_sid,
        status_callback_url=status_callback(settings, "twilio"), api_base=settings.twilio_api_base,
        timeout=settings.twilio_timeout_seconds)


def brandname_gateway(settings: Settings) -> HttpBrandnameGateway:
    if not settings.brandname_url:
        raise ValueError("the brandname provider is not configured (HOTLINE_BRANDNAME_URL)")
    return HttpBrandnameGateway(BrandnameConfig(
        url=settings.brandname_url, method=settings.brandname_method, auth=settings.brandname_auth,
        username=settings.brandname_username, password=_secret(settings.brandname_password) or None,
        token=_secret(settings.brandname_token) or None, auth_header=settings.brandname_auth_header,
        api_key=_secret(settings.brandname_api_key), api_secret=_secret(settings.brandname_api_secret),
        sender=settings.brandname_sender, body_format=settings.brandname_body_format,
        body_template=settings.brandname_body_template, response_id_path=settings.brandname_response_id_path,
        response_code_path=settings.brandname_response_code_path,
        accepted_codes=tuple(settings.brandname_accepted_codes),
        duplicate_codes=tuple(settings.brandname_duplicate_codes),
        permanent_codes=tuple(settings.brandname_permanent_codes), timeout=settings.brandname_timeout_seconds,
        webhook_secret=_secret(settings.brandname_webhook_secret),
        signature_header=settings.brandname_signature_header,
        inbound_fields=dict(settings.brandname_inbound_fields), status_fields=dict(settings.brandname_status_fields),
        status_values=dict(settings.brandname_status_values), status_callback_url=status_callback(settings, "http")))


def zalo_configured(settings: Settings) -> bool:
    return bool((settings.zalo_access_token or settings.zalo_refresh_token) and settings.zalo_oa_secret_key)


def zalo_gateway(settings: Settings, sessions: async_sessionmaker[AsyncSession] | None = None) -> ZaloGateway:
    if not zalo_configured(settings):
        raise ValueError("Zalo OA is not configured (HOTLINE_ZALO_OA_SECRET_KEY and HOTLINE_ZALO_ACCESS_TOKEN or "
                         "HOTLINE_ZALO_REFRESH_TOKEN)")
    tokens: ZaloTokens
    if sessions is not None:
        tokens = StoredZaloTokens(
            sessions, secret_key=_secret(settings.secret_key), app_id=settings.zalo_app_id,
            app_secret_key=_secret(settings.zalo_app_secret_key) or None, oauth_base=settings.zalo_oauth_base,
            seed_access_token=_secret(settings.zalo_access_token) or None,
            seed_refresh_token=_secret(settings.zalo_refresh_token) or None, timeout=settings.zalo_timeout_seconds)
    elif settings.zalo_refresh_token or settings.is_production:
        raise ValueError("Zalo's tokens are kept and renewed in the database: pass the sessions")
    else:
        tokens = StaticZaloTokens(_secret(settings.zalo_access_token))
    return ZaloGateway(tokens, _secret(settings.zalo_oa_secret_key), app_id=settings.zalo_app_id,
                       api_base=settings.zalo_api_base, timeout=settings.zalo_timeout_seconds)


def sms_gateway(settings: Settings) -> MessageGateway:
    """The SMS gateway HOTLINE_SMS_GATEWAY names."""
    return {"console": console_gateway, "twilio": twilio_gateway, "http": brandname_gateway}[settings.sms_gateway](
        settings)


def open_gateways(settings: Settings,
                  sessions: async_sessionmaker[AsyncSession] | None = None) -> dict[str, MessageGateway]:
    gateways: dict[str, MessageGateway] = {}
    chosen = sms_gateway(settings)
    gateways[chosen.name] = chosen
    if "console" not in gateways and not settings.is_production:
        gateways["console"] = console_gateway(settings)
    if "twilio" not in gateways and settings.twilio_account_sid and settings.twilio_auth_token and (
            settings.twilio_from_number or settings.twilio_messaging_service_sid):
        gateways["twilio"] = twilio_gateway(settings)
    if "http" not in gateways and settings.brandname_url:
        gateways["http"] = brandname_gateway(settings)
    if zalo_configured(settings):
        gateways["zalo"] = zalo_gateway(settings, sessions)
    return gateways


async def close_gateways(gateways: dict[str, MessageGateway]) -> None:
    """Close the HTTP clients the gateways opened (those that have any)."""
    for gateway in gateways.values():
        close = getattr(gateway, "aclose", None)
        if close is not None:
            await close()


def gateway_notifier(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> Notifier:
    """The product's notifier: SMS through the configured gateway and Zalo through the OA (when
    configured), written to the message log; email to the console until an email provider exists."""
    from messaging.notifier import GatewayNotifier

    show = not settings.is_production
    zalo = zalo_gateway(settings, sessions) if zalo_configured(settings) else None
    return GatewayNotifier(sms_gateway(settings), sessions, fallback=ConsoleNotifier(show_sensitive=show),
                           show_sensitive=show, zalo=zalo)
