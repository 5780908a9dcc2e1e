"""Organisation tree administration (PERM-06, PERM-07)."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import InUse, ValidationFailed
from core.models import Area, AutoDispatchRule, OrgUnit, Ticket, User
from core.models.org import OrgUnitCreate, OrgUnitPublic, OrgUnitUpdate
from core.services import audit
from core.services.actor import Actor
from core.services.crud import (
    apply,
    delete_or_conflict,
    ensure_exists,
    ensure_unique,
    get_or_404,
    has_children,
    place_in_tree,
)


async def list_units(session: AsyncSession, parent_id: int | None = None, under: int | None = None) -> list[OrgUnitPublic]:
    stmt = select(OrgUnit).order_by(col(OrgUnit.path))
    if parent_id is not None:
        stmt = stmt.where(OrgUnit.parent_id == parent_id)
    if under is not None:
        root = await get_or_404(session, OrgUnit, under, "Unit")
        stmt = stmt.where(col(OrgUnit.path).startswith(root.path))
    return [OrgUnitPublic.model_validate(u) for u in (await session.exec(stmt)).all()]


async def get_unit(session: AsyncSession, unit_id: int) -> OrgUnitPublic:
    return OrgUnitPublic.model_validate(await get_or_404(session, OrgUnit, unit_id, "Unit"))


async def create_unit(session: AsyncSession, actor: Actor, data: OrgUnitCreate) -> OrgUnitPublic:
    await ensure_unique(session, OrgUnit, "code", data.code, "Unit code")
    await ensure_exists(session, User, data.manager_id, "manager_id")
    await ensure_exists(session, Area, data.area_id, "area_id")
    unit = OrgUnit(**data.model_dump(exclude={"parent_id"}))
    session.add(unit)
    await session.flush()
    await place_in_tree(session, OrgUnit, unit, data.parent_id)
    await audit.record(session, actor, "create", "org_unit", unit.id, after=unit)
    return OrgUnitPublic.model_validate(unit)


async def update_unit(session: AsyncSession, actor: Actor, unit_id: int, data: OrgUnitUpdate) -> OrgUnitPublic:
    unit = await get_or_404(session, OrgUnit, unit_id, "Unit")
    before = unit.model_copy()
    changes = data.model_dump(exclude_unset=True)
    if "code" in changes:
        await ensure_unique(session, OrgUnit, "code", changes["code"], "Unit code", exclude_id=unit.id)
    await ensure_exists(session, User, changes.get("manager_id"), "manager_id")
    await ensure_exists(session, Area, changes.get("area_id"), "area_id")
    parent_changed = "parent_id" in changes and changes["parent_id"] != unit.parent_id
    apply(unit, {k: v for k, v in changes.items() if k != "parent_id"})
    if parent_changed:
        await place_in_tree(session, OrgUnit, unit, changes["parent_id"])
    session.add(unit)
    await audit.record(session, actor, "update", "org_unit", unit.id, before=before, after=unit)
    return OrgUnitPublic.model_validate(unit)


async def delete_unit(session: AsyncSession, actor: Actor, unit_id: int) -> None:
    unit = await get_or_404(session, OrgUnit, unit_id, "Unit")
    if await has_children(session, OrgUnit, unit_id):
        raise ValidationFailed("Delete or move the sub-units first.", details=[{"field": "id", "message": "has sub-units"}])
    if await _handles_work(session, unit_id):
        raise InUse("Unit")
    before = unit.model_copy()
    await delete_or_conflict(session, unit, "Unit")
    await audit.record(session, actor, "delete", "org_unit", unit_id, before=before)


async def _handles_work(session: AsyncSession, unit_id: int) -> bool:
    """Tickets in the unit's hands would lose their handler (SET NULL) and its dispatch rules
    would vanish (CASCADE) without a word: such a unit is deactivated, not deleted. (Its users
    already block the delete: RESTRICT.)"""
    for stmt in (select(Ticket.id).where(Ticket.current_unit_id == unit_id),
                 select(AutoDispatchRule.id).where(AutoDispatchRule.unit_id == unit_id)):
        if (await session.exec(stmt.limit(1))).first() is not None:
            return True
    return False
