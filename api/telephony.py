"""The call center's use cases that start from the API or a page (issue 7): an agent logging in
at an extension, pausing, being ready, logging out (CC-02, 03, 39); click-to-call and call-back
(CC-31, CC-37, CRM-07); reading the PBX for the live monitor (CC-20).

The ringing, bridging and recording are the Stasis application's (telephony/stasis.py, run by
the worker). The API talks to Asterisk only to start a click-to-call — it originates the agent's
leg with our own channel id, so a retried request (same Idempotency-Key) cannot ring twice: ARI
refuses a second channel with that id — and to read endpoints for the monitor. Without a PBX
(HOTLINE_ARI_URL unset or Asterisk not answering) these answer 503 with a Vietnamese message;
everything else works."""

from __future__ import annotations

import hashlib
import re

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.services import AppServices
from core.authz import SystemRole
from core.errors import HotlineError, NotFound, PbxNotConnected, ValidationFailed
from core.models.calls import (
    AgentState,
    AgentStatus,
    CallDirection,
    CallQueueConfig,
    CallRecord,
    CallState,
    Disposition,
)
from core.services import calls
from core.services.actor import Actor
from core.types import normalize_phone
from telephony.ari_client import AriClient, AriError, PbxUnreachable
from telephony.runner import ari_client

ARI_KEY = "ari_client"


class ExtensionInUse(HotlineError):
    status_code = 409
    error_id = "extension_in_use"
    message = "Extension {extension} is in use by another agent."

EXTENSION = re.compile(r"^[0-9]{2,8}$")


def pbx_of(services: AppServices) -> AriClient:
    """This process's ARI client (503 when no PBX is configured)."""
    if not services.settings.ari_url:
        raise PbxNotConnected()
    client = services.extra.get(ARI_KEY)
    if client is None:
        client = services.extra[ARI_KEY] = ari_client(services.settings)
    return client  # type: ignore[no-any-return]


async def close_pbx(services: AppServices) -> None:
    client = services.extra.pop(ARI_KEY, None)
    if client is not None:
        await client.aclose()


# ---- agents ----

def _extension(value: str) -> str:
    extension = value.strip()
    if not EXTENSION.fullmatch(extension):
        raise ValidationFailed(details=[{"field": "extension", "message": "An extension is 2 to 8 digits."}])
    return extension


async def agent_login(session: AsyncSession, services: AppServices, actor: Actor, extension: str) -> AgentState:
    """Log in at an extension (hot desk). The extension must exist on the PBX when one is
    connected, and not be taken by another logged-in agent."""
    extension = _extension(extension)
    taken = (await session.exec(select(AgentState).where(
        AgentState.extension == extension, col(AgentState.status) != AgentStatus.logged_out,
        AgentState.user_id != actor.user_id))).first()
    if taken is not None:
        raise ExtensionInUse(extension=extension)
    if services.settings.ari_url:
        try:
            # the endpoint the application rings for this extension (HOTLINE_ARI_AGENT_ENDPOINT)
            endpoint = services.settings.ari_agent_endpoint.format(extension=extension)
            await pbx_of(services).request("GET", f"/endpoints/{endpoint}")
        except AriError as exc:
            if exc.status == 404:
                raise ValidationFailed(details=[{"field": "extension", "message": "Extension {extension} does not "
                                                 "exist on the telephone exchange.", "params": {"extension": extension}}]
                                       ) from None
            raise PbxNotConnected() from None
        except PbxUnreachable:
            raise PbxNotConnected() from None
    return await calls.change_agent(session, actor.user_id, AgentStatus.ready, extension)  # type: ignore[arg-type]


async def agent_set(session: AsyncSession, actor: Actor, status: AgentStatus, reason: str | None = None) -> AgentState:
    """Pause (with a reason), ready again, or log out; pausing or being ready needs a log-in first."""
    current = await session.get(AgentState, actor.user_id)
    if status != AgentStatus.logged_out and (current is None or current.status == AgentStatus.logged_out):
        raise ValidationFailed(details=[{"field": "status", "message": "Log in at an extension first."}])
    if status == AgentStatus.paused and not (reason or "").strip():
        raise ValidationFailed(details=[{"field": "reason", "message": "Say why you pause."}])
    if current is None:
        return await calls.change_agent(session, actor.user_id, status)  # type: ignore[arg-type]
    return await calls.change_agent(session, actor.user_id, status, current.extension,  # type: ignore[arg-type]
                                    (reason or "").strip() or None)


# ---- click-to-call ----

def _channel_base(actor: Actor, key: str) -> str:
    """Our ids of a click-to-call: `<base>-a` the agent's leg, `<base>-c` the citizen's (the call's uniqueid)."""
    return "o" + hashlib.sha256(f"{actor.user_id}:{key}".encode()).hexdigest()[:20]


async def click_to_call(session: AsyncSession, services: AppServices, actor: Actor, number: str, key: str,
                        callback_of_id: int | None = None) -> CallRecord:
    """Ring the agent's phone first; when they answer, the application dials the citizen and
    bridges them (telephony/stasis.py). Once per `key`. Commits."""
    try:
        citizen = normalize_phone(number)
    except ValueError:
        raise ValidationFailed(details=[{"field": "number", "message": "The phone number is not valid."}]) from None
    agent = await session.get(AgentState, actor.user_id)
    if agent is None or agent.status == AgentStatus.logged_out or not agent.extension:
        raise ValidationFailed(details=[{"field": "extension", "message": "Log in at an extension first."}])
    if callback_of_id is not None and await session.get(CallRecord, callback_of_id) is None:
        raise ValidationFailed(details=[{"field": "callback_of", "message": "That call does not exist."}])
    client = pbx_of(services)
    base = _channel_base(actor, key)
    uniqueid = f"{base}-c"
    existing = (await session.exec(select(CallRecord).where(CallRecord.uniqueid == uniqueid))).first()
    if existing is not None:
        return existing  # a retried request: the first one rang
    call = await calls.open_call(session, uniqueid, CallDirection.outbound, citizen, None, citizen,
                                 agent_id=actor.user_id, extension=agent.extension, callback_of_id=callback_of_id,
                                 state=CallState.ringing.value)
    await session.commit()
    endpoint = services.settings.ari_agent_endpoint.format(extension=agent.extension)
    try:
        await client.originate(endpoint, channel_id=f"{base}-a", app_args=f"dialout,{uniqueid},{actor.user_id}",
                               caller_id=f'"{citizen}" <{citizen}>', timeout=30)
    except (AriError, PbxUnreachable) as exc:
        await calls.end_call(session, uniqueid, Disposition.agent_no_answer, "system")
        await session.commit()
        if isinstance(exc, AriError) and exc.status in (400, 404, 422, 500):
            raise ValidationFailed(details=[{"field": "extension", "message": "Your extension {extension} cannot be "
                                             "rung now.", "params": {"extension": agent.extension}}]) from None
        raise PbxNotConnected() from None
    return call


# ---- transfers (CC-32, CC-33): the application does them (telephony/stasis.py) ----

TARGET = r"^(extension:[0-9]{2,8}|queue:[A-Za-z0-9_\-]{1,40})$"


class CallNotInProgress(HotlineError):
    status_code = 409
    error_id = "call_not_in_progress"
    message = "The call is not in progress: only a call being talked can be transferred."


async def _my_live_call(session: AsyncSession, actor: Actor, call_id: int) -> CallRecord:
    call = await session.get(CallRecord, call_id)
    if call is None or (call.agent_id != actor.user_id and SystemRole.coordinator not in actor.roles):
        raise NotFound("Call")  # another agent's call: only its agent (or a coordinator) moves it
    if call.state != CallState.talking:
        raise CallNotInProgress()
    return call


async def request_transfer(session: AsyncSession, services: AppServices, actor: Actor, call_id: int, target: str,
                           mode: str) -> None:
    """Ask the application to transfer the call (blind) or to start a consultation (attended). Commits."""
    pbx_of(services)  # 503 without a PBX
    if not re.fullmatch(TARGET, target) or mode not in ("blind", "attended"):
        raise ValidationFailed(details=[{"field": "target", "message": "Choose an extension or a queue."}])
    call = await _my_live_call(session, actor, call_id)
    kind, _, value = target.partition(":")
    if kind == "queue" and (mode == "attended" or await session.get(CallQueueConfig, value) is None):
        raise ValidationFailed(details=[{"field": "target", "message": "Choose an existing queue (blind transfer only)."}])
    await calls.send_command(session, {"command": "transfer", "call": call.uniqueid, "target": target, "mode": mode})
    await session.commit()


async def transfer_step_request(session: AsyncSession, services: AppServices, actor: Actor, call_id: int,
                                step: str) -> str:
    """Complete or cancel an attended transfer. Commits; returns the command sent."""
    pbx_of(services)
    call = await _my_live_call(session, actor, call_id)
    command = f"transfer_{'complete' if step == 'complete' else 'cancel'}"
    await calls.send_command(session, {"command": command, "call": call.uniqueid})
    await session.commit()
    return command
