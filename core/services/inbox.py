"""The task inbox: BPMN user tasks projected into `human_task` rows by the workflow's
activities, listed per person and per unit, claimed and released with an optimistic lock
(two people on one task: exactly one wins, the other gets 409)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import Forbidden, NotFound, StaleVersion
from core.models import OrgUnit, User
from core.models.base import utcnow
from core.models.tickets import HumanTask, HumanTaskStatus, Ticket
from core.services import delivery, live
from core.services.actor import Actor
from core.services.crud import Page, PageResult, paged
from core.services.notification_settings import task_event
from core.services.tickets import record_event, ticket_by_code

ACTIVE = (HumanTaskStatus.open, HumanTaskStatus.claimed)


@dataclass(frozen=True)
class OpenTask:
    """What the engine says about a user task that just became ready."""

    ticket_code: str
    spiff_task_id: str
    bpmn_id: str
    name: str
    lane: str | None
    candidate_unit_path: str | None
    form_schema: dict[str, Any]


async def open_task(session: AsyncSession, task: OpenTask, outside: bool = False) -> int | None:
    """Write the task row (once per Spiff task id), its progress event and a notification for
    each person who may take it, as each chose (PERM-10): SMS / email are queued only when the
    caller sends them (`outside`: keys `task:<spiff task id>:`). Returns the row id, None if it existed."""
    ticket = await ticket_by_code(session, task.ticket_code)
    unit = None
    if task.candidate_unit_path:
        unit = (await session.exec(select(OrgUnit).where(OrgUnit.path == task.candidate_unit_path))).first()
    # An officer's task goes straight to the officer the manager assigned (CRM-13).
    assignee = ticket.assignee_id if task.lane == "officer" else None
    table = HumanTask.__table__  # type: ignore[attr-defined]
    task_id = (await session.exec(insert(table).values(  # type: ignore[call-overload]
        ticket_id=ticket.id, spiff_task_id=task.spiff_task_id, bpmn_id=task.bpmn_id, name=task.name[:255],
        lane=task.lane or "", candidate_unit_id=unit.id if unit else None, form_schema=task.form_schema,
        due_at=ticket.due_at, status=HumanTaskStatus.claimed if assignee else HumanTaskStatus.open, assignee_id=assignee,
    ).on_conflict_do_nothing(constraint="uq_human_task_spiff").returning(table.c.id))).scalar_one_or_none()
    if task_id is None:
        return None
    await record_event(session, ticket.id, "task_opened", f"task-open:{task.spiff_task_id}",  # type: ignore[arg-type]
                       unit_id=unit.id if unit else None, note=task.name, data={"task": task.bpmn_id, "lane": task.lane})
    people = [assignee] if assignee else await candidates(session, task.lane, unit)
    # a task with no unit is for the lane everywhere (the desk): wake every page
    await live.announce(session, users=people, units=[unit.id] if unit else [], everyone=unit is None and not assignee)
    await delivery.notify_users(session, people, task_event(task.lane, task.bpmn_id), "task", task.name,
                                f"{ticket.code}: {ticket.description[:200]}", ticket, f"task:{task.spiff_task_id}", outside)
    return task_id


async def candidates(session: AsyncSession, lane: str | None, unit: OrgUnit | None) -> list[int]:
    """Active users holding the lane's role in the candidate unit (or anywhere when none)."""
    if not lane:
        return []
    stmt = sa.text("""
        SELECT DISTINCT u.id FROM app_user u
        JOIN user_group ug ON ug.user_id = u.id
        JOIN group_role gr ON gr.group_id = ug.group_id
        JOIN role r ON r.id = gr.role_id
        WHERE u.active AND r.code = :lane AND (CAST(:unit_id AS integer) IS NULL OR u.unit_id = :unit_id)
        ORDER BY u.id""")
    rows = await session.exec(stmt, params={"lane": lane, "unit_id": unit.id if unit else None})  # type: ignore[call-overload]
    return [r[0] for r in rows.all()]


async def notify(session: AsyncSession, user_id: int, kind: str, title: str, body: str | None, ticket_id: int | None,
                 dedupe_key: str) -> None:
    """An in-app notification, whatever the user's settings (use `delivery.notify_users` to honour them)."""
    await delivery.add_in_app(session, user_id, kind, title, body, ticket_id, dedupe_key)


async def close_task(session: AsyncSession, ticket_code: str, spiff_task_id: str, actor_username: str | None,
                     outcome: str, data: dict[str, Any]) -> bool:
    """Mark the task completed (or cancelled by the engine) once; returns False if it was closed."""
    ticket = await ticket_by_code(session, ticket_code)
    actor = (await session.exec(select(User).where(User.username == actor_username))).first() if actor_username else None
    table = HumanTask.__table__  # type: ignore[attr-defined]
    result = await session.exec(sa.update(table).where(  # type: ignore[call-overload]
        table.c.ticket_id == ticket.id, table.c.spiff_task_id == spiff_task_id, table.c.status.in_([s.value for s in ACTIVE]),
    ).values(status=HumanTaskStatus.completed if outcome == "completed" else HumanTaskStatus.cancelled,
             completed_at=utcnow(), completed_by_id=actor.id if actor else None, outcome=data, version=table.c.version + 1)
        .returning(table.c.name, table.c.candidate_unit_id, table.c.assignee_id))
    row = result.first()
    if row is None:
        return False
    await live.announce(session, users=[row.assignee_id], units=[row.candidate_unit_id],
                        everyone=row.candidate_unit_id is None)
    action = "task_completed" if outcome == "completed" else "task_cancelled"
    note = data.get("note") if isinstance(data.get("note"), str) else None
    await record_event(session, ticket.id, action, f"task-close:{spiff_task_id}",  # type: ignore[arg-type]
                       actor=Actor(user_id=actor.id, username=actor.username) if actor else None,
                       unit_id=row.candidate_unit_id, note=note or row.name, data={"task": spiff_task_id, **data})
    return True


# ---- the inbox ----


def _for_my_role_and_unit(actor: Actor) -> Any:
    return sa.and_(col(HumanTask.lane).in_(actor.roles),
                   or_(col(HumanTask.candidate_unit_id).is_(None), HumanTask.candidate_unit_id == actor.unit_id))


def _mine_or_my_units(actor: Actor) -> Any:
    """Tasks I claimed, or unclaimed ones for one of my roles in my unit (or unit-less ones)."""
    unclaimed_for_me = sa.and_(HumanTask.status == HumanTaskStatus.open, _for_my_role_and_unit(actor))
    return or_(HumanTask.assignee_id == actor.user_id, unclaimed_for_me)


def waiting_for(actor: Actor) -> Any:
    """The inbox's filter, for other readers (home page counts): what `list_inbox` lists."""
    return _mine_or_my_units(actor)


async def list_inbox(session: AsyncSession, actor: Actor, page: Page, mine_only: bool = False) -> PageResult[dict[str, Any]]:
    stmt = (select(HumanTask, Ticket.code, Ticket.description, Ticket.due_at, Ticket.overdue)
            .join(Ticket, col(Ticket.id) == col(HumanTask.ticket_id))
            .where(col(HumanTask.status).in_(ACTIVE)).order_by(col(HumanTask.created_at)))
    stmt = stmt.where(HumanTask.assignee_id == actor.user_id) if mine_only else stmt.where(_mine_or_my_units(actor))
    total, rows = await paged(session, stmt, page)
    items = [{"id": t.id, "ticket_code": code, "ticket_description": desc[:300], "name": t.name, "bpmn_id": t.bpmn_id,
              "lane": t.lane, "status": t.status, "assignee_id": t.assignee_id, "candidate_unit_id": t.candidate_unit_id,
              "form_schema": t.form_schema, "due_at": due, "overdue": overdue, "created_at": t.created_at,
              "version": t.version, "spiff_task_id": t.spiff_task_id} for t, code, desc, due, overdue in rows]
    return PageResult(total, page.page, page.per_page, items)


async def inbox_counts(session: AsyncSession, actor: Actor) -> dict[str, int]:
    base = select(func.count()).select_from(HumanTask).where(col(HumanTask.status).in_(ACTIVE))
    mine = (await session.exec(base.where(HumanTask.assignee_id == actor.user_id))).one()
    waiting = (await session.exec(base.where(_mine_or_my_units(actor)))).one()
    overdue = (await session.exec(base.join(Ticket, col(Ticket.id) == col(HumanTask.ticket_id))
                                  .where(_mine_or_my_units(actor), Ticket.overdue))).one()
    return {"mine": mine, "waiting": waiting, "overdue": overdue}


async def _visible_task(session: AsyncSession, actor: Actor, task_id: int) -> HumanTask:
    """A task the actor may act on, whatever its state now (a lost race is a 409, not a 404)."""
    task = (await session.exec(select(HumanTask).where(
        HumanTask.id == task_id, or_(HumanTask.assignee_id == actor.user_id, _for_my_role_and_unit(actor))))).first()
    if task is None:
        raise NotFound("Task")
    return task


async def task_for_completion(session: AsyncSession, actor: Actor, task_id: int) -> tuple[HumanTask, str]:
    """The task and its ticket's workflow id, if the actor may complete it now."""
    task = await _visible_task(session, actor, task_id)
    if task.status not in ACTIVE:
        raise StaleVersion("task", details=[{"field": "id", "message": "the task is already closed"}])
    if task.assignee_id is not None and task.assignee_id != actor.user_id:
        raise Forbidden("This task is assigned to someone else.")
    workflow_id = (await session.exec(select(Ticket.workflow_id).where(Ticket.id == task.ticket_id))).one()
    return task, workflow_id  # type: ignore[return-value]


async def claim(session: AsyncSession, actor: Actor, task_id: int, version: int) -> HumanTask:
    task = await _visible_task(session, actor, task_id)
    table = HumanTask.__table__  # type: ignore[attr-defined]
    changed = (await session.exec(sa.update(table).where(  # type: ignore[call-overload]
        table.c.id == task.id, table.c.version == version, table.c.status == HumanTaskStatus.open,
    ).values(status=HumanTaskStatus.claimed, assignee_id=actor.user_id, version=table.c.version + 1))).rowcount
    if changed != 1:
        raise StaleVersion("task", details=[{"field": "version", "message": "someone else took or changed this task"}])
    await live.announce(session, users=[actor.user_id], units=[task.candidate_unit_id],
                        everyone=task.candidate_unit_id is None)
    await session.refresh(task)
    return task


async def release(session: AsyncSession, actor: Actor, task_id: int, version: int) -> HumanTask:
    task = await _visible_task(session, actor, task_id)
    table = HumanTask.__table__  # type: ignore[attr-defined]
    changed = (await session.exec(sa.update(table).where(  # type: ignore[call-overload]
        table.c.id == task.id, table.c.version == version, table.c.status == HumanTaskStatus.claimed,
        table.c.assignee_id == actor.user_id,
    ).values(status=HumanTaskStatus.open, assignee_id=None, version=table.c.version + 1))).rowcount
    if changed != 1:
        raise StaleVersion("task", details=[{"field": "version", "message": "the task changed; reload it"}])
    await live.announce(session, users=[actor.user_id], units=[task.candidate_unit_id],
                        everyone=task.candidate_unit_id is None)
    await session.refresh(task)
    return task
