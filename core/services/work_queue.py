"""What the work screens of the desk, unit managers and officers read: the desk's new tickets
(with the `dispatch` task that waits for them) and the choices a task form offers (units,
officers, fields, areas). Reading only; completing a task goes through the ticket's workflow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.authz import Scope
from core.errors import NotFound
from core.models import Area, OrgUnit, TicketField, User
from core.models.base import utcnow
from core.models.tickets import HumanTask, HumanTaskStatus, Ticket, TicketStatus
from core.services import inbox
from core.services.actor import Actor
from core.services.crud import Page, PageResult, paged
from core.services.scoping import units_visible

ACTIVE = (HumanTaskStatus.open, HumanTaskStatus.claimed)
DISPATCH_TASK = "dispatch"


@dataclass(frozen=True)
class Choice:
    """One entry of a picker: the value sent, its label and its depth in a tree (for indenting)."""

    value: str
    label: str
    depth: int = 0


@dataclass(frozen=True)
class NewTicket:
    ticket: Ticket
    dispatch_task: HumanTask | None  # None while the process has not opened it yet


def _scoped(stmt, actor: Actor):
    if actor.scope is Scope.own:
        return stmt.where(Ticket.created_by_id == actor.user_id)
    visible = units_visible(actor)
    return stmt if visible is None else stmt.where(col(Ticket.current_unit_id).in_(visible))


async def new_tickets(session: AsyncSession, actor: Actor, page: Page) -> PageResult[NewTicket]:
    """Tickets still new (CRM-30), newest first, each with its open dispatch task if any."""
    task_open = (col(HumanTask.ticket_id) == col(Ticket.id)) & (HumanTask.bpmn_id == DISPATCH_TASK) \
        & col(HumanTask.status).in_(ACTIVE)
    stmt = (select(Ticket, HumanTask).outerjoin(HumanTask, task_open)
            .where(Ticket.status == TicketStatus.new).order_by(col(Ticket.id).desc()))
    total, rows = await paged(session, _scoped(stmt, actor), page)
    return PageResult(total, page.page, page.per_page, [NewTicket(t, task) for t, task in rows])


async def home_counts(session: AsyncSession, actor: Actor, desk: bool, due_within: timedelta) -> dict[str, int]:
    """The home page's counts: new (the desk: reports to dispatch; others: my unit's tasks
    nobody took yet), waiting for me or my unit, due soon, overdue."""
    counts = await inbox.inbox_counts(session, actor)
    now = utcnow()
    due_soon = (await session.exec(
        select(func.count()).select_from(HumanTask).join(Ticket, col(Ticket.id) == col(HumanTask.ticket_id))
        .where(col(HumanTask.status).in_(ACTIVE), inbox.waiting_for(actor), ~col(Ticket.overdue),
               col(Ticket.due_at) > now, col(Ticket.due_at) <= now + due_within))).one()
    if desk:
        new = (await session.exec(_scoped(select(func.count()).select_from(Ticket)
                                          .where(Ticket.status == TicketStatus.new), actor))).one()
    else:
        new = counts["waiting"] - counts["mine"]
    return {"new": new, "waiting": counts["waiting"], "due_soon": due_soon, "overdue": counts["overdue"]}


async def ticket_of_task(session: AsyncSession, task: HumanTask) -> Ticket:
    ticket = await session.get(Ticket, task.ticket_id)
    if ticket is None:
        raise NotFound("Ticket")
    return ticket


async def open_tasks_of(session: AsyncSession, ticket: Ticket) -> list[HumanTask]:
    stmt = select(HumanTask).where(HumanTask.ticket_id == ticket.id, col(HumanTask.status).in_(ACTIVE)) \
        .order_by(col(HumanTask.id))
    return list((await session.exec(stmt)).all())


def _depth(path: str) -> int:
    return max(path.strip("/").count("/"), 0)


def _by_name_in_tree(rows: list, name) -> list:
    """Tree order (each node before its children) with siblings sorted by name, from the
    materialised paths ("/1/5/"), so a picker reads like the tree."""
    names = {str(r.id): name(r).casefold() for r in rows}
    return sorted(rows, key=lambda r: tuple(names.get(part, part) for part in r.path.strip("/").split("/")))


async def unit_choices(session: AsyncSession, under_path: str | None = None, exclude_id: int | None = None) -> list[Choice]:
    """Active units (value: the unit's path, as the process data holds it), optionally only a
    subtree; depth counted from the subtree's root."""
    stmt = select(OrgUnit).where(OrgUnit.active).order_by(col(OrgUnit.path))
    if under_path:
        stmt = stmt.where(col(OrgUnit.path).startswith(under_path))
    units = _by_name_in_tree([u for u in (await session.exec(stmt)).all() if u.id != exclude_id], lambda u: u.name)
    base = min((_depth(u.path) for u in units), default=0)
    return [Choice(u.path, u.name, _depth(u.path) - base) for u in units]


async def officer_choices(session: AsyncSession, unit_id: int | None) -> list[Choice]:
    """Active officers of the unit (value: the username the assignment records)."""
    if unit_id is None:
        return []
    unit = await session.get(OrgUnit, unit_id)
    ids = await inbox.candidates(session, "officer", unit)
    if not ids:
        return []
    users = (await session.exec(select(User).where(col(User.id).in_(ids)).order_by(col(User.full_name)))).all()
    return [Choice(u.username, f"{u.full_name} ({u.username})") for u in users]


async def field_choices(session: AsyncSession) -> list[Choice]:
    rows = (await session.exec(select(TicketField).where(TicketField.active).order_by(col(TicketField.path)))).all()
    rows = _by_name_in_tree(list(rows), lambda f: f"{f.sort_order:06d} {f.name}")
    return [Choice(str(f.id), f.name, _depth(f.path)) for f in rows]


async def area_choices(session: AsyncSession, scheme: str) -> list[Choice]:
    rows = (await session.exec(select(Area).where(Area.scheme == scheme, Area.active).order_by(col(Area.path)))).all()
    rows = _by_name_in_tree(list(rows), lambda a: a.name)
    base = min((_depth(a.path) for a in rows), default=0)
    return [Choice(str(a.id), f"{a.kind} {a.name}" if a.kind and not a.name.startswith(a.kind) else a.name,
                   _depth(a.path) - base) for a in rows]


async def unit_name(session: AsyncSession, unit_id: int | None) -> str | None:
    unit = await session.get(OrgUnit, unit_id) if unit_id else None
    return unit.name if unit else None
