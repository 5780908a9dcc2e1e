"""User administration (PERM-08, PERM-09) and own profile (PERM-02), scoped by unit."""

from __future__ import annotations

from sqlmodel import col, delete, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.authz import Scope
from core.errors import NotFound, ValidationFailed
from core.models import OrgUnit, PermissionGroup, User, UserGroup
from core.models.base import utcnow
from core.models.users import ProfileUpdate, UserCreate, UserPublic, UserUpdate
from core.security import check_password_strength, hash_password_async
from core.services import audit
from core.services.actor import Actor
from core.services.auth import user_roles
from core.services.crud import Page, PageResult, apply, ensure_exists, ensure_unique, paged
from core.services.scoping import can_see_unit, units_visible


async def to_public(session: AsyncSession, user: User) -> UserPublic:
    group_ids = (await session.exec(select(UserGroup.group_id).where(UserGroup.user_id == user.id))).all()
    roles = await user_roles(session, user.id)  # type: ignore[arg-type]
    return UserPublic.model_validate(user, update={"group_ids": sorted(group_ids), "roles": sorted(roles)})


async def _visible_user(session: AsyncSession, actor: Actor, user_id: int) -> User:
    """Another unit's user is reported as not found: its existence is not leaked."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("User")
    if actor.scope is Scope.own and user.id != actor.user_id:
        raise NotFound("User")
    if actor.scope is Scope.unit:
        unit = await session.get(OrgUnit, user.unit_id) if user.unit_id else None
        if not can_see_unit(actor, unit.path if unit else None):
            raise NotFound("User")
    return user


async def list_users(session: AsyncSession, actor: Actor, page: Page, q: str | None = None,
                     unit_id: int | None = None, active: bool | None = None, group_id: int | None = None,
                     is_system: bool | None = None, locked: bool | None = None) -> PageResult[UserPublic]:
    stmt = select(User).order_by(col(User.username))
    visible = units_visible(actor)
    if actor.scope is Scope.own:
        stmt = stmt.where(User.id == actor.user_id)
    elif visible is not None:
        stmt = stmt.where(col(User.unit_id).in_(visible))
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(col(User.username).ilike(like), col(User.full_name).ilike(like),
                              col(User.code).ilike(like), col(User.phone).ilike(like)))
    if unit_id is not None:
        stmt = stmt.where(User.unit_id == unit_id)
    if active is not None:
        stmt = stmt.where(User.active == active)
    if group_id is not None:
        stmt = stmt.where(col(User.id).in_(select(UserGroup.user_id).where(UserGroup.group_id == group_id)))
    if is_system is not None:
        stmt = stmt.where(User.is_system == is_system)
    if locked is not None:
        is_locked = col(User.locked_until).is_not(None) & (col(User.locked_until) > utcnow())
        stmt = stmt.where(is_locked if locked else ~is_locked)
    total, rows = await paged(session, stmt, page)
    return PageResult(total, page.page, page.per_page, [await to_public(session, u) for u in rows])


async def get_user(session: AsyncSession, actor: Actor, user_id: int) -> UserPublic:
    return await to_public(session, await _visible_user(session, actor, user_id))


async def _set_groups(session: AsyncSession, user_id: int, group_ids: list[int]) -> None:
    for gid in set(group_ids):
        await ensure_exists(session, PermissionGroup, gid, "group_ids")
    await session.exec(delete(UserGroup).where(col(UserGroup.user_id) == user_id))  # type: ignore[call-overload]
    session.add_all([UserGroup(user_id=user_id, group_id=gid) for gid in sorted(set(group_ids))])


async def create_user(session: AsyncSession, actor: Actor, data: UserCreate, check_strength: bool = True) -> UserPublic:
    await ensure_unique(session, User, "username", data.username, "Username")
    await ensure_unique(session, User, "code", data.code, "User code")
    unit = await ensure_exists(session, OrgUnit, data.unit_id, "unit_id")
    if actor.scope is not Scope.all and not can_see_unit(actor, unit.path if unit else None):
        raise ValidationFailed(details=[{"field": "unit_id", "message": "outside your unit"}])
    if check_strength:
        check_password_strength(data.password, data.username, field="password")
    user = User(**data.model_dump(exclude={"password", "group_ids"}), password_hash=await hash_password_async(data.password))
    session.add(user)
    await session.flush()
    await _set_groups(session, user.id, data.group_ids)  # type: ignore[arg-type]
    await audit.record(session, actor, "create", "user", user.id, after=user)
    return await to_public(session, user)


async def update_user(session: AsyncSession, actor: Actor, user_id: int, data: UserUpdate) -> UserPublic:
    user = await _visible_user(session, actor, user_id)
    before = user.model_copy()
    changes = data.model_dump(exclude_unset=True, exclude={"group_ids"})
    if "code" in changes:
        await ensure_unique(session, User, "code", changes["code"], "User code", exclude_id=user.id)
    if "unit_id" in changes:
        await ensure_exists(session, OrgUnit, changes["unit_id"], "unit_id")
    if user.id == actor.user_id and changes.get("active") is False:
        raise ValidationFailed(details=[{"field": "active", "message": "you cannot disable your own account"}])
    apply(user, changes)
    session.add(user)
    if data.group_ids is not None:
        await _set_groups(session, user.id, data.group_ids)  # type: ignore[arg-type]
    await audit.record(session, actor, "update", "user", user.id, before=before, after=user)
    return await to_public(session, user)


async def deactivate_user(session: AsyncSession, actor: Actor, user_id: int) -> None:
    """Users are never deleted (their history stays attributable): they are deactivated."""
    user = await _visible_user(session, actor, user_id)
    if user.id == actor.user_id:
        raise ValidationFailed(details=[{"field": "id", "message": "you cannot disable your own account"}])
    before = user.model_copy()
    user.active = False
    session.add(user)
    await audit.record(session, actor, "deactivate", "user", user.id, before=before, after=user)


async def unlock_user(session: AsyncSession, actor: Actor, user_id: int) -> UserPublic:
    """Lift a lock left by too many failed sign-ins before it runs out (the password stays)."""
    user = await _visible_user(session, actor, user_id)
    before = user.model_copy()
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    await audit.record(session, actor, "unlock", "user", user.id, before=before, after=user)
    return await to_public(session, user)


async def update_profile(session: AsyncSession, actor: Actor, user: User, data: ProfileUpdate) -> UserPublic:
    before = user.model_copy()
    apply(user, data.model_dump(exclude_unset=True))
    session.add(user)
    await audit.record(session, actor, "profile.update", "user", user.id, before=before, after=user)
    return await to_public(session, user)


async def set_password(session: AsyncSession, actor: Actor, user: User, password: str) -> None:
    check_password_strength(password, user.username, field="password")
    user.password_hash = await hash_password_async(password)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    await audit.record(session, actor, "password.set", "user", user.id)
