"""A user's SMS notification settings (PERM-10), the "Cấu hình gửi SMS" tab of the user's page:
for each event that puts work in front of them, whether it reaches them in the application, by
SMS and by email, and their own SMS text. core.services.notification_settings validates the
whole form (a channel the person cannot be reached on, unknown placeholders) and audits it."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import Allowed, SessionDep, SignedInDep
from core.errors import HotlineError
from core.models import User
from core.models.notifications import NotificationEvent, NotificationSettingIn, NotificationSettingsIn
from core.services import notification_settings, users
from core.services.actor import Actor
from core.services.crud import get_or_404
from core.services.notification_settings import SMS_MAX
from ui.forms import FieldErrors, failed_fields, invalid_fields, read_form
from ui.i18n import N_, gettext_for, page_locale
from ui.pages.admin_people_common import path_id
from ui.pages.common import page_router, render_signed_in, see_other

router = page_router()

E = NotificationEvent
EVENT_LABELS = {
    E.ticket_received: N_("A report reached the unit (waiting to be assigned)"),
    E.task_dispatch: N_("A report waits for the 1022 desk to dispatch it"),
    E.task_assign: N_("Work waits to be assigned, or a support request waits for an answer"),
    E.task_process: N_("A report waits to be processed"),
    E.task_approve: N_("A result or a report waits for approval"),
    E.ticket_due_soon: N_("A report is nearing its deadline"),
    E.ticket_overdue: N_("A report is overdue"),
}
CHANNELS = ("in_app", "sms", "email")
EVENTS = tuple(NotificationEvent)


def values_from(settings: Any) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in settings.items:
        for channel in CHANNELS:
            values[f"{channel}_{item.event.value}"] = "1" if getattr(item, channel) else ""
        values[f"sms_text_{item.event.value}"] = item.sms_text or ""
    return values


def read_settings(values: dict[str, str], locale: str) -> tuple[list[NotificationSettingIn], FieldErrors]:
    """One item per event, checked one by one so each message lands next to its own field."""
    items, errors = [], {}
    for event in EVENTS:
        raw = {channel: bool(values.get(f"{channel}_{event.value}")) for channel in CHANNELS}
        try:
            items.append(NotificationSettingIn.model_validate(
                {"event": event, **raw, "sms_text": values.get(f"sms_text_{event.value}") or None}))
        except ValidationError as exc:
            errors.update({f"{name}_{event.value}": m for name, m in invalid_fields(exc, locale).items()})
    return items, errors


def settings_errors(exc: HotlineError, locale: str) -> tuple[FieldErrors, str | None]:
    """The service names fields "items.<index>.<field>": back to this form's names."""
    by_index, general = failed_fields(exc, locale)
    errors: FieldErrors = {}
    for name, messages in by_index.items():
        parts = name.split(".")
        if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(EVENTS):
            errors[f"{parts[2]}_{EVENTS[int(parts[1])].value}"] = messages
        else:
            general = " ".join([general or "", *messages]).strip()
    return errors, general


async def _page(request: Request, session: SessionDep, signed_in: SignedInDep, user_row: User, status_code: int = 200,
                **context: Any) -> Response:
    _ = gettext_for(page_locale(request))
    settings = await notification_settings.get_settings(session, user_row)
    context.setdefault("values", values_from(settings))
    return await render_signed_in(
        request, session, signed_in, "admin/people/user_sms.html", status_code,
        title=_("SMS settings of {username}", username=user_row.username), user=user_row, settings=settings,
        event_labels=EVENT_LABELS, sms_max=SMS_MAX, tab="sms", **context)


async def save_settings(session: SessionDep, actor: Actor, row: User, values: dict[str, str],
                        locale: str) -> tuple[FieldErrors, str | None, int]:
    """Check and save the submitted form for `row`: (errors beside fields, a general message,
    the status to answer with) — no errors and 303 when saved."""
    items, errors = read_settings(values, locale)
    if errors:
        return errors, None, 422
    try:
        await notification_settings.update_settings(session, actor, row, NotificationSettingsIn(items=items))
        await session.commit()
    except HotlineError as exc:
        await session.rollback()
        field_errors, general = settings_errors(exc, locale)
        return field_errors, general, exc.status_code
    return {}, None, 303


def submitted(form: dict[str, str]) -> dict[str, str]:
    return {name: value.strip() if name.startswith("sms_text_") else value for name, value in form.items()}


@router.get("/admin/users/{user_id}/sms")
async def sms_form(user_id: str, request: Request, session: SessionDep, signed_in: SignedInDep,
                   actor: Allowed("users", "write")) -> Response:
    user = await users.get_user(session, actor, path_id(user_id, "User"))  # scope check
    _ = gettext_for(page_locale(request))
    notice = _("The SMS settings were saved.") if request.query_params.get("done") else None
    return await _page(request, session, signed_in, await get_or_404(session, User, user.id, "User"), notice=notice)


@router.post("/admin/users/{user_id}/sms")
async def sms_submit(user_id: str, request: Request, session: SessionDep, signed_in: SignedInDep,
                     actor: Allowed("users", "write")) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    user = await users.get_user(session, actor, path_id(user_id, "User"))
    row = await get_or_404(session, User, user.id, "User")
    values = submitted(form)
    errors, general, status = await save_settings(session, actor, row, values, locale)
    if status != 303:
        return await _page(request, session, signed_in, await get_or_404(session, User, user.id, "User"), status,
                           values=values, errors=errors, error=general)
    return see_other(f"/admin/users/{user.id}/sms?done=1")
