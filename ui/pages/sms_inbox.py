"""The desk's SMS and Zalo inbox (SMS-08, SMS-09, CRM-06, CRM-09): inbound messages nobody has
handled yet, oldest first, each turned into a report or set aside; and the message history with
filters by phone number, local dates and page size.

Phone numbers are masked for roles without `pii` read and unmasked reads are audited, exactly as
the message API decides it (api/routers/messages.py). The inbox is the desk's: a person whose
`messages` read is limited to a unit gets 403 (the waiting messages belong to no ticket yet).

Live updates: the inbound webhook announces a dedicated notice (`SMS_INBOX_NOTICE`, a unit id
no unit has) through core.services.live when it stores a new message. An open inbox page asks
`/sms/live` with what it shows (htmx, no script of its own); the request waits on the same
LISTEN/NOTIFY hub as `/events` (ui/pages/live.py) without holding a database connection, and
answers, when the waiting messages changed, a loader that replaces the list in place with
`/sms/rows` (which carries the next poller; "new messages" is announced in the page's status
region only when a newer message arrived, not when a colleague handled one), or, after
`WAIT_SECONDS` with nothing new, a poller that asks again. The poller's state is read before the
list, so a message stored in between causes one extra refresh, never a missed one."""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlencode

import sqlalchemy as sa
from fastapi import Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlmodel import func, select

from api import lifecycle
from api.deps import Allowed, ServicesDep, SessionDep, SignedInDep, sees_pii
from api.routers.messages import MessageId
from api.routers.webhooks import SMS_INBOX_NOTICE
from core.authz import Scope
from core.errors import Forbidden, HotlineError, ValidationFailed
from core.models.messages import UNHANDLED_INBOUND, Message, MessagePublic
from core.models.tickets import Channel, TicketCreate
from core.services import messages, tickets, work_queue
from core.services.actor import Actor
from core.services.crud import Page
from ui.forms import FieldErrors, day_range, failed_fields, read_form, refusal, validate_into
from ui.i18n import gettext_for, page_locale
from ui.pages.common import page_router, render_signed_in, see_other
from ui.pages.desk import KEY_PATTERN, _ticket_data
from ui.pages.live import hub_of
from ui.pages.work import page_numbers, template_helpers
from ui.templating import render

router = page_router()

INBOX_PER_PAGE = 25
PAGE_SIZES = (25, 50, 100)
WAIT_SECONDS = 25.0  # one long poll; the page asks again after it
FALLBACK_SECONDS = 10.0  # re-read within a wait even without a notice (a colleague handled a message)
FORM_FIELDS = ("citizen_name", "citizen_phone", "citizen_id_number", "field_id", "area_id", "address", "description")


def _desk(actor: Actor) -> Actor:
    """The inbox and history pages are the desk's (scope all: coordinators, agents, auditors)."""
    if actor.scope is not Scope.all:
        raise Forbidden()
    return actor


async def _waiting_state(services: ServicesDep) -> tuple[int, int]:
    """(how many messages wait, the newest waiting id) read in a short transaction of its own."""
    async with services.sessions() as session:
        row = (await session.exec(select(func.count(), func.coalesce(func.max(Message.id), 0))  # type: ignore[call-overload]
                                  .where(sa.text(UNHANDLED_INBOUND)))).one()
    return int(row[0]), int(row[1])


def _poller(waiting: int, newest: int, page: int = 1, delay: str = "1s") -> str:
    return (f'<span data-sms-live hx-get="/sms/live?waiting={waiting}&amp;newest={newest}&amp;page={page}" '
            f'hx-trigger="load delay:{delay}" hx-swap="outerHTML"></span>')


def _reloader(page: int, news: bool) -> str:
    """Replaces the list with its fresh rows (and their poller) as soon as it is swapped in."""
    return (f'<span data-sms-live-news hx-get="/sms/rows?page={page}&amp;news={int(news)}" hx-trigger="load" '
            f'hx-target="#sms-inbox-list" hx-swap="outerHTML"></span>')


@router.get("/sms")
async def inbox(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                actor: Allowed("messages", "read"), page: int = Query(1, ge=1, le=400),
                notice: str | None = None, code: str | None = None) -> Response:
    _desk(actor)
    locale = page_locale(request)
    _ = gettext_for(locale)
    shown = None
    if notice == "created" and code and re.fullmatch(r"1022-\d{4}-\d{6}", code):
        shown = _("Report {code} was created from the message.", code=code)
    elif notice == "dismissed":
        shown = _("The message was set aside.")
    return await render_signed_in(request, session, signed_in, "sms/inbox.html", title=_("SMS messages"), tab="inbox",
                                  notice=shown, **await _list_context(session, services, actor, page, "0s"),
                                  **template_helpers(locale))


async def _list_context(session: SessionDep, services: ServicesDep, actor: Actor, page: int,
                        delay: str = "1s") -> dict[str, Any]:
    pii = sees_pii(services, actor)
    waiting, newest = await _waiting_state(services)  # before the list: see the module's docstring
    result = await messages.inbound_queue(session, actor, Page(page, INBOX_PER_PAGE), pii)
    await session.commit()  # the personal-data access log
    can_act = services.authorizer.decide(actor.roles, "tickets", "write").allowed
    return {"rows": result.items, "total": result.total, "total_is_estimate": result.total_is_estimate, "page": page,
            "pages": page_numbers(result.total, INBOX_PER_PAGE), "can_act": can_act and pii,
            "poller": _poller(waiting, newest, page, delay)}


@router.get("/sms/rows")
async def inbox_rows(request: Request, session: SessionDep, services: ServicesDep, actor: Allowed("messages", "read"),
                     page: int = Query(1, ge=1, le=400), news: bool = False) -> Response:
    """The list of the inbox alone, swapped in by its live poll; with `news`, also says so in
    the page's status region (an out-of-band swap)."""
    _desk(actor)
    return render(request, "sms/_inbox_list.html", news=news, **await _list_context(session, services, actor, page),
                  **template_helpers(page_locale(request)))


@router.get("/sms/history")
async def history(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                  actor: Allowed("messages", "read"), phone: str = Query("", max_length=64),
                  date_from: str = Query("", max_length=10), date_to: str = Query("", max_length=10),
                  per_page: int = Query(PAGE_SIZES[0]), page: int = Query(1, ge=1, le=10_000)) -> Response:
    _desk(actor)
    locale = page_locale(request)
    _ = gettext_for(locale)
    per_page = per_page if per_page in PAGE_SIZES else PAGE_SIZES[0]
    errors: FieldErrors = {}
    first, last = day_range(date_from, date_to, errors, locale)
    address = messages.normalize_address(phone) if phone.strip() else None
    values = {"phone": phone, "date_from": date_from, "date_to": date_to, "per_page": str(per_page)}
    rows: list[MessagePublic] = []
    total, estimated, error = 0, False, None
    if not errors:
        filters = messages.MessageFilters(address=address, date_from=first, date_to=last)
        try:
            result = await messages.history(session, actor, filters, Page(page, per_page), sees_pii(services, actor))
            await session.commit()  # the personal-data access log
            rows, total, estimated = result.items, result.total, result.total_is_estimate
        except HotlineError as exc:
            await session.rollback()
            error = refusal(exc, locale)
    query = urlencode({k: v for k, v in values.items() if v})
    return await render_signed_in(request, session, signed_in, "sms/history.html", 422 if errors else 200,
                                  title=_("Message history"), tab="history", rows=rows, total=total,
                                  total_is_estimate=estimated, page=page, pages=page_numbers(total, per_page),
                                  values=values, errors=errors, error=error, page_sizes=PAGE_SIZES,
                                  pager_href=f"/sms/history?{query}&page=" if query else "/sms/history?page=",
                                  **template_helpers(locale))


async def _wait_for_news(request: Request, services: ServicesDep, actor: Actor, waiting: int,
                         newest: int, page: int) -> AsyncIterator[str]:
    hub = hub_of(services)
    subscription = hub.subscribe(actor.user_id, SMS_INBOX_NOTICE)
    loop = asyncio.get_running_loop()
    ends = loop.time() + WAIT_SECONDS
    try:
        while True:
            subscription.wake.clear()
            now = await _waiting_state(services)
            if now[1] > newest or now[0] != waiting:
                yield _reloader(page, news=now[1] > newest)
                return
            left = ends - loop.time()
            if left <= 0 or await request.is_disconnected():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(subscription.wake.wait(), timeout=min(FALLBACK_SECONDS, left))
        yield _poller(*now, page)
    finally:
        hub.unsubscribe(subscription)


@router.get("/sms/live")
async def live_news(request: Request, services: ServicesDep, actor: Allowed("messages", "read"),
                    waiting: int = Query(0, ge=0), newest: int = Query(0, ge=0),
                    page: int = Query(1, ge=1, le=400)) -> Response:
    """An htmx long poll of the inbox page (see the module's docstring)."""
    _desk(actor)
    return StreamingResponse(_wait_for_news(request, services, actor, waiting, newest, page), media_type="text/html",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


# ---- acting on one message ----

async def _waiting_message(session: SessionDep, services: ServicesDep, actor: Actor,
                           message_id: int) -> MessagePublic:
    """The message (masked per pii, an unmasked read audited) as the desk may act on it."""
    _desk(actor)
    return await messages.get_message(session, actor, message_id, sees_pii(services, actor))


def _handled(message: MessagePublic) -> bool:
    return message.direction != "in" or message.ticket_id is not None or message.handled_at is not None


async def _form_page(request: Request, session: SessionDep, services: ServicesDep, signed_in: SignedInDep,
                     message: MessagePublic, status_code: int = 200, **context: Any) -> Response:
    locale = page_locale(request)
    _ = gettext_for(locale)
    # a Zalo message's address is a Zalo user id, not a phone number: the citizen is answered on Zalo
    phone = message.address if message.channel == "sms" else ""
    context.setdefault("values", {"citizen_phone": phone, "citizen_name": message.sender_name or "",
                                  "description": message.body})
    context.setdefault("errors", {})
    context.setdefault("idempotency_key", secrets.token_urlsafe(24))
    return await render_signed_in(
        request, session, signed_in, "sms/ticket_form.html", status_code, title=_("Create a report from the message"),
        message=message, field_choices=await work_queue.field_choices(session),
        area_choices=await work_queue.area_choices(session, str(services.settings.area_scheme.value)),
        **template_helpers(locale), **context)


@router.get("/sms/{message_id}/ticket")
async def ticket_form(message_id: MessageId, request: Request, session: SessionDep, services: ServicesDep,
                      signed_in: SignedInDep, actor: Allowed("tickets", "write")) -> Response:
    if not sees_pii(services, actor):
        raise Forbidden()
    message = await _waiting_message(session, services, actor, message_id)
    await session.commit()  # the personal-data access log
    if _handled(message):
        return see_other("/sms/history?phone=" + quote(message.address))
    return await _form_page(request, session, services, signed_in, message)


@router.post("/sms/{message_id}/ticket")
async def ticket_submit(message_id: MessageId, request: Request, session: SessionDep, services: ServicesDep,
                        signed_in: SignedInDep, actor: Allowed("tickets", "write")) -> Response:
    form = await read_form(request)
    locale = page_locale(request)
    if not sees_pii(services, actor):
        raise Forbidden()
    message = await _waiting_message(session, services, actor, message_id)
    values = {name: form.get(name, "").strip() for name in FORM_FIELDS}
    key = form.get("idempotency_key", "")
    key = key if KEY_PATTERN.fullmatch(key) else secrets.token_urlsafe(24)
    data, errors = _ticket_data({**values, "channel": Channel(message.channel.value).value}, locale,
                                skip=("citizen_phone",) if message.channel == "zalo" else ())
    errors.pop("citizen_name", None)  # a text message often carries no name
    again = {"values": values, "idempotency_key": key}
    body = validate_into(TicketCreate, {**data, "source_ref": f"message:{message.id}"}, errors, locale)
    if body is None or errors:
        return await _form_page(request, session, services, signed_in, message, 422, errors=errors, **again)
    try:
        # one ticket per message, whoever submits and however often: the key is the message's
        ticket, _created = await tickets.open_ticket(session, actor, body, f"message:{message.id}",
                                                     services.settings.workflow_id_prefix)
        await messages.link_ticket(session, actor, message.id, ticket.id)  # type: ignore[arg-type]
        await session.commit()
    except ValidationFailed as exc:
        await session.rollback()
        field_errors, general = failed_fields(exc, locale)
        return await _form_page(request, session, services, signed_in, message, exc.status_code,
                                errors=field_errors, error=general, **again)
    except messages.MessageAlreadyLinked as exc:
        await session.rollback()
        return await _form_page(request, session, services, signed_in, message, exc.status_code,
                                error=refusal(exc, locale), **again)
    code = ticket.code
    try:  # a retried submit finds the workflow started
        await lifecycle.start(session, services, ticket)
        await session.commit()
    except HotlineError as exc:
        _ = gettext_for(locale)
        return await render_signed_in(request, session, signed_in, "error.html", 503,
                                      title=_("Report {code} was created from the message.", code=code), status=503,
                                      message=refusal(exc, locale))
    return see_other(f"/sms?notice=created&code={code}")


@router.get("/sms/{message_id}/dismiss")
async def dismiss_form(message_id: MessageId, request: Request, session: SessionDep, services: ServicesDep,
                       signed_in: SignedInDep, actor: Allowed("tickets", "write")) -> Response:
    """The confirmation before setting a message aside (works without JavaScript)."""
    message = await _waiting_message(session, services, actor, message_id)
    await session.commit()  # the personal-data access log
    if _handled(message):
        return see_other("/sms")
    locale = page_locale(request)
    _ = gettext_for(locale)
    return await render_signed_in(request, session, signed_in, "sms/dismiss.html", title=_("Set the message aside"),
                                  message=message, **template_helpers(locale))


@router.post("/sms/{message_id}/dismiss")
async def dismiss(message_id: MessageId, request: Request, session: SessionDep, services: ServicesDep,
                  actor: Allowed("tickets", "write")) -> Response:
    await read_form(request)  # the CSRF check
    _desk(actor)
    await messages.mark_handled(session, actor, message_id)
    await session.commit()
    return see_other("/sms?notice=dismissed")
