"""Auto-dispatch rules (CRM-37): fields (one or many) + area -> the unit that receives the
ticket. `lifecycle.auto_dispatch_target` matches them; this module administers them."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import Conflict, ValidationFailed
from core.models import Area, OrgUnit, TicketField
from core.models.tickets import AutoDispatchRule, AutoDispatchRuleCreate, AutoDispatchRulePublic, AutoDispatchRuleUpdate
from core.services import audit
from core.services.actor import Actor
from core.services.crud import Page, PageResult, apply, delete_or_conflict, get_or_404, paged

ENTITY = "auto_dispatch_rule"
WHAT = "Dispatch rule"


async def list_rules(session: AsyncSession, page: Page, field_id: int | None = None, area_id: int | None = None,
                     unit_id: int | None = None, active: bool | None = None,
                     q: str | None = None) -> PageResult[AutoDispatchRulePublic]:
    """Rules in the order they are tried among equally specific ones (priority, then id).
    `field_id` finds the rules naming that field."""
    stmt = select(AutoDispatchRule).order_by(col(AutoDispatchRule.priority), col(AutoDispatchRule.id))
    if field_id is not None:
        stmt = stmt.where(col(AutoDispatchRule.field_ids).contains([field_id]))
    if area_id is not None:
        stmt = stmt.where(AutoDispatchRule.area_id == area_id)
    if unit_id is not None:
        stmt = stmt.where(AutoDispatchRule.unit_id == unit_id)
    if active is not None:
        stmt = stmt.where(AutoDispatchRule.active == active)
    if q:
        stmt = stmt.where(col(AutoDispatchRule.name).ilike(f"%{q.strip()}%"))
    total, rows = await paged(session, stmt, page)
    return PageResult(total, page.page, page.per_page, [AutoDispatchRulePublic.model_validate(r) for r in rows])


async def get_rule(session: AsyncSession, rule_id: int) -> AutoDispatchRulePublic:
    return AutoDispatchRulePublic.model_validate(await get_or_404(session, AutoDispatchRule, rule_id, WHAT))


async def create_rule(session: AsyncSession, actor: Actor, data: AutoDispatchRuleCreate) -> AutoDispatchRulePublic:
    rule = AutoDispatchRule(**data.model_dump())
    rule.field_ids = await _validate(session, rule)
    session.add(rule)
    await session.flush()
    await audit.record(session, actor, "create", ENTITY, rule.id, after=rule)
    return AutoDispatchRulePublic.model_validate(rule)


async def update_rule(session: AsyncSession, actor: Actor, rule_id: int, data: AutoDispatchRuleUpdate) -> AutoDispatchRulePublic:
    rule = await get_or_404(session, AutoDispatchRule, rule_id, WHAT)
    before = rule.model_copy(update={"field_ids": list(rule.field_ids)})
    changes = data.model_dump(exclude_unset=True)
    for required in ("name", "unit_id", "priority", "active", "field_ids"):
        if required in changes and changes[required] is None:  # explicit null on a column that has no null
            raise ValidationFailed(details=[{"field": required, "message": "This field is required."}])
    # Checked before the row changes: an autoflush must never send a dangling reference to the database.
    changes["field_ids"] = await _validate(session, rule.model_copy(update=changes))
    apply(rule, changes)
    session.add(rule)
    await session.flush()
    await audit.record(session, actor, "update", ENTITY, rule.id, before=before, after=rule)
    return AutoDispatchRulePublic.model_validate(rule)


async def delete_rule(session: AsyncSession, actor: Actor, rule_id: int) -> None:
    rule = await get_or_404(session, AutoDispatchRule, rule_id, WHAT)
    before = rule.model_copy()
    await delete_or_conflict(session, rule, WHAT)
    await audit.record(session, actor, "delete", ENTITY, rule_id, before=before)


async def _validate(session: AsyncSession, rule: AutoDispatchRule) -> list[int]:
    """Every reference exists, the rule can match something, and no other active rule makes the
    match ambiguous (same fields, same area, same priority: only the id would decide).
    Returns the field ids as stored: sorted, without repeats."""
    field_ids = sorted(set(rule.field_ids or []))
    rule = rule.model_copy(update={"field_ids": field_ids})
    problems: list[dict[str, Any]] = []
    if not rule.field_ids and rule.area_id is None:
        problems.append({"field": "field_ids", "message": "A rule needs at least one field or an area."})
    if rule.field_ids:
        found = set((await session.exec(select(TicketField.id).where(col(TicketField.id).in_(rule.field_ids)))).all())
        missing = [i for i in rule.field_ids if i not in found]
        if missing:
            problems.append({"field": "field_ids", "message": "Fields {ids} do not exist.",
                             "params": {"ids": ", ".join(map(str, missing))}})
    if rule.area_id is not None and await session.get(Area, rule.area_id) is None:
        problems.append({"field": "area_id", "message": "Area {id} does not exist.", "params": {"id": rule.area_id}})
    unit = await session.get(OrgUnit, rule.unit_id) if rule.unit_id is not None else None
    if unit is None:
        problems.append({"field": "unit_id", "message": "Unit {id} does not exist.", "params": {"id": rule.unit_id}})
    elif rule.active and not unit.active:
        problems.append({"field": "unit_id", "message": "Unit {name} is inactive: it cannot receive tickets.",
                         "params": {"name": unit.name}})
    if problems:
        raise ValidationFailed(details=problems)
    if rule.active:
        same = select(AutoDispatchRule).where(
            AutoDispatchRule.active, AutoDispatchRule.priority == rule.priority,
            col(AutoDispatchRule.field_ids) == field_ids,
            col(AutoDispatchRule.area_id).is_(None) if rule.area_id is None else AutoDispatchRule.area_id == rule.area_id)
        if rule.id is not None:
            same = same.where(AutoDispatchRule.id != rule.id)
        clash = (await session.exec(same)).first()
        if clash is not None:
            raise Conflict(WHAT, details=[{
                "field": "priority", "params": {"id": clash.id, "name": clash.name},
                "message": "Rule #{id} ({name}) has the same fields, area and priority; change the priority or deactivate one."}])
    return field_ids
