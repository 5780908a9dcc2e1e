"""Every API route is authenticated and, except the caller's own account, Casbin-checked."""

from __future__ import annotations

from fastapi.routing import APIRoute

from api.deps import get_signed_in
from cli.asgi import create_full_app
from core.settings import Settings

PUBLIC = {"/healthz", "/readyz", "/api/v1/auth/token", "/api/v1/auth/forgot-password", "/api/v1/auth/reset-password"}
OWN_ACCOUNT = {"/api/v1/me", "/api/v1/me/password", "/api/v1/me/menus", "/api/v1/me/notification-settings",
               "/api/v1/auth/logout"}


def _calls(dependant) -> set[str]:  # noqa: ANN001
    names = {getattr(dependant.call, "__name__", "")}
    for sub in dependant.dependencies:
        names |= _calls(sub)
    return names


def test_every_api_route_is_protected() -> None:
    app = create_full_app(Settings(env="test", database_url="postgresql://unused.invalid/x"))
    unprotected, unchecked = [], []
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.path.startswith(("/api/", "/healthz", "/readyz")):
            continue
        if route.path in PUBLIC:
            continue
        calls = _calls(route.dependant)
        if get_signed_in.__name__ not in calls:
            unprotected.append(route.path)
        elif route.path not in OWN_ACCOUNT and not any(c.startswith("require_") for c in calls):
            unchecked.append(f"{sorted(route.methods)} {route.path}")
    assert not unprotected, f"routes without authentication: {unprotected}"
    assert not unchecked, f"routes without a Casbin check: {unchecked}"
