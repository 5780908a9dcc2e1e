"""API tokens for outside systems (KB-01): issued by administrators for a system account, with
scopes and an expiry, shown once, revocable."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.deps import Allowed, PathId, ServicesDep, SessionDep
from api.schemas import ERROR_RESPONSES
from core.models.kb import ApiTokenCreate, ApiTokenIssued, ApiTokenPublic
from core.services import api_tokens

router = APIRouter(prefix="/api/v1/api-tokens", tags=["API tokens"], responses=ERROR_RESPONSES)


@router.get("", response_model=list[ApiTokenPublic], summary="Every token issued, newest first (never the token itself)")
async def list_tokens(actor: Allowed("api_tokens", "read"), session: SessionDep) -> list[ApiTokenPublic]:
    return await api_tokens.list_tokens(session)


@router.post("", response_model=ApiTokenIssued, status_code=status.HTTP_201_CREATED,
             summary="Issue a token for a system account; the response is the only time the token is shown. "
                     "Send it as the `X-API-Key` header")
async def issue(body: ApiTokenCreate, actor: Allowed("api_tokens", "write"), session: SessionDep) -> ApiTokenIssued:
    issued = await api_tokens.issue(session, actor, body)
    await session.commit()
    return issued


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Revoke a token: refused at once here, within the auth cache time on other API replicas")
async def revoke(token_id: PathId, actor: Allowed("api_tokens", "write"), session: SessionDep,
                 services: ServicesDep) -> Response:
    token = await api_tokens.revoke(session, actor, token_id)
    await session.commit()
    services.auth_cache.forget_user(token.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
