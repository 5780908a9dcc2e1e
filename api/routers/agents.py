"""Agents of the call center (CC-02, 03, 27, 39): my state at the desk — log in at an extension,
pause with a reason, ready, log out — and, for coordinators, every agent's state (CC-27)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlmodel import col, func, select

from api.deps import Allowed, PathId, ServicesDep, SessionDep
from api.schemas import ERROR_RESPONSES
from api.telephony import agent_login, agent_set
from core.authz import Scope
from core.errors import NotFound
from core.models import User
from core.models.base import utcnow
from core.models.calls import AgentState, AgentStatus, CallRecord, CallState
from core.services.actor import Actor
from core.services.shifts import parse_shifts, shift_at
from core.services.tickets import LOCAL_TZ

router = APIRouter(prefix="/api/v1/agents", tags=["call center"], responses=ERROR_RESPONSES)


class AgentOut(BaseModel):
    user_id: int
    username: str
    full_name: str
    status: AgentStatus
    extension: str | None = None
    reason: str | None = None
    since: datetime | None = None
    logged_in_at: datetime | None = None
    shift: str | None = Field(None, description="the desk's shift they logged in during (OPS-04)")
    calls_today: int = Field(0, description="calls answered since local midnight")
    current_call_id: int | None = None


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    extension: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=8, pattern=r"^[0-9]+$")]


class PauseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


def _shift(services: ServicesDep, state: AgentState | None) -> str | None:
    if state is None or state.logged_in_at is None:
        return None
    shift = shift_at(parse_shifts(services.settings.desk_shifts), state.logged_in_at)
    return shift.label if shift else None


async def _out(session: SessionDep, user: User, state: AgentState | None, services: ServicesDep) -> AgentOut:
    midnight = utcnow().astimezone(LOCAL_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    answered = (await session.exec(select(func.count()).select_from(CallRecord).where(
        CallRecord.agent_id == user.id, col(CallRecord.answered_at) >= midnight))).one()
    current = (await session.exec(select(CallRecord.id).where(
        CallRecord.agent_id == user.id, col(CallRecord.state).in_([CallState.ringing, CallState.talking]))
        .order_by(col(CallRecord.id).desc()).limit(1))).first()
    if state is None:
        return AgentOut(user_id=user.id, username=user.username, full_name=user.full_name,  # type: ignore[arg-type]
                        status=AgentStatus.logged_out, calls_today=answered, current_call_id=current)
    return AgentOut(user_id=user.id, username=user.username, full_name=user.full_name,  # type: ignore[arg-type]
                    status=state.status, extension=state.extension or None, reason=state.reason, since=state.since,
                    logged_in_at=state.logged_in_at, calls_today=answered, current_call_id=current,
                    shift=_shift(services, state))


async def _me(session: SessionDep, actor: Actor, services: ServicesDep) -> AgentOut:
    user = await session.get(User, actor.user_id)
    if user is None:
        raise NotFound("User")
    return await _out(session, user, await session.get(AgentState, actor.user_id), services)


@router.get("/me", response_model=AgentOut, summary="My state at the call center (CC-27)")
async def me(actor: Allowed("agents", "read"), session: SessionDep, services: ServicesDep) -> AgentOut:
    return await _me(session, actor, services)


@router.post("/me/login", response_model=AgentOut, summary="Log in at an extension (it rings for calls)")
async def login(body: LoginIn, actor: Allowed("agents", "write"), session: SessionDep,
                services: ServicesDep) -> AgentOut:
    await agent_login(session, services, actor, body.extension)
    await session.commit()
    return await _me(session, actor, services)


@router.post("/me/pause", response_model=AgentOut, summary="Pause (no calls are offered) with a reason")
async def pause(body: PauseIn, actor: Allowed("agents", "write"), session: SessionDep,
                services: ServicesDep) -> AgentOut:
    await agent_set(session, actor, AgentStatus.paused, body.reason)
    await session.commit()
    return await _me(session, actor, services)


@router.post("/me/ready", response_model=AgentOut, summary="Ready for calls again")
async def ready(actor: Allowed("agents", "write"), session: SessionDep, services: ServicesDep) -> AgentOut:
    await agent_set(session, actor, AgentStatus.ready)
    await session.commit()
    return await _me(session, actor, services)


@router.post("/me/logout", response_model=AgentOut, summary="Log out: no more calls")
async def logout(actor: Allowed("agents", "write"), session: SessionDep, services: ServicesDep) -> AgentOut:
    await agent_set(session, actor, AgentStatus.logged_out)
    await session.commit()
    return await _me(session, actor, services)


@router.get("", response_model=list[AgentOut], summary="Every agent who has logged in at least once (coordinators)")
async def list_agents(actor: Allowed("agents", "read"), session: SessionDep, services: ServicesDep) -> list[AgentOut]:
    if actor.scope is not Scope.all:
        return [await _me(session, actor, services)]
    rows = (await session.exec(select(AgentState, User).join(User, col(User.id) == col(AgentState.user_id))
                               .order_by(col(AgentState.extension)))).all()
    return [await _out(session, user, state, services) for state, user in rows]


@router.get("/{user_id}", response_model=AgentOut, summary="One agent's state (CC-27)")
async def get_agent(user_id: PathId, actor: Allowed("agents", "read"), session: SessionDep,
                    services: ServicesDep) -> AgentOut:
    if user_id != actor.user_id and actor.scope is not Scope.all:
        raise NotFound("Agent")
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("Agent")
    return await _out(session, user, await session.get(AgentState, user_id), services)
