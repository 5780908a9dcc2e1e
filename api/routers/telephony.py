"""Click-to-call and call-back (CC-31, CC-37, CRM-07) and the live monitor (CC-20)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlmodel import col, select

from api.deps import Allowed, IdempotencyKey, PathId, ServicesDep, SessionDep
from api.schemas import ERROR_RESPONSES
from api.telephony import TARGET, click_to_call, pbx_of, request_transfer, transfer_step_request
from core.errors import PbxNotConnected
from core.models import User
from core.models.calls import AgentState, AgentStatus, CallRecord, CallState
from telephony.ari_client import AriError, PbxUnreachable

router = APIRouter(tags=["call center"], responses=ERROR_RESPONSES)




class ClickToCallIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=20)]
    callback_of: int | None = Field(default=None, ge=1, description="the missed call this call answers")


class ClickToCallOut(BaseModel):
    call_id: int
    uniqueid: str
    state: str = Field(description="ringing: your phone rings first, then the citizen's")


@router.post("/api/v1/calls/click-to-call", response_model=ClickToCallOut, status_code=status.HTTP_202_ACCEPTED,
             summary="Call a citizen: your extension rings first, then the citizen is dialled and bridged")
async def start_call(body: ClickToCallIn, key: IdempotencyKey, actor: Allowed("calls", "write"), session: SessionDep,
                     services: ServicesDep) -> ClickToCallOut:
    call = await click_to_call(session, services, actor, body.number, key, body.callback_of)
    return ClickToCallOut(call_id=call.id, uniqueid=call.uniqueid, state=str(call.state))  # type: ignore[arg-type]


class EndpointOut(BaseModel):
    technology: str
    resource: str
    state: str | None
    channels: int


class LiveCallOut(BaseModel):
    id: int
    direction: str
    state: str
    queue: str | None
    extension: str | None
    started_at: datetime
    answered_at: datetime | None


class AgentLiveOut(BaseModel):
    user_id: int
    full_name: str
    extension: str
    status: str
    reason: str | None
    since: datetime


class MonitorOut(BaseModel):
    pbx_connected: bool
    pbx_message: str | None = None
    extensions: list[EndpointOut]
    trunks: list[EndpointOut]
    live_calls: list[LiveCallOut]
    waiting: dict[str, int] = Field(description="queue -> calls waiting (queued or ringing)")
    agents: list[AgentLiveOut]
    parked: list[str] = Field(description="channels in holding bridges")


@router.get("/api/v1/telephony/monitor", response_model=MonitorOut, summary="Live monitor of the call center (CC-20)")
async def monitor(actor: Allowed("telephony", "read"), session: SessionDep, services: ServicesDep) -> MonitorOut:
    return await monitor_snapshot(session, services)


async def monitor_snapshot(session: SessionDep, services: ServicesDep) -> MonitorOut:
    """What the live monitor shows (the API and the page): the database's live calls and agents,
    the PBX's endpoints and holding bridges."""
    live = (await session.exec(select(CallRecord).where(col(CallRecord.state) != CallState.ended)
                               .order_by(col(CallRecord.started_at)).limit(500))).all()
    waiting: dict[str, int] = {}
    for call in live:
        if call.queue and call.state in (CallState.queued, CallState.ringing):
            waiting[call.queue] = waiting.get(call.queue, 0) + 1
    agents = (await session.exec(select(AgentState, User.full_name).join(User, col(User.id) == col(AgentState.user_id))
                                 .where(col(AgentState.status) != AgentStatus.logged_out)
                                 .order_by(col(AgentState.extension)))).all()
    out = MonitorOut(pbx_connected=False, extensions=[], trunks=[], waiting=waiting, parked=[],
                     live_calls=[LiveCallOut(id=c.id, direction=str(c.direction), state=str(c.state), queue=c.queue,  # type: ignore[arg-type]
                                             extension=c.extension, started_at=c.started_at, answered_at=c.answered_at)
                                 for c in live],
                     agents=[AgentLiveOut(user_id=a.user_id, full_name=name, extension=a.extension, status=str(a.status),
                                          reason=a.reason, since=a.since) for a, name in agents])
    try:
        client = pbx_of(services)
        endpoints = await client.endpoints()
        bridges = await client.bridges()
    except PbxNotConnected as exc:
        out.pbx_message = exc.message
        return out
    except (AriError, PbxUnreachable):
        out.pbx_message = PbxNotConnected.message
        return out
    agent_extensions = {a.extension for a, _ in agents}
    for endpoint in endpoints:
        row = EndpointOut(technology=endpoint.technology, resource=endpoint.resource, state=endpoint.state,
                          channels=len(endpoint.channel_ids))
        is_phone = endpoint.resource.isdigit() or endpoint.resource in agent_extensions
        (out.extensions if is_phone else out.trunks).append(row)
    out.parked = [channel for bridge in bridges if bridge.bridge_type == "holding" for channel in bridge.channels]
    out.pbx_connected = True
    return out


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: Annotated[str, StringConstraints(strip_whitespace=True, pattern=TARGET)] = Field(
        description="extension:<number> or queue:<name>")
    mode: Literal["blind", "attended"] = Field(default="blind", description="blind: hand over now (CC-32); attended: "
                                               "talk to the target first, then complete or cancel (CC-33)")


class TransferOut(BaseModel):
    call_id: int
    requested: str = Field(description="transfer | transfer_complete | transfer_cancel: the call shows the outcome")


@router.post("/api/v1/calls/{call_id}/transfer", response_model=TransferOut, status_code=status.HTTP_202_ACCEPTED,
             summary="Transfer a call in progress to an extension or a queue (blind), or consult first (attended)")
async def transfer(call_id: PathId, body: TransferIn, actor: Allowed("calls", "write"), session: SessionDep,
                   services: ServicesDep) -> TransferOut:
    await request_transfer(session, services, actor, call_id, body.target, body.mode)
    return TransferOut(call_id=call_id, requested="transfer")


@router.post("/api/v1/calls/{call_id}/transfer/{step}", response_model=TransferOut,
             status_code=status.HTTP_202_ACCEPTED, summary="Complete or cancel an attended transfer")
async def transfer_step(call_id: PathId, step: Literal["complete", "cancel"], actor: Allowed("calls", "write"),
                        session: SessionDep, services: ServicesDep) -> TransferOut:
    return TransferOut(call_id=call_id, requested=await transfer_step_request(session, services, actor, call_id, step))
