"""API tokens for outside systems (KB-01): an administrator issues one for a system account,
with scopes and an expiry; the token is shown once and only its sha256 is stored. A request
sends it in the `X-API-Key` header; it acts as that account, limited to the scopes."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import NotFound, ValidationFailed
from core.models import User
from core.models.base import utcnow
from core.models.kb import ApiToken, ApiTokenCreate, ApiTokenIssued, ApiTokenPublic
from core.security import new_token, token_digest
from core.services import audit
from core.services.actor import Actor
from core.services.auth import ROLES_OF_USER_SQL, SignedIn

TOKEN_PREFIX = "hlk_"
HEADER = "X-API-Key"
MAX_TOKEN_LENGTH = 128

_RESOLVE = sa.text(f"""
SELECT t.id AS token_id, t.scopes, t.expires_at, u.id AS user_id, ou.path AS unit_path, {ROLES_OF_USER_SQL}
FROM api_token t
JOIN app_user u ON u.id = t.user_id
LEFT JOIN org_unit ou ON ou.id = u.unit_id
WHERE t.token_hash = :digest AND t.revoked_at IS NULL AND t.expires_at > now() AND u.active
""")


async def issue(session: AsyncSession, actor: Actor, data: ApiTokenCreate) -> ApiTokenIssued:
    """A new token for a system account; the caller commits. The plain token is in the result only."""
    account = await session.get(User, data.user_id)
    if account is None or not account.active or not account.is_system:
        raise ValidationFailed(details=[{"field": "user_id",
                                         "message": "must be an active system account (tokens never act as a person)"}])
    token = TOKEN_PREFIX + new_token()
    row = ApiToken(name=data.name, prefix=token[:12], token_hash=token_digest(token), user_id=data.user_id,
                   scopes=sorted(set(data.scopes)), expires_at=utcnow() + timedelta(days=data.expires_in_days),
                   created_by_id=actor.user_id)
    session.add(row)
    await session.flush()
    await audit.record(session, actor, "api_token.create", "api_token", row.id,
                       after={"name": row.name, "prefix": row.prefix, "user_id": row.user_id, "scopes": row.scopes,
                              "expires_at": row.expires_at.isoformat()})
    return ApiTokenIssued.model_validate(row, update={"token": token})


async def list_tokens(session: AsyncSession) -> list[ApiTokenPublic]:
    rows = (await session.exec(select(ApiToken).order_by(col(ApiToken.id).desc()))).all()
    return [ApiTokenPublic.model_validate(r) for r in rows]


async def revoke(session: AsyncSession, actor: Actor, token_id: int) -> ApiToken:
    row = await session.get(ApiToken, token_id)
    if row is None:
        raise NotFound("API token")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        await audit.record(session, actor, "api_token.revoke", "api_token", row.id,
                           before={"name": row.name, "prefix": row.prefix})
    return row


async def resolve(session: AsyncSession, token: str) -> tuple[SignedIn, str] | None:
    """The principal of a valid API token (and its digest), or None; records when it was last
    used (the caller commits)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        return None
    digest = token_digest(token)
    row = (await session.exec(_RESOLVE, params={"digest": digest})).first()  # type: ignore[call-overload]
    if row is None:
        return None
    user = await session.get(User, row.user_id)
    if user is None:
        return None
    session.expunge(user)
    table = ApiToken.__table__  # type: ignore[attr-defined]
    await session.exec(sa.update(table).where(table.c.id == row.token_id).values(last_used_at=utcnow()))  # type: ignore[call-overload]
    return SignedIn(0, user, frozenset(row.roles), row.unit_path, row.expires_at,
                    scopes=frozenset(row.scopes), token_id=row.token_id), digest
