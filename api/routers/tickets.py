"""Tickets: intake from every channel through `open_ticket` (idempotent), list, detail with
personal data masked for roles that do not need it, and the progress list/tree (CRM-04)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response, status
from pydantic import BaseModel

from api import lifecycle
from api.deps import Allowed, PageDep, QueryId, ServicesDep, SessionDep, sees_pii
from api.schemas import ERROR_RESPONSES, PageOut
from core import engine_types as et
from core.errors import NotFound
from core.models.tickets import (
    TicketCreate,
    TicketEdit,
    TicketEventNode,
    TicketEventPublic,
    TicketPublic,
    TicketStatus,
)
from core.services import audit, tickets
from core.services.actor import Actor

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"], responses=ERROR_RESPONSES)
TicketCode = Annotated[str, Path(pattern=r"^1022-\d{4}-\d{6}$")]


class ProgressOut(BaseModel):
    list: list[TicketEventPublic]
    tree: list[TicketEventNode]


@router.post("", response_model=TicketPublic, status_code=status.HTTP_201_CREATED,
             summary="Open a ticket (any channel); the same Idempotency-Key returns the same ticket with 200")
async def open_ticket(body: TicketCreate, response: Response, actor: Allowed("tickets", "write"), session: SessionDep,
                      services: ServicesDep,
                      idempotency_key: Annotated[str, Header(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9:_.\-]+$")]) -> TicketPublic:
    ticket, created = await tickets.open_ticket(session, actor, body, f"{actor.user_id}:{idempotency_key}",
                                                services.settings.workflow_id_prefix)
    await session.commit()
    # After the commit: the workflow's activities read the ticket. A retry with the same key
    # comes here too and finds the workflow started (nothing is lost if Temporal was down).
    await lifecycle.start(session, services, ticket)
    await session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return tickets.to_public(ticket, sees_pii(services, actor))


@router.get("", response_model=PageOut[TicketPublic])
async def list_tickets(actor: Allowed("tickets", "read"), session: SessionDep, services: ServicesDep, page: PageDep,
                       q: Annotated[str | None, Query(max_length=100)] = None, status_: Annotated[TicketStatus | None, Query(alias="status")] = None,
                       field_id: QueryId = None, area_id: QueryId = None, unit_id: QueryId = None,
                       overdue: bool | None = None) -> PageOut[TicketPublic]:
    result = await tickets.list_tickets(session, actor, page, sees_pii(services, actor), q=q, status=status_,
                                        field_id=field_id, area_id=area_id, unit_id=unit_id, overdue=overdue)
    await session.commit()  # the personal-data access log
    return PageOut.of(result)


@router.get("/{code}", response_model=TicketPublic, summary="A ticket; reading unmasked personal data is logged")
async def get_ticket(code: TicketCode, actor: Allowed("tickets", "read"), session: SessionDep,
                     services: ServicesDep) -> TicketPublic:
    out = await tickets.get_ticket(session, actor, code, sees_pii(services, actor))
    await session.commit()  # the personal-data access log
    return out


@router.patch("/{code}", response_model=TicketPublic,
              summary="Correct a ticket the desk has not dispatched yet (CRM-31); a dispatched one is 409")
async def edit_ticket(code: TicketCode, body: TicketEdit, actor: Allowed("tickets", "write"), session: SessionDep,
                      services: ServicesDep) -> TicketPublic:
    pii = sees_pii(services, actor)
    ticket = await tickets.edit_new_ticket(session, actor, code, body, pii)
    await session.commit()
    return tickets.to_public(ticket, pii)


@router.get("/{code}/progress", response_model=ProgressOut, summary="Processing history as a list and as a tree (CRM-04)")
async def get_progress(code: TicketCode, actor: Allowed("tickets", "read"), session: SessionDep) -> ProgressOut:
    flat, tree = await tickets.progress(session, actor, code)
    return ProgressOut(list=flat, tree=tree)


async def _workflow_of(session: SessionDep, actor: Actor, code: str) -> str:
    """The workflow id of a ticket the actor may see whose process has started."""
    ticket = await tickets.find_ticket(session, actor, code)
    if not ticket.workflow_id or not ticket.bpmn_sha256:
        raise NotFound("Process")
    return ticket.workflow_id


@router.get("/{code}/process", response_model=et.ProcessState,
            summary="The ticket's process now: open tasks, timers, accepted messages and any incident")
async def get_process(code: TicketCode, actor: Allowed("tickets", "read"), session: SessionDep,
                      services: ServicesDep) -> et.ProcessState:
    return await lifecycle.process_state(services, await _workflow_of(session, actor, code))


@router.post("/{code}/process/retry", response_model=et.ProcessState,
             summary="Run the failed steps of the ticket's process again, once their cause is fixed")
async def retry_process(code: TicketCode, actor: Allowed("incidents", "write"), session: SessionDep,
                        services: ServicesDep) -> et.ProcessState:
    state = await lifecycle.retry_incident(services, actor, await _workflow_of(session, actor, code))
    await audit.record(session, actor, "process.retry", "ticket", code)
    await session.commit()
    return state
