"""Sending one message through a gateway and writing it to the message log — the one way both
the notifier (officers' and citizens' notices) and the desk's durable replies send.

The log row is written once per key (queued) before the provider is called; a key the provider
already took (the row has its id) or that already failed is not sent again. A permanent refusal
fails the row and is raised; a transient one leaves it queued and is raised for the caller to
retry."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import unit_of_work
from core.models.messages import MessageStatus
from core.ports import MessageGateway, OutboundMessage, PermanentSendError, SendResult
from core.services import messages
from messaging.segments import sms_segments


async def send_logged(sessions: async_sessionmaker[AsyncSession], gateway: MessageGateway, message: OutboundMessage,
                      *, ticket_id: int | None = None, logged_body: str | None = None) -> SendResult:
    """Send `message` once per its key and log it (`logged_body` in place of a secret body).
    Returns what the provider said, or, for a key already taken or failed, what the log holds."""
    segments = encoding = None
    if gateway.channel == "sms":
        encoding, _characters, segments = sms_segments(message.body)
    async with unit_of_work(sessions) as session:
        row, _created = await messages.record_outbound(
            session, message.key, gateway.channel, message.to, message.body if logged_body is None else logged_body,
            provider=gateway.name, segments=segments, encoding=encoding, ticket_id=ticket_id)
    if row.provider_message_id or row.status != MessageStatus.queued:
        return SendResult(row.provider or gateway.name, row.provider_message_id or "", str(row.status))
    try:
        result = await gateway.send(message)
    except PermanentSendError as exc:
        await mark_failed(sessions, message.key, exc.code or "refused", str(exc))
        raise
    async with unit_of_work(sessions) as session:
        await messages.mark_sent(session, message.key, result)
    return result


async def mark_failed(sessions: async_sessionmaker[AsyncSession], key: str, code: str, text: str) -> None:
    async with unit_of_work(sessions) as session:
        await messages.mark_failed(session, key, code, text)
