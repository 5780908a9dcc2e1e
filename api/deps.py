"""Annotated dependencies shared by every router: DB session, signed-in user, Casbin check."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from api.services import AppServices
from core.errors import Forbidden, NotAuthenticated
from core.models.base import utcnow
from core.security import token_digest
from core.services import api_tokens
from core.services.actor import Actor
from core.services.auth import SignedIn, resolve_token
from core.services.crud import Page
from core.types import MAX_DB_ID

SESSION_COOKIE = "hotline_session"


async def get_services(request: Request) -> AppServices:
    # async on purpose: FastAPI runs plain `def` dependencies in a thread pool (measured ~0.5 ms each).
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[AppServices, Depends(get_services)]


async def get_session(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    """A session per request; routes that change data commit it themselves (one use case,
    one transaction), everything else is rolled back when the request ends."""
    async with services.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def _token_from(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None
    return request.cookies.get(SESSION_COOKIE)


async def resolve_signed_in(request: Request, services: AppServices) -> SignedIn | None:
    """The user of the request's bearer token or session cookie (cached briefly), or None."""
    token = _token_from(request)
    if not token or len(token) > 128:
        return None
    digest = token_digest(token)
    signed_in = services.auth_cache.get(digest)
    if signed_in is not None and signed_in.token_id is not None:
        return None  # an API token is only ever accepted in its own header
    if signed_in is None:
        async with services.sessions() as session:
            signed_in = await resolve_token(session, token)
        if signed_in is not None:
            services.auth_cache.put(digest, signed_in, (signed_in.expires_at - utcnow()).total_seconds())
    return signed_in


async def resolve_api_token(request: Request, services: AppServices) -> SignedIn | None:
    """The system account of the request's `X-API-Key` token (cached briefly), or None."""
    token = request.headers.get(api_tokens.HEADER, "").strip()
    if not token or len(token) > api_tokens.MAX_TOKEN_LENGTH:
        return None
    signed_in = services.auth_cache.get(token_digest(token))
    if signed_in is not None and signed_in.token_id is None:
        return None
    if signed_in is None:
        async with services.sessions() as session:
            resolved = await api_tokens.resolve(session, token)
            await session.commit()  # when it was last used
        if resolved is None:
            return None
        signed_in, digest = resolved
        services.auth_cache.put(digest, signed_in, (signed_in.expires_at - utcnow()).total_seconds())
    return signed_in


def _remember(request: Request, signed_in: SignedIn) -> SignedIn:
    request.state.locale = signed_in.user.locale
    request.state.user_id = signed_in.user.id
    request.state.token_scopes = signed_in.scopes
    return signed_in


async def get_signed_in(request: Request, services: ServicesDep) -> SignedIn:
    """A person's session (own-account routes: an API token never changes a password or signs out)."""
    signed_in = await resolve_signed_in(request, services)
    if signed_in is None:
        raise NotAuthenticated()
    return _remember(request, signed_in)


async def get_principal(request: Request, services: ServicesDep) -> SignedIn:
    """Whoever calls a Casbin-checked route: a person's session, or an outside system's API token."""
    signed_in = (await resolve_api_token(request, services) if api_tokens.HEADER.lower() in request.headers
                 else await resolve_signed_in(request, services))
    if signed_in is None:
        raise NotAuthenticated()
    return _remember(request, signed_in)


SignedInDep = Annotated[SignedIn, Depends(get_signed_in)]
PrincipalDep = Annotated[SignedIn, Depends(get_principal)]


def _actor(request: Request, signed_in: SignedIn) -> Actor:
    return Actor(
        user_id=signed_in.user.id, username=signed_in.user.username, roles=signed_in.roles,
        unit_id=signed_in.user.unit_id, unit_path=signed_in.unit_path,
        request_id=getattr(request.state, "request_id", None),
        ip=request.client.host if request.client else None, locale=signed_in.user.locale,
    )


async def get_actor(request: Request, signed_in: SignedInDep) -> Actor:
    """The signed-in user as an actor with no extra scope (their own records)."""
    return _actor(request, signed_in)


ActorDep = Annotated[Actor, Depends(get_actor)]


def require(resource: str, action: str) -> Callable[..., object]:
    """Dependency: the signed-in user's roles must allow `action` on `resource` (Casbin);
    the actor it returns carries the scope (all / unit / own) queries must apply."""

    async def check(request: Request, signed_in: PrincipalDep, services: ServicesDep) -> Actor:
        decision = services.authorizer.decide(signed_in.roles, resource, action)
        if not decision.allowed or decision.scope is None or not signed_in.allows(resource, action):
            raise Forbidden()
        return _actor(request, signed_in).with_scope(decision.scope)

    check.__name__ = f"require_{resource}_{action}"
    return check


def Allowed(resource: str, action: str) -> type[Actor]:  # noqa: N802 - reads like a type in signatures
    return Annotated[Actor, Depends(require(resource, action))]  # type: ignore[return-value]


async def page_params(page: Annotated[int, Query(ge=1, le=100000)] = 1,
                per_page: Annotated[int, Query(ge=1, le=200)] = 50) -> Page:
    return Page(page, per_page)


PageDep = Annotated[Page, Depends(page_params)]


PathId = Annotated[int, Path(ge=1, le=MAX_DB_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_DB_ID)]


def sees_pii(services: AppServices, actor: Actor) -> bool:
    """Whether citizens' personal data is shown unmasked to this actor (Casbin `pii` read); an
    unmasked read is audited by the service that reads it."""
    return services.authorizer.decide(actor.roles, "pii", "read").allowed


IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=100,
                                       pattern=r"^[A-Za-z0-9_.:\-]+$",
                                       description="the client's key for this request: the same key acts once")]
