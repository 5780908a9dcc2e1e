"""CSRF protection for UI forms: the double-submit pattern with a signed token.

Each browser gets a random secret in an HttpOnly cookie; forms carry that secret signed with
the server's key (itsdangerous, timestamped). A POST is accepted only when the signed token
matches the cookie, so another site can neither read nor forge it. htmx requests send the
token in the X-CSRF-Token header (`hx-headers` on <body>)."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from core.errors import HotlineError
from ui.i18n import N_

CSRF_COOKIE = "hotline_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
TOKEN_MAX_AGE_SECONDS = 24 * 3600
_SALT = "hotline-ui-csrf"


class CsrfRejected(HotlineError):
    status_code = 403
    error_id = "csrf_rejected"
    message = N_("The form has expired or did not come from this site. Reload the page and try again.")


def _serializer(request: Request) -> URLSafeTimedSerializer:
    key = request.app.state.services.settings.secret_key.get_secret_value()
    return URLSafeTimedSerializer(key, salt=_SALT)


def browser_secret(request: Request) -> str:
    """This browser's secret: from its cookie, or a new one that `set_cookie_if_new` will send."""
    secret = getattr(request.state, "csrf_secret", None)
    if secret is None:
        cookie = request.cookies.get(CSRF_COOKIE)
        if cookie and 20 <= len(cookie) <= 100:
            secret = cookie
        else:
            secret = secrets.token_urlsafe(32)
            request.state.csrf_new = True
        request.state.csrf_secret = secret
    return str(secret)


def csrf_token(request: Request) -> str:
    return str(_serializer(request).dumps(browser_secret(request)))


def verify(request: Request, form: Mapping[str, str]) -> None:
    cookie = request.cookies.get(CSRF_COOKIE)
    token = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    if not cookie or not token:
        raise CsrfRejected()
    try:
        signed = _serializer(request).loads(token, max_age=TOKEN_MAX_AGE_SECONDS)
    except BadSignature as exc:  # includes SignatureExpired
        raise CsrfRejected() from exc
    if not isinstance(signed, str) or not hmac.compare_digest(signed, cookie):
        raise CsrfRejected()


def set_cookie_if_new(request: Request, response: Response) -> None:
    if getattr(request.state, "csrf_new", False):
        response.set_cookie(CSRF_COOKIE, request.state.csrf_secret, max_age=TOKEN_MAX_AGE_SECONDS * 7, path="/",
                            httponly=True, samesite="lax", secure=request.url.scheme == "https")
