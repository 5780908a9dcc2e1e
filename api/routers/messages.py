"""The message log: SMS and Zalo history with a total and pages (SMS-05…07, SMS-09, CRM-09) and
one message. Phone numbers are masked for roles without `pii` read; unmasked reads are logged."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from api.deps import Allowed, PageDep, ServicesDep, SessionDep, sees_pii
from api.schemas import ERROR_RESPONSES
from core.errors import ValidationFailed
from core.models.messages import MessageChannel, MessageDirection, MessagePublic, MessageStatus
from core.services import messages

router = APIRouter(prefix="/api/v1/messages", tags=["messages"], responses=ERROR_RESPONSES)

MAX_BIGINT = 9_223_372_036_854_775_807
MessageId = Annotated[int, Path(ge=1, le=MAX_BIGINT)]


class MessagePageOut(BaseModel):
    total: int
    total_is_estimate: bool  # true: more than 10,000 match and `total` is the database's estimate
    page: int
    per_page: int
    pages: int
    next_after: int | None  # pass as `after` to read the next (older) page at any depth
    items: list[MessagePublic]


@router.get("", response_model=MessagePageOut,
            summary="Message history, newest first, with the total and pages; filters by phone, channel, "
                    "direction, status, ticket and local dates")
async def list_messages(
    actor: Allowed("messages", "read"), session: SessionDep, services: ServicesDep, page: PageDep,
    phone: Annotated[str | None, Query(min_length=1, max_length=64,
                                       description="a phone number as typed ('+84 912 345 678') or a Zalo user id")] = None,
    channel: MessageChannel | None = None, direction: MessageDirection | None = None,
    status: MessageStatus | None = None, ticket_id: Annotated[int | None, Query(ge=1, le=MAX_BIGINT)] = None,
    date_from: Annotated[date | None, Query(description="first local day (YYYY-MM-DD), included")] = None,
    date_to: Annotated[date | None, Query(description="last local day (YYYY-MM-DD), included")] = None,
    after: Annotated[int | None, Query(ge=1, le=MAX_BIGINT, description="id of the last message of the page before")] = None,
) -> MessagePageOut:
    if date_from is not None and date_to is not None and date_from > date_to:
        raise ValidationFailed(details=[{"field": "date_to", "message": "the last day is before the first day"}])
    address = messages.normalize_address(phone) if phone is not None else None
    if phone is not None and not address:
        raise ValidationFailed(details=[{"field": "phone", "message": "empty"}])
    filters = messages.MessageFilters(address=address, channel=channel, direction=direction, status=status,
                                      ticket_id=ticket_id, date_from=date_from, date_to=date_to)
    result = await messages.history(session, actor, filters, page, sees_pii(services, actor), after=after)
    await session.commit()  # the personal-data access log
    return MessagePageOut(**vars(result))


@router.get("/{message_id}", response_model=MessagePublic, summary="One message; reading its unmasked number is logged")
async def get_message(message_id: MessageId, actor: Allowed("messages", "read"), session: SessionDep,
                      services: ServicesDep) -> MessagePublic:
    out = await messages.get_message(session, actor, message_id, sees_pii(services, actor))
    await session.commit()  # the personal-data access log
    return out
