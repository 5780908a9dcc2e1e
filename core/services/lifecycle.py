"""What the ticket life cycle's service tasks do to the database: auto-dispatch matching
(CRM-37), moving a ticket between units, people and states, marking it overdue (OPS-05) and
notifying people. Each call carries the Spiff task id as its idempotency key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import ValidationFailed
from core.models import Area, OrgUnit, TicketField, User
from core.models.base import utcnow
from core.models.notifications import NotificationEvent
from core.models.tickets import AutoDispatchRule, TicketEvent, TicketStatus
from core.services.actor import Actor
from core.services.delivery import notify_users
from core.services.inbox import candidates
from core.services.tickets import record_event, ticket_by_code

CLOSED_STATES = {TicketStatus.resolved, TicketStatus.spam, TicketStatus.closed, TicketStatus.deleted}


async def unit_by_path(session: AsyncSession, path: str | None) -> OrgUnit | None:
    if not path:
        return None
    unit = (await session.exec(select(OrgUnit).where(OrgUnit.path == path))).first()
    if unit is None:
        raise ValidationFailed(details=[{"field": "unit_path", "message": f"unknown unit {path}"}])
    return unit


async def auto_dispatch_target(session: AsyncSession, field_id: int | None, area_id: int | None) -> OrgUnit | None:
    """The unit of the most specific active rule matching the field (or a parent field) and the
    area (or a parent area): rules naming both beat rules naming one; then lower priority wins."""
    field = await session.get(TicketField, field_id) if field_id else None
    area = await session.get(Area, area_id) if area_id else None
    field_ids = {int(x) for x in field.path.strip("/").split("/")} if field else set()
    area_ids = {int(x) for x in area.path.strip("/").split("/")} if area else set()
    best: tuple[tuple[int, int, int], AutoDispatchRule] | None = None
    for rule in (await session.exec(select(AutoDispatchRule).where(AutoDispatchRule.active))).all():
        fields_ok = not rule.field_ids or bool(field_ids & set(rule.field_ids))
        area_ok = rule.area_id is None or rule.area_id in area_ids
        if not (fields_ok and area_ok) or (not rule.field_ids and rule.area_id is None):
            continue
        rank = (-(bool(rule.field_ids) + (rule.area_id is not None)), rule.priority, rule.id or 0)
        if best is None or rank < best[0]:
            best = (rank, rule)
    return await session.get(OrgUnit, best[1].unit_id) if best else None


@dataclass(frozen=True)
class Move:
    """One step of the life cycle as the BPMN's service task states it."""

    action: str  # the progress event, e.g. "dispatched", "assigned", "approved"
    status: TicketStatus | None = None
    unit_path: str | None = None
    assignee: str | None = None  # username
    actor: str | None = None  # username of who did it (from the completed user task)
    note: str | None = None
    parent_event_key: str | None = None  # the event this one sits under in the progress tree
    sla_hours: float | None = None  # starts the processing deadline shown to people (the timer is the workflow's)


async def move_ticket(session: AsyncSession, code: str, key: str, move: Move) -> int | None:
    ticket = await ticket_by_code(session, code, lock=True)
    unit = await unit_by_path(session, move.unit_path)
    actor_user = (await session.exec(select(User).where(User.username == move.actor))).first() if move.actor else None
    assignee = (await session.exec(select(User).where(User.username == move.assignee))).first() if move.assignee else None
    if move.assignee and assignee is None:
        raise ValidationFailed(details=[{"field": "assignee", "message": f"unknown user {move.assignee}"}])
    if move.status is not None:
        ticket.status = move.status
        if move.status in CLOSED_STATES:
            ticket.closed_at = utcnow()
            ticket.hidden = move.status in (TicketStatus.spam, TicketStatus.deleted)
    if unit is not None:
        ticket.current_unit_id = unit.id
    if move.assignee is not None:
        ticket.assignee_id = assignee.id if assignee else None
    session.add(ticket)
    if move.sla_hours is not None:
        ticket.due_at = utcnow() + timedelta(hours=move.sla_hours)
        ticket.overdue = False
    parent_id = None
    if move.parent_event_key:
        parent_id = (await session.exec(select(TicketEvent.id).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.dedupe_key == move.parent_event_key))).first()
    actor = Actor(user_id=actor_user.id, username=actor_user.username) if actor_user else None
    return await record_event(session, ticket.id, move.action, key, actor=actor, unit_id=unit.id if unit else ticket.current_unit_id,  # type: ignore[arg-type]
                              note=move.note, parent_id=parent_id,
                              data={k: v for k, v in {"status": move.status, "assignee": move.assignee}.items() if v})


async def mark_overdue(session: AsyncSession, code: str, key: str) -> None:
    ticket = await ticket_by_code(session, code, lock=True)
    if ticket.overdue:
        return
    ticket.overdue = True
    session.add(ticket)
    await record_event(session, ticket.id, "overdue", key, unit_id=ticket.current_unit_id)  # type: ignore[arg-type]
    unit = await session.get(OrgUnit, ticket.current_unit_id) if ticket.current_unit_id else None
    people = await candidates(session, "unit_manager", unit) + await candidates(session, "coordinator", None)
    await notify_users(session, people, NotificationEvent.ticket_overdue, "overdue", f"Quá hạn xử lý: {ticket.code}",
                       ticket.description[:200], ticket, key)


async def notify_unit(session: AsyncSession, code: str, key: str, unit_path: str | None, role: str, title: str) -> int:
    """Tell the unit's people of `role` that a ticket reached them, as each chose (PERM-10): the
    SMS / email are queued under `key` for `delivery.send_pending` after the commit."""
    ticket = await ticket_by_code(session, code, lock=True)
    unit = await unit_by_path(session, unit_path)
    users = await candidates(session, role, unit)
    await notify_users(session, users, NotificationEvent.ticket_received, "ticket", title,
                       f"{ticket.code}: {ticket.description[:200]}", ticket, key)
    return len(users)
