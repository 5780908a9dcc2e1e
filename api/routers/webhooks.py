"""Webhooks of the messaging providers (SMS-01, SMS-03, INT-06): a citizen's SMS or Zalo message,
and delivery reports of the messages we sent.

`POST /webhooks/{gateway}/inbound` and `POST /webhooks/{gateway}/status`, where `gateway` is a
configured gateway's name (`twilio`, `http`, `zalo`, `console`). No session: the provider's
signature is the authentication (a bad one → 403 and nothing stored; an unreadable body → 400).
An inbound message is stored once per provider message id, so the provider's retries never add
a second; the answer is what the provider expects (TwiML for Twilio)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Path, Request, Response

from api.deps import ServicesDep, SessionDep
from api.services import AppServices
from core.errors import HotlineError, NotFound, PayloadTooLarge
from core.ports import InvalidSignature, MalformedWebhook, MessageGateway, WebhookRequest
from core.services import live, messages

log = logging.getLogger(__name__)
T = TypeVar("T")

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

GATEWAYS_KEY = "message_gateways"
MAX_WEBHOOK_BYTES = 64 * 1024  # one message or report; providers send a few KB at most
SMS_INBOX_NOTICE = -1  # a live-notice "unit" no unit has: wakes only the open SMS inbox pages
GatewayName = Annotated[str, Path(pattern=r"^[a-z0-9_\-]{1,40}$")]


class WebhookSignatureInvalid(HotlineError):
    status_code = 403
    error_id = "invalid_signature"
    message = "The webhook signature is not valid."


class WebhookMalformed(HotlineError):
    status_code = 400
    error_id = "malformed_webhook"
    message = "The webhook body cannot be read."


def gateways_of(services: AppServices) -> dict[str, MessageGateway]:
    """The gateways the entry point wired, else those the settings configure."""
    gateways = services.extra.get(GATEWAYS_KEY)
    if gateways is None:
        from messaging import open_gateways

        gateways = services.extra[GATEWAYS_KEY] = open_gateways(services.settings, services.sessions)
    return gateways  # type: ignore[no-any-return]


def _gateway(services: AppServices, name: str) -> MessageGateway:
    gateway = gateways_of(services).get(name)
    if gateway is None:
        raise NotFound("Webhook")
    return gateway


async def _read(request: Request, services: AppServices) -> WebhookRequest:
    """The request as the provider signed it: the public URL it called (behind a proxy the
    app sees another one; HOTLINE_PUBLIC_URL says which), the headers and the raw body."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:
            raise PayloadTooLarge.for_limit(MAX_WEBHOOK_BYTES)
    base = services.settings.public_url
    url = str(request.url) if not base else base.rstrip("/") + request.url.path + (
        f"?{request.url.query}" if request.url.query else "")
    return WebhookRequest(url=url, headers={k.lower(): v for k, v in request.headers.items()}, body=bytes(body))


def _verified(gateway: MessageGateway, webhook: WebhookRequest, read: Callable[[WebhookRequest], T], kind: str) -> T:
    """What `read` (the gateway's inbound or status reader) finds in the webhook; a bad
    signature is a 403 and an unreadable body a 400."""
    try:
        return read(webhook)
    except InvalidSignature as exc:
        log.warning("webhook %s/%s refused: bad signature", gateway.name, kind)
        raise WebhookSignatureInvalid() from exc
    except MalformedWebhook as exc:
        raise WebhookMalformed(details=[{"message": str(exc)[:200]}]) from exc


def _answer(gateway: MessageGateway) -> Response:
    content_type, body = gateway.webhook_answer()
    return Response(content=body, media_type=content_type)


@router.post("/{gateway}/inbound", summary="A citizen's message from the provider (signature checked, stored once)")
async def inbound(gateway: GatewayName, request: Request, session: SessionDep, services: ServicesDep) -> Response:
    chosen = _gateway(services, gateway)
    message = _verified(chosen, await _read(request, services), chosen.read_inbound, "inbound")
    if message is not None:
        stored, created = await messages.record_inbound(session, message, chosen.channel)
        if created:  # the desk's open SMS inbox pages look again (ui/pages/sms_inbox.py), delivered at commit
            await live.announce(session, units=[SMS_INBOX_NOTICE])
        await session.commit()
        if created:
            log.info("inbound %s message %s stored as %s", chosen.channel, message.provider_message_id, stored.id)
    return _answer(chosen)


@router.post("/{gateway}/status", summary="A delivery report of a message we sent (signature checked)")
async def status(gateway: GatewayName, request: Request, session: SessionDep, services: ServicesDep) -> Response:
    chosen = _gateway(services, gateway)
    report = _verified(chosen, await _read(request, services), chosen.read_status, "status")
    if report is not None:
        outcome, _message = await messages.apply_report(session, report)
        await session.commit()
        log.info("delivery report %s %s: %s", report.provider_message_id, report.status, outcome.value)
    return _answer(chosen)
