"""Per-person notification settings (PERM-10): for each event, in-app / SMS / email, and the SMS
text. A person without a row for an event gets the defaults below; a setting put back to the
defaults is deleted, so a later change of the defaults reaches them.

Defaults, chosen so that an SMS means "a ticket waits for you" and nobody gets two for one step:
- in-app: on for every event (the inbox is the reliable record; SMS only points at it);
- SMS on: `ticket_received` (a ticket reached my unit: the manager's "to assign" message),
  `task_process` (an officer was given a ticket), `task_approve` (a result or report waits for
  approval), `ticket_overdue`;
- SMS off: `task_assign` (it opens right after `ticket_received`, for the same managers: one SMS
  is enough) and `task_dispatch` (the desk works its queue on screen all day; an SMS per new
  ticket would flood coordinators);
- email off everywhere (opt-in; it goes through the same gateway port as SMS);
- desk staff (the coordinator role) get no SMS by default at all: they work the queue on screen,
  and every overdue ticket of the province is also theirs to see.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import ValidationFailed
from core.models import User
from core.models.notifications import (
    NotificationEvent,
    NotificationSettingIn,
    NotificationSettingOut,
    NotificationSettingsIn,
    NotificationSettingsOut,
    UserNotificationSetting,
)
from core.services import audit, message_templates
from core.services.actor import Actor

E = NotificationEvent


@dataclass(frozen=True)
class Choice:
    in_app: bool
    sms: bool
    email: bool = False
    sms_text: str | None = None


DEFAULTS: dict[NotificationEvent, Choice] = {
    E.ticket_received: Choice(in_app=True, sms=True),
    E.task_dispatch: Choice(in_app=True, sms=False),
    E.task_assign: Choice(in_app=True, sms=False),
    E.task_process: Choice(in_app=True, sms=True),
    E.task_approve: Choice(in_app=True, sms=True),
    E.ticket_due_soon: Choice(in_app=True, sms=True),
    E.ticket_overdue: Choice(in_app=True, sms=True),
}

SMS_MAX = 300  # characters of a person's own SMS text (UserNotificationSetting.sms_text)

LABELS: dict[NotificationEvent, str] = {
    E.ticket_received: "Phản ánh được chuyển đến đơn vị (chờ phân công)",
    E.task_dispatch: "Phản ánh chờ Tổng đài điều phối",
    E.task_assign: "Công việc chờ phân công / trả lời phối hợp",
    E.task_process: "Phản ánh chờ xử lý",
    E.task_approve: "Kết quả, báo cáo chờ phê duyệt",
    E.ticket_due_soon: "Phản ánh sắp đến hạn xử lý",
    E.ticket_overdue: "Phản ánh quá hạn xử lý",
}


def task_event(lane: str | None, bpmn_id: str) -> NotificationEvent:
    """Which event a BPMN user task is, by its lane (the role) and, for managers, its id."""
    if lane == "coordinator":
        return E.task_dispatch
    if lane == "officer":
        return E.task_process
    if bpmn_id.startswith("approve"):
        return E.task_approve
    return E.task_assign


async def staff_sms(session: AsyncSession, event: NotificationEvent, choice: Choice, code: str, title: str) -> str:
    """The SMS for this event: the person's own text, else the administrators' template. No
    personal data of the citizen goes in it: it travels in clear through an outside provider."""
    key = message_templates.staff_key(event)
    values = {"code": code, "title": title}
    if choice.sms_text:
        return message_templates.render_text(message_templates.kind_of(key), choice.sms_text, values)
    return await message_templates.render(session, key, values) or ""


def is_mobile(phone: str | None) -> bool:
    """Vietnamese mobile numbers (landlines start with 02 and receive no SMS)."""
    return bool(phone) and not phone.startswith("02")  # type: ignore[union-attr]


DESK_ROLE = "coordinator"


def default_choice(event: NotificationEvent, desk: bool) -> Choice:
    return replace(DEFAULTS[event], sms=False) if desk else DEFAULTS[event]


async def desk_users(session: AsyncSession, user_ids: list[int]) -> set[int]:
    """Those of the users who hold the desk's role (through their permission groups)."""
    if not user_ids:
        return set()
    rows = await session.exec(sa.text("""
        SELECT DISTINCT ug.user_id FROM user_group ug
        JOIN group_role gr ON gr.group_id = ug.group_id JOIN role r ON r.id = gr.role_id
        WHERE r.code = :role AND ug.user_id = ANY(:ids)"""), params={"role": DESK_ROLE, "ids": user_ids})  # type: ignore[call-overload]
    return {r[0] for r in rows.all()}


async def choices_for(session: AsyncSession, user_ids: list[int], event: NotificationEvent) -> dict[int, Choice]:
    """Each user's effective choice for one event (their row, else the default)."""
    if not user_ids:
        return {}
    rows = (await session.exec(select(UserNotificationSetting).where(
        col(UserNotificationSetting.user_id).in_(user_ids), UserNotificationSetting.event == event))).all()
    own = {r.user_id: Choice(r.in_app, r.sms, r.email, r.sms_text) for r in rows}
    desk = await desk_users(session, [uid for uid in user_ids if uid not in own])
    return {uid: own.get(uid) or default_choice(event, uid in desk) for uid in user_ids}


async def get_settings(session: AsyncSession, user: User) -> NotificationSettingsOut:
    rows = {r.event: r for r in (await session.exec(select(UserNotificationSetting).where(
        UserNotificationSetting.user_id == user.id))).all()}
    desk = bool(await desk_users(session, [user.id]))  # type: ignore[list-item]
    templates = {t.key: t.body for t in await message_templates.list_templates(session)}
    items = []
    for event in NotificationEvent:
        row = rows.get(event.value)
        choice = Choice(row.in_app, row.sms, row.email, row.sms_text) if row else default_choice(event, desk)
        items.append(NotificationSettingOut(event=event, label=LABELS[event], in_app=choice.in_app, sms=choice.sms,
                                            email=choice.email, sms_text=choice.sms_text,
                                            default_sms_text=templates[message_templates.staff_key(event)], is_default=row is None))
    return NotificationSettingsOut(user_id=user.id, sms_phone=user.phone if is_mobile(user.phone) else None,  # type: ignore[arg-type]
                                   items=items)


async def update_settings(session: AsyncSession, actor: Actor, user: User, data: NotificationSettingsIn) -> NotificationSettingsOut:
    """Set the events listed (the others keep theirs); refused whole when any item is invalid."""
    before = await get_settings(session, user)
    current = {i.event: Choice(i.in_app, i.sms, i.email, i.sms_text) for i in before.items}
    wanted: dict[NotificationEvent, Choice] = {}
    problems: list[dict[str, Any]] = []
    for index, item in enumerate(data.items):
        if item.event in wanted:
            problems.append({"field": f"items.{index}.event", "message": "{event} is listed twice.",
                             "params": {"event": item.event.value}})
            continue
        checked = _checked(item, index, user, current[item.event])
        if isinstance(checked, Choice):
            wanted[item.event] = checked
        else:
            problems.append(checked)
    if problems:
        raise ValidationFailed(details=problems)
    existing = {r.event: r for r in (await session.exec(select(UserNotificationSetting).where(
        UserNotificationSetting.user_id == user.id))).all()}
    desk = bool(await desk_users(session, [user.id]))  # type: ignore[list-item]
    for event, choice in wanted.items():
        row = existing.get(event.value)
        if choice == default_choice(event, desk):
            if row is not None:
                await session.delete(row)
            continue
        row = row or UserNotificationSetting(user_id=user.id, event=event.value)  # type: ignore[arg-type]
        row.in_app, row.sms, row.email, row.sms_text = choice.in_app, choice.sms, choice.email, choice.sms_text
        session.add(row)
    await session.flush()
    after = await get_settings(session, user)
    await audit.record(session, actor, "notification_settings.update", "user", user.id,
                       before=_snapshot(before, wanted), after=_snapshot(after, wanted))
    return after


def _checked(item: NotificationSettingIn, index: int, user: User, current: Choice) -> Choice | dict[str, Any]:
    """The item as a Choice, or the problem with it (a detail of the 422). A channel the person
    cannot be reached on is refused only when it is being switched on, so sending back the
    settings as read (defaults included) always works."""
    text = (item.sms_text or "").strip() or None
    problem = message_templates.check_problem(message_templates.kind_of(message_templates.staff_key(item.event)), text) \
        if text is not None else None
    if problem is not None:
        return {"field": f"items.{index}.sms_text", "message": problem[0], "params": problem[1]}
    if item.sms and not current.sms and not is_mobile(user.phone):
        return {"field": f"items.{index}.sms", "message": "SMS need a mobile phone number in the profile; add one first."}
    if item.email and not current.email and not user.email:
        return {"field": f"items.{index}.email", "message": "Email needs an email address in the profile; add one first."}
    return Choice(item.in_app, item.sms, item.email, text)


def _snapshot(settings: NotificationSettingsOut, events: dict[NotificationEvent, Any]) -> dict[str, Any]:
    """The changed events only, for the audit trail."""
    return {i.event.value: {"in_app": i.in_app, "sms": i.sms, "email": i.email, "sms_text": i.sms_text}
            for i in settings.items if i.event in events}
