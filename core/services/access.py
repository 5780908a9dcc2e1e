"""Roles and their menus (PERM-04), permission groups of roles (PERM-05), Casbin grouping."""

from __future__ import annotations

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.authz import SystemRole
from core.errors import ValidationFailed
from core.models import CasbinRule, GroupRole, Menu, OrgUnit, PermissionGroup, Role, RoleMenu
from core.models.access import (
    GroupCreate,
    GroupPublic,
    GroupUpdate,
    MenuCreate,
    MenuPublic,
    MenuUpdate,
    RoleCreate,
    RolePublic,
    RoleUpdate,
)
from core.services import audit
from core.services.actor import Actor
from core.services.crud import apply, delete_or_conflict, ensure_exists, ensure_unique, get_or_404

# ---- menus ----


async def list_menus(session: AsyncSession) -> list[MenuPublic]:
    rows = await session.exec(select(Menu).order_by(col(Menu.parent_id).nulls_first(), col(Menu.sort_order), col(Menu.id)))
    return [MenuPublic.model_validate(m) for m in rows.all()]


async def menus_for_roles(session: AsyncSession, roles: frozenset[str]) -> list[MenuPublic]:
    """The menu a user sees: entries of their roles, with the parents of those entries."""
    if SystemRole.admin in roles:
        return await list_menus(session)
    ids = set((await session.exec(
        select(RoleMenu.menu_id).join(Role, col(Role.id) == col(RoleMenu.role_id)).where(col(Role.code).in_(roles))
    )).all())
    everything = await list_menus(session)
    by_id = {m.id: m for m in everything}
    for mid in list(ids):
        parent = by_id.get(mid).parent_id if mid in by_id else None  # type: ignore[union-attr]
        while parent is not None and parent not in ids:
            ids.add(parent)
            parent = by_id[parent].parent_id
    return [m for m in everything if m.id in ids]


async def create_menu(session: AsyncSession, actor: Actor, data: MenuCreate) -> MenuPublic:
    await ensure_unique(session, Menu, "code", data.code, "Menu code")
    await ensure_exists(session, Menu, data.parent_id, "parent_id")
    menu = Menu(**data.model_dump())
    session.add(menu)
    await session.flush()
    await audit.record(session, actor, "create", "menu", menu.id, after=menu)
    return MenuPublic.model_validate(menu)


async def update_menu(session: AsyncSession, actor: Actor, menu_id: int, data: MenuUpdate) -> MenuPublic:
    menu = await get_or_404(session, Menu, menu_id, "Menu")
    before = menu.model_copy()
    changes = data.model_dump(exclude_unset=True)
    if changes.get("parent_id") == menu_id:
        raise ValidationFailed(details=[{"field": "parent_id", "message": "a menu cannot be its own parent"}])
    await ensure_exists(session, Menu, changes.get("parent_id"), "parent_id")
    apply(menu, changes)
    session.add(menu)
    await audit.record(session, actor, "update", "menu", menu.id, before=before, after=menu)
    return MenuPublic.model_validate(menu)


async def delete_menu(session: AsyncSession, actor: Actor, menu_id: int) -> None:
    menu = await get_or_404(session, Menu, menu_id, "Menu")
    before = menu.model_copy()
    await delete_or_conflict(session, menu, "Menu")
    await audit.record(session, actor, "delete", "menu", menu_id, before=before)


# ---- roles ----


async def _role_public(session: AsyncSession, role: Role) -> RolePublic:
    menu_ids = (await session.exec(select(RoleMenu.menu_id).where(RoleMenu.role_id == role.id))).all()
    return RolePublic.model_validate(role, update={"menu_ids": sorted(menu_ids)})


async def list_roles(session: AsyncSession) -> list[RolePublic]:
    roles = (await session.exec(select(Role).order_by(col(Role.code)))).all()
    return [await _role_public(session, r) for r in roles]


async def get_role(session: AsyncSession, role_id: int) -> RolePublic:
    return await _role_public(session, await get_or_404(session, Role, role_id, "Role"))


async def _set_menus(session: AsyncSession, role_id: int, menu_ids: list[int]) -> None:
    for mid in set(menu_ids):
        await ensure_exists(session, Menu, mid, "menu_ids")
    await session.exec(delete(RoleMenu).where(col(RoleMenu.role_id) == role_id))  # type: ignore[call-overload]
    session.add_all([RoleMenu(role_id=role_id, menu_id=mid) for mid in sorted(set(menu_ids))])


async def _set_inheritance(session: AsyncSession, role_code: str, inherits: str | None) -> None:
    await session.exec(delete(CasbinRule).where(CasbinRule.ptype == "g", CasbinRule.v0 == role_code))  # type: ignore[call-overload]
    if inherits:
        if inherits not in {r.value for r in SystemRole}:
            raise ValidationFailed(details=[{"field": "inherits", "message": f"unknown system role {inherits}"}])
        session.add(CasbinRule(ptype="g", v0=role_code, v1=inherits))


async def inherited_role(session: AsyncSession, role_code: str) -> str | None:
    """The system role a custom role inherits (its Casbin grouping rule), if any."""
    rule = (await session.exec(select(CasbinRule).where(CasbinRule.ptype == "g", CasbinRule.v0 == role_code))).first()
    return rule.v1 if rule else None


async def create_role(session: AsyncSession, actor: Actor, data: RoleCreate) -> RolePublic:
    await ensure_unique(session, Role, "code", data.code, "Role code")
    role = Role(code=data.code, name=data.name, description=data.description)
    session.add(role)
    await session.flush()
    await _set_menus(session, role.id, data.menu_ids)  # type: ignore[arg-type]
    await _set_inheritance(session, role.code, data.inherits)
    await audit.record(session, actor, "create", "role", role.id, after={**role.model_dump(), "menu_ids": data.menu_ids, "inherits": data.inherits})
    return await _role_public(session, role)


async def update_role(session: AsyncSession, actor: Actor, role_id: int, data: RoleUpdate) -> RolePublic:
    role = await get_or_404(session, Role, role_id, "Role")
    before = await _role_public(session, role)
    apply(role, data.model_dump(exclude_unset=True, exclude={"menu_ids", "inherits"}))
    session.add(role)
    if data.menu_ids is not None:
        await _set_menus(session, role.id, data.menu_ids)  # type: ignore[arg-type]
    if "inherits" in data.model_fields_set:
        if role.is_system:
            raise ValidationFailed(details=[{"field": "inherits", "message": "system roles do not inherit"}])
        await _set_inheritance(session, role.code, data.inherits)
    after = await _role_public(session, role)
    await audit.record(session, actor, "update", "role", role.id, before=before, after=after)
    return after


async def delete_role(session: AsyncSession, actor: Actor, role_id: int) -> None:
    role = await get_or_404(session, Role, role_id, "Role")
    if role.is_system:
        raise ValidationFailed("System roles cannot be deleted.", details=[{"field": "id", "message": "system role"}])
    before = role.model_copy()
    await _set_inheritance(session, role.code, None)
    await delete_or_conflict(session, role, "Role")
    await audit.record(session, actor, "delete", "role", role_id, before=before)


# ---- permission groups ----


async def _group_public(session: AsyncSession, group: PermissionGroup) -> GroupPublic:
    role_ids = (await session.exec(select(GroupRole.role_id).where(GroupRole.group_id == group.id))).all()
    return GroupPublic.model_validate(group, update={"role_ids": sorted(role_ids)})


async def list_groups(session: AsyncSession) -> list[GroupPublic]:
    groups = (await session.exec(select(PermissionGroup).order_by(col(PermissionGroup.code)))).all()
    return [await _group_public(session, g) for g in groups]


async def get_group(session: AsyncSession, group_id: int) -> GroupPublic:
    return await _group_public(session, await get_or_404(session, PermissionGroup, group_id, "Group"))


async def _set_roles(session: AsyncSession, group_id: int, role_ids: list[int]) -> None:
    for rid in set(role_ids):
        await ensure_exists(session, Role, rid, "role_ids")
    await session.exec(delete(GroupRole).where(col(GroupRole.group_id) == group_id))  # type: ignore[call-overload]
    session.add_all([GroupRole(group_id=group_id, role_id=rid) for rid in sorted(set(role_ids))])


async def create_group(session: AsyncSession, actor: Actor, data: GroupCreate) -> GroupPublic:
    await ensure_unique(session, PermissionGroup, "code", data.code, "Group code")
    await ensure_exists(session, OrgUnit, data.unit_id, "unit_id")
    group = PermissionGroup(**data.model_dump(exclude={"role_ids"}))
    session.add(group)
    await session.flush()
    await _set_roles(session, group.id, data.role_ids)  # type: ignore[arg-type]
    after = await _group_public(session, group)
    await audit.record(session, actor, "create", "permission_group", group.id, after=after)
    return after


async def update_group(session: AsyncSession, actor: Actor, group_id: int, data: GroupUpdate) -> GroupPublic:
    group = await get_or_404(session, PermissionGroup, group_id, "Group")
    before = await _group_public(session, group)
    changes = data.model_dump(exclude_unset=True, exclude={"role_ids"})
    await ensure_exists(session, OrgUnit, changes.get("unit_id"), "unit_id")
    apply(group, changes)
    session.add(group)
    if data.role_ids is not None:
        await _set_roles(session, group.id, data.role_ids)  # type: ignore[arg-type]
    after = await _group_public(session, group)
    await audit.record(session, actor, "update", "permission_group", group.id, before=before, after=after)
    return after


async def delete_group(session: AsyncSession, actor: Actor, group_id: int) -> None:
    group = await get_or_404(session, PermissionGroup, group_id, "Group")
    before = await _group_public(session, group)
    await delete_or_conflict(session, group, "Group")
    await audit.record(session, actor, "delete", "permission_group", group_id, before=before)
