"""API tokens for outside systems (KB-01) in the administration: the tokens issued (name, prefix,
account, scopes, expiry, last use, revocation), issuing one for an active system account — shown
once, with a warning and a copy button — and revoking one after a confirmation.

The same use cases as the JSON API (api/routers/api_tokens.py): core.services.api_tokens, the
same audit entries, and a revocation drops the account's cached sign-ins in this process at once.
Casbin: `api_tokens` (administrators only)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import col, select

from api.deps import Allowed, ServicesDep, SessionDep, SignedInDep
from core.errors import HotlineError, NotFound
from core.i18n import translate
from core.models import User
from core.models.base import utcnow
from core.models.kb import ApiToken, ApiTokenCreate, ApiTokenPublic
from core.services import api_tokens, users
from core.services.actor import Actor
from core.services.crud import Page
from ui.forms import FieldErrors, failed_fields, read_form
from ui.i18n import N_, gettext_for, page_locale
from ui.pages.common import page_router, render_signed_in, see_other
from ui.pages.kb_admin_forms import valid_rest
from ui.pages.kb_admin_view import path_id
from ui.pages.work import local_time

router = page_router()

BASE = "/admin/api-tokens"
SCOPES = {"kb:read": N_("Read the knowledge base"), "kb:write": N_("Change the knowledge base")}
DEFAULT_DAYS = "90"
MAX_DAYS = 730  # ApiTokenCreate.expires_in_days
CHOOSE_ACCOUNT = N_("Choose one of the listed system accounts.")
CHOOSE_SCOPE = N_("Choose at least one permission.")
BAD_DAYS = N_("Enter a whole number of days from 1 to {limit}.")
DONE = {"revoked": N_("The token was revoked: it no longer opens the API.")}

Reader = Allowed("api_tokens", "read")
Writer = Allowed("api_tokens", "write")


async def _system_accounts(session: SessionDep, actor: Actor) -> list[tuple[str, str]]:
    """Active system accounts (value, label): a token never acts as a person."""
    found = await users.list_users(session, actor, Page(1, 200), active=True, is_system=True)
    return [(str(u.id), f"{u.full_name} ({u.username})") for u in found.items]


async def _account_names(session: SessionDep, tokens: list[ApiTokenPublic]) -> dict[int, str]:
    ids = sorted({t.user_id for t in tokens})
    if not ids:
        return {}
    rows = (await session.exec(select(User.id, User.full_name, User.username).where(col(User.id).in_(ids)))).all()
    return {int(i): f"{name} ({username})" for i, name, username in rows}


def _state(token: ApiTokenPublic) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= utcnow() else "active"


async def _list_page(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                     actor: Actor, status_code: int = 200, values: dict[str, Any] | None = None,
                     **context: Any) -> Response:
    _ = gettext_for(page_locale(request))
    tokens = await api_tokens.list_tokens(session)
    can_issue = services.authorizer.decide(actor.roles, "api_tokens", "write").allowed
    return await render_signed_in(
        request, session, signed_in, "admin/api_tokens/list.html", status_code, title=_("API keys"), tokens=tokens,
        accounts=await _account_names(session, tokens), state=_state, local_time=local_time, base=BASE,
        scopes=[(code, _(label)) for code, label in SCOPES.items()], can_issue=can_issue,
        system_accounts=await _system_accounts(session, actor) if can_issue else [],
        values=values or {"scopes": ["kb:read"], "days": DEFAULT_DAYS}, **context)


@router.get(BASE)
async def token_list(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                     actor: Reader) -> Response:
    _ = gettext_for(page_locale(request))
    done = request.query_params.get("done")
    return await _list_page(request, session, services, signed_in, actor,
                            notice=_(DONE[done]) if done in DONE else None)


def _submitted(form: dict[str, str], scopes: list[str], accounts: set[str],
               locale: str) -> tuple[ApiTokenCreate | None, dict[str, Any], FieldErrors]:
    errors: FieldErrors = {}
    values: dict[str, Any] = {"name": form.get("name", "").strip(), "user_id": form.get("user_id", ""),
                              "scopes": [s for s in scopes if s in SCOPES], "days": form.get("days", "").strip()}
    data: dict[str, Any] = {"name": values["name"], "scopes": sorted(set(values["scopes"]))}
    if values["user_id"] in accounts:
        data["user_id"] = int(values["user_id"])
    else:
        errors["user_id"] = [translate(CHOOSE_ACCOUNT, locale)]
    if not data["scopes"] or len(values["scopes"]) != len(scopes):
        errors["scopes"] = [translate(CHOOSE_SCOPE, locale)]
    days = values["days"] or DEFAULT_DAYS
    if days.isdigit() and len(days) <= 4 and 1 <= int(days) <= MAX_DAYS:
        data["expires_in_days"] = int(days)
    else:
        errors["days"] = [translate(BAD_DAYS, locale, limit=MAX_DAYS)]
    body = valid_rest(ApiTokenCreate, data, errors, locale)
    return (None if errors else body), values, errors


@router.post(BASE)
async def token_issue(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                      actor: Writer) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    _ = gettext_for(locale)
    scopes = [v for v in (await request.form()).getlist("scopes") if isinstance(v, str)]  # parsed once already
    accounts = {value for value, _label in await _system_accounts(session, actor)}
    body, values, errors = _submitted(form, scopes, accounts, locale)
    if body is None:
        return await _list_page(request, session, services, signed_in, actor, 422, values, errors=errors)
    try:
        issued = await api_tokens.issue(session, actor, body)
        await session.commit()
    except HotlineError as exc:
        await session.rollback()
        field_errors, general = failed_fields(exc, locale)
        return await _list_page(request, session, services, signed_in, actor, exc.status_code, values,
                                errors=field_errors, error=general)
    names = await _account_names(session, [issued])
    # Shown on this answer only (no redirect): the page is never cached and the token is not stored.
    return await render_signed_in(
        request, session, signed_in, "admin/api_tokens/issued.html", title=_("The new API key"), token=issued,
        account=names.get(issued.user_id, f"#{issued.user_id}"), local_time=local_time, base=BASE,
        scope_labels={code: _(label) for code, label in SCOPES.items()})


@router.get(BASE + "/{token_id}/revoke")
async def revoke_confirm(token_id: str, request: Request, session: SessionDep, signed_in: SignedInDep,
                         actor: Writer) -> Response:
    """The confirmation as a page (the list asks in a dialog when JavaScript runs)."""
    _ = gettext_for(page_locale(request))
    ident = path_id(token_id, "API token")
    token = await session.get(ApiToken, ident)
    if token is None:
        raise NotFound("API token")
    return await render_signed_in(
        request, session, signed_in, "kb/confirm.html", title=_("Revoke the API key?"), heading=_("Revoke the API key?"),
        back=BASE, action=f"{BASE}/{ident}/revoke", submit_label=_("Revoke"),
        text=_("Key “{name}” ({prefix}…) will stop working at once. The system using it will be refused until it gets a new key.",
               name=token.name, prefix=token.prefix))


@router.post(BASE + "/{token_id}/revoke")
async def revoke(token_id: str, request: Request, session: SessionDep, services: ServicesDep,
                 actor: Writer) -> Response:
    await read_form(request)
    token = await api_tokens.revoke(session, actor, path_id(token_id, "API token"))
    await session.commit()
    services.auth_cache.forget_user(token.user_id)
    return see_other(f"{BASE}?done=revoked")
