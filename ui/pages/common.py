"""Dependencies and helpers shared by the page modules."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import ServicesDep, SessionDep, get_signed_in
from core.errors import NotAuthenticated
from core.models import User
from core.services.auth import SignedIn
from core.services.crud import get_or_404
from ui.i18n import page_locale
from ui.security import PageRoute
from ui.shell import build_shell
from ui.templating import render


def page_router() -> APIRouter:
    return APIRouter(include_in_schema=False, route_class=PageRoute)


async def optional_signed_in(request: Request, services: ServicesDep) -> SignedIn | None:
    """The signed-in user, or None on pages anyone may see (sign-in, language switch)."""
    try:
        return await get_signed_in(request, services)
    except NotAuthenticated:
        return None


OptionalSignedInDep = Annotated[SignedIn | None, Depends(optional_signed_in)]


async def own_account(session: AsyncSession, signed_in: SignedIn) -> User:
    """The signed-in user's row, loaded in this request's session: `signed_in.user` is a
    detached (possibly cached) snapshot and must not be changed."""
    return await get_or_404(session, User, signed_in.user.id, "User")  # type: ignore[arg-type]


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def render_signed_in(request: Request, session: SessionDep, signed_in: SignedIn, template: str,
                           status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page inside the signed-in frame (header, menu)."""
    shell = await build_shell(session, signed_in, page_locale(request))
    return render(request, template, status_code=status_code, shell=shell, **context)
