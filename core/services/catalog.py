"""Areas (CRM-26…29) and ticket fields with their SLA (CRM-20…25, PERM-11)."""

from __future__ import annotations

from sqlmodel import col, delete, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import InUse, ValidationFailed
from core.models import Area, AreaLevel, AutoDispatchRule, OrgUnit, Ticket, TicketField
from core.models.catalog import (
    AreaCreate,
    AreaPublic,
    AreaUpdate,
    TicketFieldCreate,
    TicketFieldPublic,
    TicketFieldUpdate,
)
from core.services import audit
from core.services.actor import Actor
from core.services.crud import (
    Page,
    PageResult,
    apply,
    delete_or_conflict,
    ensure_unique,
    get_or_404,
    has_children,
    in_use_is_a_conflict,
    paged,
    place_in_tree,
)

_CHILD_LEVEL = {AreaLevel.province: {AreaLevel.district, AreaLevel.commune}, AreaLevel.district: {AreaLevel.commune},
                AreaLevel.commune: set()}

# ---- areas ----


async def list_areas(session: AsyncSession, page: Page, scheme: str | None = None, parent_id: int | None = None,
                     level: AreaLevel | None = None, q: str | None = None) -> PageResult[AreaPublic]:
    stmt = select(Area).order_by(col(Area.path))
    if scheme:
        stmt = stmt.where(Area.scheme == scheme)
    if parent_id is not None:
        stmt = stmt.where(Area.parent_id == parent_id)
    if level is not None:
        stmt = stmt.where(Area.level == level)
    if q:
        stmt = stmt.where(or_(col(Area.name).ilike(f"%{q.strip()}%"), col(Area.code).startswith(q.strip())))
    total, rows = await paged(session, stmt, page)
    return PageResult(total, page.page, page.per_page, [AreaPublic.model_validate(a) for a in rows])


async def get_area(session: AsyncSession, area_id: int) -> AreaPublic:
    return AreaPublic.model_validate(await get_or_404(session, Area, area_id, "Area"))


async def create_area(session: AsyncSession, actor: Actor, data: AreaCreate) -> AreaPublic:
    parent = await session.get(Area, data.parent_id) if data.parent_id is not None else None
    if data.parent_id is not None and parent is None:
        raise ValidationFailed(details=[{"field": "parent_id", "message": f"{data.parent_id} does not exist"}])
    if parent is None and data.level is not AreaLevel.province:
        raise ValidationFailed(details=[{"field": "parent_id", "message": "a district or commune needs a parent area"}])
    if parent is not None and data.level not in _CHILD_LEVEL[AreaLevel(parent.level)]:
        raise ValidationFailed(details=[{"field": "level", "message": f"a {data.level} cannot be under a {parent.level}"}])
    scheme = parent.scheme if parent else (data.scheme or "2025")
    if scheme == "2025" and data.level is AreaLevel.district:
        raise ValidationFailed(details=[{"field": "level", "message": "the map in force since 1 July 2025 has no districts"}])
    existing = (await session.exec(select(Area).where(Area.scheme == scheme, Area.code == data.code))).first()
    if existing:
        raise ValidationFailed(details=[_code_taken(data.code, existing)])
    area = Area(**data.model_dump(exclude={"parent_id", "scheme"}), scheme=scheme)
    session.add(area)
    await session.flush()
    await place_in_tree(session, Area, area, data.parent_id)
    await audit.record(session, actor, "create", "area", area.id, after=area)
    return AreaPublic.model_validate(area)


async def update_area(session: AsyncSession, actor: Actor, area_id: int, data: AreaUpdate) -> AreaPublic:
    area = await get_or_404(session, Area, area_id, "Area")
    before = area.model_copy()
    changes = data.model_dump(exclude_unset=True)
    if "code" in changes and changes["code"] != area.code:
        clash = (await session.exec(select(Area).where(Area.scheme == area.scheme, Area.code == changes["code"]))).first()
        if clash:
            raise ValidationFailed(details=[_code_taken(changes["code"], clash)])
    apply(area, changes)
    session.add(area)
    await audit.record(session, actor, "update", "area", area.id, before=before, after=area)
    return AreaPublic.model_validate(area)


async def delete_area(session: AsyncSession, actor: Actor, area_id: int) -> None:
    area = await get_or_404(session, Area, area_id, "Area")
    if await has_children(session, Area, area_id):
        raise ValidationFailed("Delete the areas under it first.", details=[{"field": "id", "message": "has child areas"}])
    if await _area_in_use(session, area_id):
        raise InUse("Area")
    before = area.model_copy()
    await delete_or_conflict(session, area, "Area")
    await audit.record(session, actor, "delete", "area", area_id, before=before)


def _code_taken(code: str, holder: Area) -> dict[str, object]:
    return {"field": "code", "message": "code {code} is already used by {name}", "params": {"code": code, "name": holder.name}}


async def _area_in_use(session: AsyncSession, area_id: int) -> bool:
    """Tickets, units, fields and dispatch rules would lose their area (SET NULL) or their rule
    (CASCADE) without a word: an area they name is deactivated, not deleted."""
    for model in (Ticket, OrgUnit, TicketField, AutoDispatchRule):
        stmt = select(model.id).where(model.area_id == area_id).limit(1)  # type: ignore[attr-defined]
        if (await session.exec(stmt)).first() is not None:
            return True
    return False


# ---- ticket fields ----


async def list_fields(session: AsyncSession, active: bool | None = None, parent_id: int | None = None) -> list[TicketFieldPublic]:
    stmt = select(TicketField).order_by(col(TicketField.path))
    if active is not None:
        stmt = stmt.where(TicketField.active == active)
    if parent_id is not None:
        stmt = stmt.where(TicketField.parent_id == parent_id)
    return [TicketFieldPublic.model_validate(f) for f in (await session.exec(stmt)).all()]


async def get_field(session: AsyncSession, field_id: int) -> TicketFieldPublic:
    return TicketFieldPublic.model_validate(await get_or_404(session, TicketField, field_id, "Field"))


async def create_field(session: AsyncSession, actor: Actor, data: TicketFieldCreate) -> TicketFieldPublic:
    await ensure_unique(session, TicketField, "code", data.code, "Field code")
    field = TicketField(**data.model_dump(exclude={"parent_id"}))
    session.add(field)
    await session.flush()
    await place_in_tree(session, TicketField, field, data.parent_id)
    await audit.record(session, actor, "create", "ticket_field", field.id, after=field)
    return TicketFieldPublic.model_validate(field)


async def update_field(session: AsyncSession, actor: Actor, field_id: int, data: TicketFieldUpdate) -> TicketFieldPublic:
    field = await get_or_404(session, TicketField, field_id, "Field")
    before = field.model_copy()
    apply(field, data.model_dump(exclude_unset=True))
    session.add(field)
    action = "sla.update" if "sla_hours" in data.model_fields_set else "update"
    await audit.record(session, actor, action, "ticket_field", field.id, before=before, after=field)
    return TicketFieldPublic.model_validate(field)


async def delete_field(session: AsyncSession, actor: Actor, field_id: int, with_children: bool = False) -> int:
    """Delete a field; a parent is deleted with its whole subtree only when the caller
    confirmed it a second time (`with_children`, CRM-25). Returns how many fields went."""
    field = await get_or_404(session, TicketField, field_id, "Field")
    subtree = (await session.exec(select(TicketField).where(col(TicketField.path).startswith(field.path)))).all()
    if len(subtree) > 1 and not with_children:
        raise ValidationFailed("This field has {count} child fields: confirm again to delete them too.",
                               details=[{"field": "with_children", "message": "confirmation required"}], count=len(subtree) - 1)
    for node in sorted(subtree, key=lambda n: -len(n.path)):
        await audit.record(session, actor, "delete", "ticket_field", node.id, before=node)
    ids = [n.id for n in subtree]
    async with in_use_is_a_conflict(session, "Field"):
        await session.exec(delete(TicketField).where(col(TicketField.id).in_(ids)))  # type: ignore[call-overload]
    return len(ids)
