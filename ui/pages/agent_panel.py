"""An agent's own place at the call center (CC-02, 03, 39): log in at the extension of the desk
they sit at (hot desking), pause with a reason, be ready again, log out — the same use cases as
`/api/v1/agents/me/*` (api/telephony.py), which tell the Stasis application at once. The header
of every page shows the state with a link here."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from api.deps import Allowed, ServicesDep, SessionDep, SignedInDep
from api.telephony import agent_login, agent_set
from core.errors import HotlineError
from core.models.calls import AgentState, AgentStatus
from ui.forms import failed_fields, read_form
from ui.i18n import N_, gettext_for, page_locale
from ui.pages.common import page_router, render_signed_in, see_other
from ui.pages.work import local_time

router = page_router()

PAUSE_REASONS = (N_("Short break"), N_("Lunch break"), N_("Meeting"), N_("Working on a report"), N_("Training"))
STATUS_LABELS = {"logged_out": N_("Not logged in"), "ready": N_("Ready"), "paused": N_("Paused"),
                 "ringing": N_("Ringing"), "busy": N_("On a call"), "wrapup": N_("Wrapping up")}
DONE = {"login": N_("You are logged in: calls ring at your extension."), "pause": N_("Paused: no calls are offered."),
        "ready": N_("Ready: calls are offered again."), "logout": N_("Logged out: no calls are offered.")}


async def _page(request: Request, session: SessionDep, signed_in: SignedInDep, actor: Any, status_code: int = 200,
                **context: Any) -> Response:
    _ = gettext_for(page_locale(request))
    state = await session.get(AgentState, actor.user_id)
    done = request.query_params.get("done")
    context.setdefault("notice", _(DONE[done]) if done in DONE else None)
    return await render_signed_in(
        request, session, signed_in, "agent/panel.html", status_code, title=_("My extension"), state=state,
        status=str(state.status) if state else "logged_out", status_labels={k: _(v) for k, v in STATUS_LABELS.items()},
        reasons=[_(r) for r in PAUSE_REASONS], local_time=local_time, **context)


@router.get("/agent")
async def panel(request: Request, session: SessionDep, signed_in: SignedInDep, actor: Allowed("agents", "read")) -> Response:
    return await _page(request, session, signed_in, actor)


@router.post("/agent")
async def act(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
              actor: Allowed("agents", "write")) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    action = form.get("action", "")
    values = {"extension": form.get("extension", "").strip(), "reason": form.get("reason", "").strip(),
              "other": form.get("other", "").strip()}
    try:
        if action == "login":
            await agent_login(session, services, actor, values["extension"])
        elif action == "pause":
            reason = values["other"] if values["reason"] == "other" else values["reason"]
            await agent_set(session, actor, AgentStatus.paused, reason)
        elif action == "ready":
            await agent_set(session, actor, AgentStatus.ready)
        elif action == "logout":
            await agent_set(session, actor, AgentStatus.logged_out)
        else:
            return see_other("/agent")
        await session.commit()
    except HotlineError as exc:
        await session.rollback()
        errors, general = failed_fields(exc, locale)
        return await _page(request, session, signed_in, actor, exc.status_code, errors=errors, error=general,
                           values=values)
    return see_other(f"/agent?done={action}")
