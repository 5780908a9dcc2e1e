"""The home page: the user's menu, a welcome panel with quick links and, for people who work
tickets, their counts (new, waiting, due soon, overdue) linking to the work screens."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request
from fastapi.responses import Response

from api.deps import ActorDep, ServicesDep, SessionDep, SignedInDep
from core.services import work_queue
from ui.i18n import gettext_for, page_locale
from ui.pages.common import page_router, render_signed_in

router = page_router()

DUE_SOON = timedelta(hours=24)


@router.get("/")
async def home(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
               actor: ActorDep) -> Response:
    _ = gettext_for(page_locale(request))
    counts = None
    if services.authorizer.decide(actor.roles, "inbox", "read").allowed:
        tickets = services.authorizer.decide(actor.roles, "tickets", "write")
        desk = tickets.allowed and tickets.scope is not None
        counts = await work_queue.home_counts(session, actor.with_scope(tickets.scope) if desk else actor,  # type: ignore[arg-type]
                                              desk, DUE_SOON)
        counts["desk"] = desk
    return await render_signed_in(request, session, signed_in, "home.html", title=_("Home"), counts=counts)
