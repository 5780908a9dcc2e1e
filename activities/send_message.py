"""Sending one message to a citizen through its channel's gateway, recorded in the message log
(`messaging.outbound.send_logged`: once per key; an attempt that finds the row already taken by
the provider or failed does not send again). A transient refusal is retried by Temporal with
backoff (an ERROR log line alerts the operators after a few attempts; the last attempt fails the
message); a permanent one fails the message at once. What stays possible: the provider took the message and the worker
died before recording it — the retry then sends a second copy (Twilio has no idempotency key;
brandname providers that deduplicate get our key)."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.commands import SEND_MESSAGE_ACTIVITY, SEND_MESSAGE_ALERT_AFTER, SEND_MESSAGE_MAX_ATTEMPTS, SendMessageInput
from core.ports import MessageGateway, OutboundMessage, PermanentSendError, TransientSendError
from messaging.outbound import mark_failed, send_logged

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
        attempt = activity.info().attempt
        try:
            result = await send_logged(self.sessions, gateway, OutboundMessage(key=input.key, to=input.to, body=input.body),
                                       ticket_id=input.ticket_id)
        except PermanentSendError as exc:
            raise ApplicationError(str(exc), type="PermanentSendError", non_retryable=True) from exc
        except TransientSendError as exc:
            if attempt >= SEND_MESSAGE_MAX_ATTEMPTS:
                await mark_failed(self.sessions, input.key, "gave_up", f"{attempt} attempts: {exc}")
                raise ApplicationError(str(exc), type="PermanentSendError", non_retryable=True) from exc
            if attempt >= SEND_MESSAGE_ALERT_AFTER:
                log.error("ALERT: message %s via %s failed %s times, still retrying: %s", input.key, gateway.name,
                          attempt, exc)
            raise
        return result.status
