"""Every API route and every page is authenticated and, except the caller's own account and
the public pages, Casbin-checked.

FastAPI 0.165 keeps included routers as `_IncludedRouter` entries of `app.routes`: the routes
are walked through their effective contexts (a plain loop over `app.routes` sees none of them
and would check nothing), and the walk must find them all."""

from __future__ import annotations

from fastapi.routing import APIRoute

from api.deps import get_principal, get_signed_in
from cli.asgi import create_full_app
from core.settings import Settings

PUBLIC = {"/healthz", "/readyz", "/api/v1/auth/token", "/api/v1/auth/forgot-password", "/api/v1/auth/reset-password",
          # providers' webhooks: their signature is the authentication (tests/integration/test_webhooks.py)
          "/webhooks/{gateway}/inbound", "/webhooks/{gateway}/status"}
OWN_ACCOUNT = {"/api/v1/me", "/api/v1/me/password", "/api/v1/me/menus", "/api/v1/me/notification-settings",
               "/api/v1/auth/logout"}


def _routes(app) -> list[tuple[str, APIRoute]]:  # noqa: ANN001
    """(full path, route) of every API route and page, included routers' ones too."""
    found: list[tuple[str, APIRoute]] = []
    for entry in app.routes:
        contexts = entry.effective_route_contexts() if hasattr(entry, "effective_route_contexts") else ()
        for context in contexts:
            route = context.starlette_route or context.original_route
            if isinstance(route, APIRoute):
                found.append((context.path, route))
        if isinstance(entry, APIRoute):
            found.append((entry.path, entry))
    return found


def _calls(dependant) -> set[str]:  # noqa: ANN001
    names = {getattr(dependant.call, "__name__", "")}
    for sub in dependant.dependencies:
        names |= _calls(sub)
    return names


def test_every_api_route_is_protected() -> None:
    app = create_full_app(Settings(env="test", database_url="postgresql://unused.invalid/x"))
    unprotected, unchecked = [], []
    routes = [(path, route) for path, route in _routes(app) if path.startswith(("/api/", "/healthz", "/readyz", "/webhooks/"))]
    assert len(routes) > 60, f"only {len(routes)} API routes found: the walk misses included routers"
    for path, route in routes:
        if path in PUBLIC:
            continue
        calls = _calls(route.dependant)
        if path in OWN_ACCOUNT:
            # a person's own account: never reachable with an outside system's API token
            if get_signed_in.__name__ not in calls or get_principal.__name__ in calls:
                unprotected.append(path)
        elif get_principal.__name__ not in calls:
            unprotected.append(path)
        elif not any(c.startswith("require_") for c in calls):
            unchecked.append(f"{sorted(route.methods)} {path}")
    assert not unprotected, f"routes without authentication: {unprotected}"
    assert not unchecked, f"routes without a Casbin check: {unchecked}"


# Pages anyone may open, and pages about the signed-in person's own account (no Casbin resource).
PUBLIC_PAGES = {"/login", "/logout", "/forgot-password", "/reset-password", "/language",
                # the knowledge base's public look-ups (KB-21, KB-22): published items only
                "/tra-cuu/thu-tuc", "/tra-cuu/su-kien", "/tra-cuu/goi-y", "/tra-cuu/thu-tuc/{question_id}",
                "/tra-cuu/su-kien/{question_id}", "/tra-cuu/tep/{question_id}/{answer_id}/{attachment_id}"}
OWN_PAGES = {"/", "/profile", "/profile/notifications", "/change-password"}


def test_every_page_is_signed_in_and_casbin_checked() -> None:
    app = create_full_app(Settings(env="test", database_url="postgresql://unused.invalid/x"))
    unprotected, unchecked = [], []
    pages = [(path, route) for path, route in _routes(app) if not path.startswith(("/api/", "/healthz", "/readyz", "/webhooks/"))]
    assert len(pages) > 60, f"only {len(pages)} pages found: the walk misses included routers"
    for path, route in pages:
        if path in PUBLIC_PAGES:
            continue
        calls = _calls(route.dependant)
        if get_signed_in.__name__ not in calls and get_principal.__name__ not in calls:
            unprotected.append(f"{sorted(route.methods)} {path}")
        elif path not in OWN_PAGES and not any(c.startswith("require_") for c in calls):
            unchecked.append(f"{sorted(route.methods)} {path}")
    assert not unprotected, f"pages without sign-in: {unprotected}"
    assert not unchecked, f"pages without a Casbin check: {unchecked}"
