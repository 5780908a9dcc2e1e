"""The desk's new tickets (DESK_NEW; CRM-30, 31, 12, 32, 33): the list with a detail popup,
the add form (citizen, field and area pickers, address, map point, attachments) and dispatching
or marking spam, which complete the ticket's `dispatch` task on the inbox's path (/inbox/{id})."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Query, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from api import lifecycle
from api.deps import Allowed, ServicesDep, SessionDep, SignedInDep, sees_pii
from api.routers.attachments import get_store
from api.routers.tickets import TicketCode
from core import filetypes
from core.errors import HotlineError, TicketNotEditable, UnsupportedFileType, ValidationFailed
from core.i18n import translate
from core.models import Area, CallRecord, TicketField
from core.models.tickets import TicketCreate, TicketEdit, TicketStatus
from core.services import attachments, calls, tickets, work_queue
from core.services.crud import Page
from core.services.tickets import MASKED_FIELDS
from ui.forms import FieldErrors, failed_fields, read_form, refusal, validate_into
from ui.i18n import gettext_for, page_locale
from ui.pages.common import page_router, render_signed_in, see_other
from ui.pages.work import (
    DESK_CHANNELS,
    TaskView,
    page_numbers,
    task_view,
    template_helpers,
)
from ui.security import policy_with_tiles
from ui.task_forms import NOT_A_NUMBER, REQUIRED, initial_values
from ui.templating import render

router = page_router()

PER_PAGE = 25
TEXT_FIELDS = ("citizen_name", "citizen_phone", "citizen_id_number", "field_id", "area_id", "address", "latitude",
               "longitude", "description", "channel")
REQUIRED_FIELDS = ("citizen_name", "citizen_phone", "field_id", "area_id", "address", "description", "channel")
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{16,64}$")
CHUNK = 64 * 1024


@router.get("/desk/new")
async def new_tickets(request: Request, session: SessionDep, signed_in: SignedInDep, actor: Allowed("tickets", "write"),
                      page: int = Query(1, ge=1, le=10_000), created: str | None = None,
                      edited: str | None = None, notice: str | None = None) -> Response:
    locale = page_locale(request)
    _ = gettext_for(locale)
    result = await work_queue.new_tickets(session, actor, Page(page, PER_PAGE))
    message = None
    if created and re.fullmatch(r"1022-\d{4}-\d{6}", created):
        message = _("Report {code} was created.", code=created)
    elif edited and re.fullmatch(r"1022-\d{4}-\d{6}", edited):
        message = _("Report {code} was saved.", code=edited)
    elif notice == "done":
        message = _("The task was completed.")
    return await render_signed_in(request, session, signed_in, "work/desk_new.html", title=_("New reports"),
                                  rows=result.items, total=result.total, page=page,
                                  pages=page_numbers(result.total, PER_PAGE), roles=actor.roles, notice=message,
                                  **template_helpers(locale))


async def _add_page(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                    status_code: int = 200, **context: Any) -> Response:
    locale = page_locale(request)
    _ = gettext_for(locale)
    context.setdefault("values", {"channel": "call"})
    editing = context.setdefault("editing", None)
    context.setdefault("locked", False)  # a dispatched report: shown, not editable
    context.setdefault("pii_locked", False)  # personal data masked for this role: not editable
    if editing is None:
        context.setdefault("idempotency_key", secrets.token_urlsafe(24))
    settings = services.settings
    response = await render_signed_in(
        request, session, signed_in, "work/desk_add.html", status_code,
        title=_("Edit report {code}", code=editing) if editing else _("Add a report"),
        field_choices=await work_queue.field_choices(session),
        area_choices=await work_queue.area_choices(session, str(settings.area_scheme.value)),
        channels=DESK_CHANNELS, max_files=settings.attachment_max_per_ticket,
        max_megabytes=settings.attachment_max_bytes // (1024 * 1024), tile_url=settings.map_tile_url,
        **template_helpers(locale), **context)
    response.headers["Content-Security-Policy"] = policy_with_tiles(settings.map_tile_url)
    return response


@router.get("/desk/new/add")
async def add_form(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                   actor: Allowed("tickets", "write"), phone: str = Query("", max_length=30),
                   name: str = Query("", max_length=120), call: int | None = Query(None, ge=1, le=2**62)) -> Response:
    """The form, pre-filled from a call when the incoming-call popup or a call's page opens it
    (CC-35, CRM-05): the caller's number and name, the call to link the report to."""
    values = {"channel": "call", "citizen_phone": phone.strip(), "citizen_name": name.strip()}
    from_call = await session.get(CallRecord, call) if call is not None else None
    return await _add_page(request, session, services, signed_in, values=values,
                           call_id=from_call.id if from_call else None)


def _ticket_data(values: dict[str, str], locale: str, skip: tuple[str, ...] = ()) -> tuple[dict[str, Any], FieldErrors]:
    errors: FieldErrors = {name: [translate(REQUIRED, locale)] for name in REQUIRED_FIELDS
                           if not values.get(name) and name not in skip}
    data: dict[str, Any] = {name: values[name] for name in TEXT_FIELDS if values.get(name)}
    for name in ("latitude", "longitude"):
        if name in data:
            try:
                data[name] = float(data[name].replace(",", "."))
            except ValueError:
                errors.setdefault(name, []).append(translate(NOT_A_NUMBER, locale))
    return data, errors


async def _files(request: Request) -> list[UploadFile]:
    form = await request.form()  # parsed once: read_form already read it
    return [f for f in form.getlist("attachments") if isinstance(f, UploadFile) and f.filename]


async def _check_files(files: list[UploadFile], max_bytes: int, max_count: int, locale: str) -> list[str]:
    """Refuse what the attachment service would refuse, before the ticket exists."""
    problems = []
    if len(files) > max_count:
        problems.append(translate("A ticket can have at most {limit} attachments.", locale, limit=max_count))
    for upload in files:
        await upload.seek(0)
        head = await upload.read(filetypes.SNIFF_BYTES)
        await upload.seek(0)
        if upload.size is not None and upload.size > max_bytes:
            problems.append(f"{upload.filename}: " + translate("The file is too large: at most {limit}.", locale,
                                                                limit=f"{max_bytes // (1024 * 1024)} MB"))
        elif not head or filetypes.detect(head, upload.filename) is None:
            problems.append(f"{upload.filename}: " + translate(UnsupportedFileType.message, locale))
    return problems


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    await upload.seek(0)
    while chunk := await upload.read(CHUNK):
        yield chunk


@router.post("/desk/new/add")
async def add_submit(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                     actor: Allowed("tickets", "write")) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    values = {name: form.get(name, "").strip() for name in TEXT_FIELDS}
    key = form.get("idempotency_key", "")
    key = key if KEY_PATTERN.fullmatch(key) else secrets.token_urlsafe(24)
    settings = services.settings
    files = await _files(request)
    data, errors = _ticket_data(values, locale)
    file_problems = await _check_files(files, settings.attachment_max_bytes, settings.attachment_max_per_ticket, locale)
    if file_problems:
        errors["attachments"] = file_problems
    call_id = int(form["call_id"]) if form.get("call_id", "").isdigit() and len(form["call_id"]) < 19 else None
    from_call = await session.get(CallRecord, call_id) if call_id is not None else None
    again = {"values": values, "idempotency_key": key, "call_id": from_call.id if from_call else None}
    if from_call is not None:
        data["source_ref"] = f"call:{from_call.uniqueid}"[:128]
    body = validate_into(TicketCreate, data, errors, locale)
    if body is None or errors:
        return await _add_page(request, session, services, signed_in, 422, errors=errors, **again)
    try:
        ticket, _created = await tickets.open_ticket(session, actor, body, f"{actor.user_id}:{key}",
                                                     settings.workflow_id_prefix)
        if from_call is not None:  # the call's page and history show the report made from it
            await calls.link_ticket(session, from_call.id, ticket.id)  # type: ignore[arg-type]
        await session.commit()
    except ValidationFailed as exc:
        field_errors, general = failed_fields(exc, locale)
        return await _add_page(request, session, services, signed_in, exc.status_code, errors=field_errors,
                               error=general, **again)
    code = ticket.code
    problems = []
    try:  # a retried submit (same key) finds the workflow started and the same files kept
        await lifecycle.start(session, services, ticket)
        await session.commit()
    except HotlineError as exc:
        problems.append(refusal(exc, locale))
    if files:
        store = await get_store(services)
        for upload in files:
            try:
                await attachments.add(session, actor, store, ticket, upload.filename, _chunks(upload),
                                      max_bytes=settings.attachment_max_bytes, max_count=settings.attachment_max_per_ticket)
                await session.commit()
            except HotlineError as exc:
                await session.rollback()
                problems.append(f"{upload.filename}: {refusal(exc, locale)}")
    if problems:  # the ticket exists: say what did not happen rather than offer to create it again
        _ = gettext_for(locale)
        return await render_signed_in(request, session, signed_in, "error.html", 503,
                                      title=_("Report {code} was created.", code=code), status=503,
                                      message=" ".join(problems))
    return see_other(f"/desk/new?created={code}")


def _shown(value: object) -> str:
    return "" if value is None else str(value)


@router.get("/desk/ticket/{code}/edit")
async def edit_form(code: TicketCode, request: Request, session: SessionDep, services: ServicesDep,
                    signed_in: SignedInDep, actor: Allowed("tickets", "write")) -> Response:
    """The add form, filled with the ticket, while the desk has not dispatched it (CRM-31)."""
    pii = sees_pii(services, actor)
    ticket = await tickets.get_ticket(session, actor, code, pii)  # masks, and logs an unmasked read
    await session.commit()
    values = {name: _shown(getattr(ticket, name)) for name in TEXT_FIELDS}
    error = None
    if ticket.status != TicketStatus.new or ticket.current_unit_id is not None:
        error = refusal(TicketNotEditable(code=code), page_locale(request))
    return await _add_page(request, session, services, signed_in, 409 if error else 200, values=values, editing=code,
                           pii_locked=not pii, locked=error is not None, error=error)


@router.post("/desk/ticket/{code}/edit")
async def edit_submit(code: TicketCode, request: Request, session: SessionDep, services: ServicesDep,
                      signed_in: SignedInDep, actor: Allowed("tickets", "write")) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    pii = sees_pii(services, actor)
    values = {name: form.get(name, "").strip() for name in TEXT_FIELDS}
    data, errors = _ticket_data(values, locale, skip=() if pii else MASKED_FIELDS)
    for name in ("latitude", "longitude", "citizen_id_number", "field_id", "area_id"):
        data.setdefault(name, None)  # emptied on the form: cleared on the ticket
    if not pii:
        for name in MASKED_FIELDS:
            data.pop(name, None)
    again = {"values": values, "editing": code, "pii_locked": not pii}
    edit = validate_into(TicketEdit, data, errors, locale)
    if edit is None or errors:
        return await _add_page(request, session, services, signed_in, 422, errors=errors, **again)
    try:
        await tickets.edit_new_ticket(session, actor, code, edit, pii)
        await session.commit()
    except ValidationFailed as exc:
        field_errors, general = failed_fields(exc, locale)
        return await _add_page(request, session, services, signed_in, exc.status_code, errors=field_errors,
                               error=general, **again)
    except TicketNotEditable as exc:
        return await _add_page(request, session, services, signed_in, exc.status_code, error=refusal(exc, locale),
                               locked=True, **again)
    return see_other(f"/desk/new?edited={code}")


@router.get("/desk/ticket/{code}")
async def ticket_summary(code: TicketCode, request: Request, session: SessionDep, services: ServicesDep,
                         signed_in: SignedInDep, actor: Allowed("tickets", "read")) -> Response:
    """The new-ticket popup (htmx fragment), or the same as a page without JavaScript: the
    ticket's data and, for the person who may take it, the dispatch form."""
    locale = page_locale(request)
    _ = gettext_for(locale)
    ticket = await tickets.get_ticket(session, actor, code, sees_pii(services, actor))
    await session.commit()  # the personal-data access log
    row = await tickets.find_ticket(session, actor, code)
    open_tasks = await work_queue.open_tasks_of(session, row)
    views: list[TaskView] = []
    inbox_actor = services.authorizer.decide(actor.roles, "inbox", "write")
    for task in open_tasks:
        if inbox_actor.allowed and task.lane in actor.roles and task.assignee_id in (None, actor.user_id):
            try:
                views.append(await task_view(session, actor, task.id, locale))  # type: ignore[arg-type]
            except HotlineError:
                continue
    context = dict(ticket=ticket, open_tasks=open_tasks, views=views, next="/desk/new",
                   files=await attachments.list_for(session, row),
                   initial_for=lambda view: initial_values(view.fields),
                   unit_name=await work_queue.unit_name(session, ticket.current_unit_id),
                   field_name=await _name(session, "field", ticket.field_id),
                   area_name=await _name(session, "area", ticket.area_id), **template_helpers(locale))
    if request.headers.get("hx-request") == "true":
        return render(request, "work/_ticket_popup.html", **context)
    return await render_signed_in(request, session, signed_in, "work/ticket_summary.html",
                                  title=_("Report {code}", code=code), **context)


async def _name(session: SessionDep, kind: str, ident: int | None) -> str | None:
    if ident is None:
        return None
    row = await session.get(TicketField if kind == "field" else Area, ident)
    return row.name if row else None
