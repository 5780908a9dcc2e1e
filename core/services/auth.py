"""Sign-in, sessions, password change and password reset (CRM-01, CRM-02, PERM-01…03)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import AccountInactive, AccountLocked, HotlineError, InvalidCredentials, ValidationFailed
from core.models import AuthSession, GroupRole, OrgUnit, PasswordReset, Role, SessionKind, User, UserGroup
from core.models.base import utcnow
from core.security import (
    check_password_strength,
    dummy_hash,
    hash_password_async,
    needs_rehash,
    new_token,
    token_digest,
    verify_password_async,
)
from core.services import audit
from core.services.actor import Actor


@dataclass(frozen=True)
class LoginPolicy:
    lockout_threshold: int = 10
    lockout_minutes: int = 15


@dataclass(frozen=True)
class LoginOutcome:
    """The caller commits first (failed attempts must be counted), then raises `error`."""

    user: User | None
    error: HotlineError | None


@dataclass(frozen=True)
class SignedIn:
    """The signed-in user. `user` is a detached snapshot: use cases that change the account
    load it again in their own session."""

    session_id: int
    user: User
    roles: frozenset[str]
    unit_path: str | None
    expires_at: datetime
    # An API token (KB-01) acting as a system account: only these "resource:action" scopes.
    scopes: frozenset[str] | None = None
    token_id: int | None = None

    def allows(self, resource: str, action: str) -> bool:
        """The token's scopes permit this (always true for a person's session)."""
        return self.scopes is None or f"{resource}:{action}" in self.scopes


async def login(session: AsyncSession, username: str, password: str, policy: LoginPolicy,
                now: datetime | None = None) -> LoginOutcome:
    now = now or utcnow()
    username = username.strip().lower()
    user = (await session.exec(select(User).where(User.username == username))).first()
    if user is None:
        await verify_password_async(dummy_hash(), password)  # same cost as a real check
        return LoginOutcome(None, InvalidCredentials())
    if user.locked_until is not None and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        return LoginOutcome(None, AccountLocked(minutes=minutes))
    if not await verify_password_async(user.password_hash, password):
        await _count_failure(session, user, policy, now)
        return LoginOutcome(None, InvalidCredentials())
    if not user.active:
        return LoginOutcome(None, AccountInactive())
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if needs_rehash(user.password_hash):
        user.password_hash = await hash_password_async(password)
    session.add(user)
    return LoginOutcome(user, None)


async def _count_failure(session: AsyncSession, user: User, policy: LoginPolicy, now: datetime) -> None:
    # One atomic statement: concurrent wrong guesses all count.
    lock_until = now + timedelta(minutes=policy.lockout_minutes)
    table = User.__table__  # type: ignore[attr-defined]
    await session.exec(  # type: ignore[call-overload]
        sa.update(table).where(table.c.id == user.id).values(
            failed_logins=table.c.failed_logins + 1,
            locked_until=sa.case((table.c.failed_logins + 1 >= policy.lockout_threshold, lock_until),
                                 else_=table.c.locked_until),
        )
    )


async def start_session(session: AsyncSession, user: User, kind: SessionKind, ttl: timedelta,
                        ip: str | None = None, user_agent: str | None = None) -> tuple[str, AuthSession]:
    token = new_token()
    row = AuthSession(token_hash=token_digest(token), user_id=user.id, kind=kind,  # type: ignore[arg-type]
                      expires_at=utcnow() + ttl, ip=ip, user_agent=(user_agent or "")[:255] or None)
    session.add(row)
    await session.flush()
    return token, row


# The role codes of user `u` (through their permission groups), as one SQL array column.
ROLES_OF_USER_SQL = """ARRAY(SELECT DISTINCT r.code FROM user_group ug
             JOIN group_role gr ON gr.group_id = ug.group_id
             JOIN role r ON r.id = gr.role_id
             WHERE ug.user_id = u.id) AS roles"""

_RESOLVE = sa.text(f"""
SELECT s.id AS session_id, s.expires_at, u.id AS user_id, ou.path AS unit_path, {ROLES_OF_USER_SQL}
FROM auth_session s
JOIN app_user u ON u.id = s.user_id
LEFT JOIN org_unit ou ON ou.id = u.unit_id
WHERE s.token_hash = :digest AND s.revoked_at IS NULL AND s.expires_at > now() AND u.active
""")


async def resolve_token(session: AsyncSession, token: str) -> SignedIn | None:
    """The signed-in user of a bearer token or session cookie, or None if invalid/expired."""
    if not token or len(token) > 128:
        return None
    row = (await session.exec(_RESOLVE, params={"digest": token_digest(token)})).first()  # type: ignore[call-overload]
    if row is None:
        return None
    user = await session.get(User, row.user_id)
    if user is None:
        return None
    session.expunge(user)
    return SignedIn(row.session_id, user, frozenset(row.roles), row.unit_path, row.expires_at)


async def user_roles(session: AsyncSession, user_id: int) -> frozenset[str]:
    rows = await session.exec(
        select(Role.code).join(GroupRole, col(GroupRole.role_id) == col(Role.id))
        .join(UserGroup, col(UserGroup.group_id) == col(GroupRole.group_id)).where(UserGroup.user_id == user_id)
    )
    return frozenset(rows.all())


async def unit_path(session: AsyncSession, unit_id: int | None) -> str | None:
    if unit_id is None:
        return None
    unit = await session.get(OrgUnit, unit_id)
    return unit.path if unit else None


async def end_session(session: AsyncSession, session_id: int) -> None:
    row = await session.get(AuthSession, session_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)


async def revoke_all_sessions(session: AsyncSession, user_id: int, except_session_id: int | None = None) -> None:
    table = AuthSession.__table__  # type: ignore[attr-defined]
    stmt = sa.update(table).where(table.c.user_id == user_id, table.c.revoked_at.is_(None)).values(revoked_at=utcnow())
    if except_session_id is not None:
        stmt = stmt.where(table.c.id != except_session_id)
    await session.exec(stmt)  # type: ignore[call-overload]


def _check_new_password(user: User, new: str, confirm: str) -> None:
    if new != confirm:
        raise ValidationFailed(details=[{"field": "new_password_confirm", "message": "The two new passwords do not match."}])
    check_password_strength(new, user.username)


async def change_password(session: AsyncSession, actor: Actor, user: User, current: str, new: str, confirm: str,
                          keep_session_id: int | None) -> None:
    if not await verify_password_async(user.password_hash, current):
        raise ValidationFailed(details=[{"field": "current_password", "message": "The current password is wrong."}])
    _check_new_password(user, new, confirm)
    if await verify_password_async(user.password_hash, new):
        raise ValidationFailed(details=[{"field": "new_password", "message": "The new password must differ from the current one."}])
    user.password_hash = await hash_password_async(new)
    user.password_changed_at = utcnow()
    session.add(user)
    await revoke_all_sessions(session, user.id, except_session_id=keep_session_id)  # type: ignore[arg-type]
    await audit.record(session, actor, "password.change", "user", user.id)


async def request_password_reset(session: AsyncSession, login_or_email: str, ttl: timedelta) -> tuple[User, str] | None:
    """A one-time reset token for the account, or None when no active account matches
    (the caller answers the same either way, so accounts cannot be discovered)."""
    value = login_or_email.strip().lower()
    user = (await session.exec(
        select(User).where(sa.or_(User.username == value, sa.func.lower(User.email) == value), User.active)
    )).first()
    if user is None:
        return None
    token = new_token()
    session.add(PasswordReset(token_hash=token_digest(token), user_id=user.id, expires_at=utcnow() + ttl))  # type: ignore[arg-type]
    await audit.record(session, Actor(user_id=None, username="password-reset"), "password.reset_requested", "user", user.id)
    return user, token


async def reset_password(session: AsyncSession, token: str, new: str, confirm: str) -> User:
    invalid = ValidationFailed("The reset link is invalid or has expired. Request a new one.", details=[{"field": "token", "message": "invalid or expired"}])
    if not token or len(token) > 128:
        raise invalid
    reset = (await session.exec(
        select(PasswordReset).where(PasswordReset.token_hash == token_digest(token), col(PasswordReset.used_at).is_(None),
                                    PasswordReset.expires_at > utcnow()).with_for_update()
    )).first()
    user = await session.get(User, reset.user_id) if reset else None
    if reset is None or user is None or not user.active:
        raise invalid
    _check_new_password(user, new, confirm)
    reset.used_at = utcnow()
    user.password_hash = await hash_password_async(new)
    user.password_changed_at = utcnow()
    user.failed_logins = 0
    user.locked_until = None
    session.add_all([reset, user])
    await revoke_all_sessions(session, user.id)  # type: ignore[arg-type]
    await audit.record(session, Actor(user_id=user.id, username=user.username), "password.reset", "user", user.id)
    return user
