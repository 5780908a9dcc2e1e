"""Replying to the citizen from their ticket (issue 6): a message by SMS to their phone, or on
Zalo to the Zalo user who wrote about the ticket (INT-06), sent durably by the `SendMessage` workflow — retried with backoff while the provider
cannot take it, failed at once when it refuses it for good, visible in the message log and the
ticket's progress. The client's `Idempotency-Key` makes a retried request send once."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.deps import Allowed, IdempotencyKey, ServicesDep, SessionDep
from api.routers.tickets import TicketCode
from api.routers.webhooks import gateways_of
from api.schemas import ERROR_RESPONSES
from api.services import AppServices
from core.commands import SEND_MESSAGE_WORKFLOW, SendMessageInput
from core.errors import ServiceUnavailable, ValidationFailed
from core.models.tickets import Ticket
from core.services import messages, tickets
from core.services.actor import Actor
from messaging.segments import sms_segments

router = APIRouter(tags=["messages"], responses=ERROR_RESPONSES)

MAX_REPLY_CHARS = 640  # up to 10 UCS-2 parts: a reply, not a letter


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REPLY_CHARS)]
    channel: Literal["sms", "zalo"] = Field(default="sms", description="sms: to the citizen's phone; zalo: to the "
                                            "Zalo user who wrote about the ticket")


class Segments(BaseModel):
    encoding: str = Field(description="GSM-7, or UCS-2 for Vietnamese with diacritics")
    characters: int
    segments: int


class ReplyOut(Segments):
    key: str
    status: str = Field(description="queued: the worker sends it; see the message log for what the provider says")


@router.get("/api/v1/messages/segments", response_model=Segments,
            summary="How many SMS parts a text takes (shown before sending)")
async def segments(actor: Allowed("messages", "read"),
                   text: Annotated[str, Query(max_length=MAX_REPLY_CHARS * 2)] = "") -> Segments:
    encoding, characters, parts = sms_segments(text)
    return Segments(encoding=encoding, characters=characters, segments=parts)


@router.post("/api/v1/tickets/{code}/messages", response_model=ReplyOut, status_code=status.HTTP_202_ACCEPTED,
             summary="Send the citizen an SMS about their ticket (durable; the same Idempotency-Key sends once)")
async def reply(code: TicketCode, body: ReplyIn, key: IdempotencyKey, actor: Allowed("tickets", "write"),
                session: SessionDep, services: ServicesDep) -> ReplyOut:
    ticket = await tickets.find_ticket(session, actor, code)
    return await send_reply(session, services, actor, ticket, body.text, key, body.channel)


async def reply_channels(session: AsyncSession, services: AppServices, ticket: Ticket) -> dict[str, str]:
    """Where this ticket's citizen can be answered: channel -> address (their phone for SMS; for
    Zalo, the Zalo user who wrote about it, when a Zalo OA is configured)."""
    found = {"sms": ticket.citizen_phone} if ticket.citizen_phone else {}
    if "zalo" in gateways_of(services) and ticket.id is not None:
        zalo_user = await messages.zalo_user_of(session, ticket.id)
        if zalo_user:
            found["zalo"] = zalo_user
    return found


async def send_reply(session: AsyncSession, services: AppServices, actor: Actor, ticket: Ticket, text: str,
                     key: str, channel: str = "sms") -> ReplyOut:
    """Start the durable send of a reply (once per key) and note it on the ticket's progress;
    the API and the ticket page alike. Commits."""
    address = (await reply_channels(session, services, ticket)).get(channel)
    if address is None:
        raise ValidationFailed(details=[{"field": "channel" if channel != "sms" else "text", "message": (
            "the ticket has no citizen phone number" if channel == "sms" else
            "This report has no Zalo conversation to answer, or Zalo is not configured.")}])
    message_key = f"reply:{ticket.code}:{key}"
    if services.temporal is None:
        raise ServiceUnavailable(component="Temporal")
    try:
        await services.temporal.start_workflow(
            SEND_MESSAGE_WORKFLOW, SendMessageInput(key=message_key, channel=channel, to=address,
                                                    body=text, ticket_id=ticket.id),
            id=f"message-{message_key}", task_queue=services.settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
    except WorkflowAlreadyStartedError:
        pass  # a retried request: the first one's message is the one sent
    except RPCError as exc:
        raise ServiceUnavailable(component="Temporal") from exc
    await tickets.record_event(session, ticket.id, "message_sent", message_key, actor=actor,  # type: ignore[arg-type]
                               unit_id=ticket.current_unit_id, note=text, data={"key": message_key, "channel": channel})
    await session.commit()
    encoding, characters, parts = sms_segments(text)
    return ReplyOut(key=message_key, status="queued", encoding=encoding, characters=characters, segments=parts)
