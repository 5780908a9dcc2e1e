"""The home page: the user's menu and a welcome panel with quick links."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from api.deps import SessionDep, SignedInDep
from ui.i18n import gettext_for, page_locale
from ui.pages.common import page_router, render_signed_in

router = page_router()


@router.get("/")
async def home(request: Request, session: SessionDep, signed_in: SignedInDep) -> Response:
    _ = gettext_for(page_locale(request))
    return await render_signed_in(request, session, signed_in, "home.html", title=_("Home"))
