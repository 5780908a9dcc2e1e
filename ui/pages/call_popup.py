"""The incoming-call popup of the desk's agents (CC-34, CC-35, CRM-05).

Every page of an agent (roles that handle calls) opens `/calls/events`, a Server-Sent Events
stream: when the Stasis application rings the agent's extension (or bridges a call with them)
it records the call on the agent's state and announces it (core.services.live), and the stream
sends a `call` event — the caller's number and name, their earlier reports (the five newest,
with the total) and how often they called before, and where to make a report from this call —
then `idle` when the call is over. The number is personal data: each call shown is logged as an
unmasked read. The page's script (static/js/call-popup.js) renders it as a dialog that does not
take the focus away from the agent's work."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlmodel import col, func, select

from api.deps import Allowed, PathId, ServicesDep, SessionDep
from api.telephony import request_transfer, transfer_step_request
from core.errors import HotlineError
from core.models import User
from core.models.calls import AgentState, AgentStatus, CallQueueConfig, CallRecord, CallState
from core.models.tickets import Ticket
from core.services import audit
from core.services.actor import Actor
from ui.forms import read_form, refusal_sentence
from ui.i18n import gettext_for, page_locale
from ui.pages.common import page_router
from ui.pages.live import hub_of
from ui.pages.work import status_label

router = page_router()

FALLBACK_SECONDS = 15.0
STREAM_SECONDS = 300.0
SHOWN_TICKETS = 5


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


async def current_call(services: ServicesDep, actor: Actor, locale: str) -> dict[str, Any] | None:
    """The call ringing or talking at the agent's extension, as the popup shows it."""
    async with services.sessions() as session:
        state = await session.get(AgentState, actor.user_id)
        if state is None or not state.call_uniqueid:
            return None
        call = (await session.exec(select(CallRecord).where(CallRecord.uniqueid == state.call_uniqueid))).first()
        if call is None or call.state == CallState.ended:
            return None
        number = call.citizen_number
        tickets = (await session.exec(select(Ticket).where(Ticket.citizen_phone == number)
                                      .order_by(col(Ticket.created_at).desc()).limit(SHOWN_TICKETS))).all() \
            if number != "anonymous" else []
        total = (await session.exec(select(func.count()).select_from(Ticket).where(
            Ticket.citizen_phone == number))).one() if tickets else 0
        calls_before = (await session.exec(select(func.count()).select_from(CallRecord).where(
            CallRecord.citizen_number == number, col(CallRecord.id) != call.id))).one() if number != "anonymous" else 0
        targets = await _transfer_targets(session, actor) \
            if call.state == CallState.talking and call.agent_id == actor.user_id else []
    query = urlencode({"phone": number if number != "anonymous" else "", "call": call.id,
                       **({"name": call.citizen_name} if call.citizen_name else {})})
    return {"call_id": call.id, "uniqueid": call.uniqueid, "state": str(call.state), "direction": str(call.direction),
            "number": number, "name": call.citizen_name, "queue": call.queue, "calls_before": calls_before,
            "ticket_total": total, "call_url": f"/calls/{call.id}", "new_ticket_url": f"/desk/new/add?{query}",
            "mine": call.agent_id == actor.user_id, "transfer_to": call.transfer_to, "targets": targets,
            "tickets": [{"code": t.code, "status": status_label(str(t.status), locale),
                         "description": (t.description or "")[:120], "url": f"/tickets/{t.code}"} for t in tickets]}


async def _transfer_targets(session: Any, actor: Actor) -> list[dict[str, str]]:
    """Where the agent may transfer their call: the other logged-in agents, and the queues."""
    agents = (await session.exec(select(AgentState, User.full_name).join(User, col(User.id) == col(AgentState.user_id))
                                 .where(col(AgentState.status) != AgentStatus.logged_out,
                                        AgentState.user_id != actor.user_id).order_by(col(AgentState.extension)))).all()
    queues = (await session.exec(select(CallQueueConfig).order_by(col(CallQueueConfig.name)))).all()
    return ([{"value": f"extension:{a.extension}", "label": f"{a.extension} — {name}"} for a, name in agents]
            + [{"value": f"queue:{q.name}", "label": q.title} for q in queues])


async def _stream(request: Request, services: ServicesDep, actor: Actor) -> AsyncIterator[str]:
    yield "retry: 3000\n\n"
    locale = page_locale(request)
    hub = hub_of(services)
    subscription = hub.subscribe(actor.user_id, None)
    loop = asyncio.get_running_loop()
    ends = loop.time() + STREAM_SECONDS
    shown: tuple[str, str] | None = ("", "")  # nothing sent yet
    try:
        while loop.time() < ends and not await request.is_disconnected():
            subscription.wake.clear()
            call = await current_call(services, actor, locale)
            now = (call["uniqueid"], f'{call["state"]}:{call["transfer_to"]}') if call else None
            if now != shown:
                if call is not None and (shown is None or shown[0] != call["uniqueid"]):
                    async with services.sessions() as session:  # the number shown: an unmasked read, logged
                        await audit.record(session, actor, "pii.read", "call", call["call_id"])
                        await session.commit()
                yield _event("call", call) if call else _event("idle", {})
                shown = now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(subscription.wake.wait(),
                                       timeout=min(FALLBACK_SECONDS, max(0.0, ends - loop.time())))
    finally:
        hub.unsubscribe(subscription)


@router.get("/calls/events")
async def call_events(request: Request, services: ServicesDep, actor: Allowed("calls", "write")) -> Response:
    return StreamingResponse(_stream(request, services, actor), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.post("/calls/{call_id}/transfer")
async def transfer(call_id: PathId, request: Request, session: SessionDep, services: ServicesDep,
                   actor: Allowed("calls", "write")) -> Response:
    """The popup's transfer (fetch, JSON answer): blind now, or attended (consult first)."""
    form = await read_form(request)
    return await _answer(request, request_transfer(session, services, actor, call_id, form.get("target", ""),
                                                    form.get("mode", "blind")))


@router.post("/calls/{call_id}/transfer/{step}")
async def transfer_step(call_id: PathId, step: Literal["complete", "cancel"], request: Request, session: SessionDep,
                        services: ServicesDep, actor: Allowed("calls", "write")) -> Response:
    await read_form(request)
    return await _answer(request, transfer_step_request(session, services, actor, call_id, step))


async def _answer(request: Request, work: Awaitable[Any]) -> Response:
    _ = gettext_for(page_locale(request))
    try:
        await work
    except HotlineError as exc:
        return JSONResponse({"ok": False, "message": refusal_sentence(exc, page_locale(request))},
                            status_code=exc.status_code)
    return JSONResponse({"ok": True, "message": _("Requested: the call shows the outcome.")}, status_code=202)
