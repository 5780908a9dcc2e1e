"""Message templates in the administration (issue 6): the texts of the SMS the system sends by
itself — to the citizen when a report is received and when it is resolved, to staff when work
waits for them — edited with the variables listed, a live preview with sample values and the SMS
count, switched off (citizen messages only) and put back to the built-in text.

The same use cases as the JSON API (api/routers/message_templates.py):
core.services.message_templates, the same checks and audit entries. Casbin: `message_templates`
(administrators)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from api.deps import Allowed, SessionDep, SignedInDep
from api.routers.message_templates import preview_of
from core.errors import HotlineError
from core.services import message_templates
from ui.forms import failed_fields, read_form
from ui.i18n import gettext_for, page_locale
from ui.pages.common import page_router, render_signed_in, see_other
from ui.pages.work import local_time
from ui.templating import render

router = page_router()

BASE = "/admin/message-templates"
Reader = Allowed("message_templates", "read")
Writer = Allowed("message_templates", "write")
DONE = {"saved": "The template was saved. The next messages use it.",
        "reset": "The built-in text is used again."}


@router.get(BASE)
async def template_list(request: Request, session: SessionDep, signed_in: SignedInDep, actor: Reader) -> Response:
    _ = gettext_for(page_locale(request))
    views = await message_templates.list_templates(session)
    done = request.query_params.get("done")
    return await render_signed_in(
        request, session, signed_in, "admin/message_templates/list.html", title=_("Message templates"),
        groups=[(_("Messages to citizens"), [v for v in views if v.audience == "citizen"]),
                (_("Messages to staff"), [v for v in views if v.audience == "staff"])],
        base=BASE, local_time=local_time, notice=_(DONE[done]) if done in DONE else None)


async def _edit_page(request: Request, session: SessionDep, signed_in: SignedInDep, key: str, status_code: int = 200,
                     values: dict[str, Any] | None = None, **context: Any) -> Response:
    _ = gettext_for(page_locale(request))
    view = await message_templates.get_template(session, key)
    values = values or {"body": view.body, "enabled": view.enabled}
    shown = context.pop("preview", None)
    if shown is None and "body" not in context.get("errors", {}):
        shown = _preview(key, values["body"])
    return await render_signed_in(
        request, session, signed_in, "admin/message_templates/edit.html", status_code, title=_(view.label), view=view,
        values=values, preview=shown, base=BASE, **context)


def _preview(key: str, body: str) -> Any:
    try:
        return preview_of(key, body)
    except HotlineError:
        return None


@router.get(BASE + "/{key}")
async def template_edit(key: str, request: Request, session: SessionDep, signed_in: SignedInDep,
                        actor: Reader) -> Response:
    return await _edit_page(request, session, signed_in, key)


@router.post(BASE + "/{key}")
async def template_save(key: str, request: Request, session: SessionDep, signed_in: SignedInDep,
                        actor: Writer) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    view = await message_templates.get_template(session, key)  # 404 for an unknown key
    values = {"body": form.get("body", ""), "enabled": form.get("enabled") == "on" or not view.can_disable}
    if form.get("action") == "preview":
        try:
            shown = preview_of(key, values["body"])
        except HotlineError as exc:
            errors, general = failed_fields(exc, locale)
            return await _edit_page(request, session, signed_in, key, 422, values, errors=errors, error=general)
        return await _edit_page(request, session, signed_in, key, 200, values, preview=shown)
    try:
        await message_templates.save_template(session, actor, key, values["body"], values["enabled"])
        await session.commit()
    except HotlineError as exc:
        await session.rollback()
        errors, general = failed_fields(exc, locale)
        return await _edit_page(request, session, signed_in, key, exc.status_code, values, errors=errors, error=general)
    return see_other(f"{BASE}?done=saved")


@router.post(BASE + "/{key}/preview")
async def template_preview(key: str, request: Request, actor: Reader) -> Response:
    """The preview block alone (htmx, as the administrator types)."""
    form = await read_form(request)
    locale = page_locale(request)
    message_templates.kind_of(key)
    try:
        return render(request, "admin/message_templates/_preview.html", preview=preview_of(key, form.get("body", "")))
    except HotlineError as exc:
        errors, general = failed_fields(exc, locale)
        return render(request, "admin/message_templates/_preview.html", preview=None,
                      problems=[m for ms in errors.values() for m in ms] or [general])


@router.get(BASE + "/{key}/reset")
async def reset_confirm(key: str, request: Request, session: SessionDep, signed_in: SignedInDep,
                        actor: Writer) -> Response:
    _ = gettext_for(page_locale(request))
    view = await message_templates.get_template(session, key)
    return await render_signed_in(
        request, session, signed_in, "kb/confirm.html", title=_("Use the built-in text again?"),
        heading=_("Use the built-in text again?"), back=f"{BASE}/{key}", action=f"{BASE}/{key}/reset",
        submit_label=_("Use the built-in text"),
        text=_("“{label}” will be sent with the built-in text: {text}", label=_(view.label), text=view.default))


@router.post(BASE + "/{key}/reset")
async def reset(key: str, request: Request, session: SessionDep, actor: Writer) -> Response:
    await read_form(request)
    await message_templates.reset_template(session, actor, key)
    await session.commit()
    return see_other(f"{BASE}?done=reset")
