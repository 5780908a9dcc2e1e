"""The ticket detail page (CRM-04): data (personal data masked as the API masks it), attachments
with upload for those who may write tickets, map, progress as a list and a tree, the BPMN
diagram of the ticket's own pinned version with done and current steps, and the process panel
with the desk's retry. Casbin and unit scoping are the API's: another unit's ticket is 404."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from api import lifecycle, uploads
from api.deps import Allowed, ServicesDep, SessionDep, SignedInDep
from api.routers.attachments import get_store
from api.routers.ticket_messages import MAX_REPLY_CHARS, reply_channels, send_reply
from core.errors import (
    HotlineError,
    NotFound,
    PayloadTooLarge,
    TooManyAttachments,
    UnsupportedFileType,
    ValidationFailed,
)
from core.i18n import translate
from core.models.messages import MessagePublic
from core.services import attachments, audit, messages, tickets
from core.services.actor import Actor
from core.services.crud import Page
from core.services.messages import MessageFilters
from ui import csrf
from ui import ticket_view as view
from ui.i18n import N_, gettext_for, page_locale
from ui.pages.common import page_router, render_signed_in, see_other
from ui.security import policy_with_tiles

router = page_router()
REPLY_KEY = re.compile(r"^[0-9a-f]{32}$")  # the form's key: one message per form, however often it is sent

CODE = re.compile(r"^1022-\d{4}-\d{6}$")
NOTICES = {"uploaded": N_("The file was attached."), "retried": N_("The failed step was run again."),
           "same": N_("This file was already attached to the ticket."),
           "replied": N_("The message to the citizen is being sent; its state shows below.")}
MESSAGES_SHOWN = 20


class TicketNotFound(HotlineError):
    status_code = 404
    error_id = "not_found"
    message = N_("This ticket does not exist or is not within your unit's scope.")


async def _ticket(session: SessionDep, actor: Actor, code: str):
    if not CODE.match(code):
        raise TicketNotFound()
    try:
        return await tickets.find_ticket(session, actor, code)
    except NotFound as exc:
        raise TicketNotFound() from exc


def _allowed(services: ServicesDep, actor: Actor, resource: str, action: str) -> bool:
    return services.authorizer.decide(actor.roles, resource, action).allowed


async def _page(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep, actor: Actor,
                code: str, status_code: int = 200, **context: Any) -> Response:
    _ = gettext_for(page_locale(request))
    sees_pii = _allowed(services, actor, "pii", "read")
    public = await tickets.get_ticket(session, actor, code, sees_pii)  # masks, and logs an unmasked read
    await session.commit()
    ticket = await _ticket(session, actor, code)
    flat, tree = await tickets.progress(session, actor, code)
    tasks = await view.human_tasks(session, ticket)
    version = await view.pinned_version(session, ticket)
    panel = await view.process_panel(services, ticket)
    starts = list(view.start_events(version.sha256, version.content)) if version else []
    settings = services.settings
    conversation = await _conversation(session, services, actor, ticket, sees_pii)
    channels = list(await reply_channels(session, services, ticket))
    response = await render_signed_in(
        request, session, signed_in, "ticket_detail.html", status_code, title=_("Ticket {code}", code=code),
        ticket=public, names=await view.names(session, ticket), attachments=await attachments.list_for(session, ticket),
        events=flat, tree=view.progress_tree(tree), event_units=await view.unit_names(session, flat), tasks=tasks,
        panel=panel, marks=view.marks(tasks, panel, starts).as_json(), has_diagram=version is not None,
        can_upload=_allowed(services, actor, "tickets", "write"), can_retry=_allowed(services, actor, "incidents", "write"),
        tile_url=settings.map_tile_url, max_upload=settings.attachment_max_bytes, v=view,
        conversation=conversation, reply_key=uuid.uuid4().hex, reply_max=MAX_REPLY_CHARS, reply_channels=channels,
        reply_channel=context.pop("reply_channel", None) or ("zalo" if ticket.channel == "zalo" and "zalo" in channels
                                                             else next(iter(channels), "sms")),
        can_reply=_allowed(services, actor, "tickets", "write") and bool(channels), **context)
    response.headers["Content-Security-Policy"] = policy_with_tiles(settings.map_tile_url)
    return response


async def _conversation(session: SessionDep, services: ServicesDep, actor: Actor, ticket: Any,
                        sees_pii: bool) -> list[MessagePublic] | None:
    """The messages about this ticket (newest first), for whoever may read messages; else None."""
    decision = services.authorizer.decide(actor.roles, "messages", "read")
    if not decision.allowed or decision.scope is None:
        return None
    found = await messages.history(session, actor.with_scope(decision.scope), MessageFilters(ticket_id=ticket.id),
                                   Page(1, MESSAGES_SHOWN), sees_pii)
    await session.commit()  # an unmasked read is logged
    return found.items


@router.post("/tickets/{code}/messages")
async def reply_to_citizen(code: str, request: Request, session: SessionDep, services: ServicesDep,
                           signed_in: SignedInDep, actor: Allowed("tickets", "write")) -> Response:
    """The reply form: sent durably once per form (its key), like the API's reply."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    csrf.verify(request, form)
    _ = gettext_for(page_locale(request))
    ticket = await _ticket(session, actor, code)
    text, key, channel = " ".join(form.get("text", "").split()), form.get("key", ""), form.get("channel", "sms")
    problem = (_("Type the message.") if not text else
               _("At most {limit} characters.", limit=MAX_REPLY_CHARS) if len(text) > MAX_REPLY_CHARS else
               _("The form is out of date: open the ticket again.") if not REPLY_KEY.fullmatch(key) else None)
    if problem is None:
        try:
            await send_reply(session, services, actor, ticket, text, key, channel if channel in ("sms", "zalo") else "sms")
        except HotlineError as exc:
            await session.rollback()
            problem = translate(exc.message, page_locale(request), **exc.params)
    if problem is not None:
        return await _page(request, session, services, signed_in, actor, code, 422, errors={"text": [problem]},
                           reply_text=text, reply_channel=channel)
    return see_other(f"/tickets/{code}?done=replied#messages")


@router.get("/tickets/{code}")
async def ticket_detail(code: str, request: Request, session: SessionDep, services: ServicesDep,
                        signed_in: SignedInDep, actor: Allowed("tickets", "read"), done: str | None = None) -> Response:
    await _ticket(session, actor, code)
    _ = gettext_for(page_locale(request))
    notice = _(NOTICES[done]) if done in NOTICES else None
    return await _page(request, session, services, signed_in, actor, code, notice=notice)


@router.get("/tickets/{code}/diagram.bpmn")
async def ticket_diagram(code: str, session: SessionDep, actor: Allowed("tickets", "read")) -> Response:
    """The ticket's own diagram version (what it runs on), laid out for the viewer when it has no DI."""
    ticket = await _ticket(session, actor, code)
    version = await view.pinned_version(session, ticket)
    if version is None:
        raise NotFound("Process")
    return Response(view.laid_out(version.sha256, version.content), media_type="application/xml",
                    headers={"Cache-Control": "private, max-age=3600"})


@router.post("/tickets/{code}/attachments")
async def upload_attachment(code: str, request: Request, session: SessionDep, services: ServicesDep,
                            signed_in: SignedInDep, actor: Allowed("tickets", "write")) -> Response:
    # The body is streamed to the store, never parsed as a whole form: the CSRF token comes in
    # the form's address (the field cannot be read before the file).
    csrf.verify(request, request.query_params)
    settings = services.settings
    ticket = await _ticket(session, actor, code)
    await session.commit()  # no pooled connection waits while the bytes arrive
    store = await get_store(services)
    try:
        incoming = await uploads.single_file(request, "file", settings.attachment_max_bytes)
        _attachment, created = await attachments.add(session, actor, store, ticket, incoming.filename, incoming.chunks,
                                                     max_bytes=settings.attachment_max_bytes,
                                                     max_count=settings.attachment_max_per_ticket)
        await session.commit()
    except (UnsupportedFileType, PayloadTooLarge, TooManyAttachments, ValidationFailed) as exc:
        await session.rollback()
        locale = page_locale(request)
        if isinstance(exc, ValidationFailed) and exc.details:
            message = " ".join(translate(str(d.get("message", "")), locale) for d in exc.details if isinstance(d, dict))
        else:
            message = translate(exc.message, locale, **exc.params)
        return await _page(request, session, services, signed_in, actor, code, exc.status_code,
                           errors={"file": [message]})
    return see_other(f"/tickets/{code}?done={'uploaded' if created else 'same'}#attachments")


@router.post("/tickets/{code}/process/retry")
async def retry_process(code: str, request: Request, session: SessionDep, services: ServicesDep,
                        signed_in: SignedInDep, actor: Allowed("incidents", "write")) -> Response:
    form = await request.form()
    csrf.verify(request, {k: v for k, v in form.items() if isinstance(v, str)})
    ticket = await _ticket(session, actor, code)
    if not ticket.workflow_id or not ticket.bpmn_sha256:
        raise NotFound("Process")
    try:
        await lifecycle.retry_incident(services, actor, ticket.workflow_id)
    except HotlineError as exc:
        await session.rollback()
        message = translate(exc.message, page_locale(request), **exc.params)
        return await _page(request, session, services, signed_in, actor, code, exc.status_code, error=message)
    await audit.record(session, actor, "process.retry", "ticket", code)
    await session.commit()
    return see_other(f"/tickets/{code}?done=retried#process")
