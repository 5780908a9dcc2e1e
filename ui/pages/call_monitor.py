"""The live monitor of the call center (CC-20) for coordinators and auditors: extensions online
or offline, the trunk, agents and their states, calls waiting per queue, live calls, parked
calls — the API's snapshot (`/api/v1/telephony/monitor`), refreshed in place every few seconds
(htmx) and at once without JavaScript on reload. Without a PBX it says so and still shows what
the database knows."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from api.deps import Allowed, ServicesDep, SessionDep, SignedInDep
from api.routers.telephony import monitor_snapshot
from ui.i18n import N_, gettext_for, page_locale
from ui.pages.agent_panel import STATUS_LABELS
from ui.pages.common import page_router, render_signed_in
from ui.pages.work import local_time
from ui.templating import render

router = page_router()

REFRESH_SECONDS = 3
CALL_STATES = {"routing": N_("In the menu"), "queued": N_("Waiting"), "ringing": N_("Ringing an agent"),
               "talking": N_("Talking"), "message": N_("Leaving a message")}
ENDPOINT_STATES = {"online": N_("Online"), "offline": N_("Offline"), "unknown": N_("Unknown")}


def _labels(request: Request) -> dict[str, object]:
    _ = gettext_for(page_locale(request))
    return {"agent_labels": {k: _(v) for k, v in STATUS_LABELS.items()},
            "call_labels": {k: _(v) for k, v in CALL_STATES.items()},
            "endpoint_labels": {k: _(v) for k, v in ENDPOINT_STATES.items()},
            "local_time": local_time, "refresh": REFRESH_SECONDS}


@router.get("/calls/monitor")
async def monitor_page(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                       actor: Allowed("telephony", "read")) -> Response:
    _ = gettext_for(page_locale(request))
    return await render_signed_in(request, session, signed_in, "monitor/page.html", title=_("Live monitor"),
                                  snapshot=await monitor_snapshot(session, services), **_labels(request))


@router.get("/calls/monitor/live")
async def monitor_live(request: Request, session: SessionDep, services: ServicesDep,
                       actor: Allowed("telephony", "read")) -> Response:
    """The board alone, swapped in place by the page every few seconds."""
    return render(request, "monitor/_board.html", snapshot=await monitor_snapshot(session, services),
                  **_labels(request))
