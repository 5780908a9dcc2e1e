"""What every UI response gets: security headers, the CSRF cookie, and HTML (never JSON or a
stack trace) for the errors a page can meet: sign-in needed, bad CSRF token, domain errors."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from core.errors import HotlineError, NotAuthenticated
from core.i18n import translate
from ui.csrf import set_cookie_if_new
from ui.i18n import page_locale
from ui.templating import render

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


def policy_with_tiles(tile_url: str) -> str:
    """The policy of a page with a map: images may come from the map's tile server too (and
    from nowhere else)."""
    parts = urlsplit(tile_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return CONTENT_SECURITY_POLICY
    host = parts.netloc.replace("{s}", "*")
    return CONTENT_SECURITY_POLICY.replace("img-src 'self' data:", f"img-src 'self' data: {parts.scheme}://{host}")


def add_security_headers(response: Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = f"/login?next={quote(target, safe='')}"
    if request.headers.get("hx-request") == "true":
        # htmx would swap the sign-in page into a fragment; ask it to load the whole page instead.
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, exc: HotlineError) -> Response:
    locale = page_locale(request)
    params = {k: translate(v, locale) if isinstance(v, str) else v for k, v in exc.params.items()}
    message = translate(exc.message, locale, **params)
    title = translate("Error {status}", locale, status=exc.status_code)
    headers = {"Retry-After": "60"} if exc.status_code in (429, 503) else None
    response = render(request, "error.html", status_code=exc.status_code, title=title, status=exc.status_code,
                      message=message)
    if headers:
        response.headers.update(headers)
    return response


class InternalError(HotlineError):
    status_code = 500
    error_id = "internal_error"
    message = "Something went wrong on our side. The error was logged."


class InvalidPageAddress(HotlineError):
    """A page's address with a value out of its bounds (page=0, a date of 11 digits…): a person
    followed a broken or edited link."""

    status_code = 422
    error_id = "invalid_page_address"
    message = "The address of this page has a value that cannot be used ({names}). Open the page again from the menu."


class PageRoute(APIRoute):
    """Route class of every UI page (see ui.routes)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                response = await handler(request)
            except NotAuthenticated:
                response = login_redirect(request)
            except HotlineError as exc:
                response = error_page(request, exc)
            except RequestValidationError as exc:
                names = sorted({str(e["loc"][-1]) for e in exc.errors() if e.get("loc")})
                response = error_page(request, InvalidPageAddress(names=", ".join(names)[:200]))
            except Exception:  # a page shows a calm message; the log keeps the trace
                log.exception("unhandled error in a UI page", extra={"error_id": "internal_error"})
                response = error_page(request, InternalError())
            set_cookie_if_new(request, response)
            add_security_headers(response)
            if response.media_type == "text/html" or "text/html" in response.headers.get("content-type", ""):
                response.headers.setdefault("Cache-Control", "no-store")
            return response

        return page


class SecureStaticFiles(StaticFiles):
    """Static assets with the same security headers (nosniff matters most for scripts)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        add_security_headers(response)
        return response
