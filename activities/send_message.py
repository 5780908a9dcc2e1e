"""Sending one message to a citizen through its channel's gateway, recorded in the message log.

Idempotent per key: the log row is written once (queued) before the provider is called; an
attempt that finds the row already taken by the provider (it has the provider's id) or failed
does not send again. A transient refusal is retried by Temporal with backoff (an ERROR log line
alerts the operators after a few attempts; the last attempt fails the message); a permanent one
fails the message at once. What stays possible: the provider took the message and the worker
died before recording it — the retry then sends a second copy (Twilio has no idempotency key;
brandname providers that deduplicate get our key)."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.commands import SEND_MESSAGE_ACTIVITY, SEND_MESSAGE_ALERT_AFTER, SEND_MESSAGE_MAX_ATTEMPTS, SendMessageInput
from core.db import unit_of_work
from core.models.messages import MessageStatus
from core.ports import MessageGateway, OutboundMessage, PermanentSendError, TransientSendError
from core.services import messages
from messaging.segments import sms_segments

log = logging.getLogger(__name__)


class MessageActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], gateways: dict[str, MessageGateway],
                 sms_gateway: str) -> None:
        self.sessions = sessions
        self.gateways = gateways
        self.sms_gateway = sms_gateway

    def _gateway(self, channel: str) -> MessageGateway:
        gateway = self.gateways.get(self.sms_gateway if channel == "sms" else channel)
        if gateway is None:
            raise ApplicationError(f"no {channel} gateway is configured", type="PermanentSendError", non_retryable=True)
        return gateway

    @activity.defn(name=SEND_MESSAGE_ACTIVITY)
    async def send(self, input: SendMessageInput) -> str:
        gateway = self._gateway(input.channel)
        segments = encoding = None
        if input.channel == "sms":
            encoding, _chars, segments = sms_segments(input.body)
        async with unit_of_work(self.sessions) as session:
            row, _created = await messages.record_outbound(
                session, input.key, input.channel, input.to, input.body, provider=gateway.name, segments=segments,
                encoding=encoding, ticket_id=input.ticket_id)
        if row.provider_message_id or row.status != MessageStatus.queued:
            return str(row.status)  # taken by the provider (or failed) on an earlier attempt: never twice
        attempt = activity.info().attempt
        try:
            result = await gateway.send(OutboundMessage(key=input.key, to=input.to, body=input.body))
        except PermanentSendError as exc:
            await self._fail(input.key, exc.code or "refused", str(exc))
            raise ApplicationError(str(exc), type="PermanentSendError", non_retryable=True) from exc
        except TransientSendError as exc:
            if attempt >= SEND_MESSAGE_MAX_ATTEMPTS:
                await self._fail(input.key, "gave_up", f"{attempt} attempts: {exc}")
                raise ApplicationError(str(exc), type="PermanentSendError", non_retryable=True) from exc
            if attempt >= SEND_MESSAGE_ALERT_AFTER:
                log.error("ALERT: message %s via %s failed %s times, still retrying: %s", input.key, gateway.name,
                          attempt, exc)
            raise
        async with unit_of_work(self.sessions) as session:
            await messages.mark_sent(session, input.key, result)
        return result.status

    async def _fail(self, key: str, code: str, text: str) -> None:
        async with unit_of_work(self.sessions) as session:
            await messages.mark_failed(session, key, code, text)
